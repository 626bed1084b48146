// The admin API's answers about members (flows/member-view.ts): the search a
// support agent runs, and one member's whole picture. Amounts are exact
// decimal text, instants ISO 8601.
import { Type } from '@sinclair/typebox';
import { component, FreeForm, IsoTime, Nullable, Obj, OneOf, Uuid } from '../contract.js';

const Amount = (description: string) => Type.String({ pattern: '^-?\\d+(\\.\\d+)?$', description: `${description}: exact decimal text`, examples: ['100', '12.5'] });
const Text = Nullable(Type.String());

/** A member as the search lists it. */
export const AdminMember = component(
  'AdminMember',
  Obj({
    user_id: Uuid,
    external_id: Nullable(Type.String({ description: 'the first of its external ids' })),
    email: Text,
    first_name: Text,
    last_name: Text,
    phone: Nullable(Type.String({ description: 'the first of its phone numbers' })),
    account_status: Type.String(),
    created_at: IsoTime,
  }),
);

export const AdminMemberList = Obj({
  total: Type.Integer({ description: 'members the search matches' }),
  members: Type.Array(AdminMember, { description: 'the first `limit`' }),
});

const Profile = Obj({
  user_id: Uuid,
  player_id: Type.Integer(),
  external_id: Nullable(Type.String({ description: 'the first of its external ids' })),
  email: Text,
  first_name: Text,
  last_name: Text,
  gender: Text,
  dob: Nullable(Type.String({ description: 'YYYY-MM-DD' })),
  address: Text,
  address2: Text,
  city: Text,
  state: Text,
  zip: Text,
  country: Text,
  locale: Text,
  opted_in: Type.Boolean(),
  account_status: Type.String(),
  restricted: Type.Boolean({ description: 'a privacy restriction: the member earns nothing and sees no campaign while it lasts' }),
  suspended: Type.Boolean(),
  test_account: Type.Boolean(),
  created_at: IsoTime,
  updated_at: IsoTime,
  user_profile: FreeForm({ description: 'the custom profile attributes' }),
});

const Tier = Obj({
  tier_system_id: Uuid,
  tier_system_name: Nullable(Type.String({ description: 'null: the system has been retired since' })),
  tier_level_id: Uuid,
  tier_level_name: Text,
  rank: Nullable(Type.Integer()),
  join_date: IsoTime,
  next_maintenance_eval_date: Nullable(IsoTime),
  next_level: Nullable(
    Obj(
      {
        tier_level_id: Uuid,
        name: Type.String(),
        point_account_id: Nullable(Type.String({ format: 'uuid', description: "the threshold's point account; null: the level names no threshold" })),
        threshold: Amount('the qualifying points the level asks of that account'),
        current: Amount("the member's qualifying points in it now"),
      },
      {
        description:
          "The level ranked next above the member's, for a progress bar (null at the top level, or at a level retired since). Qualifying points are what tier qualifying counts: " +
          "the account's lifetime points, or for a tier system with a period (period_days) the points deposited into it within the last period. " +
          'A level with several thresholds (all must be met) shows the one the member has met the least share of.',
      },
    ),
  ),
});

const Lot = Obj({
  lot_id: Type.String(),
  state: OneOf(['pending', 'open', 'expired', 'merged', 'cancelled'], { description: 'open: available until it expires; pending: not yet available' }),
  remaining: Amount('points left in the lot'),
  expires_at: Nullable(IsoTime),
  available_at: Nullable(IsoTime),
  transaction_id: Text,
});

const PointAccount = Obj({
  point_account_id: Uuid,
  name: Type.String(),
  grouping_label: Type.String(),
  user_point_account_id: Nullable(Type.String({ format: 'uuid', description: 'null until the member first uses the account' })),
  available_balance: Amount('available now'),
  pending_balance: Amount('deposited, not yet available'),
  life_time_value: Amount('ever deposited'),
  lots: Type.Array(Lot, { description: 'the lots holding points that expire or are pending; never-expiring points are no lot' }),
});

/** One entry of a member's point ledger. */
export const LedgerEntry = component(
  'AdminLedgerEntry',
  Obj({
    id: Type.Integer(),
    point_account_id: Uuid,
    account_name: Type.String(),
    amount: Amount('the change, negative for a spend'),
    balance_after: Amount('the balance it left'),
    modification_type: Type.String({ examples: ['deposit', 'spend', 'return', 'expiry'] }),
    point_source_id: Nullable(Type.String({ format: 'uuid' })),
    point_source_name: Text,
    reference_id: Text,
    reference_type: Text,
    transaction_id: Text,
    request_id: Text,
    effective_at: IsoTime,
    inserted_at: IsoTime,
  }),
);

const UserOffer = Obj({
  user_offer_id: Uuid,
  offer_id: Uuid,
  root_offer_id: Uuid,
  internal_title: Text,
  status: Type.Integer({ description: 'as a client sees it: 1 issued, 2 redeemed, 3 revoked, 4 expired, 5 locked' }),
  status_description: OneOf(['Issued', 'Redeemed', 'Revoked', 'Expired', 'Locked']),
  acquired_at: IsoTime,
  redemption_start_date: Nullable(IsoTime),
  redemption_end_date: Nullable(IsoTime),
  quantity: Type.Integer(),
  remaining_uses: Type.Integer(),
  redemption_code: Type.String(),
  source: Type.String(),
  redeemed_at: Nullable(IsoTime),
  revoked_at: Nullable(IsoTime),
  revoke_reason: Text,
});

const Campaign = Obj({
  campaign_id: Type.Integer(),
  name: Type.String(),
  permalink: Type.String(),
  state: OneOf(['qualified', 'opted_in', 'in_progress', 'completed', 'ineligible', 'ended']),
  opted_in: Type.Boolean(),
  start_date: IsoTime,
  end_date: Nullable(IsoTime),
  behaviors: Type.Array(
    Obj({
      behavior_id: Type.Integer(),
      name: Type.String(),
      event_name: Type.String(),
      achieved: Type.Integer({ description: 'times achieved' }),
      progress: Type.Integer({ description: 'goals (or occurrences) done in the current cycle' }),
      goal: Type.Integer({ description: 'needed in a cycle' }),
      active: Type.Boolean({ description: 'can still be achieved' }),
    }),
  ),
});

/** One entry of a member's timeline. */
export const TimelineEntry = component(
  'AdminTimelineEntry',
  Obj({
    occurred_at: IsoTime,
    event_type: Nullable(Type.String({ description: 'the event type slug', examples: ['INCENTIVES_POINT_DEPOSIT'] })),
    event_category: Nullable(Type.String({ examples: ['POINTS'] })),
    request_id: Text,
    payload: FreeForm({ description: 'as the Core timeline answers it (event_stream_payload)' }),
  }),
);

const PrivacyRequest = Obj({
  id: Type.Integer(),
  type: OneOf(['forget', 'export', 'restrict', 'reinstate']),
  status: OneOf(['pending', 'processing', 'completed', 'cancelled', 'failed']),
  created_at: IsoTime,
  due_at: IsoTime,
  cancelled_at: Nullable(IsoTime),
  completed_at: Nullable(IsoTime),
});

/** One member as a support agent sees it. */
export const AdminMemberView = component(
  'AdminMemberView',
  Obj({
    profile: Profile,
    identifiers: Type.Array(Obj({ external_id: Type.String(), external_id_type: Type.String() })),
    phone_numbers: Type.Array(Obj({ phone_number: Type.String(), phone_type: Type.String(), preference_flags: Type.Array(Type.String()), verified_ownership: Type.Boolean() })),
    tags: Type.Record(Type.String(), Type.Integer(), { description: 'live tags by name, with their counts' }),
    tiers: Type.Array(Tier),
    point_accounts: Type.Array(PointAccount, { description: 'every point account of the retailer, in program order' }),
    ledger: Obj({ total: Type.Integer(), entries: Type.Array(LedgerEntry, { description: 'the newest 50, newest first' }) }),
    offers: Obj({ total: Type.Integer(), user_offers: Type.Array(UserOffer, { description: 'the newest 50, newest first' }) }),
    campaigns: Type.Array(Campaign, { description: 'the running campaigns the member qualifies for' }),
    timeline: Obj({ entries: Type.Array(TimelineEntry, { description: 'the newest 50, newest first' }), has_more: Type.Boolean() }),
    privacy_requests: Type.Array(PrivacyRequest, { description: 'newest first' }),
  }),
);

/** A page of a member's ledger. */
export const AdminLedgerPage = Obj({
  entries: Type.Array(LedgerEntry, { description: 'newest first (by effective time, then id)' }),
  next_before: Nullable(Type.Integer({ description: 'the `before` of the next page: the last entry’s id; null: no more entries' })),
});

/** A page of a member's timeline. */
export const AdminTimelinePage = Obj({
  entries: Type.Array(TimelineEntry, { description: 'newest first (by occurred_at, then id)' }),
  next_before: Nullable(Type.String({ description: 'the `before` of the next page (opaque); null: no more entries' })),
});

const PRIVACY_TYPES = ['forget', 'export', 'restrict', 'reinstate'] as const;
export const PRIVACY_STATUSES = ['pending', 'processing', 'completed', 'cancelled', 'failed'] as const;

/** A page of the retailer's privacy request queue. */
export const AdminPrivacyQueue = Obj({
  requests: Type.Array(
    Obj({
      id: Type.Integer(),
      user_id: Uuid,
      email: Nullable(Type.String({ description: 'null once the member is forgotten, merged away or deleted' })),
      first_name: Text,
      last_name: Text,
      type: OneOf(PRIVACY_TYPES),
      status: OneOf(PRIVACY_STATUSES),
      created_at: IsoTime,
      due_at: IsoTime,
      completed_at: Nullable(IsoTime),
      cancelled_at: Nullable(IsoTime),
    }),
  ),
  next_before: Nullable(Type.String({ description: 'the `before` of the next page (opaque); null: no more requests' })),
});
