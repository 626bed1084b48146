import type { Database } from '../../db/schema.js';

/** The tables this module owns (members' tags): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['member_tags'] as const satisfies readonly (keyof Database)[];
