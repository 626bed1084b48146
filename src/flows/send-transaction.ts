import { transact, unitOf } from '../db/unit-of-work.js';
import type { Db } from '../db/index.js';
import { DomainError } from '../errors.js';
import { recordCampaignEvent } from './campaign-award.js';
import { rollbackCampaignGoals } from '../modules/campaigns/rollback.js';
import { lockMemberRef, subjectOf, type Actor, type MemberSummary } from '../modules/members/service.js';
import type { Basket } from '../modules/offers/discount.js';
import { redeemUserOffer, redemptionsOfTransaction, reinstateUserOffer } from '../modules/offers/user-offers.js';
import { applyPointChanges, type BalanceRow, type PointDetail } from '../modules/points/ledger.js';
import { recordDomainEvent } from '../modules/outbox/service.js';
import { fromDb, min, parseAmount, toDecimal, toJson, ZERO, type Amount } from '../modules/points/amount.js';
import { pointsAddedSince } from '../modules/points/queries.js';
import { evaluate, requirements } from '../modules/rules/conditions.js';
import type { OutcomeConfig } from '../modules/rules/config.js';
import { matchingRules } from '../modules/rules/config.js';
import { promoteAfter, runRules } from './apply-rule-outcomes.js';
import type { RuleOutcome } from '../modules/rules/evaluate.js';
import { memberFacts } from '../modules/rules/state.js';
import { pointsFor } from '../modules/rules/outcomes.js';
import type { TimelineEntry } from '../modules/timeline/service.js';
import { planTimeline, recordTimeline } from '../modules/timeline/service.js';
import {
  assignMember,
  earnedAmount,
  earnedOf,
  effectsUpdate,
  linesChanged,
  linesUpdate,
  lockClaimable,
  lockMemberAndStoreTransaction,
  markVoided,
  netEarned,
  recordEffects,
  refOf,
  storeTransaction,
  sumEarned,
  type EarnedPoints,
  type PosTransactionRow,
  type TransactionInput,
} from '../modules/transactions/service.js';
import { isUuid } from '../lib/ids.js';

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
  /** False when the transaction was stored already (a re-send, a modification or a void). */
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
 * campaign purchase behaviours run, PURCHASE_TRANSACTION on the timeline; for
 * a new return (a negative subtotal) the points its lines earned taken back.
 * The same transaction again changes nothing; again with other lines applies
 * the difference (modifyTransaction); again with is_voided reverses its
 * effects once.
 */
export async function sendTransaction(db: Db, actor: Actor, input: SendTransactionInput): Promise<SendTransactionResult> {
  return transact(db, async (tx) => {
    const named = [...new Set(input.discountUserOfferIds.filter(isUuid).map((x) => x.toLowerCase()))];
    // by member id, the lock and the insert are one statement; an external id or an unknown id take the long way
    const quick = input.userRef && isUuid(input.userRef) ? await lockMemberAndStoreTransaction(tx, actor.retailerId, { ...input, memberId: input.userRef.toLowerCase() }, named) : undefined;
    const member = quick?.member ?? (input.userRef ? await lockMemberRef(tx, actor.retailerId, input.userRef) : undefined);
    const { id, existing, offerIds, balances } = quick ?? (await storeTransaction(tx, actor.retailerId, { ...input, memberId: member?.id ?? null }, member && { memberId: member.id, userOfferIds: named }));
    if (existing) {
      if (input.isVoided && !existing.is_voided) {
        await voidTransaction(tx, actor, existing, member);
        return { id, created: false, voided: true };
      }
      // the same lines again change nothing; other lines modify it (unless it is voided)
      if (!input.isVoided && !existing.is_voided && linesChanged(existing, input)) await modifyTransaction(tx, actor, existing, input, member);
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
    if (purchase.subtotal < ZERO) {
      // a return: no offers, rules or campaigns; what its lines earned is taken back
      await takeBack(tx, actor, member, purchase, balances);
      return { id, created: true, voided: false };
    }
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
  recordPurchase(tx, actor, member, p);
  // when a rule is achieved, the effects and the timeline entry go in the rules' statement
  const effects = (outcomes: RuleOutcome[]) => {
    recorded = sumEarned(rulePoints(outcomes));
    unitOf(tx).plan(effectsUpdate(actor.retailerId, p, { earned: recorded, redeemed }));
    planTimeline(tx, subjectOf(actor, member), [purchaseEntry(actor, p, false)]);
  };
  const outcomes = await runRules(tx, actor, member, { type: 'purchase', occurredAt: p.occurredAt, context: purchaseContext(p) }, { onAchieved: effects, balances });
  const parts = rulePoints(outcomes);
  const campaigns = await recordCampaignEvent(tx, actor, member, 'purchase', [{ qty: 1, store: p.storeId, occurredAt: p.occurredAt }]);
  if (campaigns.points > 0) {
    // campaign awards are this transaction's deposits of reference type 'campaign' since it began (under the member's lock)
    parts.push(...(await pointsAddedSince(tx, actor.retailerId, member.id, 'campaign', started)));
  }
  const earned = sumEarned(parts);
  // the goals this purchase counted toward and left open, for a void to take back
  const goals = campaigns.goals.filter((g) => !g.completed && g.current_count > 0).map((g) => ({ behavior_id: g.behavior_id, goal: g.goal }));
  const campaignGoals = goals.length ? { memberId: member.id, goals } : undefined;
  if (!recorded) {
    planTimeline(tx, subjectOf(actor, member), [purchaseEntry(actor, p, false)]);
    await recordEffects(tx, actor.retailerId, p, { earned, redeemed, campaignGoals });
  } else if (campaignGoals || JSON.stringify(recorded) !== JSON.stringify(earned)) await recordEffects(tx, actor.retailerId, p, { earned, redeemed, campaignGoals });
  return earned;
}

/** The purchase rules' context: the transaction. */
const purchaseContext = (p: Purchase): Record<string, unknown> => ({
  transaction_id: p.transactionId,
  pos_transaction_id: p.id,
  subtotal: toJson(p.subtotal),
  tax_total: toJson(p.taxTotal),
  store_id: p.storeId,
  channel: p.channel,
  items: p.items,
});

const NUMERIC = /^[+-]?\d+(\.\d+)?$/;
const negate = (v: unknown): unknown => {
  if (typeof v === 'number') return v === 0 ? 0 : -v;
  if (typeof v === 'string' && NUMERIC.test(v.trim())) {
    const text = v.trim().replace(/^\+/, '');
    return text.startsWith('-') ? text.slice(1) : `-${text}`;
  }
  return v;
};

/** A return as the purchase of the same lines: subtotal, tax and the lines' quantities and subtotals negated. */
const mirror = (p: Purchase): Purchase => ({
  ...p,
  subtotal: -p.subtotal,
  taxTotal: -p.taxTotal,
  items: p.items.map((item) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    const line = { ...(item as Record<string, unknown>) };
    for (const key of ['quantity', 'subtotal']) if (key in line) line[key] = negate(line[key]);
    return line;
  }),
});

type PointsOutcome = Extract<OutcomeConfig, { type: 'points' }>;

/**
 * The points the purchase rules' points outcomes give each context, by point
 * account, computed and not applied: the rules whose conditions the context
 * (and the member's facts now) meet; no limits, no achievements. `perUnit`:
 * only the outcomes per currency unit (what lines earn; fixed amounts belong
 * to a whole purchase).
 */
async function purchaseRulePoints(tx: Db, actor: Actor, member: MemberSummary, at: Date, contexts: Record<string, unknown>[], perUnit: boolean): Promise<Map<string, Amount>[]> {
  const results = contexts.map(() => new Map<string, Amount>());
  const rules = (await matchingRules(tx, actor.retailerId, { type: 'purchase' }))
    .map((rule) => ({ rule, outcomes: rule.outcomes.filter((o): o is PointsOutcome => o.type === 'points' && (!perUnit || typeof o.amount === 'object')) }))
    .filter((r) => r.outcomes.length);
  if (!rules.length) return results;
  const facts = await memberFacts(tx, actor.retailerId, member.id, at, requirements(rules.map((r) => r.rule.conditions)));
  contexts.forEach((context, i) => {
    for (const { rule, outcomes } of rules) {
      if (!evaluate(rule.conditions, { ...facts, context })) continue;
      for (const o of outcomes) {
        const computed = pointsFor(o.amount, context);
        if (!computed.ok || computed.amount <= ZERO) continue;
        const account = o.point_account_id.toLowerCase();
        results[i].set(account, (results[i].get(account) ?? ZERO) + computed.amount);
      }
    }
  });
  return results;
}

/** What a return may take back of `points`: per account, no more than the member's other transactions (not voided) earned. */
async function returnable(tx: Db, actor: Actor, member: MemberSummary, exceptId: string, points: Map<string, Amount>): Promise<Map<string, Amount>> {
  const taken = new Map<string, Amount>();
  if (!points.size) return taken;
  const net = await netEarned(tx, actor.retailerId, member.id, exceptId);
  for (const [account, amount] of points) {
    const take = min(amount, net.get(account) ?? ZERO);
    if (take > ZERO) taken.set(account, take);
  }
  return taken;
}

/**
 * A member's return (a transaction with a negative subtotal): the purchase
 * rules' per-unit points of its lines, as if they were bought, taken back
 * (forced spends, reference_type `pos_return`) up to what the member's
 * transactions earned; recorded as the transaction's (negative) earnings,
 * with its PURCHASE_TRANSACTION entry.
 */
async function takeBack(tx: Db, actor: Actor, member: MemberSummary, p: Purchase, balances?: BalanceRow[]): Promise<EarnedPoints[]> {
  const [points] = await purchaseRulePoints(tx, actor, member, p.occurredAt, [purchaseContext(mirror(p))], true);
  const taken = await returnable(tx, actor, member, p.id, points);
  const earned = earnedOf(new Map([...taken].map(([account, amount]) => [account, -amount])));
  recordPurchase(tx, actor, member, p);
  // with the points taken back, in their statement
  if (earned.length) unitOf(tx).plan(effectsUpdate(actor.retailerId, p, { earned, redeemed: [] }));
  planTimeline(tx, subjectOf(actor, member), [purchaseEntry(actor, p, false)]);
  if (!taken.size) {
    await unitOf(tx).flush(tx);
    return earned;
  }
  const details: PointDetail[] = [...taken].map(([account, amount]) => ({
    kind: 'spend',
    amount,
    point_account_ids: [account],
    force_spend: true,
    reference_id: p.transactionId,
    reference_type: 'pos_return',
    transaction_id: p.transactionId,
  }));
  await applyPointChanges(tx, actor, member, details, { allowPartialSuccess: false, balances });
  return earned;
}

/**
 * A transaction sent again with other lines (its subtotal or items differ):
 * the new lines are stored and the difference in points applied. A purchase
 * earns its stored earnings plus what the purchase rules' points outcomes
 * give the new lines less what they give the old ones (never below zero):
 * less is taken back (forced spend), more deposited, both with reference_type
 * `pos_transaction_change`. A return takes back what its new lines earned
 * (as a new return would). Offers and campaign progress stay as they are.
 */
async function modifyTransaction(tx: Db, actor: Actor, row: PosTransactionRow, input: SendTransactionInput, held?: MemberSummary): Promise<void> {
  const now = new Date();
  const before = purchaseOf(row);
  const after: Purchase = { ...before, subtotal: input.subtotal, taxTotal: input.taxTotal, items: input.items, payments: input.payments, isClosed: input.isClosed ?? true, occurredAt: input.modifiedTime ?? before.occurredAt };
  const lines = { ...input, memberId: row.member_id };
  if (!row.member_id) {
    // an anonymous transaction: its new lines are what a claim will earn on
    await linesUpdate(actor.retailerId, refOf(row), lines, row.earned, now).execute(tx);
    return;
  }
  const member = held?.id === row.member_id ? held : await lockMemberRef(tx, actor.retailerId, row.member_id);
  const earned = new Map(row.earned.map((e) => [e.point_account_id.toLowerCase(), earnedAmount(e)]));
  const target = new Map<string, Amount>();
  const isReturn = before.subtotal < ZERO;
  if (isReturn) {
    if (after.subtotal < ZERO) {
      const [points] = await purchaseRulePoints(tx, actor, member, after.occurredAt, [purchaseContext(mirror(after))], true);
      for (const [account, amount] of await returnable(tx, actor, member, row.id, points)) target.set(account, -amount);
    }
  } else {
    const [was, is] = await purchaseRulePoints(tx, actor, member, after.occurredAt, [purchaseContext(before), purchaseContext(after)], false);
    for (const account of new Set([...earned.keys(), ...was.keys(), ...is.keys()])) {
      const next = (earned.get(account) ?? ZERO) + (is.get(account) ?? ZERO) - (was.get(account) ?? ZERO);
      target.set(account, next > ZERO ? next : ZERO);
    }
  }
  const reference = { reference_id: row.transaction_id, reference_type: 'pos_transaction_change', transaction_id: row.transaction_id };
  const details: PointDetail[] = [];
  for (const account of new Set([...earned.keys(), ...target.keys()])) {
    const delta = (target.get(account) ?? ZERO) - (earned.get(account) ?? ZERO);
    if (delta < ZERO) details.push({ kind: 'spend', amount: -delta, point_account_ids: [account], force_spend: true, ...reference });
    // a return taking back less puts points back without counting them as earned again
    else if (delta > ZERO) details.push(isReturn ? { kind: 'spend', amount: delta, point_account_ids: [account], is_return: true, ...reference } : { kind: 'deposit', point_account_id: account, amount: delta, ...reference });
  }
  // with the points changed, in their statement
  unitOf(tx).plan(linesUpdate(actor.retailerId, refOf(row), lines, earnedOf(target), now));
  planTimeline(tx, subjectOf(actor, member), [purchaseEntry(actor, after, false)]);
  if (!details.length) {
    await unitOf(tx).flush(tx);
    return;
  }
  await promoteAfter(tx, actor, member, await applyPointChanges(tx, actor, member, details, { allowPartialSuccess: false }));
}

/** transaction.recorded: a member's purchase or return, planned with its effects. */
function recordPurchase(tx: Db, actor: Actor, member: MemberSummary, p: Purchase): void {
  recordDomainEvent(tx, {
    type: 'transaction.recorded',
    retailerId: actor.retailerId,
    memberId: member.id,
    payload: { transaction_id: p.id, pos_transaction_id: p.transactionId, store_id: p.storeId, subtotal: toDecimal(p.subtotal), tax_total: toDecimal(p.taxTotal) },
  });
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

/**
 * Reverses a transaction's loyalty effects: its points go back out (a forced
 * spend; what a return took back comes back), the offers it redeemed are
 * reinstated, the campaign progress it made is taken back.
 */
async function voidTransaction(tx: Db, actor: Actor, row: PosTransactionRow, held?: MemberSummary): Promise<void> {
  const now = new Date();
  await markVoided(tx, actor.retailerId, refOf(row), now);
  recordDomainEvent(tx, {
    type: 'transaction.voided',
    retailerId: actor.retailerId,
    memberId: row.member_id,
    occurredAt: now,
    payload: { transaction_id: row.id, pos_transaction_id: row.transaction_id, store_id: row.store_id },
  });
  if (!row.member_id) return;
  const member = held?.id === row.member_id ? held : await lockMemberRef(tx, actor.retailerId, row.member_id);
  const earned = row.earned;
  if (earned.length) {
    await applyPointChanges(
      tx,
      actor,
      member,
      earned.map((e): PointDetail => {
        const amount = earnedAmount(e);
        const reference = { reference_id: row.transaction_id, reference_type: 'pos_transaction_void', transaction_id: row.transaction_id };
        return amount > ZERO
          ? { kind: 'spend', amount, point_account_ids: [e.point_account_id], force_spend: true, ...reference }
          : { kind: 'spend', amount: -amount, point_account_ids: [e.point_account_id], is_return: true, ...reference };
      }),
      { allowPartialSuccess: false },
    );
  }
  // every redemption this transaction made (at send, or by redeem with its transaction id at the till)
  const redeemed = await redemptionsOfTransaction(tx, actor.retailerId, { transactionKey: row.transaction_id, memberId: row.member_id, storeId: row.store_id });
  for (const userOfferId of redeemed) await reinstateUserOffer(tx, actor, userOfferId);
  await rollbackCampaignGoals(tx, actor, member, row.campaign_goals, row.store_id);
  await recordTimeline(tx, subjectOf(actor, member), [purchaseEntry(actor, purchaseOf(row), true)]);
}

/**
 * A member claims an anonymous transaction by its receipt code: it becomes
 * theirs and earns as if it had been sent with them. Claiming one's own again
 * changes nothing.
 */
export async function claimTransaction(db: Db, actor: Actor, userRef: string, receiptCode: string): Promise<{ id: string; earned: EarnedPoints[] }> {
  return transact(db, async (tx) => {
    const member = await lockMemberRef(tx, actor.retailerId, userRef);
    const row = await lockClaimable(tx, actor.retailerId, receiptCode);
    if (!row) throw new DomainError('not_found', `receipt_code ${receiptCode}: no such transaction`, 'receipt_code');
    if (row.member_id === member.id) return { id: row.id, earned: row.earned };
    if (row.member_id) throw new DomainError('not_available', `receipt_code ${receiptCode}: the transaction is already claimed`, 'receipt_code');
    if (row.is_voided) throw new DomainError('not_available', `receipt_code ${receiptCode}: the transaction is voided`, 'receipt_code');
    await assignMember(tx, actor.retailerId, refOf(row), member.id, new Date());
    const p = purchaseOf(row);
    // a claimed return takes back like one sent with its member
    return { id: row.id, earned: p.subtotal < ZERO ? await takeBack(tx, actor, member, p) : await earn(tx, actor, member, p, []) };
  });
}
