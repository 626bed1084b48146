import { Type, type FastifyPluginAsyncTypebox, type Static } from '@fastify/type-provider-typebox';
import { dbOf } from '../surface.js';
import { DomainError, memberNotFound, type ErrorCode } from '../../errors.js';
import type { Member } from '../../modules/members/service.js';
import { lookupMember, type LookupKey } from '../../modules/members/lookup.js';
import { offerText, offerVersionsByIds, type Offer } from '../../modules/offers/catalog.js';
import type { Basket, BasketLine } from '../../modules/offers/discount.js';
import {
  type UserOffer,
} from '../../modules/offers/user-offers.js';
import { parseAmount, toJson, ZERO, type Amount } from '../../modules/points/amount.js';
import { customProfileDefaults } from '../../modules/program/custom-attributes.js';
import { usableOffers } from '../../modules/offers/usable.js';
import { claimTransaction, sendTransaction, type SendTransactionInput } from '../../flows/send-transaction.js';
import { redeemAtTill, reinstateOffer, unlockOffer } from '../../flows/redemptions.js';
import { actorOf, tenantOf } from '../context.js';
import { renderProfile } from '../core/render.js';
import { fails } from '../contract.js';
import { PosDiscount, PosMember, PosTransactionAnswer, posAnswer } from './schemas.js';
import { AmountInput, Id, Opt } from '../inputs.js';


/** The POS envelope around every request (collection 5.x). */
const envelope = <T extends Parameters<typeof Type.Object>[0]>(payload: T) =>
  Type.Object({ store_id: Id, client_id: Id, request_id: Opt(Type.Union([Type.String({ maxLength: 200 }), Type.Number()])), culture: Opt(Type.String({ maxLength: 20 })), request_payload: Type.Object(payload) });

const Item = Type.Object({
  line_id: Opt(Type.Union([Type.String({ maxLength: 100 }), Type.Number()])),
  item_id: Opt(Type.Union([Type.String({ maxLength: 200 }), Type.Number()])),
  category_id: Opt(Type.String({ maxLength: 200 })),
  quantity: Opt(AmountInput),
  unit_price: Opt(AmountInput),
  subtotal: Opt(AmountInput),
  modifies_line_id: Opt(Type.Union([Type.String({ maxLength: 100 }), Type.Number()])),
  is_voided: Opt(Type.Boolean()),
});
export const PosTransaction = Type.Object({
  transaction_id: Opt(Type.String({ maxLength: 200 })),
  subtotal: Opt(AmountInput),
  items: Opt(Type.Array(Item, { maxItems: 1000 })),
});
export type PosTransaction = Static<typeof PosTransaction>;

/** A POS transaction as a basket: lines that modify another line are that line's modifiers. */
export function posBasket(transaction: PosTransaction): Basket {
  const items = transaction.items ?? [];
  const amount = (v: number | string | undefined, field: string, fallback: string) => parseAmount(v ?? fallback, field);
  const lines: BasketLine[] = [];
  const byId = new Map<string, BasketLine>();
  items.forEach((item, i) => {
    const lineId = String(item.line_id ?? i);
    const parent = item.modifies_line_id === undefined ? undefined : byId.get(String(item.modifies_line_id));
    const subtotal = item.subtotal === undefined ? undefined : amount(item.subtotal, `transaction.items[${i}].subtotal`, '0');
    if (parent) {
      parent.modifiers = [...(parent.modifiers ?? []), { item_id: String(item.item_id ?? lineId), subtotal: subtotal ?? amount(item.unit_price, `transaction.items[${i}].unit_price`, '0') }];
      return;
    }
    const line: BasketLine = {
      line_id: lineId,
      item_id: String(item.item_id ?? lineId),
      category_id: item.category_id,
      quantity: amount(item.quantity, `transaction.items[${i}].quantity`, '1'),
      unit_price: amount(item.unit_price, `transaction.items[${i}].unit_price`, '0'),
      subtotal,
      voided: item.is_voided ?? false,
    };
    lines.push(line);
    byId.set(lineId, line);
  });
  return { lines, subtotal: transaction.subtotal === undefined ? undefined : parseAmount(transaction.subtotal, 'transaction.subtotal') };
}

/** The POS discount object (5.2.1): what the offer does to the basket. */
function discountView(uo: Pick<UserOffer, 'id' | 'member_id' | 'redemption_code' | 'custom_data'>, offer: Offer, status: 'INFO' | 'REDEEMED' | 'LOCKED', discount: { amount: Amount; lines: { line_id: string; quantity: Amount }[] }, culture?: string, appliedAt?: Date | null) {
  return {
    reference_id: uo.id,
    user_id: uo.member_id,
    reference_id_type: 'userofferid' as const,
    pos_discount_id: offer.pos_discount_id,
    status,
    display_name: offerText(offer, culture).title,
    image_url: offer.media[0]?.uri ?? null,
    discounted_line_ids: discount.lines.map((l) => l.line_id),
    discounted_line_id_quantities: discount.lines.map((l) => toJson(l.quantity)),
    discount_source: 'sessionm' as const,
    amount: toJson(discount.amount),
    stack_order: 0,
    applied_time: appliedAt ? appliedAt.toISOString() : null,
    redemption_code: uo.redemption_code,
    offer_custom_data: null,
    user_offer_custom_data: uo.custom_data,
  };
}

/** The lookup's key: the first of email, phone, user_id (a member id or an external id) and external_customer_id given. */
function lookupKey(p: { email?: string; phone?: string; user_id?: string; external_customer_id?: string }): LookupKey {
  if (p.email) return { email: p.email };
  if (p.phone) return { phone: p.phone };
  if (p.user_id) return { id: p.user_id };
  if (p.external_customer_id) return { externalId: p.external_customer_id };
  throw new DomainError('missing_data', 'request_payload: give email, phone, user_id or external_customer_id', 'request_payload');
}

/** The basket's total when the till sent no subtotal: its lines' subtotals (or quantity × unit price), voided lines left out. */
function basketSubtotal(basket: Basket): Amount {
  let total = ZERO;
  for (const l of basket.lines) {
    if (l.voided) continue;
    if (l.subtotal !== undefined) total += l.subtotal;
    else total += (l.quantity * l.unit_price) / 10000n + (l.modifiers ?? []).reduce((sum, m) => sum + m.subtotal, ZERO);
  }
  return total;
}

/** A till's time ("2018-09-20 09:30:00.000", ISO 8601): without a zone it is UTC; unreadable: absent. */
function posTime(value?: string): Date | undefined {
  if (!value) return undefined;
  const text = value.trim().replace(' ', 'T');
  const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const ok = <T>(payload: T) => ({ status: 'OK' as const, payload, errors: null });

/** Every operation checks its envelope: client_id must be the token's retailer, store_id one of its stores. */
const ENVELOPE_ERRORS: ErrorCode[] = ['not_found', 'store_not_found'];
/** Why a user offer cannot be used now (assertRedeemable). */
const NOT_REDEEMABLE: ErrorCode[] = ['user_offer_not_found', 'offer_locked', 'already_redeemed', 'offer_revoked', 'offer_expired', 'offer_not_redeemable', 'offer_not_yet_valid', 'store_not_allowed'];

const Text = Type.Union([Type.String({ maxLength: 200 }), Type.Number()]);
const Payment = Type.Object({
  receipt_code: Opt(Type.String({ maxLength: 200 })),
  payment_id: Opt(Text),
  user_id: Opt(Type.String({ maxLength: 255 })),
  user_id_type: Opt(Type.String({ maxLength: 40 })),
  amount: Opt(AmountInput),
  type: Opt(Type.String({ maxLength: 60 })),
  payment_time: Opt(Type.String({ maxLength: 60 })),
});
const Discount = Type.Object({
  reference_id: Opt(Text),
  reference_id_type: Opt(Type.String({ maxLength: 40 })),
  pos_discount_id: Opt(Type.Union([Text, Type.Null()])),
  status: Opt(Type.String({ maxLength: 40 })),
  amount: Opt(AmountInput),
});
export const SendTransaction = Type.Object({
  store_id: Id,
  client_id: Id,
  user_id: Opt(Type.String({ maxLength: 255 })),
  request_id: Opt(Type.Union([Type.String({ maxLength: 200 }), Type.Number()])),
  culture: Opt(Type.String({ maxLength: 20 })),
  request_payload: Type.Object({
    transaction_id: Type.String({ minLength: 1, maxLength: 200 }),
    user_id: Opt(Type.String({ maxLength: 255 })),
    pos_employee_id: Opt(Text),
    table_id: Opt(Text),
    channel: Opt(Type.String({ maxLength: 60 })),
    guest_count: Opt(Type.Integer({ minimum: 0, maximum: 100000 })),
    subtotal: Opt(AmountInput),
    tax_total: Opt(AmountInput),
    open_time: Opt(Type.String({ maxLength: 60 })),
    modified_time: Opt(Type.String({ maxLength: 60 })),
    is_voided: Opt(Type.Boolean()),
    is_closed: Opt(Type.Boolean()),
    receipt_code: Opt(Type.String({ maxLength: 200 })),
    items: Opt(Type.Array(Item, { maxItems: 1000 })),
    payments: Opt(Type.Array(Payment, { maxItems: 100 })),
    discounts: Opt(Type.Array(Discount, { maxItems: 100 })),
  }),
});

/** /api/2.0/... (collection 5.1–5.3). */
export const posRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  const tags = ['POS'];

  app.post(
    '/2.0/lookup',
    {
      // without a basket it only reads: the replica may answer (with one, the till is about to redeem on the primary's offers)
      config: { dryRun: true, replica: (request) => !(request.body as { request_payload?: { transaction?: unknown } }).request_payload?.transaction },
      schema: {
        summary: 'Find the member at the till: profile, points, accounts and the offers usable now (5.1)',
        description:
          'Finds the active member by the first of email, phone, user_id (a member id or an external id) and external_customer_id given; changes nothing. ' +
          'Without a transaction every issued offer is listed with a zero discount; with one, only the offers usable at this store that discount this basket, with their discount.',
        tags,
        response: { 200: posAnswer(Type.Array(PosMember), 'success'), ...fails(...ENVELOPE_ERRORS, 'user_not_found', 'multiple_matches') },
        body: envelope({ email: Opt(Type.String({ maxLength: 254 })), phone: Opt(Type.String({ maxLength: 40 })), user_id: Opt(Id), external_customer_id: Opt(Type.String({ maxLength: 255 })), transaction: Opt(PosTransaction) }),
      },
    },
    async (request) => {
      const b = request.body;
      const retailerId = tenantOf(request).retailerId;
      const p = b.request_payload;
      const db = dbOf(request);
      // one statement: the member with its issued offers and balances
      const [member, profileDefaults] = await Promise.all([lookupMember(db, retailerId, lookupKey(p)), customProfileDefaults(db, retailerId)]);
      if (!member) throw memberNotFound();
      const basket = p.transaction ? posBasket(p.transaction) : undefined;
      const offers = await offerVersionsByIds(db, retailerId, member.userOffers.map((uo) => uo.offer_id));
      // the offers usable now; with a basket, those usable at this store that discount it, with their discount
      const usable = usableOffers(member.userOffers, offers, basket ? { storeId: b.store_id, basket } : {}).map((u) => discountView(u.userOffer, u.offer, 'INFO', u.discount, b.culture));
      return {
        status: 'success' as const,
        payload: [
          {
            user_reference_id: member.id,
            user_account_id: member.id,
            partial_response: false,
            first_name: member.first_name,
            last_name: member.last_name,
            phone: member.phone,
            email: member.email,
            points: toJson(member.availablePoints),
            profile_fields: renderProfile(member as Pick<Member, 'profile_version' | 'user_profile'> as Member, profileDefaults),
            offers: usable,
            accounts: member.balances.map((d) => ({
              AccountName: d.account_name,
              UserPointAccountID: d.user_point_account_id,
              PointAccountID: d.point_account_id,
              GroupingLabel: d.grouping_label,
              AvailableBalance: toJson(d.available_balance),
              LifeTimeValue: toJson(d.life_time_value),
              // where the account holds points pending or with an expiry
              ...(d.pending_balance ? { PendingBalance: toJson(d.pending_balance) } : {}),
              ...(d.expiring_points?.length ? { ExpiringPoints: d.expiring_points.map((x) => ({ Amount: toJson(x.amount), ExpiresAt: x.expires_at.toISOString() })) } : {}),
            })),
          },
        ],
        errors: null,
      };
    },
  );

  const OfferAction = envelope({ offer_lookup_code: Type.String({ minLength: 1, maxLength: 200 }), offer_lookup_type: Opt(Type.String({ maxLength: 40 })), transaction: Opt(PosTransaction) });

  app.post(
    '/2.0/redeem',
    {
      config: { dryRun: true },
      schema: {
        summary: 'Redeem an offer on the basket now (5.2.1)',
        description:
          'Redeems one use of the user offer named by offer_lookup_code (its id or its redemption code) and answers its discount on the basket (0 without one). ' +
          'An offer locked to another transaction is refused; one locked to this transaction_id is redeemed. A void of the transaction later reinstates it.',
        tags,
        body: OfferAction,
        response: { 200: posAnswer(PosDiscount), ...fails(...ENVELOPE_ERRORS, ...NOT_REDEEMABLE) },
      },
    },
    async (request) => {
      const b = request.body;
      const p = b.request_payload;
      const lookup = { code: p.offer_lookup_code, type: p.offer_lookup_type };
      const result = await redeemAtTill(dbOf(request), actorOf(request), lookup, { storeId: b.store_id, transactionKey: p.transaction?.transaction_id, basket: p.transaction ? posBasket(p.transaction) : undefined });
      return ok(discountView(result.userOffer, result.offer, 'REDEEMED', result.discount, b.culture, result.userOffer.redeemed_at));
    },
  );

  app.post(
    '/2.0/lock',
    {
      schema: {
        summary: 'Reserve an offer for this transaction (5.2.2); lock again when the basket changes',
        description:
          'Locks the user offer named by offer_lookup_code to transaction.transaction_id (required) and answers its discount on the basket. ' +
          'Locking again with the same transaction_id is allowed and prices the new basket; sending the transaction redeems the offer, unlock releases it.',
        tags,
        body: OfferAction,
        response: { 200: posAnswer(PosDiscount), ...fails(...ENVELOPE_ERRORS, ...NOT_REDEEMABLE) },
      },
    },
    async (request) => {
      const b = request.body;
      const p = b.request_payload;
      if (!p.transaction?.transaction_id) throw new DomainError('missing_data', 'request_payload.transaction.transaction_id: required to lock an offer', 'transaction_id');
      const lookup = { code: p.offer_lookup_code, type: p.offer_lookup_type };
      const result = await redeemAtTill(db, actorOf(request), lookup, { storeId: b.store_id, transactionKey: p.transaction.transaction_id, basket: posBasket(p.transaction) }, { lockOnly: true });
      return ok(discountView(result.userOffer, result.offer, 'LOCKED', result.discount, b.culture, result.userOffer.locked_at));
    },
  );

  const ByUserOffer = envelope({ user_offer_id: Id, employee_id: Opt(Type.Union([Type.String({ maxLength: 100 }), Type.Number()])) });

  app.post(
    '/2.0/unlock',
    {
      schema: {
        summary: 'Release a locked offer (5.3.2)',
        description: 'Releases the lock on the user offer whatever transaction holds it: the offer is issued again. An offer that is not locked is refused.',
        tags,
        body: ByUserOffer,
        response: {
          200: posAnswer(Type.Null()),
          ...fails(...ENVELOPE_ERRORS, 'user_offer_not_found', 'offer_not_locked', 'already_redeemed', 'offer_revoked', 'offer_expired', 'offer_not_redeemable'),
        },
      },
    },
    async (request) => {
      const b = request.body;
      await unlockOffer(db, actorOf(request), b.request_payload.user_offer_id, { force: true });
      return ok(null);
    },
  );

  app.post(
    '/2.0/reinstate',
    {
      schema: {
        summary: 'Return a redeemed offer to the member (5.3.1)',
        description: "Reverts the user offer's latest redemption: the use is given back and the offer is issued again. An offer with no redemption left to revert, or revoked, is refused.",
        tags,
        body: ByUserOffer,
        response: { 200: posAnswer(Type.Null()), ...fails(...ENVELOPE_ERRORS, 'user_offer_not_found', 'offer_not_redeemed', 'offer_revoked') },
      },
    },
    async (request) => {
      const b = request.body;
      await reinstateOffer(db, actorOf(request), b.request_payload.user_offer_id);
      return ok(null);
    },
  );
  app.post(
    '/2.0/send_transaction',
    {
      config: { dryRun: true },
      schema: {
        summary: 'Send or void a transaction: stored once, its offers redeemed, its points earned; a void reverses them once (5.4)',
        description:
          'A transaction is kept once per store and transaction_id: sending it again answers the same id and changes nothing, again with other lines applies the difference, again with is_voided reverses its points and redemptions once. ' +
          "With a member (user_id, or a payment's user_id) the offers locked to it or named in its discounts are redeemed and the purchase rules and campaigns earn points; without one it is stored for a later claim by receipt_code.",
        tags,
        body: SendTransaction,
        response: {
          200: posAnswer(PosTransactionAnswer),
          ...fails(...ENVELOPE_ERRORS, 'user_not_found', 'multiple_matches', 'point_account_not_found', 'point_account_inactive', 'maximum_balance_exceeded', 'offer_revoked'),
        },
      },
    },
    async (request) => {
      const result = await sendTransaction(dbOf(request), actorOf(request), transactionInput(request.body, request.id));
      return ok({ transaction: { id: result.id } });
    },
  );

  app.post(
    '/2.0/claim_transaction',
    {
      schema: {
        summary: 'A member claims an anonymous transaction by its receipt code and earns its points',
        description:
          "The transaction sent without a member becomes the member's and earns (or, for a return, takes back) as if it had been sent with them. " +
          "Claiming one's own again changes nothing; one another member claimed, or a voided one, is not available.",
        tags,
        response: {
          200: posAnswer(PosTransactionAnswer),
          ...fails(...ENVELOPE_ERRORS, 'user_not_found', 'multiple_matches', 'not_available', 'point_account_not_found', 'point_account_inactive', 'maximum_balance_exceeded'),
        },
        body: envelope({ receipt_code: Type.String({ minLength: 1, maxLength: 200 }), user_id: Type.String({ minLength: 1, maxLength: 255 }) }),
      },
    },
    async (request) => {
      const b = request.body;
      const result = await claimTransaction(db, actorOf(request), b.request_payload.user_id, b.request_payload.receipt_code);
      return ok({ transaction: { id: result.id } });
    },
  );
};

/** A POS send_transaction body as the flow's input (the admin API's evaluate and simulations take the same body). */
export function transactionInput(b: Static<typeof SendTransaction>, requestId: string): SendTransactionInput {
  const p = b.request_payload;
  const payments = p.payments ?? [];
  const discounts = p.discounts ?? [];
  const userRef = b.user_id || p.user_id || payments.find((x) => x.user_id)?.user_id || undefined;
  const subtotal = p.subtotal === undefined ? undefined : parseAmount(p.subtotal, 'request_payload.subtotal');
  const basket = posBasket({ transaction_id: p.transaction_id, subtotal: p.subtotal, items: p.items });
  return {
    storeId: b.store_id,
    transactionId: p.transaction_id,
    userRef,
    channel: p.channel,
    employeeId: p.pos_employee_id === undefined ? undefined : String(p.pos_employee_id),
    tableId: p.table_id === undefined ? undefined : String(p.table_id),
    guestCount: p.guest_count,
    subtotal: subtotal ?? basketSubtotal(basket),
    taxTotal: p.tax_total === undefined ? ZERO : parseAmount(p.tax_total, 'request_payload.tax_total'),
    openTime: posTime(p.open_time),
    modifiedTime: posTime(p.modified_time),
    items: p.items ?? [],
    payments,
    discounts,
    receiptCode: p.receipt_code ?? payments.find((x) => x.receipt_code)?.receipt_code,
    isVoided: p.is_voided ?? false,
    isClosed: p.is_closed,
    requestId,
    basket,
    discountUserOfferIds: discounts
      .filter((d) => d.reference_id !== undefined && (!d.reference_id_type || /userofferid/i.test(d.reference_id_type)))
      .map((d) => String(d.reference_id)),
  };
}
