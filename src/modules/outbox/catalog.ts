/**
 * The domain events Loyalist records, each with its version and the JSON
 * Schema of its payload (docs/events.md, docs/events.schema.json). A payload
 * changes shape only with a new version; amounts are decimal strings, exact.
 */
import { Type, type Static, type TObject } from '@sinclair/typebox';

const Uuid = Type.String({ format: 'uuid' });
const Decimal = Type.String({ pattern: '^-?\\d+(\\.\\d+)?$', description: 'an exact decimal' });
const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Payload = <T extends Parameters<typeof Type.Object>[0]>(properties: T, description: string) => Type.Object(properties, { additionalProperties: false, description });

const member = {
  user_id: Uuid,
  external_ids: Type.Array(Type.Object({ external_id: Type.String(), external_id_type: Type.String() }, { additionalProperties: false })),
  email: Nullable(Type.String()),
  first_name: Nullable(Type.String()),
  last_name: Nullable(Type.String()),
  locale: Nullable(Type.String()),
  account_status: Type.String(),
  opted_in: Type.Boolean(),
};

const points = Payload(
  {
    point_account_id: Uuid,
    account_name: Type.String(),
    modification_type: Type.String({ description: 'deposit, spend, forced_spend, return, expiry, merge_in, merge_out' }),
    amount: Type.String({ pattern: '^\\d+(\\.\\d+)?$', description: 'the points moved (positive)' }),
    balance_after: Decimal,
    point_source_id: Nullable(Uuid),
    reference_type: Nullable(Type.String()),
    reference_id: Nullable(Type.String()),
    transaction_id: Nullable(Type.String()),
  },
  'one ledger entry',
);

const offer = { user_offer_id: Uuid, offer_id: Uuid };

const transaction = {
  transaction_id: Uuid,
  pos_transaction_id: Type.String(),
  store_id: Type.String(),
  subtotal: Decimal,
  tax_total: Decimal,
};

export const EVENT_CATALOG = {
  'member.created': { version: 1, payload: Payload(member, 'a member joined') },
  'member.updated': { version: 1, payload: Payload({ ...member, changed: Type.Array(Type.String(), { description: 'the fields the update changed' }) }, 'a member profile changed') },
  'member.deleted': { version: 1, payload: Payload({ user_id: Uuid }, 'a member was deleted') },
  'member.merged': { version: 1, payload: Payload({ user_id: Uuid, merged_user_id: Uuid, merge_id: Uuid }, 'another member was merged into this one (the survivor)') },
  'member.forgotten': { version: 1, payload: Payload({ user_id: Uuid, privacy_request_id: Type.Integer() }, "a member's personal data was erased") },
  'member.restricted': { version: 1, payload: Payload({ user_id: Uuid }, "processing of a member's data was restricted") },
  'member.reinstated': { version: 1, payload: Payload({ user_id: Uuid }, "processing of a member's data was reinstated") },
  'member.tag_added': { version: 1, payload: Payload({ tag: Type.String(), count: Type.Integer({ description: 'times the member holds the tag now' }), expires_at: Nullable(Time) }, 'a tag was dropped on a member') },
  'points.deposited': { version: 1, payload: points },
  'points.spent': { version: 1, payload: points },
  'points.returned': { version: 1, payload: points },
  'points.expired': { version: 1, payload: points },
  'points.pending': {
    version: 1,
    payload: Payload(
      { point_account_id: Uuid, account_name: Type.String(), amount: Type.String({ pattern: '^\\d+(\\.\\d+)?$' }), available_at: Time, expires_at: Nullable(Time), point_source_id: Nullable(Uuid), reference_type: Nullable(Type.String()), reference_id: Nullable(Type.String()), transaction_id: Nullable(Type.String()) },
      'points were deposited into an account that holds them pending until available_at (no ledger entry yet)',
    ),
  },
  'points.available': { version: 1, payload: points },
  'points.expiring': {
    version: 1,
    payload: Payload(
      { point_account_id: Uuid, account_name: Type.String(), amount: Type.String({ pattern: '^\\d+(\\.\\d+)?$', description: 'the points that expire then' }), expires_at: Time },
      'points of a member will expire at expires_at (expiry_notice before it; once per expiry instant)',
    ),
  },
  'tier.changed': {
    version: 1,
    payload: Payload({ tier_system_id: Uuid, from_tier_level_id: Nullable(Uuid), to_tier_level_id: Uuid, direction: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('same')]), reason: Type.String({ description: 'promote (after points arrived, or a merge), qualify (qualifying and maintenance), manual (a move by hand or a rule outcome)' }) }, "a member's tier level changed"),
  },
  'offer.issued': { version: 1, payload: Payload({ ...offer, source: Type.String({ description: 'issue (the API), rule, purchase (a reward store), demo' }) }, 'an offer was issued to a member') },
  'offer.revoked': { version: 1, payload: Payload({ ...offer, reason: Nullable(Type.String()) }, "a member's offer was revoked") },
  'offer.redeemed': { version: 1, payload: Payload({ ...offer, store_id: Nullable(Type.String()), transaction_key: Nullable(Type.String()) }, "a member's offer was redeemed") },
  'offer.reinstated': { version: 1, payload: Payload(offer, 'a redeemed offer was made usable again') },
  'offer.expired': { version: 1, payload: Payload(offer, "a member's offer expired unused") },
  'reward.purchased': { version: 1, payload: Payload({ ...offer, reward_store_id: Uuid, store_offer_id: Uuid, price: Decimal, point_account_id: Uuid }, 'a member bought a reward with points') },
  'campaign.completed': { version: 1, payload: Payload({ campaign_id: Type.String(), campaign_name: Type.String() }, 'a member completed a campaign') },
  'rule.achieved': {
    version: 1,
    payload: Payload(
      {
        rule_id: Uuid,
        rule_name: Type.String(),
        trigger: Type.String(),
        event_id: Nullable(Uuid),
        outcomes: Type.Array(Type.Object({ type: Type.String(), applied: Type.Boolean(), points_awarded: Decimal }, { additionalProperties: false })),
      },
      'a member achieved a loyalty rule',
    ),
  },
  'transaction.recorded': { version: 1, payload: Payload(transaction, 'a point-of-sale transaction was recorded for a member') },
  'transaction.voided': { version: 1, payload: Payload({ transaction_id: Uuid, pos_transaction_id: Type.String(), store_id: Type.String() }, 'a point-of-sale transaction was voided') },
  'privacy.request_completed': { version: 1, payload: Payload({ privacy_request_id: Type.Integer(), request_type: Type.String() }, 'a privacy request (export, forget) was carried out') },
} satisfies Record<string, { version: number; payload: TObject }>;

export type EventType = keyof typeof EVENT_CATALOG;
export type EventPayload<T extends EventType> = Static<(typeof EVENT_CATALOG)[T]['payload']>;
export const EVENT_TYPES = Object.keys(EVENT_CATALOG) as EventType[];

/** The envelope every event has, as the feed (and later, deliveries) answer it. */
export const DomainEventSchema = Type.Object(
  {
    position: Type.String({ pattern: '^\\d+$', description: 'order in the feed; per member, the commit order' }),
    id: Uuid,
    type: Type.String({ description: 'one of the types in docs/events.md' }),
    version: Type.Integer({ minimum: 1 }),
    retailer_id: Uuid,
    user_id: Nullable(Uuid),
    occurred_at: Time,
    payload: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);
