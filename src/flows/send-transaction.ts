import type { Db } from '../db/index.js';
import { DomainError } from '../errors.js';
import { recordCampaignEvent } from '../modules/campaigns/index.js';
import { lockMemberRef, subjectOf, type Actor, type MemberSummary } from '../modules/members/service.js';
import type { Basket } from '../modules/offers/discount.js';
import { redeemUserOffer, reinstateUserOffer } from '../modules/offers/user-offers.js';
import { applyPointChanges, type AlsoWrite, type BalanceRow } from '../modules/points/ledger.js';
import { fromDb, parseAmount, toJson, type Amount } from '../modules/points/amount.js';
import { runRules, type RuleOutcome } from '../modules/rules/engine.js';
import type { TimelineEntry } from '../modules/timeline/service.js';
import { recordTimeline } from '../modules/timeline/service.js';
import {
  assignMember,
  earnedAmount,
  effectsUpdate,
  lockClaimable,
  markVoided,
  recordEffects,
  storeTransaction,
  sumEarned,
  type EarnedPoints,
  type PosTransactionRow,
  type TransactionInput,
} from '../modules/transactions/service.js';
import { isUuid } from '../modules/members/values.js';

export interface SendTransactionInput extends Omit<TransactionInput, 'memberId'> {
  /** A member id or external id; absent: an anonymous transaction. */
  userRef?: string;
  isClosed?: boolean;
  /** The transaction as a basket, for the discounts of the offers it redeems. */
  basket: Basket;
  /** User offer ids its discounts name. */
  discountUserOfferIds: string[];
}

export interface SendTransactionResult {
  id: string;
  /** False when the transaction was stored already (a re-send or a void). */
  created: boolean;
  voided: boolean;
}

/** What a purchase runs on: the stored transaction's facts. */
interface Purchase {
  id: string;
  storeId: string;
  transactionId: string;
  subtotal: Amount;
  taxTotal: Amount;
  channel: string | null;
  items: unknown[];
  payments: unknown[];
  isClosed: boolean;
  occurredAt: Date;
}

/**
 * A POS transaction in one database transaction: the member's lock (when the
 * transaction names one), the transaction stored once per (store,
 * transaction_id), then for a new transaction its loyalty effects: offers
 * locked to it or listed in its discounts redeemed, the purchase rules and
 * campaign purchase behaviours run, PURCHASE_TRANSACTION on the timeline. The
 * same transaction again changes nothing; again with is_voided reverses its
 * effects once.
 */
export async function sendTransaction(db: Db, actor: Actor, input: SendTransactionInput): Promise<SendTransactionResult> {
  return db.transaction().execute(async (tx) => {
    const member = input.userRef ? await lockMemberRef(tx, actor.retailerId, input.userRef) : undefined;
    const named = [...new Set(input.discountUserOfferIds.filter(isUuid).map((x) => x.toLowerCase()))];
    const { id, existing, offerIds, balances } = await storeTransaction(tx, actor.retailerId, { ...input, memberId: member?.id ?? null }, member && { memberId: member.id, userOfferIds: named });
    if (existing) {
      if (input.isVoided && !existing.is_voided) {
        await voidTransaction(tx, actor, existing, member);
        return { id, created: false, voided: true };
      }
      return { id, created: false, voided: existing.is_voided };
    }
    if (input.isVoided || !member) return { id, created: true, voided: input.isVoided };
    const purchase: Purchase = {
      id,
      storeId: input.storeId.toLowerCase(),
      transactionId: input.transactionId,
      subtotal: input.subtotal,
      taxTotal: input.taxTotal,
      channel: input.channel ?? null,
      items: input.items,
      payments: input.payments,
      isClosed: input.isClosed ?? true,
      occurredAt: input.modifiedTime ?? input.openTime ?? new Date(),
    };
    const redeemed = await redeemOffers(tx, actor, purchase, input.basket, offerIds);
    // redeeming changes no balance: the accounts read with the insert still hold
    await earn(tx, actor, member, purchase, redeemed, balances);
    return { id, created: true, voided: false };
  });
}

/** Redeems the member's offers locked to this transaction or named by its discounts (found with the insert); answers their ids. */
async function redeemOffers(tx: Db, actor: Actor, p: Purchase, basket: Basket, candidates: string[]): Promise<string[]> {
  const redeemed: string[] = [];
  for (const id of candidates) {
    try {
      await redeemUserOffer(tx, actor, id, { storeId: p.storeId, transactionKey: p.transactionId, basket });
      redeemed.push(id);
    } catch (err) {
      // an offer this transaction cannot use (locked elsewhere, not at this store) is left as it is
      if (!(err instanceof DomainError) || err.status >= 500) throw err;
    }
  }
  return redeemed;
}

/** The points outcomes applied, by account. */
const rulePoints = (outcomes: RuleOutcome[]) =>
  outcomes
    .filter((o) => o.discriminator === 'points' && o.is_outcome_applied && o.point_account_id && o.points_awarded > 0)
    .map((o) => ({ point_account_id: o.point_account_id!, amount: parseAmount(o.points_awarded, 'points', false) }));

/**
 * The purchase rules and campaign behaviours for a member's transaction, its
 * effects recorded and its timeline entry: with the rules' own statement when
 * they achieve something, followed by a correction when cascading rules or
 * campaigns earned more.
 */
async function earn(tx: Db, actor: Actor, member: MemberSummary, p: Purchase, redeemed: string[], balances?: BalanceRow[]): Promise<EarnedPoints[]> {
  const started = new Date();
  let recorded: EarnedPoints[] | undefined;
  const effects = (outcomes: RuleOutcome[]): AlsoWrite => {
    recorded = sumEarned(rulePoints(outcomes));
    return { statements: [effectsUpdate(actor.retailerId, p.id, { earned: recorded, redeemed })], timeline: [purchaseEntry(actor, p, false)] };
  };
  const outcomes = await runRules(tx, actor, member, {
    type: 'purchase',
    occurredAt: p.occurredAt,
    context: {
      transaction_id: p.transactionId,
      pos_transaction_id: p.id,
      subtotal: toJson(p.subtotal),
      tax_total: toJson(p.taxTotal),
      store_id: p.storeId,
      channel: p.channel,
      items: p.items,
    },
  }, { also: effects, balances });
  const parts = rulePoints(outcomes);
  const campaigns = await recordCampaignEvent(tx, actor, member, 'purchase', [{ qty: 1, store: p.storeId, occurredAt: p.occurredAt }]);
  if (campaigns.points > 0) {
    // campaign awards are this transaction's deposits of reference type 'campaign' since it began (under the member's lock)
    const rows = await tx
      .selectFrom('point_ledger')
      .select(['point_account_id', 'amount'])
      .where('retailer_id', '=', actor.retailerId)
      .where('member_id', '=', member.id)
      .where('reference_type', '=', 'campaign')
      .where('effective_at', '>=', started)
      .where('amount', '>', '0')
      .execute();
    parts.push(...rows.map((r) => ({ point_account_id: r.point_account_id, amount: fromDb(r.amount) })));
  }
  const earned = sumEarned(parts);
  if (!recorded) await recordEffects(tx, actor.retailerId, p.id, { earned, redeemed }, { subject: subjectOf(actor, member), entries: [purchaseEntry(actor, p, false)] });
  else if (JSON.stringify(recorded) !== JSON.stringify(earned)) await recordEffects(tx, actor.retailerId, p.id, { earned, redeemed });
  return earned;
}

function purchaseEntry(actor: Actor, p: Purchase, voided: boolean): TimelineEntry {
  return {
    type: 'PURCHASE_TRANSACTION',
    requestId: actor.requestId,
    payload: {
      pos_transaction_id: p.transactionId,
      transaction_id: p.id,
      store_id: p.storeId,
      items: p.items,
      payments: p.payments,
      subtotal: toJson(p.subtotal),
      taxtotal: toJson(p.taxTotal),
      is_voided: voided,
      is_closed: p.isClosed,
    },
  };
}

const purchaseOf = (row: PosTransactionRow): Purchase => ({
  id: row.id,
  storeId: row.store_id,
  transactionId: row.transaction_id,
  subtotal: fromDb(row.subtotal),
  taxTotal: fromDb(row.tax_total),
  channel: row.channel,
  items: row.items,
  payments: row.payments,
  isClosed: true,
  occurredAt: row.modified_time ?? row.open_time ?? row.created_at,
});

/** Reverses a transaction's loyalty effects: its points go back out (a forced spend), the offers it redeemed are reinstated. */
async function voidTransaction(tx: Db, actor: Actor, row: PosTransactionRow, held?: MemberSummary): Promise<void> {
  const now = new Date();
  await markVoided(tx, actor.retailerId, row.id, now);
  if (!row.member_id) return;
  const member = held?.id === row.member_id ? held : await lockMemberRef(tx, actor.retailerId, row.member_id);
  const earned = row.earned;
  if (earned.length) {
    await applyPointChanges(
      tx,
      actor,
      member,
      earned.map((e) => ({
        kind: 'spend' as const,
        amount: earnedAmount(e),
        point_account_ids: [e.point_account_id],
        force_spend: true,
        reference_id: row.transaction_id,
        reference_type: 'pos_transaction_void',
        transaction_id: row.transaction_id,
      })),
      { allowPartialSuccess: false },
    );
  }
  // every redemption this transaction made (at send, or by redeem with its transaction id at the till)
  const redemptions = await tx
    .selectFrom('offer_redemptions')
    .select('user_offer_id')
    .distinct()
    .where('retailer_id', '=', actor.retailerId)
    .where('transaction_key', '=', row.transaction_id)
    .where('member_id', '=', row.member_id)
    .where('store_id', '=', row.store_id)
    .where('reinstated_at', 'is', null)
    .execute();
  for (const r of redemptions) await reinstateUserOffer(tx, actor, r.user_offer_id);
  await recordTimeline(tx, subjectOf(actor, member), [purchaseEntry(actor, purchaseOf(row), true)]);
}

/**
 * A member claims an anonymous transaction by its receipt code: it becomes
 * theirs and earns as if it had been sent with them. Claiming one's own again
 * changes nothing.
 */
export async function claimTransaction(db: Db, actor: Actor, userRef: string, receiptCode: string): Promise<{ id: string; earned: EarnedPoints[] }> {
  return db.transaction().execute(async (tx) => {
    const member = await lockMemberRef(tx, actor.retailerId, userRef);
    const row = await lockClaimable(tx, actor.retailerId, receiptCode);
    if (!row) throw new DomainError('not_found', `receipt_code ${receiptCode}: no such transaction`, 'receipt_code');
    if (row.member_id === member.id) return { id: row.id, earned: row.earned };
    if (row.member_id) throw new DomainError('not_available', `receipt_code ${receiptCode}: the transaction is already claimed`, 'receipt_code');
    if (row.is_voided) throw new DomainError('not_available', `receipt_code ${receiptCode}: the transaction is voided`, 'receipt_code');
    await assignMember(tx, actor.retailerId, row.id, member.id, new Date());
    return { id: row.id, earned: await earn(tx, actor, member, purchaseOf(row), []) };
  });
}
