import type { Database } from '../../db/schema.js';

/** The tables this module owns (the offer catalog, members' offers and their redemptions): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['offers', 'user_offers', 'offer_redemptions'] as const satisfies readonly (keyof Database)[];
