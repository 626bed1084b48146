import type { Database } from '../../db/schema.js';

/** The tables this module owns (the custom profile attributes a program declares): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['custom_attributes'] as const satisfies readonly (keyof Database)[];
