// The answers of the Core operations, and the pieces several of them share
// (registered once as components).
import { Type, type TSchema } from '@sinclair/typebox';
import type { ErrorCode } from '../../errors.js';
import { component, CoreTime, FreeForm, Nullable, Obj, OneOf } from '../contract.js';
import { ConnectRuleOutcome, ConnectTierDetails } from '../connect/schemas.js';

/** A Core success answer: `{status: 'ok', ...fields}`. */
export const coreAnswer = <T extends Record<string, TSchema>>(fields: T) => Obj({ status: Type.Literal('ok'), ...fields });

/** The answer of an operation that gives nothing back. */
export const CoreOk = component('CoreOk', coreAnswer({}));

/**
 * The errors of finding the member a path names: an external id can name
 * several members (of different id types).
 */
export const memberLookup = (base: string): ErrorCode[] => (base.startsWith('/external/') ? ['user_not_found', 'multiple_matches'] : ['user_not_found']);

// members

const CoreIdentifier = Obj({ external_id: Type.String(), external_id_type: Type.String({ description: 'empty when none was given' }) });

const CorePhoneNumber = Obj({
  phone_number: Type.String(),
  phone_type: Type.String({ description: '`mobile` unless another was given' }),
  preference_flags: Type.Array(Type.String()),
  verified_ownership: Type.Boolean(),
});

/** The custom profile: the program's defaults merged with the member's own values. */
const CoreUserProfile = Type.Object(
  { _version: Type.Integer({ description: 'the profile version, one more on every change of a custom attribute' }) },
  { additionalProperties: true, description: 'custom attributes: the defaults of the program merged with the values of the member' },
);

export const CoreUser = component(
  'CoreUser',
  Obj({
    id: Type.String({ description: "the member's id (a UUID)" }),
    external_id: Nullable(Type.String({ description: 'the first external id; null when the member has none' })),
    opted_in: Type.Boolean(),
    activated: Type.Boolean(),
    proxy_ids: Type.Array(Type.String(), { description: 'always empty' }),
    identifiers: Type.Optional(Type.Array(CoreIdentifier, { description: 'every external id; present with show_identifiers (and on create)' })),
    available_points: Type.Number({ description: 'the sum of the available balances of the point accounts' }),
    test_points: Type.Integer({ description: 'always 0' }),
    unclaimed_achievement_count: Type.Integer({ description: 'always 0' }),
    email: Nullable(Type.String()),
    gender: Nullable(Type.String()),
    dob: Nullable(Type.String({ description: 'YYYY-MM-DD' })),
    created_at: CoreTime,
    updated_at: CoreTime,
    address: Nullable(Type.String()),
    address2: Nullable(Type.String()),
    city: Nullable(Type.String()),
    zip: Nullable(Type.String()),
    dma: Type.String({ description: 'empty when unknown' }),
    state: Nullable(Type.String()),
    country: Nullable(Type.String()),
    locale: Nullable(Type.String()),
    suspended: Type.Boolean(),
    last_name: Nullable(Type.String()),
    first_name: Nullable(Type.String()),
    registered_at: CoreTime,
    profile_photo_url: Type.String({ description: 'a default picture when the member has none' }),
    test_account: Type.Boolean(),
    account_status: Type.String({ description: '`good`, or `restricted` after a privacy restrict' }),
    tier_details: Type.Optional({ ...ConnectTierDetails, description: "the member's tier levels and balances, as Connect's tier_status answers them; present with expand_incentives" }),
    referrer_code: Type.String({ description: 'the code another member gives on sign-up to name this one as referrer' }),
    user_profile: Type.Optional({ ...CoreUserProfile, description: 'present with user[user_profile] (and on create and update)' }),
    phone_numbers: Type.Optional(Type.Array(CorePhoneNumber, { description: 'absent when the member has none' })),
  }),
);

export const CoreUserAnswer = coreAnswer({ user: CoreUser });

/** A row of the advanced search (1.7.1). */
export const CorePlayer = component(
  'CorePlayer',
  Obj({
    id: Type.Integer({ description: "the member's player number" }),
    user_id: Type.String({ description: "the member's id" }),
    first_name: Nullable(Type.String()),
    last_name: Nullable(Type.String()),
    dob: Nullable(Type.String({ description: 'YYYY-MM-DD' })),
    yob: Nullable(Type.Integer({ description: 'the year of dob' })),
    email: Nullable(Type.String()),
    home_state: Nullable(Type.String()),
    masked_phone_numbers: Type.Array(Type.String(), { description: 'all but the last four digits masked, e.g. `XXX-XXX-3333`' }),
    user_profile: Type.Optional({ ...CoreUserProfile, description: 'present with advanced_search_params[user_profile]' }),
    affiliate_type: Type.Null(),
    external_ids: Type.Array(Type.String()),
    home_address: Nullable(Type.String()),
    home_address2: Nullable(Type.String()),
  }),
);

// tags and timeline

export const CoreTags = Type.Record(Type.String(), Type.Integer(), { description: "the member's live tags with their counts (an expiring tag counts 1)" });

export const CoreTimelineEntry = component(
  'CoreTimelineEntry',
  Obj({
    event_stream_stream_id: Type.String({ description: "the entry's id" }),
    event_stream_event_category_id: Type.Integer(),
    event_stream_event_type_id: Type.Integer(),
    target_id: Type.Integer({ description: "the member's player number" }),
    timestamp: Type.Integer({ description: 'when it happened, epoch milliseconds' }),
    created_at: Type.Integer({ description: 'when it was written, epoch seconds' }),
    event_stream_payload: FreeForm({ description: 'the category and type names, request_id, rewards_system_id, and the fields of the event type' }),
    contexts: Type.Array(FreeForm()),
  }),
);

export const CoreTimelineEventType = component(
  'CoreTimelineEventType',
  Obj({
    id: Type.Integer(),
    name: Type.String(),
    slug: Type.String(),
    event_stream_event_category_id: Type.Integer(),
    event_stream_stream_id: Type.Integer(),
  }),
);

// merge

export const CoreMerge = component(
  'CoreMerge',
  Obj({
    id: Type.String({ description: "the merge's id" }),
    status: OneOf(['pending', 'finished', 'failed'] as const),
    survivor_user_id: Type.String(),
    survivor_external_id: Nullable(Type.String()),
    victim_user_id: Type.String(),
    victim_external_id: Nullable(Type.String({ description: "the victim's first external id, now the survivor's" })),
    // in the order PostgreSQL keeps a json value's keys (shortest first), as the answer has always listed them
    moved: Obj(
      {
        tags: Type.Array(Type.String()),
        events: Type.Integer({ description: 'custom events moved' }),
        campaigns: Type.Integer({ description: 'campaign progress rows moved' }),
        external_ids: Type.Array(CoreIdentifier),
        transactions: Type.Integer({ description: 'POS transactions moved' }),
        point_accounts: Type.Array(Obj({ amount: Type.Number({ description: 'the balance moved' }), life_time_value: Type.Number(), point_account_id: Type.String() })),
        user_offer_ids: Type.Array(Type.String()),
      },
      { description: 'what the survivor took over from the victim' },
    ),
    created_at: CoreTime,
    finished_at: Nullable(CoreTime),
  }),
);

// privacy

const PrivacyRequestType = OneOf(['forget', 'export', 'restrict', 'reinstate'] as const);
const PrivacyStatus = OneOf(['pending', 'processing', 'completed', 'cancelled', 'failed'] as const);
const PartIds = Type.Record(Type.String(), Type.String(), { description: 'part id → part name, e.g. `{"291": "forget"}`' });

const privacyRequestFields = {
  id: Type.Integer(),
  user_id: Type.String(),
  request_type: PrivacyRequestType,
  status: PrivacyStatus,
  privacy_request_part_ids: PartIds,
  parts: Type.Array(Obj({ id: Type.Integer(), name: Type.String(), status: Type.String() }), { description: 'one per domain that acts on the request' }),
  created_at: CoreTime,
  due_at: { ...CoreTime, description: 'when the grace period ends and the request is carried out (UTC, `YYYY-MM-DD HH:MM:SS`)' },
  cancelled_at: Nullable(CoreTime),
  completed_at: Nullable(CoreTime),
};

export const CorePrivacyRequest = component('CorePrivacyRequest', Obj(privacyRequestFields));

/** A request just filed (1.5.2): a pending one of the same type is answered again. */
export const CorePrivacyRequestFiled = component('CorePrivacyRequestFiled', Obj({ id: Type.Integer(), privacy_request_part_ids: PartIds }));

export const CorePrivacyExport = component(
  'CorePrivacyExport',
  Obj({
    ...privacyRequestFields,
    ready: Type.Boolean({ description: 'the export is done and can be downloaded' }),
    download_path: Nullable(Type.String({ description: 'where to download it; null until ready' })),
  }),
);

export const CorePrivacyExportDocument = component(
  'CorePrivacyExportDocument',
  Obj({
    ...privacyRequestFields,
    data: Nullable(FreeForm({ description: "the member's data; null until the export is completed" })),
  }),
);

// campaigns

const Limit = (description?: string) => Nullable(Type.Integer(description ? { description } : {}));
const limitFields = {
  max_times_repeatable: Limit('null: unlimited'),
  max_times_repeatable_per_period: Limit('null: unlimited'),
  period: Limit('seconds'),
  min_time_between_events: Limit('seconds'),
};
const CampaignState = OneOf(['qualified', 'opted_in', 'in_progress', 'completed', 'ineligible', 'ended'] as const);

const CoreCampaignGoal = Obj({
  type: Type.Literal('goal'),
  points: Type.Number(),
  completed: Type.Boolean(),
  required: Type.Boolean(),
  earn_count: Type.Integer(),
  group_id: Type.String(),
  skus: Type.Null(),
  progress: Obj({
    event_name: Type.String(),
    type: Type.Literal('count'),
    points: Type.Number(),
    ...limitFields,
    min_time_between_events_count: Type.Integer(),
    consecutive: Type.Boolean(),
    achieved: Type.Integer(),
    current_count: Type.Integer(),
    total_count: Type.Integer(),
  }),
});

const CoreCampaignGroup = Obj({ type: Type.Literal('group'), current_count: Type.Integer(), total_count: Type.Integer(), num_goals: Type.Integer(), completed: Type.Boolean() });

/** A behaviour of the `behaviors` object: a composite one lists its goals and groups, a count or unique one its event and counts. */
export const CoreCampaignBehavior = component(
  'CoreCampaignBehavior',
  Obj({
    external_behavior_id: Type.String(),
    type: OneOf(['composite', 'count', 'unique'] as const),
    points: Type.Number(),
    achieved: Type.Integer({ description: 'times achieved' }),
    can_skip: Type.Boolean(),
    skipped: Type.Integer(),
    ...limitFields,
    consecutive: Type.Boolean(),
    event_name: Type.Optional(Type.String({ description: 'count and unique behaviours: the event counted' })),
    current_count: Type.Optional(Type.Integer({ description: 'count and unique behaviours' })),
    total_count: Type.Optional(Type.Integer({ description: 'count and unique behaviours' })),
    goals: Type.Record(Type.String(), CoreCampaignGoal, { description: 'by goal name; empty but for composite behaviours' }),
    groups: Type.Record(Type.String(), CoreCampaignGroup, { description: 'by group id; empty but for composite behaviours' }),
  }),
);

const Behaviors = Type.Record(Type.String(), CoreCampaignBehavior, { description: 'by behaviour name' });

const behaviorProgress = {
  progress: Type.Integer({ description: 'goals (or occurrences) done in the current cycle' }),
  goal: Type.Integer({ description: 'goals (or occurrences) needed' }),
};

/** A v1 promotion (2.1). */
export const CoreCampaignV1 = component(
  'CoreCampaignV1',
  Obj({
    campaign_id: Type.Integer(),
    name: Type.String(),
    group_id: Type.Integer({ description: '0 when none' }),
    creative_id: Type.Integer({ description: '0 when none' }),
    start_date: CoreTime,
    end_date: Nullable(CoreTime),
    permalink: Type.String(),
    template: Obj({ type: Type.String() }),
    progress: Type.Optional(
      Obj(
        {
          state: CampaignState,
          behaviors: Type.Optional(
            Type.Array(
              Obj({
                behavior_id: Type.Integer(),
                external_behavior_id: Type.String(),
                event_name: Type.String(),
                name: Type.String(),
                ...behaviorProgress,
                active: Type.Boolean({ description: 'can still be achieved' }),
              }),
              { description: 'absent when the campaign has none' },
            ),
          ),
        },
        { description: "the member's progress; absent in the retailer's list" },
      ),
    ),
    behaviors: Behaviors,
    division_id: Type.Optional(Type.String()),
  }),
);

/** A v2 campaign (2.3, 2.4) with the sections asked for. */
export const CoreCampaignV2 = component(
  'CoreCampaignV2',
  Obj({
    campaign_id: Type.Integer(),
    campaign_permalink: Type.String(),
    name: Type.String(),
    status: CampaignState,
    starts_at: CoreTime,
    ends_at: Type.Optional({ ...CoreTime, description: 'absent for an open-ended campaign (one that runs a hundred years or more)' }),
    qualified: Type.Boolean(),
    progress: Type.Optional(
      Obj(
        {
          state: CampaignState,
          behaviors: Type.Optional(
            Type.Array(Obj({ behavior_id: Type.Integer(), event_name: Type.String(), name: Type.String(), ...behaviorProgress }), { description: 'absent when the campaign has none' }),
          ),
        },
        { description: 'with sections=progress' },
      ),
    ),
    behaviors: Type.Optional({ ...Behaviors, description: 'with sections=behaviors' }),
    creative_ids: Type.Array(Type.Integer()),
    division_id: Type.Optional(Type.String()),
  }),
);

// events

export const CoreEventResult = component(
  'CoreEventResult',
  Obj({
    id: Type.String({ description: "the event's id" }),
    name: Type.String(),
    user_id: Type.String({ description: "the member's id" }),
    qty: Type.Integer(),
    occurred_at: CoreTime,
    outcomes: Type.Array(ConnectRuleOutcome, { description: 'the outcomes of the rules the event achieved' }),
  }),
);
