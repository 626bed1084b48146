import type { ColumnType, Generated } from 'kysely';

/** Column types of the tables in `migrations/`; each module owns its tables. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T = unknown> = ColumnType<T, string | undefined, string>;

// tenants
export interface RetailersTable {
  id: string;
  number: Generated<number>;
  name: string;
  created_at: Timestamp;
  /** IANA time zone; null: UTC. */
  time_zone: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface CredentialsTable {
  id: string;
  retailer_id: string;
  surface: 'core' | 'connect' | 'pos';
  key: string;
  secret_salt: Buffer;
  secret_hash: Buffer;
  created_at: Timestamp;
  revoked_at: Date | null;
  /** Set when the secret was rotated: it works until then, beside its successor. */
  expires_at: Date | null;
}

export interface StoresTable {
  retailer_id: string;
  id: string;
  name: string;
  external_id: string | null;
  time_zone: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  retired_at: Date | null;
}

// program
export interface CustomAttributesTable {
  retailer_id: string;
  name: string;
  type: 'string' | 'number' | 'boolean' | 'list' | 'object';
  default_value: Json | null;
  retired_at: Date | null;
}

// members
export interface MembersTable {
  retailer_id: string;
  id: string;
  player_id: Generated<number>;
  lifecycle: ColumnType<'active' | 'deleted' | 'merged' | 'forgotten', string | undefined, string>;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  gender: string | null;
  dob: string | null;
  address: string | null;
  address2: string | null;
  city: string | null;
  state: string | null;
  zip: string | null;
  country: string | null;
  dma: string | null;
  locale: string | null;
  opted_in: Generated<boolean>;
  activated: Generated<boolean>;
  suspended: Generated<boolean>;
  test_account: Generated<boolean>;
  account_status: Generated<string>;
  referrer_code: string;
  referred_by: string | null;
  profile_photo_url: string | null;
  user_profile: Json<Record<string, unknown>>;
  profile_version: Generated<number>;
  registered_at: Timestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MemberIdentifiersTable {
  retailer_id: string;
  member_id: string;
  external_id: string;
  external_id_type: string;
  position: number;
  created_at: Timestamp;
}

export interface MemberPhoneNumbersTable {
  retailer_id: string;
  member_id: string;
  position: number;
  phone_number: string;
  digits: string;
  phone_type: string;
  preference_flags: Json<string[]>;
  verified_ownership: boolean;
}

// tags
export interface MemberTagsTable {
  retailer_id: string;
  member_id: string;
  tag: string;
  count: number;
  expires_at: Date | null;
  updated_at: Timestamp;
}

// timeline
export interface TimelineEventsTable {
  retailer_id: string;
  member_id: string;
  id: Generated<number>;
  stream_id: string;
  event_type_id: number;
  occurred_at: Timestamp;
  created_at: Timestamp;
  request_id: string | null;
  payload: Json<Record<string, unknown>>;
}

// domain events (the outbox)
export interface DomainEventsTable {
  position: Generated<number>;
  id: string;
  retailer_id: string;
  member_id: string | null;
  type: string;
  version: number;
  occurred_at: Timestamp;
  payload: Json<Record<string, unknown>>;
  tx_id: Generated<string>;
}

export interface OutboxCursorsTable {
  consumer: string;
  tx_id: string;
  position: number;
  /** the snapshot when the relay was opened: events visible in it are not its to hand on */
  since: Generated<string>;
  updated_at: Timestamp;
}

// webhooks
export interface WebhookEndpointsTable {
  retailer_id: string;
  id: string;
  url: string;
  description: string | null;
  event_types: string[];
  enabled: Generated<boolean>;
  disabled_reason: string | null;
  secrets: Json<{ secret: string; expires_at: string | null }[]>;
  /** the snapshot when the endpoint was added: events visible in it are not sent to it */
  since: Generated<string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WebhookDeliveriesTable {
  retailer_id: string;
  endpoint_id: string;
  position: number;
  event_id: string;
  event_type: string;
  member_id: string | null;
  status: Generated<'pending' | 'delivering' | 'succeeded' | 'failed'>;
  attempts: Json<DeliveryAttempt[]>;
  next_attempt_at: Timestamp;
  lease_until: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface DeliveryAttempt {
  at: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
}

// jobs
export interface JobsTable {
  id: Generated<number>;
  queue: string;
  payload: Json<Record<string, unknown>>;
  dedupe_key: string | null;
  run_at: Timestamp;
  attempts: Generated<number>;
  max_attempts: Generated<number>;
  last_error: string | null;
  created_at: Timestamp;
}

// simulations of draft programs
export interface SimulationsTable {
  retailer_id: string;
  id: string;
  status: Generated<string>;
  request: Json<Record<string, unknown>>;
  progress: Generated<string>;
  result: Json<Record<string, unknown>> | null;
  error: string | null;
  created_at: Timestamp;
  heartbeat_at: Timestamp;
  finished_at: Date | null;
}

// http replay of Message-ID requests
export interface MessageReplaysTable {
  retailer_id: string;
  message_id: string;
  body_hash: string;
  status_code: number | null;
  response_body: string | null;
  created_at: Timestamp;
}

// points
export interface PointAccountsTable {
  retailer_id: string;
  id: string;
  name: string;
  grouping_label: string;
  is_default: boolean;
  allow_negative: boolean;
  maximum_balance: string | null;
  counts_toward_tiers: boolean;
  active: boolean;
  position: number;
  retired_at: Date | null;
  expiry: Json<Record<string, unknown>> | null;
  pending_for: string | null;
  expiry_notice: string | null;
}

export interface PointSourcesTable {
  retailer_id: string;
  id: string;
  name: string;
  account_ids: ColumnType<string[], string[] | undefined, string[]>;
  retired_at: Date | null;
}

export interface MemberPointAccountsTable {
  retailer_id: string;
  member_id: string;
  point_account_id: string;
  id: string;
  available_balance: ColumnType<string, string | undefined, string>;
  life_time_value: ColumnType<string, string | undefined, string>;
  pending_balance: ColumnType<string, string | undefined, string>;
  next_change_at: Date | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PointLotsTable {
  retailer_id: string;
  member_id: string;
  point_account_id: string;
  id: Generated<number>;
  state: 'pending' | 'open' | 'expired' | 'merged' | 'cancelled';
  bucket: string;
  amount: string;
  remaining: string;
  earned_at: Date;
  expires_at: Date | null;
  available_at: Date | null;
  notify_at: Date | null;
  transaction_id: string | null;
  merged_into: number | null;
}

export interface PointLedgerTable {
  retailer_id: string;
  member_id: string;
  id: Generated<number>;
  point_account_id: string;
  amount: string;
  balance_after: string;
  modification_type: string;
  point_source_id: string | null;
  reference_id: string | null;
  reference_type: string | null;
  transaction_id: string | null;
  idempotency_id: string | null;
  request_id: string | null;
  effective_at: Timestamp;
  inserted_at: Timestamp;
  /** [[lot id, amount], …]: what a spend drew from, a return or deposit put in */
  lots: Json<[string, string][]> | null;
}

export interface PointIdempotencyTable {
  retailer_id: string;
  idempotency_id: string;
  member_id: string;
  result: Json<Record<string, unknown>>;
  created_at: Timestamp;
}

// tiers
export interface TierSystemsTable {
  retailer_id: string;
  id: string;
  name: string;
  period_days: number | null;
  retired_at: Date | null;
}

export interface TierLevelsTable {
  retailer_id: string;
  tier_system_id: string;
  id: string;
  name: string;
  rank: number;
  thresholds: Json<{ point_account_id: string; points: string | number }[]>;
  retired_at: Date | null;
}

export interface MemberTiersTable {
  retailer_id: string;
  member_id: string;
  tier_system_id: string;
  id: string;
  tier_level_id: string;
  join_date: Timestamp;
  next_maintenance_eval_date: Date | null;
  updated_at: Timestamp;
}

// offers
export interface OfferText {
  id: string;
  culture: string;
  title: string;
  description: string;
  terms: string;
}

export interface OfferMedia {
  id: string;
  uri: string;
  category_id: string;
  category_name: string;
  content_type: number;
  culture: string;
}

export interface OfferRestrictions {
  location?: { store_ids?: string[] };
  catalog?: { item_ids?: string[]; category_ids?: string[]; qualifying_item_ids?: string[]; qualifying_category_ids?: string[] };
  purchase?: { max_per_member?: number; tier_level_ids?: string[]; tags?: string[] };
  redemption?: { minimum_subtotal?: string };
}

export interface OffersTable {
  retailer_id: string;
  id: string;
  root_offer_id: string;
  version: number;
  is_current: Generated<boolean>;
  offer_type: string;
  check_level: boolean;
  amount: string;
  max_recurrence: number;
  allow_overage: boolean;
  buy_count: number;
  get_count: number;
  status: number;
  internal_title: string;
  division_id: string;
  acquisition_start_date: Date | null;
  acquisition_end_date: Date | null;
  redemption_start_date: Date | null;
  redemption_end_date: Date | null;
  redemption_days: number | null;
  does_not_expire: boolean;
  points: string;
  monetary_value: string;
  pos_discount_id: string | null;
  requires_extended_data: boolean;
  time_zone_settings: Json<Record<string, string>>;
  texts: Json<OfferText[]>;
  default_culture: string;
  media: Json<OfferMedia[]>;
  restrictions: Json<OfferRestrictions>;
  parent_offer_ids: ColumnType<string[], string[] | undefined, string[]>;
  total_inventory: number | null;
  created_at: Timestamp;
  retired_at: Date | null;
}

export interface UserOffersTable {
  retailer_id: string;
  member_id: string;
  id: string;
  offer_id: string;
  root_offer_id: string;
  status: number;
  acquired_at: Timestamp;
  redemption_start_date: Date | null;
  redemption_end_date: Date | null;
  quantity: number;
  remaining_uses: number;
  custom_data: string | null;
  pending_extended_data: boolean;
  redemption_code: string;
  lock_key: string | null;
  locked_at: Date | null;
  locked_store_id: string | null;
  redeemed_at: Date | null;
  redeemed_store_id: string | null;
  revoked_at: Date | null;
  revoke_reason: string | null;
  source: string;
  reward_store_offer_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OfferRedemptionsTable {
  retailer_id: string;
  member_id: string;
  id: Generated<number>;
  user_offer_id: string;
  store_id: string | null;
  transaction_key: string | null;
  discount_amount: string;
  manual: boolean;
  redeemed_at: Timestamp;
  reinstated_at: Date | null;
}

export interface RewardStoresTable {
  retailer_id: string;
  id: string;
  internal_name: string;
  texts: Json<{ culture: string; name: string; description?: string }[]>;
  point_account_id: string;
  start_date: Date | null;
  end_date: Date | null;
  eligibility: Json<{ tier_level_ids?: string[]; tags?: string[] }>;
  retired_at: Date | null;
}

export interface RewardStoreOffersTable {
  retailer_id: string;
  id: string;
  reward_store_id: string;
  root_offer_id: string;
  price: string;
  start_date: Date | null;
  end_date: Date | null;
  total_limit: number | null;
  per_member_limit: number | null;
  retired_at: Date | null;
}

// events and rules
export interface MemberEventsTable {
  retailer_id: string;
  member_id: string;
  id: string;
  name: string;
  qty: Generated<number>;
  occurred_at: Timestamp;
  received_at: Timestamp;
  context: Json<Record<string, unknown>>;
  request_id: string | null;
}

export interface RulesTable {
  retailer_id: string;
  id: string;
  name: string;
  trigger: string;
  trigger_name: Generated<string>;
  conditions: Json<unknown>;
  limits: Json<Record<string, unknown>>;
  outcomes: Json<Record<string, unknown>[]>;
  position: Generated<number>;
  active: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
  retired_at: Date | null;
}

export interface RuleAchievementsTable {
  retailer_id: string;
  member_id: string;
  rule_id: string;
  id: Generated<number>;
  event_id: string | null;
  achieved_at: Timestamp;
  created_at: Timestamp;
  outcomes: Json<Record<string, unknown>[]>;
  request_id: string | null;
}

// point of sale (migrations/0006_pos_transactions.sql)
export interface PosTransactionsTable {
  retailer_id: string;
  id: string;
  store_id: string;
  transaction_id: string;
  member_id: string | null;
  channel: string | null;
  employee_id: string | null;
  table_id: string | null;
  guest_count: number | null;
  subtotal: ColumnType<string, string | undefined, string>;
  tax_total: ColumnType<string, string | undefined, string>;
  open_time: Date | null;
  modified_time: Date | null;
  items: Json<unknown[]>;
  payments: Json<unknown[]>;
  discounts: Json<unknown[]>;
  receipt_code: string | null;
  earned: Json<{ point_account_id: string; amount: string }[]>;
  redeemed_user_offer_ids: Json<string[]>;
  /** The campaign goals the purchase advanced (migrations/0008_pos_campaign_goals.sql). */
  campaign_goals: Json<{ behavior_id: number; goal: string; achieved: number; behavior_achieved: number }[]>;
  is_voided: Generated<boolean>;
  voided_at: Date | null;
  claimed_at: Date | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  request_id: string | null;
}

// campaigns (migrations/0005_campaigns.sql)
export interface CampaignAudience {
  tags?: string[];
  tier_level_ids?: string[];
  attributes?: Record<string, unknown>;
}

export interface CampaignsTable {
  retailer_id: string;
  id: number;
  permalink: string;
  name: string;
  start_date: Date;
  end_date: Date | null;
  division_id: string | null;
  group_id: number | null;
  creative_id: number | null;
  creative_ids: Json<number[]>;
  template_type: string;
  audience: Json<CampaignAudience>;
  opt_in_required: boolean;
  opt_in_start: Date | null;
  opt_in_end: Date | null;
  point_account_id: string | null;
  position: number;
  retired_at: Date | null;
}

export interface CampaignBehaviorsTable {
  retailer_id: string;
  id: number;
  campaign_id: number;
  position: number;
  name: string;
  external_behavior_id: string;
  event_name: string;
  type: 'composite' | 'count' | 'unique';
  points: number;
  max_times_repeatable: number | null;
  max_times_repeatable_per_period: number | null;
  period: number | null;
  min_time_between_events: number | null;
  consecutive: boolean;
  retired_at: Date | null;
}

export interface CampaignGoalsTable {
  retailer_id: string;
  behavior_id: number;
  name: string;
  position: number;
  group_id: string;
  event_name: string;
  earn_count: number;
  required: boolean;
  points: number;
  max_times_repeatable: number | null;
  max_times_repeatable_per_period: number | null;
  period: number | null;
  min_time_between_events: number | null;
  consecutive: boolean;
}

export interface MemberCampaignsTable {
  retailer_id: string;
  member_id: string;
  campaign_id: number;
  opted_in_at: Date | null;
  state: Generated<string>;
  updated_at: Timestamp;
}

export interface MemberBehaviorsTable {
  retailer_id: string;
  member_id: string;
  behavior_id: number;
  campaign_id: number;
  achieved: Generated<number>;
  achieved_at: ColumnType<Date[], Date[] | undefined, Date[]>;
  last_event_at: Date | null;
  updated_at: Timestamp;
}

export interface MemberGoalsTable {
  retailer_id: string;
  member_id: string;
  behavior_id: number;
  goal_name: string;
  current_count: Generated<number>;
  completed: Generated<boolean>;
  achieved: Generated<number>;
  achieved_at: ColumnType<Date[], Date[] | undefined, Date[]>;
  last_event_at: Date | null;
  seen: ColumnType<string[], string[] | undefined, string[]>;
  updated_at: Timestamp;
}

// privacy and merge (migrations/0007_privacy_merge.sql)
export interface PrivacyRequestPart {
  id: number;
  name: string;
  status: string;
}

export interface PrivacyRequestsTable {
  retailer_id: string;
  member_id: string;
  id: Generated<string>;
  type: 'forget' | 'export' | 'restrict' | 'reinstate';
  status: 'pending' | 'processing' | 'completed' | 'cancelled' | 'failed';
  parts: Json<PrivacyRequestPart[]>;
  request_id: string | null;
  due_at: Timestamp;
  created_at: Generated<Date>;
  cancelled_at: Timestamp | null;
  completed_at: Timestamp | null;
  document: Json<Record<string, unknown>> | null;
}

export interface MemberMergesTable {
  retailer_id: string;
  member_id: string;
  id: string;
  victim_id: string;
  status: 'pending' | 'finished' | 'failed';
  moved: Json<Record<string, unknown>>;
  request_id: string | null;
  created_at: Generated<Date>;
  finished_at: Timestamp | null;
}

// operators, their roles, sessions, tokens and invitations; failed sign-ins
export interface OperatorsTable {
  id: string;
  email: string;
  name: string;
  password_hash: string | null;
  superadmin: Generated<boolean>;
  created_at: Generated<Date>;
  password_changed_at: Date | null;
}

export interface OperatorRolesTable {
  operator_id: string;
  retailer_id: string;
  role: 'owner' | 'marketer' | 'support' | 'viewer';
  created_at: Generated<Date>;
}

export interface OperatorSessionsTable {
  token_hash: Buffer;
  operator_id: string;
  created_at: Generated<Date>;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
  address: string | null;
  user_agent: string | null;
}

export interface OperatorTokensTable {
  id: string;
  operator_id: string;
  name: string;
  secret_hash: Buffer;
  retailer_id: string | null;
  role: 'owner' | 'marketer' | 'support' | 'viewer' | null;
  created_at: Generated<Date>;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface OperatorInvitationsTable {
  token_hash: Buffer;
  operator_id: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  used_at: Date | null;
}

export interface LoginFailuresTable {
  key: string;
  at: Generated<Date>;
}

// the audit trail of admin writes
export interface AuditLogTable {
  id: Generated<string>;
  retailer_id: string | null;
  at: Generated<Date>;
  actor_type: 'operator' | 'operator_token' | 'admin_token';
  actor_id: string | null;
  actor_email: string | null;
  address: string | null;
  user_agent: string | null;
  action: string;
  object_type: string;
  object_id: string | null;
  request_id: string | null;
  before: Json<unknown> | null;
  after: Json<unknown> | null;
}

export interface Database {
  retailers: RetailersTable;
  credentials: CredentialsTable;
  stores: StoresTable;
  custom_attributes: CustomAttributesTable;
  members: MembersTable;
  member_identifiers: MemberIdentifiersTable;
  member_phone_numbers: MemberPhoneNumbersTable;
  member_tags: MemberTagsTable;
  timeline_events: TimelineEventsTable;
  domain_events: DomainEventsTable;
  outbox_cursors: OutboxCursorsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  jobs: JobsTable;
  simulations: SimulationsTable;
  operators: OperatorsTable;
  operator_roles: OperatorRolesTable;
  operator_sessions: OperatorSessionsTable;
  operator_tokens: OperatorTokensTable;
  operator_invitations: OperatorInvitationsTable;
  login_failures: LoginFailuresTable;
  audit_log: AuditLogTable;
  message_replays: MessageReplaysTable;
  point_accounts: PointAccountsTable;
  point_sources: PointSourcesTable;
  member_point_accounts: MemberPointAccountsTable;
  point_ledger: PointLedgerTable;
  point_lots: PointLotsTable;
  point_idempotency: PointIdempotencyTable;
  tier_systems: TierSystemsTable;
  tier_levels: TierLevelsTable;
  member_tiers: MemberTiersTable;
  offers: OffersTable;
  user_offers: UserOffersTable;
  offer_redemptions: OfferRedemptionsTable;
  reward_stores: RewardStoresTable;
  reward_store_offers: RewardStoreOffersTable;
  campaigns: CampaignsTable;
  campaign_behaviors: CampaignBehaviorsTable;
  campaign_goals: CampaignGoalsTable;
  member_campaigns: MemberCampaignsTable;
  member_behaviors: MemberBehaviorsTable;
  member_goals: MemberGoalsTable;
  member_events: MemberEventsTable;
  rules: RulesTable;
  rule_achievements: RuleAchievementsTable;
  pos_transactions: PosTransactionsTable;
  privacy_requests: PrivacyRequestsTable;
  member_merges: MemberMergesTable;
}
