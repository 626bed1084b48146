import type { Database } from '../../db/schema.js';

/** The tables this module owns (privacy requests (export, forget, restrict)): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['privacy_requests'] as const satisfies readonly (keyof Database)[];
