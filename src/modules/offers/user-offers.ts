import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type Expression, type RawBuilder, type Selectable } from 'kysely';
import type { Db } from '../../db/index.js';
import type { UserOffersTable } from '../../db/schema.js';
import { textFragment } from '../../db/rows.js';
import { DomainError } from '../../errors.js';
import { memberSummary, subjectOf, type Actor, type MemberSummary } from '../members/service.js';
import { isUuid } from '../../lib/ids.js';
import { fromDb, toDecimal, ZERO } from '../points/amount.js';
import type { EventPayload } from '../outbox/catalog.js';
import { recordDomainEvent } from '../outbox/service.js';
import { recordTimeline, type TimelineEntry } from '../timeline/service.js';
import { getOffer, OFFER_ACTIVE, offerText, type Offer } from './catalog.js';
import { computeDiscount, type Basket, type DiscountResult, type OfferType } from './discount.js';

export type UserOffer = Selectable<UserOffersTable>;

/** User offer statuses on the wire. */
export const STATUS = { issued: 1, redeemed: 2, revoked: 3, expired: 4, locked: 5 } as const;
export const STATUS_DESCRIPTION: Record<number, string> = { 1: 'Issued', 2: 'Redeemed', 3: 'Revoked', 4: 'Expired', 5: 'Locked' };

/** Whether the offer can be used now: issued, and inside its redemption window. */
export function isRedeemableNow(uo: Pick<UserOffer, 'status' | 'redemption_start_date' | 'redemption_end_date'>, now = new Date()): boolean {
  return effectiveStatus(uo, now) === STATUS.issued && (!uo.redemption_start_date || uo.redemption_start_date <= now);
}

/** The status a client sees: an issued offer past its redemption end is expired. */
export function effectiveStatus(uo: Pick<UserOffer, 'status' | 'redemption_end_date'>, now = new Date()): number {
  if ((uo.status === STATUS.issued || uo.status === STATUS.locked) && uo.redemption_end_date && uo.redemption_end_date < now) return STATUS.expired;
  return uo.status;
}

const DAY = 86_400_000;

/** A short code a cashier can type: 10 characters, no 0/O or 1/I, compared case-insensitively. */
function newRedemptionCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(10)].map((b) => alphabet[b % alphabet.length]).join('');
}

export interface IssueOptions {
  quantity?: number;
  source?: 'issue' | 'purchase' | 'rule' | 'demo';
  rewardStoreOfferId?: string;
  /** A known id (the demo); absent: a new one. */
  id?: string;
  now?: Date;
}

/**
 * Issues an offer to a member in the caller's transaction, after the offer's
 * own checks: active, inside its acquisition window, inventory left, and the
 * member under the per-member limit.
 */
export async function issueOffer(tx: Db, actor: Actor, member: MemberSummary, offer: Offer, options: IssueOptions = {}): Promise<UserOffer> {
  const now = options.now ?? new Date();
  assertIssuable(offer, now);
  if (offer.total_inventory !== null) {
    // one issuance of the root at a time, so concurrent ones cannot both take the last unit
    await tx.selectFrom('offers').select('id').where('retailer_id', '=', actor.retailerId).where('root_offer_id', '=', offer.root_offer_id).orderBy('version').forNoKeyUpdate().execute();
    const { n } = await tx.selectFrom('user_offers').select(sql<number>`count(*)`.as('n')).where('retailer_id', '=', actor.retailerId).where('root_offer_id', '=', offer.root_offer_id).executeTakeFirstOrThrow();
    if (Number(n) >= offer.total_inventory) throw new DomainError('inventory_exhausted', `offer ${offer.id}: no inventory left`, 'offer_id');
  }
  const limit = offer.restrictions.purchase?.max_per_member;
  if (limit) {
    const { n } = await tx
      .selectFrom('user_offers')
      .select(sql<number>`count(*)`.as('n'))
      .where('retailer_id', '=', actor.retailerId)
      .where('member_id', '=', member.id)
      .where('root_offer_id', '=', offer.root_offer_id)
      .where('status', '!=', STATUS.revoked)
      .executeTakeFirstOrThrow();
    if (Number(n) >= limit) throw new DomainError('purchase_limit_reached', `offer ${offer.id}: the member already holds it ${limit} time(s)`, 'offer_id');
  }
  const quantity = options.quantity ?? 1;
  const start = offer.redemption_days !== null ? now : (offer.redemption_start_date ?? now);
  const end = offer.does_not_expire ? null : offer.redemption_days !== null ? new Date(now.getTime() + offer.redemption_days * DAY) : offer.redemption_end_date;
  const row = await tx
    .insertInto('user_offers')
    .values({
      retailer_id: actor.retailerId,
      member_id: member.id,
      id: options.id ?? randomUUID(),
      offer_id: offer.id,
      root_offer_id: offer.root_offer_id,
      status: STATUS.issued,
      acquired_at: now,
      redemption_start_date: start,
      redemption_end_date: end,
      quantity,
      remaining_uses: quantity,
      pending_extended_data: offer.requires_extended_data,
      redemption_code: newRedemptionCode(),
      source: options.source ?? 'issue',
      reward_store_offer_id: options.rewardStoreOfferId ?? null,
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordTimeline(tx, subjectOf(actor, member), [offerEntry(actor, options.source === 'purchase' ? 'OFFER_PURCHASED' : 'ISSUED_OFFER', row, offer, now)]);
  offerEvent(tx, actor, 'offer.issued', row, now, { source: row.source });
  return row;
}

export function assertIssuable(offer: Offer, now = new Date()): void {
  if (offer.status !== OFFER_ACTIVE || offer.retired_at) throw new DomainError('offer_not_available', `offer ${offer.id} is not active`, 'offer_id');
  if (offer.acquisition_start_date && offer.acquisition_start_date > now) throw new DomainError('offer_not_available', `offer ${offer.id} cannot be acquired before ${offer.acquisition_start_date.toISOString()}`, 'offer_id');
  if (offer.acquisition_end_date && offer.acquisition_end_date < now) throw new DomainError('offer_not_available', `offer ${offer.id} could be acquired until ${offer.acquisition_end_date.toISOString()}`, 'offer_id');
}

/**
 * The count of an offer's user offers as a subquery for a caller's statement
 * (`retailer` and `rootOffer` name its columns), as issueOffer counts them:
 * all of them (the inventory used) or, with `memberId`, the member's not
 * revoked (toward the per-member limit).
 */
export const offerIssuedCountQuery = (retailer: Expression<unknown>, rootOffer: Expression<unknown>, memberId?: string) =>
  memberId === undefined
    ? sql<number>`(SELECT count(*) FROM user_offers u WHERE u.retailer_id = ${retailer} AND u.root_offer_id = ${rootOffer})`
    : sql<number>`(SELECT count(*) FROM user_offers u WHERE u.retailer_id = ${retailer} AND u.root_offer_id = ${rootOffer} AND u.member_id = ${memberId} AND u.status <> ${STATUS.revoked})`;

/** The count of a reward store offer's purchases (user offers not revoked; with `memberId`, the member's) as a subquery for a caller's statement. */
export const storeOfferPurchaseCountQuery = (retailer: Expression<unknown>, storeOffer: Expression<unknown>, memberId?: string) =>
  sql<number>`(SELECT count(*) FROM user_offers u WHERE u.retailer_id = ${retailer} AND u.reward_store_offer_id = ${storeOffer} AND u.status <> ${STATUS.revoked}${memberId === undefined ? sql`` : sql` AND u.member_id = ${memberId}`})`;

/** A reward store offer's purchases (user offers not revoked): in all, and the member's. */
export async function storeOfferPurchases(db: Db, retailerId: string, storeOfferId: string, memberId: string): Promise<{ total: number; member: number }> {
  const row = await db
    .selectFrom('user_offers')
    .select([sql<number>`count(*)`.as('total'), sql<number>`count(*) FILTER (WHERE member_id = ${memberId})`.as('member')])
    .where('retailer_id', '=', retailerId)
    .where('reward_store_offer_id', '=', storeOfferId)
    .where('status', '!=', STATUS.revoked)
    .executeTakeFirstOrThrow();
  return { total: Number(row.total), member: Number(row.member) };
}

/** Loads a user offer of the retailer and locks it for the rest of the transaction. */
export async function lockUserOffer(tx: Db, retailerId: string, userOfferId: string): Promise<UserOffer> {
  const row = isUuid(userOfferId)
    ? await tx.selectFrom('user_offers').selectAll().where('retailer_id', '=', retailerId).where('id', '=', userOfferId.toLowerCase()).forUpdate().executeTakeFirst()
    : undefined;
  if (!row) throw new DomainError('user_offer_not_found', `user offer ${userOfferId} not found`, 'user_offer_id');
  return row;
}

export async function findUserOffer(db: Db, retailerId: string, userOfferId: string): Promise<UserOffer | undefined> {
  if (!isUuid(userOfferId)) return undefined;
  return db.selectFrom('user_offers').selectAll().where('retailer_id', '=', retailerId).where('id', '=', userOfferId.toLowerCase()).executeTakeFirst();
}

/** A user offer by its redemption code (what a cashier types), case-insensitively. */
/** A user offer named by a lookup code: a user offer id, or its redemption code (case-insensitive); `type` may say which. */
export async function findUserOfferByLookup(db: Db, retailerId: string, code: string, type?: string): Promise<UserOffer> {
  const byId = !type || /userofferid/i.test(type) ? await findUserOffer(db, retailerId, code) : undefined;
  const uo = byId ?? (await findUserOfferByCode(db, retailerId, code));
  if (!uo) throw new DomainError('user_offer_not_found', `offer_lookup_code ${code} names no user offer`, 'offer_lookup_code');
  return uo;
}

export async function findUserOfferByCode(db: Db, retailerId: string, code: string): Promise<UserOffer | undefined> {
  return db.selectFrom('user_offers').selectAll().where('retailer_id', '=', retailerId).where(sql`lower(redemption_code)`, '=', code.trim().toLowerCase()).executeTakeFirst();
}

async function subject(tx: Db, actor: Actor, uo: UserOffer) {
  return subjectOf(actor, (await memberSummary(tx, actor.retailerId, uo.member_id))!);
}

function offerEntry(actor: Actor, type: TimelineEntry['type'], uo: UserOffer, offer: Offer, now: Date, extra: Record<string, unknown> = {}): TimelineEntry {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    type,
    requestId: actor.requestId,
    occurredAt: now,
    payload: {
      OfferAcquireDate: iso(uo.acquired_at),
      OfferID: offer.id,
      OfferName: offerText(offer).title,
      OfferRedeemDate: iso(uo.redeemed_at),
      RedemptionEndDate: iso(uo.redemption_end_date) ?? '',
      RedemptionStartDate: iso(uo.redemption_start_date),
      RetailerID: actor.retailerId,
      RootOfferID: offer.root_offer_id,
      UserID: uo.member_id,
      UserOfferID: uo.id,
      ...extra,
    },
  };
}

/** Revokes an issued (or locked) offer; a redeemed or revoked one is refused. */
export async function revokeUserOffer(tx: Db, actor: Actor, userOfferId: string, reason?: string): Promise<{ userOffer: UserOffer; offer: Offer }> {
  const uo = await lockUserOffer(tx, actor.retailerId, userOfferId);
  refuseUnless(uo, [STATUS.issued, STATUS.locked], 'revoke');
  const now = new Date();
  const updated = await tx
    .updateTable('user_offers')
    .set({ status: STATUS.revoked, revoked_at: now, revoke_reason: reason ?? null, lock_key: null, updated_at: now })
    .where('retailer_id', '=', actor.retailerId)
    .where('id', '=', uo.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const offer = await getOffer(tx, actor.retailerId, uo.offer_id, { exactVersion: true });
  await recordTimeline(tx, await subject(tx, actor, uo), [offerEntry(actor, 'REVOKED_OFFER', updated, offer, now, { reason: reason ?? null })]);
  offerEvent(tx, actor, 'offer.revoked', updated, now, { reason: reason ?? null });
  return { userOffer: updated, offer };
}

/**
 * Expires issued (or locked) offers past their redemption end, at most
 * `limit`, soonest-ended first (SKIP LOCKED: a redemption holding one, or
 * another process, goes first): each gets OFFER_EXPIRES on its member's
 * timeline and an offer.expired event. Answers how many expired.
 */
export async function expireUserOffers(tx: Db, now: Date, limit: number): Promise<number> {
  const { rows } = await sql<UserOffer>`
    UPDATE user_offers u SET status = ${STATUS.expired}, lock_key = NULL, updated_at = ${now}
      FROM (SELECT retailer_id, id FROM user_offers WHERE status IN (${STATUS.issued}, ${STATUS.locked}) AND redemption_end_date < ${now}
             ORDER BY redemption_end_date LIMIT ${limit} FOR UPDATE SKIP LOCKED) due
     WHERE u.retailer_id = due.retailer_id AND u.id = due.id
    RETURNING u.*`.execute(tx);
  for (const uo of rows) {
    const actor: Actor = { retailerId: uo.retailer_id, retailerNumber: 0, requestId: 'offer-expiry' };
    const offer = await getOffer(tx, uo.retailer_id, uo.offer_id, { exactVersion: true });
    const member = await memberSummary(tx, uo.retailer_id, uo.member_id);
    if (member) await recordTimeline(tx, subjectOf(actor, member), [offerEntry(actor, 'OFFER_EXPIRES', uo, offer, uo.redemption_end_date ?? now)]);
    offerEvent(tx, actor, 'offer.expired', uo, now, {});
  }
  return rows.length;
}

export interface UserOfferChanges {
  custom_data?: string;
  pending_extended_data?: boolean;
  redemption_start_date?: Date | null;
  redemption_end_date?: Date | null;
  remaining_uses?: number;
}

/** Changes custom data, redemption dates or remaining uses of an issued offer (OFFER_MODIFIED). */
export async function updateUserOffer(tx: Db, actor: Actor, userOfferId: string, changes: UserOfferChanges, memberId?: string): Promise<UserOffer> {
  const uo = await lockUserOffer(tx, actor.retailerId, userOfferId);
  if (memberId && uo.member_id !== memberId) throw new DomainError('user_offer_not_found', `user offer ${userOfferId} does not belong to user ${memberId}`, 'user_offer_id');
  // an expired offer can be given new redemption dates (that is how it is extended)
  refuseUnless(uo, changes.redemption_end_date !== undefined ? [STATUS.issued, STATUS.locked, STATUS.expired] : [STATUS.issued, STATUS.locked], 'update');
  const start = changes.redemption_start_date === undefined ? uo.redemption_start_date : changes.redemption_start_date;
  const end = changes.redemption_end_date === undefined ? uo.redemption_end_date : changes.redemption_end_date;
  if (start && end && end < start) throw new DomainError('validation', 'redemption_end_date: before redemption_start_date', 'redemption_end_date');
  const now = new Date();
  const updated = await tx
    .updateTable('user_offers')
    .set({
      ...(changes.custom_data !== undefined ? { custom_data: changes.custom_data } : {}),
      ...(changes.pending_extended_data !== undefined ? { pending_extended_data: changes.pending_extended_data } : {}),
      redemption_start_date: start,
      redemption_end_date: end,
      ...(changes.remaining_uses !== undefined ? { remaining_uses: changes.remaining_uses, quantity: Math.max(uo.quantity, changes.remaining_uses) } : {}),
      updated_at: now,
    })
    .where('retailer_id', '=', actor.retailerId)
    .where('id', '=', uo.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const offer = await getOffer(tx, actor.retailerId, uo.offer_id, { exactVersion: true });
  await recordTimeline(tx, await subject(tx, actor, uo), [offerEntry(actor, 'OFFER_MODIFIED', updated, offer, now, { changed: Object.keys(changes) })]);
  return updated;
}

export interface MoveResult {
  user_offer_id: string;
  moved: boolean;
  error?: { code: string; message: string };
}

/**
 * Moves issued user offers from one member to another of the same retailer;
 * each offer is answered on its own (one that is not the source's, or not
 * issued, stays where it is).
 */
export async function moveUserOffers(tx: Db, actor: Actor, from: MemberSummary, to: MemberSummary, userOfferIds: string[]): Promise<MoveResult[]> {
  const results: MoveResult[] = [];
  const now = new Date();
  for (const id of userOfferIds) {
    const uo = isUuid(id)
      ? await tx.selectFrom('user_offers').selectAll().where('retailer_id', '=', actor.retailerId).where('id', '=', id.toLowerCase()).forUpdate().executeTakeFirst()
      : undefined;
    if (!uo || uo.member_id !== from.id) {
      results.push({ user_offer_id: id, moved: false, error: { code: 'user_offer_not_found', message: `user offer ${id} does not belong to user ${from.id}` } });
      continue;
    }
    const status = effectiveStatus(uo, now);
    if (status !== STATUS.issued) {
      results.push({ user_offer_id: id, moved: false, error: { code: statusCode(status), message: `user offer ${id} is ${STATUS_DESCRIPTION[status].toLowerCase()}` } });
      continue;
    }
    const moved = await tx.updateTable('user_offers').set({ member_id: to.id, updated_at: now }).where('retailer_id', '=', actor.retailerId).where('id', '=', uo.id).returningAll().executeTakeFirstOrThrow();
    const offer = await getOffer(tx, actor.retailerId, uo.offer_id, { exactVersion: true });
    await recordTimeline(tx, subjectOf(actor, from), [offerEntry(actor, 'OFFER_MODIFIED', uo, offer, now, { moved_to_user_id: to.id })]);
    await recordTimeline(tx, subjectOf(actor, to), [offerEntry(actor, 'OFFER_MODIFIED', moved, offer, now, { moved_from_user_id: from.id })]);
    results.push({ user_offer_id: uo.id, moved: true });
  }
  return results;
}

/** The stable code for a user offer that is not in a state to act on. */
function statusCode(status: number) {
  return status === STATUS.redeemed ? 'already_redeemed' : status === STATUS.revoked ? 'offer_revoked' : status === STATUS.expired ? 'offer_expired' : status === STATUS.locked ? 'offer_locked' : 'offer_not_redeemable';
}

function refuseUnless(uo: UserOffer, allowed: number[], action: string, now = new Date()) {
  const status = effectiveStatus(uo, now);
  if (!allowed.includes(status)) {
    throw new DomainError(statusCode(status) as never, `cannot ${action} user offer ${uo.id}: it is ${STATUS_DESCRIPTION[status].toLowerCase()}`, 'user_offer_id');
  }
}

export interface RedemptionContext {
  storeId?: string;
  /** The POS transaction the offer is used in (or locked to). */
  transactionKey?: string;
  basket?: Basket;
  /** Mark redeemed without a basket (manual_redeem). */
  manual?: boolean;
  /** Redeem even when another transaction holds the lock (force_redeem). */
  force?: boolean;
  now?: Date;
}

export interface Redemption {
  userOffer: UserOffer;
  offer: Offer;
  discount: DiscountResult;
}

/** What assertRedeemable reads of a user offer. */
export type RedeemableFields = Pick<UserOffer, 'id' | 'status' | 'redemption_start_date' | 'redemption_end_date' | 'lock_key'>;

/**
 * Checks that a user offer can be used now, at this store, by this
 * transaction: issued (or locked to the same transaction), inside its
 * redemption window, at a store its location restriction allows.
 */
export function assertRedeemable(uo: RedeemableFields, offer: Offer, ctx: RedemptionContext): void {
  assertUsableNow(uo, ctx);
  assertStoreAllowed(uo, offer, ctx.storeId);
}

/** Issued (or locked to the context's transaction) and inside its redemption window. */
export function assertUsableNow(uo: RedeemableFields, ctx: Pick<RedemptionContext, 'now' | 'force' | 'transactionKey'>): void {
  const now = ctx.now ?? new Date();
  const status = effectiveStatus(uo, now);
  if (status === STATUS.locked) {
    if (!ctx.force && (!ctx.transactionKey || uo.lock_key !== ctx.transactionKey)) throw new DomainError('offer_locked', `user offer ${uo.id} is locked by another transaction`, 'user_offer_id');
  } else if (status !== STATUS.issued) {
    throw new DomainError(statusCode(status) as never, `user offer ${uo.id} is ${STATUS_DESCRIPTION[status].toLowerCase()}`, 'user_offer_id');
  }
  if (uo.redemption_start_date && uo.redemption_start_date > now) throw new DomainError('offer_not_yet_valid', `user offer ${uo.id} can be redeemed from ${uo.redemption_start_date.toISOString()}`, 'user_offer_id');
}

/** At a store the offer's location restriction allows (a restricted offer needs a store). */
export function assertStoreAllowed(uo: Pick<UserOffer, 'id'>, offer: Offer, storeId: string | undefined): void {
  const stores = offer.restrictions.location?.store_ids;
  if (stores?.length && (!storeId || !stores.map((s) => s.toLowerCase()).includes(storeId.toLowerCase()))) {
    throw new DomainError('store_not_allowed', `user offer ${uo.id} cannot be redeemed at store ${storeId ?? '(none)'}`, 'store_id');
  }
}

/** The discount the offer gives on a basket (0 without one). */
export function discountFor(offer: Offer, basket?: Basket): DiscountResult {
  if (!basket) return { amount: ZERO, lines: [], applied_count: 0, reason: 'no_basket' };
  const catalog = offer.restrictions.catalog;
  const list = (ids?: string[]) => (ids?.length ? ids : undefined);
  const eligible = catalog && (list(catalog.item_ids) || list(catalog.category_ids)) ? { item_ids: list(catalog.item_ids), category_ids: list(catalog.category_ids) } : undefined;
  const qualifying = catalog && (list(catalog.qualifying_item_ids) || list(catalog.qualifying_category_ids)) ? { item_ids: list(catalog.qualifying_item_ids), category_ids: list(catalog.qualifying_category_ids) } : undefined;
  const minimum = offer.restrictions.redemption?.minimum_subtotal;
  return computeDiscount(
    {
      type: offer.offer_type as OfferType,
      check_level: offer.check_level,
      amount: fromDb(offer.amount),
      max_recurrence: offer.max_recurrence,
      allow_overage: offer.allow_overage,
      buy_count: offer.buy_count,
      get_count: offer.get_count,
      eligible,
      qualifying,
      minimum_subtotal: minimum === undefined ? undefined : fromDb(minimum),
    },
    basket,
  );
}

/**
 * Redeems one use of a user offer in the caller's transaction: computes the
 * discount on the basket, records the redemption, and marks the offer
 * redeemed when no use is left. The user offer's row lock makes two
 * concurrent redemptions of one offer exclusive.
 */
export async function redeemUserOffer(tx: Db, actor: Actor, userOfferId: string, ctx: RedemptionContext): Promise<Redemption> {
  const now = ctx.now ?? new Date();
  const uo = await lockUserOffer(tx, actor.retailerId, userOfferId);
  const offer = await getOffer(tx, actor.retailerId, uo.offer_id, { exactVersion: true });
  assertRedeemable(uo, offer, { ...ctx, now });
  const discount = ctx.manual ? { amount: ZERO, lines: [], applied_count: 0, reason: 'manual' } : discountFor(offer, ctx.basket);
  const remaining = uo.remaining_uses - 1;
  const updated = await tx
    .updateTable('user_offers')
    .set({
      remaining_uses: remaining,
      status: remaining > 0 ? STATUS.issued : STATUS.redeemed,
      redeemed_at: now,
      redeemed_store_id: ctx.storeId?.toLowerCase() ?? null,
      lock_key: null,
      locked_at: null,
      locked_store_id: null,
      updated_at: now,
    })
    .where('retailer_id', '=', actor.retailerId)
    .where('id', '=', uo.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await tx
    .insertInto('offer_redemptions')
    .values({
      retailer_id: actor.retailerId,
      member_id: uo.member_id,
      user_offer_id: uo.id,
      store_id: ctx.storeId?.toLowerCase() ?? null,
      transaction_key: ctx.transactionKey ?? null,
      discount_amount: toDecimal(discount.amount),
      manual: ctx.manual ?? false,
      redeemed_at: now,
    })
    .execute();
  await recordTimeline(tx, await subject(tx, actor, uo), [
    offerEntry(actor, 'REDEEMED_OFFER', updated, offer, now, { store_id: ctx.storeId ?? null, pos_transaction_key: ctx.transactionKey ?? null, discount_amount: Number(toDecimal(discount.amount)) }),
  ]);
  offerEvent(tx, actor, 'offer.redeemed', updated, now, { store_id: ctx.storeId?.toLowerCase() ?? null, transaction_key: ctx.transactionKey ?? null });
  return { userOffer: updated, offer, discount };
}

/** Reserves a user offer for one POS transaction; locking again with the same key is allowed (the basket changed). */
export async function lockUserOfferFor(tx: Db, actor: Actor, userOfferId: string, ctx: RedemptionContext): Promise<Redemption> {
  const now = ctx.now ?? new Date();
  if (!ctx.transactionKey) throw new DomainError('missing_data', 'pos_transaction_key: required to lock an offer', 'pos_transaction_key');
  const uo = await lockUserOffer(tx, actor.retailerId, userOfferId);
  const offer = await getOffer(tx, actor.retailerId, uo.offer_id, { exactVersion: true });
  assertRedeemable(uo, offer, { ...ctx, now });
  const updated = await tx
    .updateTable('user_offers')
    .set({ status: STATUS.locked, lock_key: ctx.transactionKey, locked_at: now, locked_store_id: ctx.storeId?.toLowerCase() ?? null, updated_at: now })
    .where('retailer_id', '=', actor.retailerId)
    .where('id', '=', uo.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  if (uo.status !== STATUS.locked) {
    await recordTimeline(tx, await subject(tx, actor, uo), [offerEntry(actor, 'OFFER_MODIFIED', updated, offer, now, { locked_by: ctx.transactionKey })]);
  }
  return { userOffer: updated, offer, discount: discountFor(offer, ctx.basket) };
}

/** Releases a lock: by the transaction that holds it, or by anyone with `force`. */
export async function unlockUserOffer(tx: Db, actor: Actor, userOfferId: string, options: { force?: boolean; transactionKey?: string }): Promise<UserOffer> {
  const uo = await lockUserOffer(tx, actor.retailerId, userOfferId);
  if (uo.status !== STATUS.locked) throw new DomainError(uo.status === STATUS.issued ? 'offer_not_locked' : (statusCode(effectiveStatus(uo)) as never), `user offer ${uo.id} is not locked`, 'user_offer_id');
  if (!options.force && options.transactionKey !== uo.lock_key) {
    throw new DomainError('offer_locked', `user offer ${uo.id} is locked by another transaction`, 'pos_transaction_key');
  }
  const now = new Date();
  const updated = await tx
    .updateTable('user_offers')
    .set({ status: STATUS.issued, lock_key: null, locked_at: null, locked_store_id: null, updated_at: now })
    .where('retailer_id', '=', actor.retailerId)
    .where('id', '=', uo.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const offer = await getOffer(tx, actor.retailerId, uo.offer_id, { exactVersion: true });
  await recordTimeline(tx, await subject(tx, actor, uo), [offerEntry(actor, 'OFFER_MODIFIED', updated, offer, now, { unlocked: true })]);
  return updated;
}

/** The user offers a POS transaction redeemed (by its key, member and store) and not reinstated since. */
export async function redemptionsOfTransaction(db: Db, retailerId: string, t: { transactionKey: string; memberId: string; storeId: string }): Promise<string[]> {
  const rows = await db
    .selectFrom('offer_redemptions')
    .select('user_offer_id')
    .distinct()
    .where('retailer_id', '=', retailerId)
    .where('transaction_key', '=', t.transactionKey)
    .where('member_id', '=', t.memberId)
    .where('store_id', '=', t.storeId)
    .where('reinstated_at', 'is', null)
    .execute();
  return rows.map((r) => r.user_offer_id);
}

/** Returns a redeemed use to the member: the latest redemption is reverted and the offer is issued again. */
export async function reinstateUserOffer(tx: Db, actor: Actor, userOfferId: string): Promise<UserOffer> {
  const uo = await lockUserOffer(tx, actor.retailerId, userOfferId);
  const last = await tx
    .selectFrom('offer_redemptions')
    .select(['id'])
    .where('retailer_id', '=', actor.retailerId)
    .where('user_offer_id', '=', uo.id)
    .where('reinstated_at', 'is', null)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!last || uo.status === STATUS.revoked) {
    throw new DomainError(uo.status === STATUS.revoked ? 'offer_revoked' : 'offer_not_redeemed', `user offer ${uo.id} has no redemption to reinstate`, 'user_offer_id');
  }
  const now = new Date();
  await tx.updateTable('offer_redemptions').set({ reinstated_at: now }).where('retailer_id', '=', actor.retailerId).where('id', '=', last.id).execute();
  const updated = await tx
    .updateTable('user_offers')
    .set({ status: STATUS.issued, remaining_uses: uo.remaining_uses + 1, redeemed_at: null, redeemed_store_id: null, updated_at: now })
    .where('retailer_id', '=', actor.retailerId)
    .where('id', '=', uo.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const offer = await getOffer(tx, actor.retailerId, uo.offer_id, { exactVersion: true });
  await recordTimeline(tx, await subject(tx, actor, uo), [offerEntry(actor, 'OFFER_MODIFIED', updated, offer, now, { reinstated: true })]);
  offerEvent(tx, actor, 'offer.reinstated', updated, now, {});
  return updated;
}

/** An offer event about a member's offer. */
function offerEvent<T extends 'offer.issued' | 'offer.revoked' | 'offer.redeemed' | 'offer.reinstated' | 'offer.expired'>(
  tx: Db,
  actor: Actor,
  type: T,
  uo: Pick<UserOffer, 'id' | 'offer_id' | 'member_id'>,
  now: Date,
  extra: Omit<EventPayload<T>, 'user_offer_id' | 'offer_id'>,
): void {
  recordDomainEvent(tx, { type, retailerId: actor.retailerId, memberId: uo.member_id, occurredAt: now, payload: { user_offer_id: uo.id, offer_id: uo.offer_id, ...extra } as EventPayload<T> });
}

export interface UserOfferQuery {
  statuses?: number[];
  skip: number;
  take: number;
  descending?: boolean;
}

/** A member's user offers (newest first), with their offers; the status filter uses the effective status. */
export async function listUserOffers(db: Db, retailerId: string, memberIds: string[], q: UserOfferQuery): Promise<{ total: number; rows: UserOffer[] }> {
  if (!memberIds.length) return { total: 0, rows: [] };
  let base = db.selectFrom('user_offers').where('retailer_id', '=', retailerId).where('member_id', 'in', memberIds);
  if (q.statuses?.length) {
    const now = new Date();
    const expired = q.statuses.includes(STATUS.expired);
    const plain = q.statuses.filter((s) => s !== STATUS.expired);
    base = base.where((eb) =>
      eb.or([
        ...(plain.length ? [eb.and([eb('status', 'in', plain), eb.or([eb('redemption_end_date', 'is', null), eb('redemption_end_date', '>=', now), eb('status', 'not in', [STATUS.issued, STATUS.locked])])])] : []),
        ...(expired ? [eb('status', '=', STATUS.expired), eb.and([eb('status', 'in', [STATUS.issued, STATUS.locked]), eb('redemption_end_date', '<', now)])] : []),
      ]),
    );
  }
  const { total } = await base.select(sql<number>`count(*)`.as('total')).executeTakeFirstOrThrow();
  const rows = await base
    .selectAll()
    .orderBy('acquired_at', q.descending === false ? 'asc' : 'desc')
    .orderBy('id')
    .offset(q.skip)
    .limit(q.take)
    .execute();
  return { total: Number(total), rows };
}

/** A user offer as the lookup reads it: [id, offer_id, status, redemption_start_date, redemption_end_date, lock_key, redemption_code, custom_data]. */
export type UsableUserOfferTuple = [string, string, number, string | null, string | null, string | null, string, string | null];

/**
 * The SELECT of a member's issued user offers not past their redemption end
 * at `now` (newest first, at most 1000) as a json array of
 * UsableUserOfferTuple, as SQL text for a caller's raw statement: `retailer`,
 * `member` and `now` are expressions of that statement (its text stays constant).
 */
export const usableUserOffersText = (retailer: string, member: string, now: string) => `(SELECT coalesce(json_agg(json_build_array(u.id, u.offer_id, u.status, u.redemption_start_date, u.redemption_end_date, u.lock_key, u.redemption_code, u.custom_data) ORDER BY u.acquired_at DESC, u.id), '[]')
     FROM (SELECT * FROM user_offers u WHERE u.retailer_id = ${retailer} AND u.member_id = ${member} AND u.status = ${STATUS.issued} AND (u.redemption_end_date IS NULL OR u.redemption_end_date >= ${now})
           ORDER BY u.acquired_at DESC, u.id LIMIT 1000) u)`;

/**
 * The ids of the member's user offers locked to a POS transaction (`transactionKey`) or named by its
 * discounts (`userOfferIds`, a uuid array; issued or locked), as SQL text for a caller's raw statement
 * of those expressions.
 */
export const transactionUserOfferIdsText = (retailer: string, member: string, transactionKey: string, userOfferIds: string) =>
  `ARRAY(SELECT u.id FROM user_offers u
          WHERE u.retailer_id = ${retailer} AND u.member_id = ${member}
            AND ((u.lock_key = ${transactionKey} AND u.status = ${STATUS.locked})
                 OR (u.id = ANY(${userOfferIds}::uuid[]) AND u.status IN (${STATUS.issued}, ${STATUS.locked})))
          ORDER BY u.id)::text[]`;

/** transactionUserOfferIdsText for a caller's statement. */
export const transactionUserOfferIdsQuery: (retailerId: string, memberId: string | null, transactionKey: string, userOfferIds: string[]) => RawBuilder<string[]> = textFragment(
  transactionUserOfferIdsText('$1', '$2', '$3', '$4'),
);
