import { transact, unitOf } from '../db/unit-of-work.js';
import { describeWrite } from '../db/write-context.js';
import { toDecimal, type Amount } from '../modules/points/amount.js';
import type { Db } from '../db/index.js';
import { promoteAfter } from './apply-rule-outcomes.js';
import { memberNotFound } from '../errors.js';
import { lockMember, lockMemberRefReading, type Actor, type MemberSummary } from '../modules/members/service.js';
import { applyPointChanges, LOCKED_BALANCES, type BalanceRow, type PointChangeOutcome, type PointDetail } from '../modules/points/ledger.js';
import { evaluateTierSystems, findTierSystem, listTierSystems, moveMember, type EvaluationMode, type TierChange } from '../modules/tiers/service.js';

/**
 * Deposits and spends for one member in one transaction: the ledger entries,
 * the balances, the timeline, and (when tier points arrived) the member's
 * promotion in every tier system.
 */
export async function changePoints(
  db: Db,
  actor: Actor,
  memberRef: string,
  details: PointDetail[],
  options: { allowPartialSuccess: boolean },
): Promise<PointChangeOutcome & { member: MemberSummary }> {
  return transact(db, async (tx) => {
    // the member's point accounts come with its lock
    const { member, read: balances } = await lockMemberRefReading<BalanceRow[]>(tx, actor.retailerId, memberRef, LOCKED_BALANCES);
    // its writes go with the COMMIT, unless tier points arrived: the promotion reads them
    const outcome = await applyPointChanges(tx, actor, member, details, { ...options, balances, plan: true });
    if (outcome.tierPointsChanged) await unitOf(tx).flush(tx);
    await promoteAfter(tx, actor, member, outcome);
    return { ...outcome, member };
  });
}

/**
 * An operator's manual adjustment: a deposit into or a deduction from one
 * account, with its reason, recorded in the ledger and the timeline as a
 * `manual_adjustment` (its reference is the reason; its request, who made it)
 * and in the audit trail with the balance after. A deduction never overdraws.
 */
export async function adjustPoints(
  db: Db,
  actor: Actor,
  memberId: string,
  input: { pointAccountId: string; kind: 'deposit' | 'deduct'; amount: Amount; reason: string; idempotencyId?: string },
): Promise<PointChangeOutcome & { member: MemberSummary }> {
  const common = { reference_type: 'manual_adjustment', reference_id: input.reason, idempotency_id: input.idempotencyId };
  const detail: PointDetail =
    input.kind === 'deposit'
      ? { kind: 'deposit', point_account_id: input.pointAccountId, amount: input.amount, ...common }
      : { kind: 'spend', point_account_ids: [input.pointAccountId], amount: input.amount, ...common };
  return transact(db, async (tx) => {
    const member = await lockMember(tx, actor.retailerId, memberId);
    const outcome = await applyPointChanges(tx, actor, member, [detail], { allowPartialSuccess: false });
    await promoteAfter(tx, actor, member, outcome);
    const line = outcome.results[0]?.lines[0];
    describeWrite(tx, { objectId: member.id, after: { point_account_id: input.pointAccountId, kind: input.kind, amount: toDecimal(input.amount), reason: input.reason, balance_after: line ? toDecimal(line.available_balance) : null } });
    return { ...outcome, member };
  });
}

/** Re-evaluates the member in every tier system (or one), in the caller's transaction. */
export async function evaluateTiers(tx: Db, actor: Actor, member: MemberSummary, mode: EvaluationMode, tierSystemId?: string): Promise<TierChange[]> {
  const systems = tierSystemId ? [await findTierSystem(tx, actor.retailerId, tierSystemId)] : await listTierSystems(tx, actor.retailerId);
  return evaluateTierSystems(tx, actor, member, systems, mode);
}

/** Qualifying (and maintenance) for one member, under its lock. */
export async function qualifyMember(db: Db, actor: Actor, memberId: string, tierSystemId?: string): Promise<TierChange[]> {
  return transact(db, async (tx) => {
    const member = await lockMember(tx, actor.retailerId, memberId).catch(() => {
      throw memberNotFound();
    });
    return evaluateTiers(tx, actor, member, 'qualify', tierSystemId);
  });
}

export async function moveMemberToLevel(
  db: Db,
  actor: Actor,
  memberId: string,
  tierSystemId: string,
  levelId: string,
  options: { processIntermediateLevels?: boolean; evaluateQualifyingRules?: boolean },
): Promise<TierChange> {
  return transact(db, async (tx) => {
    const member = await lockMember(tx, actor.retailerId, memberId);
    const system = await findTierSystem(tx, actor.retailerId, tierSystemId);
    return moveMember(tx, actor, member, system, levelId, options);
  });
}
