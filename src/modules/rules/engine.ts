/**
 * The rules engine: finds the rules an event triggers (one map lookup in the
 * retailer's cached rule index, never a scan of its rules), evaluates their
 * conditions over the facts they need, enforces their limits against the
 * member's achievements, and applies their outcomes, all in the caller's
 * transaction under the member's lock: each achievement and its outcomes
 * happen exactly once, however many events arrive together.
 */
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../db/index.js';
import { recordset } from '../../db/rows.js';
import { DomainError } from '../../errors.js';
import { evaluateTierSystems, listTierSystems, memberTiers, moveMember, tierFactsOf, tierFactsQuery, type TierFacts } from '../tiers/service.js';
import { memberRow, subjectOf, updateMember, type Actor, type MemberSummary } from '../members/service.js';
import { countEvents, eventDays } from '../events/service.js';
import { findOffer } from '../offers/catalog.js';
import { issueOffer } from '../offers/user-offers.js';
import { listPointAccounts } from '../points/accounts.js';
import { applyPointChanges, balancesJson, type BalanceRow, type DepositDetail, type PointChangeOutcome } from '../points/ledger.js';
import { parseAmount, toDecimal, toJson, ZERO } from '../points/amount.js';
import { recordDomainEvents, type NewEvent } from '../outbox/service.js';
import { countersJson, getTags, liveTagsJson, planTagDrops, type TagDrop } from '../tags/service.js';
import { planTimeline, type TimelineEntry } from '../timeline/service.js';
import { unitOf } from '../../db/unit-of-work.js';
import { eventCountKey, evaluate, requirements, type Facts, type Requirements } from './conditions.js';
import { matchingRules, type OutcomeConfig, type Rule, type RuleLimits, type TriggerType } from './config.js';
import { DAY_MS, dayStart, periodAllows, streakComplete, streakWindowStart } from './limits.js';
import { contextValue, pointsFor } from './outcomes.js';

/** What happened that rules may react to. */
export interface Trigger {
  type: TriggerType;
  /** event: the event name; tag: the tag; tier_change: the level reached; profile_change: the attribute. */
  name?: string;
  /** When it happened (an event's own date): period limits and counts are taken at this time. */
  occurredAt: Date;
  context: Record<string, unknown>;
  /** The member event recorded for it, if any. */
  eventId?: string;
}

/** One outcome of one achieved rule, as answers report it. */
export interface RuleOutcome {
  rule_id: string;
  rule_name: string;
  /** The outcome's type: points, offer, tag, tier, attribute. */
  discriminator: OutcomeConfig['type'];
  is_outcome_applied: boolean;
  /** Points deposited by this outcome (0 for other outcomes). */
  points_awarded: number;
  point_account_id?: string;
  offer_id?: string;
  user_offer_id?: string;
  tag?: string;
  tier_system_id?: string;
  tier_level_id?: string;
  attribute?: string;
  /** Why an outcome was not applied. */
  error?: { code: string; message: string };
}

/**
 * A caller's work done with the rules' own statements (campaign progress for
 * the same event): what it reads comes with the rules' read, under the
 * member's lock, and its deposits (all or nothing, after the rules') and
 * writes go with the rules' write.
 */
export interface Companion {
  /** A json value to read with the rules' state. */
  read: RawBuilder<unknown>;
  /** Whether plan may answer deposits (the member's point accounts are then read too). */
  mayDeposit: boolean;
  /** Given the value read (before any rule's outcome), plans its writes in the unit of work and answers its deposits. */
  plan(read: unknown): Promise<DepositDetail[]>;
}

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
    companion?: Companion;
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
  // the achievements and their timeline entries are written together after the loop:
  // each rule is matched once per trigger, so no later rule's limits read them
  const achievements: { rule_id: string; outcomes: RuleOutcome[] }[] = [];
  const achieved: TimelineEntry[] = [];
  let tierPointsChanged = false;
  const passed = rules.filter((rule) => evaluate(rule.conditions, facts));
  const limitStates = state.limits;
  // the points outcomes of every rule achieved are deposited together, each answered on its own
  const deposits: { result: RuleOutcome; detail: DepositDetail }[] = [];
  // and the tags they drop are written together, in the order they were dropped
  const drops: TagDrop[] = [];
  const now = new Date();
  const achievedRules: { rule: Rule; applied: RuleOutcome[] }[] = [];
  for (const rule of passed) {
    if (!(await withinLimits(tx, actor.retailerId, member.id, rule, trigger, limitStates.get(rule.id)))) continue;
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
  // the achievements, their timeline entries and events, once the outcomes are answered:
  // planned in the unit of work, for the deposit's statement when there is one, else their own
  const unit = unitOf(tx);
  const record = (): void => {
    for (const { rule, applied } of achievedRules) {
      achievements.push({ rule_id: rule.id, outcomes: applied });
      achieved.push({
        type: 'LOYALTY_RULE_ACHIEVED',
        requestId: actor.requestId,
        payload: {
          rule_id: rule.id,
          rule_name: rule.name,
          trigger: trigger.type,
          ...(trigger.name ? { trigger_name: trigger.name } : {}),
          ...(trigger.eventId ? { event_id: trigger.eventId } : {}),
          event_time: trigger.occurredAt.toISOString(),
          outcomes: applied.map(({ rule_id: _r, rule_name: _n, ...o }) => o),
        },
      });
      results.push(...applied);
    }
    if (!achievements.length) return;
    unit.plan(achievementsInsert(actor, member, trigger, achievements));
    if (drops.length) planTagDrops(tx, actor, member, drops, state.counters ?? {}, now);
    planTimeline(tx, subjectOf(actor, member), achieved);
    recordDomainEvents(tx, achievedRules.map(({ rule, applied }) => achievedEvent(actor, member, rule, trigger, applied)));
    options.onAchieved?.(results);
  };
  // the companion's part, planned from what it read before any outcome (outcomes never change what it reads)
  const planned = unit.size;
  const theirs = companion ? await companion.plan(state.companion) : [];
  const companionPlanned = unit.size > planned;
  let tiers: TierFacts | undefined;
  if (deposits.length || theirs.length) ({ tierPointsChanged, tiers } = await depositOutcomes(tx, actor, member, deposits, theirs, record, options.balances ?? state.balances));
  // one statement: the writes without a deposit
  else if (achievedRules.length || companionPlanned) {
    record();
    await unit.flush(tx);
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

/** rule.achieved: the rule and what each of its outcomes did. */
function achievedEvent(actor: Actor, member: MemberSummary, rule: Rule, trigger: Trigger, applied: RuleOutcome[]): NewEvent<'rule.achieved'> {
  return {
    type: 'rule.achieved',
    retailerId: actor.retailerId,
    memberId: member.id,
    payload: {
      rule_id: rule.id,
      rule_name: rule.name,
      trigger: trigger.type,
      event_id: trigger.eventId ?? null,
      outcomes: applied.map((o) => ({ type: o.discriminator, applied: o.is_outcome_applied, points_awarded: toDecimal(parseAmount(o.points_awarded, 'points', false)) })),
    },
  };
}

const ACHIEVEMENT_COLUMNS = { rule_id: 'uuid', outcomes: 'jsonb' };

/** The member's achievements of rules on one trigger, with their outcomes. */
const achievementsInsert = (actor: Actor, member: MemberSummary, trigger: Trigger, rows: { rule_id: string; outcomes: RuleOutcome[] }[]) =>
  sql`INSERT INTO rule_achievements (retailer_id, member_id, rule_id, event_id, achieved_at, outcomes, request_id)
      SELECT ${actor.retailerId}::uuid, ${member.id}::uuid, rule_id, ${trigger.eventId ?? null}::uuid, ${trigger.occurredAt}::timestamptz, outcomes, ${actor.requestId ?? null}::text
        FROM ${recordset(rows, ACHIEVEMENT_COLUMNS)} ORDER BY n`;

/**
 * Fetches only the member's facts the conditions need (requirements()), as
 * they are at `at`; `tags` when the caller read them already.
 */
export async function memberFacts(tx: Db, retailerId: string, memberId: string, at: Date, needs: Requirements, tags?: Record<string, number>): Promise<Omit<Facts, 'context'>> {
  const facts: Omit<Facts, 'context'> = {};
  if (needs.member) {
    const { user_profile, ...standard } = await memberRow(tx, retailerId, memberId);
    facts.member = standard;
    facts.profile = user_profile;
  }
  if (needs.tags) facts.tags = tags ?? (await getTags(tx, retailerId, memberId, at > new Date() ? at : new Date()));
  if (needs.tiers) {
    const placed = await memberTiers(tx, retailerId, memberId);
    const ranks = new Map((await listTierSystems(tx, retailerId)).flatMap((s) => s.levels.map((l) => [l.id, l.rank] as const)));
    facts.tierLevels = placed.map((p) => p.tier_level_id);
    facts.tierRank = Math.max(-1, ...placed.map((p) => ranks.get(p.tier_level_id) ?? -1));
  }
  if (needs.events.length) {
    facts.eventCounts = new Map();
    for (const e of needs.events) {
      const from = e.within_seconds ? new Date(at.getTime() - e.within_seconds * 1000) : undefined;
      facts.eventCounts.set(eventCountKey(e.name, e.within_seconds), await countEvents(tx, retailerId, memberId, e.name, at, from));
    }
  }
  return facts;
}

/** What the member's achievements of one rule are, as its limits need them (readRuleState). */
interface LimitState {
  /** limits.total: all its achievements. */
  total: number | null;
  /** limits.per_period: its achievement times (ms) within (t - period, t + period). */
  periodTimes: number[] | null;
  /** limits.min_seconds_between: its achievements within (t - gap, t + gap). */
  gapCount: number | null;
  /** limits.consecutive_days: its latest achievement before the end of the trigger's day. */
  last: Date | null;
}

const hasLimits = (limits: RuleLimits) => !!(limits.total || limits.per_period || limits.min_seconds_between || limits.consecutive_days);

interface RuleState {
  /** The member's live tags (when asked for). */
  tags?: Record<string, number>;
  /** The limit state of every rule with limits, at the trigger's time. */
  limits: Map<string, LimitState>;
  /** The member's point accounts (when asked for). */
  balances?: BalanceRow[];
  /** The member's counters among the tags the rules may drop (when there are some). */
  counters?: Record<string, number>;
  /** What the companion read (when there is one). */
  companion?: unknown;
}

/**
 * What the matched rules read of the member, in one statement after its lock:
 * its live tags (when a condition reads them), the limit state of every rule
 * with limits at the trigger's time, and its point accounts (when an outcome
 * may deposit, so the deposit reads nothing more).
 */
async function readRuleState(
  tx: Db,
  retailerId: string,
  memberId: string,
  trigger: Trigger,
  rules: Rule[],
  want: { tags: boolean; balances: boolean; counters: string[]; companion?: RawBuilder<unknown> },
): Promise<RuleState> {
  const limited = rules.filter((r) => hasLimits(r.limits));
  const state: RuleState = { limits: new Map() };
  if (!limited.length && !want.tags && !want.balances && !want.counters.length && !want.companion) return state;
  const t = trigger.occurredAt;
  const ms = t.getTime();
  const at = (x: number | null) => (x === null ? null : new Date(x).toISOString());
  const period = (r: Rule) => (r.limits.per_period ? r.limits.per_period.seconds * 1000 : null);
  const gap = (r: Rule) => (r.limits.min_seconds_between ? r.limits.min_seconds_between * 1000 : null);
  const tagsAt = t > new Date() ? t : new Date();
  const limits = limited.length
    ? sql`(SELECT json_agg(json_build_object(
              'rule_id', r.rule_id,
              'total', CASE WHEN r.want_total THEN (SELECT count(*) FROM rule_achievements a WHERE a.retailer_id = ${retailerId} AND a.member_id = ${memberId} AND a.rule_id = r.rule_id) END,
              'period_times', CASE WHEN r.plo IS NOT NULL THEN ARRAY(SELECT a.achieved_at FROM rule_achievements a WHERE a.retailer_id = ${retailerId} AND a.member_id = ${memberId} AND a.rule_id = r.rule_id AND a.achieved_at > r.plo AND a.achieved_at < r.phi) END,
              'gap_count', CASE WHEN r.glo IS NOT NULL THEN (SELECT count(*) FROM rule_achievements a WHERE a.retailer_id = ${retailerId} AND a.member_id = ${memberId} AND a.rule_id = r.rule_id AND a.achieved_at > r.glo AND a.achieved_at < r.ghi) END,
              'last', CASE WHEN r.day_end IS NOT NULL THEN (SELECT a.achieved_at FROM rule_achievements a WHERE a.retailer_id = ${retailerId} AND a.member_id = ${memberId} AND a.rule_id = r.rule_id AND a.achieved_at < r.day_end ORDER BY a.achieved_at DESC LIMIT 1) END))
             FROM unnest(${limited.map((r) => r.id)}::uuid[], ${limited.map((r) => !!r.limits.total)}::boolean[],
                         ${limited.map((r) => at(period(r) === null ? null : ms - period(r)!))}::timestamptz[], ${limited.map((r) => at(period(r) === null ? null : ms + period(r)!))}::timestamptz[],
                         ${limited.map((r) => at(gap(r) === null ? null : ms - gap(r)!))}::timestamptz[], ${limited.map((r) => at(gap(r) === null ? null : ms + gap(r)!))}::timestamptz[],
                         ${limited.map((r) => at(r.limits.consecutive_days ? dayStart(t).getTime() + DAY_MS : null))}::timestamptz[])
                  AS r(rule_id, want_total, plo, phi, glo, ghi, day_end))`
    : sql`NULL::json`;
  const tags = want.tags ? liveTagsJson(retailerId, memberId, tagsAt) : sql`NULL::json`;
  const { rows } = await sql<{
    tags: Record<string, number> | null;
    limits: { rule_id: string; total: number | null; period_times: string[] | null; gap_count: number | null; last: string | null }[] | null;
    balances: BalanceRow[] | null;
    counters: Record<string, number> | null;
    companion: unknown;
  }>`SELECT ${tags} AS tags, ${limits} AS limits, ${want.balances ? balancesJson(retailerId, memberId) : sql`NULL::json`} AS balances,
            ${want.counters.length ? countersJson(retailerId, memberId, want.counters) : sql`NULL::json`} AS counters,
            ${want.companion ?? sql`NULL::json`} AS companion`.execute(tx);
  const row = rows[0];
  state.companion = row.companion;
  if (want.tags) state.tags = row.tags ?? {};
  if (want.balances) state.balances = row.balances ?? [];
  if (want.counters.length) state.counters = row.counters ?? {};
  for (const l of row.limits ?? []) {
    state.limits.set(l.rule_id, {
      total: l.total,
      periodTimes: l.period_times === null ? null : l.period_times.map((d) => new Date(d).getTime()),
      gapCount: l.gap_count,
      last: l.last === null ? null : new Date(l.last),
    });
  }
  return state;
}

/** The rule's limits against the member's achievements (read by readRuleState), at the trigger's time. */
async function withinLimits(tx: Db, retailerId: string, memberId: string, rule: Rule, trigger: Trigger, state: LimitState | undefined): Promise<boolean> {
  const limits = rule.limits;
  if (!hasLimits(limits)) return true;
  if (!state) throw new Error(`rule ${rule.id}: limit state not read`);
  const t = trigger.occurredAt;
  if (limits.total && state.total! >= limits.total) return false;
  if (limits.per_period && !periodAllows(state.periodTimes!, t.getTime(), limits.per_period.seconds * 1000, limits.per_period.count)) return false;
  if (limits.min_seconds_between && state.gapCount! > 0) return false;
  if (limits.consecutive_days) {
    const n = limits.consecutive_days;
    const end = new Date(dayStart(t).getTime() + DAY_MS);
    const from = streakWindowStart(t, n, state.last);
    const name = trigger.type === 'event' ? trigger.name! : trigger.type;
    if (!streakComplete(await eventDays(tx, retailerId, memberId, name, from, end), t, n)) return false;
  }
  return true;
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
  balances?: BalanceRow[],
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
