import type { Database } from '../../db/schema.js';

/** The tables this module owns (the domain events outbox): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['domain_events', 'outbox_cursors'] as const satisfies readonly (keyof Database)[];
