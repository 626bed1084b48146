import type { Database } from '../../db/schema.js';

/** The tables this module owns (members' timelines): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['timeline_events'] as const satisfies readonly (keyof Database)[];
