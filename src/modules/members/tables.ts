import type { Database } from '../../db/schema.js';

/** The tables this module owns (member profiles, their identifiers and phone numbers): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['members', 'member_identifiers', 'member_phone_numbers'] as const satisfies readonly (keyof Database)[];
