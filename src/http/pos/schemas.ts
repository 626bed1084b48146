// The Cloud POS answers: the envelope around every success and the shared
// pieces (a member at the till, a discount, a stored transaction).
import { Type, type TSchema } from '@sinclair/typebox';
import { component, FreeForm, IsoTime, Nullable, Obj, OneOf, Uuid } from '../contract.js';

/** The POS success envelope; lookup answers `status: "success"`, every other operation `"OK"`. */
export const posAnswer = <T extends TSchema, S extends 'OK' | 'success' = 'OK'>(payload: T, status: S = 'OK' as S) => Obj({ status: Type.Literal(status), payload, errors: Type.Null() });

/** What an offer does to the basket (collection 5.2.1): offered at lookup, redeemed or locked. */
export const PosDiscount = component(
  'PosDiscount',
  Obj({
    reference_id: Type.String({ format: 'uuid', description: 'the user offer id' }),
    user_id: Uuid,
    reference_id_type: Type.Literal('userofferid'),
    pos_discount_id: Nullable(Type.String({ description: "the till's own discount id for the offer" })),
    status: OneOf(['INFO', 'REDEEMED', 'LOCKED'], { description: 'INFO at lookup, REDEEMED by redeem, LOCKED by lock' }),
    display_name: Type.String({ description: "the offer's title in the request's culture" }),
    image_url: Nullable(Type.String()),
    discounted_line_ids: Type.Array(Type.String(), { description: 'the basket lines the discount applies to; empty without a basket' }),
    discounted_line_id_quantities: Type.Array(Type.Number(), { description: 'the quantity discounted on each of discounted_line_ids, in the same order' }),
    discount_source: Type.Literal('sessionm'),
    amount: Type.Number({ description: 'the discount on the basket in currency units; 0 without a basket' }),
    stack_order: Type.Integer(),
    applied_time: Nullable(IsoTime),
    redemption_code: Type.String(),
    offer_custom_data: Type.Null(),
    user_offer_custom_data: Nullable(Type.String()),
  }),
);

/** One of the member's point accounts as the till shows it. */
const PosPointAccount = Obj({
  AccountName: Type.String(),
  UserPointAccountID: Type.String({ description: "the member's account id; empty when the member has never used the account" }),
  PointAccountID: Uuid,
  GroupingLabel: Type.String(),
  AvailableBalance: Type.Number(),
  LifeTimeValue: Type.Number(),
  PendingBalance: Type.Optional(Type.Number({ description: 'deposited, not yet available; absent when none' })),
  ExpiringPoints: Type.Optional(Type.Array(Obj({ Amount: Type.Number(), ExpiresAt: Type.String() }), { description: 'the next amounts to expire, soonest first (at most 3); absent when none' })),
});

/** The member found at the till (collection 5.1). */
export const PosMember = component(
  'PosMember',
  Obj({
    user_reference_id: Uuid,
    user_account_id: Uuid,
    partial_response: Type.Boolean(),
    first_name: Nullable(Type.String()),
    last_name: Nullable(Type.String()),
    phone: Nullable(Type.String({ description: "the member's first phone number" })),
    email: Nullable(Type.String()),
    points: Type.Number({ description: "the default point accounts' available balance (every account's when none is default)" }),
    profile_fields: FreeForm({ description: "the member's custom profile attributes, defaults filled in, and `_version`" }),
    offers: Type.Array(PosDiscount, { description: 'without a transaction: every issued offer; with one: those usable at this store that discount this basket' }),
    accounts: Type.Array(PosPointAccount, { description: 'one per point account of the retailer, in program order' }),
  }),
);

/** A stored transaction: the loyalty platform's id for it. */
export const PosTransactionAnswer = component('PosTransactionAnswer', Obj({ transaction: Obj({ id: Uuid }) }));
