import type { Database } from '../../db/schema.js';

/** The tables this module owns (simulations of draft programs and their reports): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['simulations'] as const satisfies readonly (keyof Database)[];
