import type { Database } from '../../db/schema.js';

/** The tables this module owns (point accounts and sources, members' balances and the ledger (its only writer)): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['point_accounts', 'point_sources', 'member_point_accounts', 'point_ledger', 'point_idempotency', 'point_lots'] as const satisfies readonly (keyof Database)[];
