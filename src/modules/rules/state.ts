/**
 * What the rules read of a member, under its lock: the state their limits
 * need and the facts their conditions need, in as few statements as they
 * allow (the owners' subqueries composed into one).
 */
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../db/index.js';
import { countEvents, eventDays } from '../events/service.js';
import { memberRow } from '../members/service.js';
import { balancesJson, type BalanceRow } from '../points/ledger.js';
import { countersJson, getTags, liveTagsJson } from '../tags/service.js';
import { listTierSystems, memberTiers } from '../tiers/service.js';
import { eventCountKey, type Facts, type Requirements } from './conditions.js';
import type { Rule } from './config.js';
import { hasLimits, streakWindow, type LimitState, type Trigger } from './evaluate.js';
import { DAY_MS, dayStart } from './limits.js';

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

export interface RuleState {
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
export async function readRuleState(
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

/** The event days each consecutive-days rule among `rules` needs (evaluate.streakWindow), by rule id. */
export async function streakDays(tx: Db, retailerId: string, memberId: string, rules: Rule[], trigger: Trigger, limits: Map<string, LimitState>): Promise<Map<string, string[]>> {
  const days = new Map<string, string[]>();
  for (const rule of rules) {
    const window = streakWindow(rule, trigger, limits.get(rule.id));
    if (window) days.set(rule.id, await eventDays(tx, retailerId, memberId, window.name, window.from, window.end));
  }
  return days;
}
