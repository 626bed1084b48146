import type { Database } from '../../db/schema.js';

/** The tables this module owns (reward stores and what they sell): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['reward_stores', 'reward_store_offers'] as const satisfies readonly (keyof Database)[];
