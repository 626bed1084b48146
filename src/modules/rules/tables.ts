import type { Database } from '../../db/schema.js';

/** The tables this module owns (earning rules and their achievements): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['rules', 'rule_achievements'] as const satisfies readonly (keyof Database)[];
