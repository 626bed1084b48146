/**
 * What a trigger achieves, decided without the database: the rules whose
 * conditions the facts meet and whose limits the member's achievements
 * allow (rules/state.ts reads both; consecutive-day limits take the days the
 * member did the thing, read for the rules still in the running).
 */
import type { Facts } from './conditions.js';
import { evaluate } from './conditions.js';
import type { OutcomeConfig, Rule, RuleLimits, TriggerType } from './config.js';
import { DAY_MS, dayStart, periodAllows, streakComplete, streakWindowStart } from './limits.js';

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

/** What the member's achievements of one rule are, as its limits need them (readRuleState). */
export interface LimitState {
  /** limits.total: all its achievements. */
  total: number | null;
  /** limits.per_period: its achievement times (ms) within (t - period, t + period). */
  periodTimes: number[] | null;
  /** limits.min_seconds_between: its achievements within (t - gap, t + gap). */
  gapCount: number | null;
  /** limits.consecutive_days: its latest achievement before the end of the trigger's day. */
  last: Date | null;
}

export const hasLimits = (limits: RuleLimits) => !!(limits.total || limits.per_period || limits.min_seconds_between || limits.consecutive_days);


/** The rules whose conditions hold and whose count, period and gap limits allow another achievement now. */
export function candidates(rules: Rule[], facts: Facts, trigger: Trigger, limits: Map<string, LimitState>): Rule[] {
  return rules.filter((rule) => evaluate(rule.conditions, facts) && countLimitsAllow(rule, trigger, limits.get(rule.id)));
}

function countLimitsAllow(rule: Rule, trigger: Trigger, state: LimitState | undefined): boolean {
  const limits = rule.limits;
  if (!hasLimits(limits)) return true;
  if (!state) throw new Error(`rule ${rule.id}: limit state not read`);
  const t = trigger.occurredAt;
  if (limits.total && state.total! >= limits.total) return false;
  if (limits.per_period && !periodAllows(state.periodTimes!, t.getTime(), limits.per_period.seconds * 1000, limits.per_period.count)) return false;
  if (limits.min_seconds_between && state.gapCount! > 0) return false;
  return true;
}

/** The days a consecutive-days rule needs to see (the member's event days in [from, end)), or none. */
export function streakWindow(rule: Rule, trigger: Trigger, state: LimitState | undefined): { name: string; from: Date; end: Date } | undefined {
  const n = rule.limits.consecutive_days;
  if (!n) return undefined;
  const t = trigger.occurredAt;
  return { name: trigger.type === 'event' ? trigger.name! : trigger.type, from: streakWindowStart(t, n, state?.last ?? null), end: new Date(dayStart(t).getTime() + DAY_MS) };
}

/** The candidates achieved: those without a consecutive-days limit, and those whose days (by rule id) complete the series. */
export function achieved(rules: Rule[], trigger: Trigger, days: Map<string, string[]>): Rule[] {
  return rules.filter((rule) => !rule.limits.consecutive_days || streakComplete(days.get(rule.id) ?? [], trigger.occurredAt, rule.limits.consecutive_days));
}
