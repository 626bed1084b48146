import type { Database } from '../../db/schema.js';

/** The tables this module owns (campaigns and members' progress in them): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['campaigns', 'campaign_behaviors', 'campaign_goals', 'member_campaigns', 'member_behaviors', 'member_goals'] as const satisfies readonly (keyof Database)[];
