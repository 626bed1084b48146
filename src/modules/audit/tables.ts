import type { Database } from '../../db/schema.js';

/** The tables this module owns (the append-only audit trail of admin writes): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['audit_log'] as const satisfies readonly (keyof Database)[];
