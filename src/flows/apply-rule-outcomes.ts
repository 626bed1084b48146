/**
 * Applying the outcomes of the rules a trigger achieves: the rules module
 * finds the rules (one map lookup in the retailer's cached index), reads what
 * they need and decides which are achieved (rules/evaluate.ts, no database);
 * this flow applies their outcomes through each owner (points deposited by
 * the ledger, offers issued, tiers moved, attributes set, tags dropped), all
 * in the caller's transaction under the member's lock: each achievement and
 * its outcomes happen exactly once, however many events arrive together.
 */
import type { Db } from '../db/index.js';
import { unitOf } from '../db/unit-of-work.js';
import { DomainError } from '../errors.js';
import type { CampaignStep } from '../modules/campaigns/index.js';
import { updateMember, type Actor, type MemberSummary } from '../modules/members/service.js';
import { findOffer } from '../modules/offers/catalog.js';
import { issueOffer } from '../modules/offers/user-offers.js';
import { listPointAccounts } from '../modules/points/accounts.js';
import { toJson, ZERO } from '../modules/points/amount.js';
import { applyPointChanges, type BalanceRow, type DepositDetail, type PointChangeOutcome } from '../modules/points/ledger.js';
import { planAchievements } from '../modules/rules/achievements.js';
import { requirements, type Facts } from '../modules/rules/conditions.js';
import { matchingRules, type OutcomeConfig, type Rule } from '../modules/rules/config.js';
import { achieved, candidates, type RuleOutcome, type Trigger } from '../modules/rules/evaluate.js';
import { contextValue, pointsFor } from '../modules/rules/outcomes.js';
import { memberFacts, readRuleState, streakDays } from '../modules/rules/state.js';
import { planTagDrops, type TagDrop } from '../modules/tags/service.js';
import { evaluateTierSystems, listTierSystems, moveMember, tierFactsOf, tierFactsQuery, type TierFacts } from '../modules/tiers/service.js';

const MAX_CASCADE = 3;

/**
 * Runs the rules a trigger matches, in the caller's transaction; the caller
 * holds the member's lock (lockMemberRef first). Outcomes that add a tag,
 * move a tier or set an attribute trigger the rules on those in turn (up to
 * three levels). Answers every outcome of every rule achieved.
 */
export async function runRules(
  tx: Db,
  actor: Actor,
  member: MemberSummary,
  trigger: Trigger,
  options: {
    depth?: number;
    /**
     * Given the outcomes, plans the caller's writes in the unit of work, so
     * they go in the statement that records the achieved rules; not called
     * when no rule was achieved.
     */
    onAchieved?: (outcomes: RuleOutcome[]) => void;
    /** The member's point accounts, read under its lock in this transaction before any change. */
    balances?: BalanceRow[];
    /** Work to do with the rules' statements; not planned when no rule matches the trigger (the caller then does it on its own). */
    companion?: CampaignStep;
    /**
     * The caller reads nothing after the rules: their last writes may wait in the unit
     * of work for the commit (a round trip less) when nothing the rules do next reads
     * them (no tier points to promote on, no rule on what the outcomes derive).
     */
    last?: boolean;
  } = {},
): Promise<RuleOutcome[]> {
  const depth = options.depth ?? 0;
  const rules = await matchingRules(tx, actor.retailerId, trigger);
  if (!rules.length) return [];
  const needs = requirements(rules.map((r) => r.conditions));
  const companion = options.companion;
  // one statement reads what the rules (and the companion) need of the member: tags, limit states, point accounts
  const state = await readRuleState(tx, actor.retailerId, member.id, trigger, rules, {
    tags: needs.tags,
    balances: !options.balances && (rules.some((r) => r.outcomes.some((o) => o.type === 'points')) || !!companion?.mayDeposit),
    counters: [...new Set(rules.flatMap((r) => r.outcomes.flatMap((o) => (o.type === 'tag' ? [o.tag.trim()] : []))))],
    companion: companion?.read,
  });
  const facts: Facts = { context: trigger.context, ...(await memberFacts(tx, actor.retailerId, member.id, trigger.occurredAt, needs, state.tags)) };
  const results: RuleOutcome[] = [];
  const derived: Trigger[] = [];
  let tierPointsChanged = false;
  // which rules are achieved is decided before any outcome applies: each rule is matched once per trigger,
  // so no rule's limits read another's achievement of this trigger
  const inRunning = candidates(rules, facts, trigger, state.limits);
  const achievedNow = achieved(inRunning, trigger, await streakDays(tx, actor.retailerId, member.id, inRunning, trigger, state.limits));
  // the points outcomes of every rule achieved are deposited together, each answered on its own
  const deposits: { result: RuleOutcome; detail: DepositDetail }[] = [];
  // and the tags they drop are written together, in the order they were dropped
  const drops: TagDrop[] = [];
  const now = new Date();
  const achievedRules: { rule: Rule; applied: RuleOutcome[] }[] = [];
  for (const rule of achievedNow) {
    const applied: RuleOutcome[] = [];
    for (const outcome of rule.outcomes) {
      const done = await applyOutcome(tx, actor, member, rule, outcome, trigger, now);
      applied.push(done.result);
      if (done.deposit) deposits.push({ result: done.result, detail: done.deposit });
      if (done.drop) drops.push(done.drop);
      if (done.derived) derived.push(done.derived);
    }
    achievedRules.push({ rule, applied });
  }
  // the achievements, their timeline entries and events, once the outcomes are answered (a deposit answers its own):
  // planned in the unit of work, for the deposit's statement when there is one, else their own
  const unit = unitOf(tx);
  const record = (): void => {
    if (!achievedRules.length) return;
    results.push(...achievedRules.flatMap((a) => a.applied));
    if (drops.length) planTagDrops(tx, actor, member, drops, state.counters ?? {}, now);
    planAchievements(tx, actor, member, trigger, achievedRules);
    options.onAchieved?.(results);
  };
  // the companion's part, planned from what it read before any outcome (outcomes never change what it reads)
  const planned = unit.size;
  const theirs = companion ? await companion.plan(state.companion) : [];
  const companionPlanned = unit.size > planned;
  let tiers: TierFacts | undefined;
  // the rules the outcomes trigger in turn (read here, from the cached index): none, and the writes may wait
  const last = !!options.last && (depth >= MAX_CASCADE || (await Promise.all(derived.map((d) => matchingRules(tx, actor.retailerId, d)))).every((r) => !r.length));
  if (deposits.length || theirs.length) ({ tierPointsChanged, tiers } = await depositOutcomes(tx, actor, member, deposits, theirs, record, options.balances ?? state.balances, last));
  // one statement: the writes without a deposit (or none yet: they wait for the commit)
  else if (achievedRules.length || companionPlanned) {
    record();
    if (!last) await unit.flush(tx);
  }
  if (tierPointsChanged) {
    const systems = await listTierSystems(tx, actor.retailerId);
    for (const change of await evaluateTierSystems(tx, actor, member, systems, 'promote', new Date(), tiers)) {
      if (change.changed) derived.push({ type: 'tier_change', name: change.to.id, occurredAt: new Date(), context: { tier_system_id: change.tier_system_id, tier_level_id: change.to.id } });
    }
  }
  if (depth < MAX_CASCADE) for (const next of derived) results.push(...(await runRules(tx, actor, member, next, { depth: depth + 1 })));
  return results;
}

/** After a point change: when tier points arrived, the member's promotion in every tier system, and the rules on the levels reached. */
export async function promoteAfter(tx: Db, actor: Actor, member: MemberSummary, outcome: Pick<PointChangeOutcome, 'tierPointsChanged' | 'time'>): Promise<void> {
  if (!outcome.tierPointsChanged) return;
  for (const change of await evaluateTierSystems(tx, actor, member, await listTierSystems(tx, actor.retailerId), 'promote')) {
    if (change.changed) await runRules(tx, actor, member, { type: 'tier_change', name: change.to.id, occurredAt: outcome.time, context: { tier_system_id: change.tier_system_id, tier_level_id: change.to.id } });
  }
}

interface Applied {
  result: RuleOutcome;
  /** A points outcome's deposit, made with the other outcomes' (depositOutcomes), which answers `result`. */
  deposit?: DepositDetail;
  /** A tag outcome's tag, written with the achievements. */
  drop?: TagDrop;
  derived?: Trigger;
}

/**
 * Deposits the points outcomes of the rules one trigger achieved in one
 * point change: each outcome is its own detail, applied in order, and a
 * refused one (account inactive, maximum balance) is answered not applied
 * with its code while the others stand. The companion's deposits follow,
 * all or nothing (one refused fails the whole change, as a DomainError).
 * Answers whether tier points arrived, with the member's tier facts read in
 * the deposit's statement.
 */
async function depositOutcomes(
  tx: Db,
  actor: Actor,
  member: MemberSummary,
  deposits: { result: RuleOutcome; detail: DepositDetail }[],
  theirs: DepositDetail[],
  record: () => void,
  balances: BalanceRow[] | undefined,
  last: boolean,
): Promise<{ tierPointsChanged: boolean; tiers?: TierFacts }> {
  // what the tier systems read, in the deposit's statement, when the deposits may move the member's tiers
  const systems = await listTierSystems(tx, actor.retailerId);
  const accounts = new Map((await listPointAccounts(tx, actor.retailerId)).map((a) => [a.id, a]));
  const details = [...deposits.map((d) => d.detail), ...theirs];
  const tierPoints = systems.length > 0 && details.some((d) => accounts.get(d.point_account_id.toLowerCase())?.counts_toward_tiers);
  const outcome = await applyPointChanges(
    tx,
    actor,
    member,
    details,
    {
      allowPartialSuccess: true,
      balances,
      read: tierPoints ? tierFactsQuery(actor.retailerId, member.id, systems) : undefined,
      // without tier points nothing reads the change after it (the member's promotion would)
      plan: last && !tierPoints,
      then: (answers) => {
        for (const r of answers) {
          if (r.index >= deposits.length) {
            if (!r.ok) throw new DomainError(r.error!.code, `deposit_details[${r.index - deposits.length}]: ${r.error!.message}`, 'deposit_details');
            continue;
          }
          const { result, detail } = deposits[r.index];
          if (r.ok) Object.assign(result, { is_outcome_applied: true, points_awarded: toJson(detail.amount) });
          else result.error = { code: r.error!.code, message: `deposit_details[0]: ${r.error!.message}` };
        }
        record();
      },
    },
  );
  if (!outcome.read) return { tierPointsChanged: outcome.tierPointsChanged };
  // read before the deposit's statement: the lifetime values of the accounts it changed are those it left
  const tiers = tierFactsOf(outcome.read);
  for (const r of outcome.results) for (const line of r.lines) tiers.lifetime.set(line.point_account_id, line.life_time_value);
  return { tierPointsChanged: outcome.tierPointsChanged, tiers };
}

/**
 * Applies one outcome. An outcome the domain refuses (offer no longer
 * available, account inactive, nothing to compute) is answered not applied
 * with its code; the domains check before they write, so nothing of it stays.
 */
async function applyOutcome(tx: Db, actor: Actor, member: MemberSummary, rule: Rule, o: OutcomeConfig, trigger: Trigger, now: Date): Promise<Applied> {
  const result: RuleOutcome = { rule_id: rule.id, rule_name: rule.name, discriminator: o.type, is_outcome_applied: false, points_awarded: 0 };
  try {
    switch (o.type) {
      case 'points': {
        result.point_account_id = o.point_account_id;
        const computed = pointsFor(o.amount, trigger.context);
        if (!computed.ok) throw new DomainError(computed.code, computed.message);
        if (computed.amount <= ZERO) return { result: { ...result, error: { code: 'validation', message: 'no points to award' } } };
        return {
          result,
          deposit: {
            kind: 'deposit',
            point_account_id: o.point_account_id,
            amount: computed.amount,
            point_source_id: o.point_source_id,
            reference_type: 'loyalty_rule',
            reference_id: rule.id,
            transaction_id: typeof trigger.context.transaction_id === 'string' ? trigger.context.transaction_id : undefined,
          },
        };
      }
      case 'offer': {
        result.offer_id = o.offer_id;
        const offer = await findOffer(tx, actor.retailerId, o.offer_id);
        if (!offer) throw new DomainError('offer_not_found', `offer ${o.offer_id} not found`);
        const userOffer = await issueOffer(tx, actor, member, offer, { source: 'rule', now });
        return { result: { ...result, offer_id: offer.id, user_offer_id: userOffer.id, is_outcome_applied: true } };
      }
      case 'tag': {
        result.tag = o.tag;
        const tag = o.tag.trim();
        if (!tag) throw new DomainError('missing_data', 'tag: empty');
        return { result: { ...result, is_outcome_applied: true }, drop: { tag, ttlSeconds: o.ttl }, derived: { type: 'tag', name: o.tag, occurredAt: now, context: { tag: o.tag } } };
      }
      case 'tier': {
        result.tier_level_id = o.tier_level_id;
        const system = (await listTierSystems(tx, actor.retailerId)).find((s) => s.levels.some((l) => l.id === o.tier_level_id) && (!o.tier_system_id || s.id === o.tier_system_id));
        if (!system) throw new DomainError('not_found', `tier level ${o.tier_level_id} not found`);
        result.tier_system_id = system.id;
        const change = await moveMember(tx, actor, member, system, o.tier_level_id, {});
        return {
          result: { ...result, is_outcome_applied: true },
          derived: change.changed ? { type: 'tier_change', name: change.to.id, occurredAt: now, context: { tier_system_id: system.id, tier_level_id: change.to.id } } : undefined,
        };
      }
      case 'attribute': {
        result.attribute = o.name;
        const value = o.from !== undefined ? contextValue(trigger.context, o.from) : o.value;
        if (value === undefined) throw new DomainError('missing_data', `context.${o.from}: absent, attribute not set`);
        await updateMember(tx, actor, member.id, { user_profile: { [o.name]: value } });
        return { result: { ...result, is_outcome_applied: true }, derived: { type: 'profile_change', name: o.name, occurredAt: now, context: { attribute: o.name, value } } };
      }
    }
  } catch (err) {
    if (!(err instanceof DomainError) || err.status >= 500) throw err;
    return { result: { ...result, error: { code: err.code, message: err.message } } };
  }
}
