import type { Database } from '../../db/schema.js';

/** The tables this module owns (the background job queue): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['jobs'] as const satisfies readonly (keyof Database)[];
