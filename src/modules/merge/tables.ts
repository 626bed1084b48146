import type { Database } from '../../db/schema.js';

/** The tables this module owns (account merges): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['member_merges'] as const satisfies readonly (keyof Database)[];
