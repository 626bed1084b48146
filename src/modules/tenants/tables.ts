import type { Database } from '../../db/schema.js';

/** The tables this module owns (retailers, their credentials and stores): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['retailers', 'credentials', 'stores'] as const satisfies readonly (keyof Database)[];
