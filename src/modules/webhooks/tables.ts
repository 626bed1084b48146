import type { Database } from '../../db/schema.js';

/** The tables this module owns (webhook endpoints and deliveries): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['webhook_endpoints', 'webhook_deliveries'] as const satisfies readonly (keyof Database)[];
