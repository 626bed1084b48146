import type { Database } from '../../db/schema.js';

/** The tables this module owns (point-of-sale transactions): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['pos_transactions'] as const satisfies readonly (keyof Database)[];
