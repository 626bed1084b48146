// Where each table goes on a distributed PostgreSQL (Citus, or an engine that
// speaks its dialect): docs/scaling.md says why, per table, and
// test/pg/distribution.test.ts checks the schema against it (keys, foreign
// keys, triggers) and fails on a table this map does not place.
import type { Database } from './schema.js';

/** The column the distributed tables are sharded by: a retailer's rows of every such table live on one node. */
export const DISTRIBUTION_COLUMN = 'retailer_id';

/**
 * - distributed: sharded by retailer_id, all in one co-location group;
 * - reference: small and global, a copy on every node;
 * - local: stays on the coordinator (global operator data, the job queue, the relays' cursors).
 */
export type Placement = 'distributed' | 'reference' | 'local';

/** Every table, each before the tables whose foreign keys reference it (the order to distribute them in). */
export const PLACEMENT = {
  retailers: 'reference',
  credentials: 'reference',

  members: 'distributed',
  member_identifiers: 'distributed',
  member_phone_numbers: 'distributed',
  member_tags: 'distributed',
  timeline_events: 'distributed',
  stores: 'distributed',
  custom_attributes: 'distributed',
  message_replays: 'distributed',
  point_accounts: 'distributed',
  point_sources: 'distributed',
  member_point_accounts: 'distributed',
  point_ledger: 'distributed',
  point_lots: 'distributed',
  point_idempotency: 'distributed',
  tier_systems: 'distributed',
  tier_levels: 'distributed',
  member_tiers: 'distributed',
  offers: 'distributed',
  user_offers: 'distributed',
  offer_redemptions: 'distributed',
  reward_stores: 'distributed',
  reward_store_offers: 'distributed',
  campaigns: 'distributed',
  campaign_behaviors: 'distributed',
  campaign_goals: 'distributed',
  member_campaigns: 'distributed',
  member_behaviors: 'distributed',
  member_goals: 'distributed',
  member_events: 'distributed',
  rules: 'distributed',
  rule_achievements: 'distributed',
  pos_transactions: 'distributed',
  privacy_requests: 'distributed',
  member_merges: 'distributed',
  domain_events: 'distributed',
  webhook_endpoints: 'distributed',
  webhook_deliveries: 'distributed',
  simulations: 'distributed',

  operators: 'local',
  operator_roles: 'local',
  operator_sessions: 'local',
  operator_tokens: 'local',
  operator_invitations: 'local',
  login_failures: 'local',
  audit_log: 'local',
  jobs: 'local',
  outbox_cursors: 'local',
  // the migrator's own table (src/db/migrate.ts)
  schema_migrations: 'local',
} as const satisfies Record<keyof Database | 'schema_migrations', Placement>;

export type TableName = keyof typeof PLACEMENT;

export const tablesPlaced = (placement: Placement): TableName[] => (Object.keys(PLACEMENT) as TableName[]).filter((t) => PLACEMENT[t] === placement);

/**
 * The Citus statements that distribute a migrated database, in order: the
 * reference tables, then the distributed ones co-located with members. Local
 * tables need none.
 */
export function citusStatements(): string[] {
  const [anchor, ...rest] = tablesPlaced('distributed');
  return [
    ...tablesPlaced('reference').map((t) => `SELECT create_reference_table('${t}');`),
    `SELECT create_distributed_table('${anchor}', '${DISTRIBUTION_COLUMN}');`,
    ...rest.map((t) => `SELECT create_distributed_table('${t}', '${DISTRIBUTION_COLUMN}', colocate_with => '${anchor}');`),
  ];
}
