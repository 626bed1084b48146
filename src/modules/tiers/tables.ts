import type { Database } from '../../db/schema.js';

/** The tables this module owns (tier systems, their levels and members' tiers): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['tier_systems', 'tier_levels', 'member_tiers'] as const satisfies readonly (keyof Database)[];
