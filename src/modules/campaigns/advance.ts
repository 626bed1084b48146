/**
 * How an event's occurrences advance a member's campaign progress, without
 * the database: the goals' and behaviours' limits, completions, the next
 * cycle, and the points they award.
 */
import type { TimelineEntry } from '../timeline/service.js';
import type { AudienceFacts } from './audience.js';
import { isRunning, type BehaviorDef, type CampaignCatalog, type CampaignDef, type GoalDef, type Limits } from './config.js';
import { emptyBehavior, emptyGoal, goalKey, unlimited, type BehaviorState, type MemberProgress } from './progress-store.js';
import { behaviorView, campaignView, type CampaignState } from './views.js';

/** Completion times kept per behaviour and goal with a per-period limit (it looks at the latest ones). */
const KEEP_TIMES = 100;
const DAY_MS = 86_400_000;

export interface CampaignOccurrence {
  qty: number;
  store?: string;
  occurredAt: Date;
}

export interface GoalAdvance {
  campaign_id: number;
  behavior_id: number;
  goal: string;
  current_count: number;
  earn_count: number;
  completed: boolean;
}

export interface BehaviorAchievement {
  campaign_id: number;
  behavior_id: number;
  behavior_name: string;
  points: number;
  achieved: number;
  at: Date;
}

export interface CampaignEventResult {
  /** Goals the event moved (latest counts). */
  goals: GoalAdvance[];
  goalsAchieved: { campaign_id: number; behavior_id: number; goal: string; points: number; at: Date }[];
  behaviorsAchieved: BehaviorAchievement[];
  /** Points deposited in all. */
  points: number;
}

const dayOf = (d: Date) => Math.floor(d.getTime() / DAY_MS);

/** Whether these limits look at the holder's last counted occurrence (limitsAllow). */
const readsLastEvent = (limits: Limits) => (!unlimited(limits.min_time_between_events) && limits.min_time_between_events! > 0) || limits.consecutive;

/**
 * Whether one more occurrence at `at` may count under these limits, given the
 * holder's completions and last counted occurrence; `reset` when a
 * consecutive-days series was broken (the count starts over).
 */
export function limitsAllow(limits: Limits, state: BehaviorState, at: Date): { ok: boolean; reset: boolean } {
  if (!unlimited(limits.max_times_repeatable) && state.achieved >= limits.max_times_repeatable!) return { ok: false, reset: false };
  if (!unlimited(limits.max_times_repeatable_per_period)) {
    const period = unlimited(limits.period) ? DAY_MS / 1000 : limits.period!;
    const since = at.getTime() - period * 1000;
    const inPeriod = state.achieved_at.filter((t) => t.getTime() > since && t.getTime() <= at.getTime()).length;
    if (inPeriod >= limits.max_times_repeatable_per_period!) return { ok: false, reset: false };
  }
  const last = state.last_event_at;
  if (last && !unlimited(limits.min_time_between_events) && limits.min_time_between_events! > 0 && Math.abs(at.getTime() - last.getTime()) < limits.min_time_between_events! * 1000) {
    return { ok: false, reset: false };
  }
  if (last && limits.consecutive) {
    const gap = dayOf(at) - dayOf(last);
    if (gap === 0) return { ok: false, reset: false };
    if (gap > 1 || gap < 0) return { ok: true, reset: true };
  }
  return { ok: true, reset: false };
}

/** A holder's completion times after one more at `at`: only a per-period limit reads them, so without one none are kept. */
const pushTime = (limits: Limits, times: Date[], at: Date) =>
  unlimited(limits.max_times_repeatable_per_period) ? [] : [...times, at].sort((a, b) => a.getTime() - b.getTime()).slice(-KEEP_TIMES);

/** What an event did to a member's campaign progress when it counts for nothing. */
export const noProgress = (): CampaignEventResult => ({ goals: [], goalsAchieved: [], behaviorsAchieved: [], points: 0 });

/** What one event's occurrences changed: the rows to write, the timeline entries, and the points to award. */
export interface Advance {
  dirtyBehaviors: Set<number>;
  dirtyGoals: Set<string>;
  /** The campaigns whose state changed, with their new state. */
  states: { campaign_id: number; state: CampaignState }[];
  timeline: TimelineEntry[];
  awards: { campaign: CampaignDef; points: number; reference: string }[];
}

/**
 * Advances the member's progress by the occurrences, in order (into
 * `progress` and `result`), under the goals' and behaviours' repetition
 * limits: completes goals, groups and behaviours, and answers what changed.
 */
export function advance(
  catalog: CampaignCatalog,
  behaviors: { campaign: CampaignDef; behavior: BehaviorDef; goals: GoalDef[] }[],
  progress: MemberProgress,
  facts: AudienceFacts,
  ordered: CampaignOccurrence[],
  result: CampaignEventResult,
  requestId?: string,
): Advance {
  const dirtyBehaviors = new Set<number>();
  const dirtyGoals = new Set<string>();
  const touchedCampaigns = new Set<number>();
  const timeline: TimelineEntry[] = [];
  const awards: { campaign: CampaignDef; points: number; reference: string }[] = [];

  for (const occurrence of ordered) {
    const at = occurrence.occurredAt;
    for (const { campaign, behavior, goals } of behaviors) {
      if (!isRunning(campaign, at)) continue;
      if (campaign.opt_in_required) {
        const opted = progress.optedIn.get(campaign.id);
        if (!opted || opted > at) continue;
      }
      const bState = progress.behaviors.get(behavior.id) ?? emptyBehavior();
      const bGate = limitsAllow(behavior, bState, at);
      if (!bGate.ok) continue;
      const goalStates = new Map(behavior.goals.map((g) => [g.name, progress.goals.get(goalKey(behavior.id, g.name)) ?? emptyGoal()]));
      if (bGate.reset) {
        // a consecutive-days series broke: the behaviour's cycle starts over
        for (const [name, s] of goalStates) {
          const reset = { ...s, current_count: 0, completed: false, seen: [] };
          goalStates.set(name, reset);
          progress.goals.set(goalKey(behavior.id, name), reset);
          dirtyGoals.add(goalKey(behavior.id, name));
        }
      }
      let counted = false;
      for (const goal of goals) {
        let g = goalStates.get(goal.name)!;
        if (g.completed) continue;
        const gate = limitsAllow(goal, g, at);
        if (!gate.ok) continue;
        if (gate.reset) g = { ...g, current_count: 0, seen: [] };
        let add = occurrence.qty;
        let seen = g.seen;
        if (behavior.type === 'unique') {
          const value = (occurrence.store ?? '').trim().toLowerCase();
          if (seen.includes(value)) continue;
          seen = [...seen, value];
          add = 1;
        }
        const current = Math.min(goal.earn_count, g.current_count + add);
        const completed = current >= goal.earn_count;
        g = { ...g, current_count: current, completed, seen, last_event_at: at };
        if (completed) {
          g = { ...g, achieved: g.achieved + 1, achieved_at: pushTime(goal, g.achieved_at, at) };
          result.goalsAchieved.push({ campaign_id: campaign.id, behavior_id: behavior.id, goal: goal.name, points: goal.points, at });
          if (goal.points > 0) awards.push({ campaign, points: goal.points, reference: `${campaign.id}:${behavior.id}:${goal.name}` });
          if (behavior.type === 'composite') {
            timeline.push({
              type: 'LOYALTY_GOAL_ACHIEVED',
              requestId,
              occurredAt: at,
              payload: { campaign_id: campaign.id, campaign_name: campaign.name, behavior_id: behavior.id, behavior_name: behavior.name, goal_name: goal.name, event_name: goal.event_name, points: goal.points, achieved: g.achieved },
            });
          }
        }
        goalStates.set(goal.name, g);
        dirtyGoals.add(goalKey(behavior.id, goal.name));
        counted = true;
        result.goals = result.goals.filter((x) => !(x.behavior_id === behavior.id && x.goal === goal.name));
        result.goals.push({ campaign_id: campaign.id, behavior_id: behavior.id, goal: goal.name, current_count: current, earn_count: goal.earn_count, completed });
      }
      if (!counted) continue;
      touchedCampaigns.add(campaign.id);
      let b: BehaviorState = { ...bState, last_event_at: at };
      for (const [name, s] of goalStates) progress.goals.set(goalKey(behavior.id, name), s);
      const view = behaviorView(behavior, progress, true);
      if (view.groups.length && view.groups.every((grp) => grp.completed)) {
        b = { ...b, achieved: b.achieved + 1, achieved_at: pushTime(behavior, b.achieved_at, at) };
        result.behaviorsAchieved.push({ campaign_id: campaign.id, behavior_id: behavior.id, behavior_name: behavior.name, points: behavior.points, achieved: b.achieved, at });
        if (behavior.points > 0) awards.push({ campaign, points: behavior.points, reference: `${campaign.id}:${behavior.id}` });
        timeline.push({
          type: 'LOYALTY_RULE_ACHIEVED',
          requestId,
          occurredAt: at,
          payload: { campaign_id: campaign.id, campaign_name: campaign.name, behavior_id: behavior.id, behavior_name: behavior.name, external_behavior_id: behavior.external_behavior_id, points: behavior.points, achieved: b.achieved },
        });
        // the next cycle starts from zero
        for (const goal of behavior.goals) {
          const key = goalKey(behavior.id, goal.name);
          progress.goals.set(key, { ...(progress.goals.get(key) ?? emptyGoal()), current_count: 0, completed: false, seen: [] });
          dirtyGoals.add(key);
        }
        result.goals = result.goals.map((x) => (x.behavior_id === behavior.id ? { ...x, current_count: 0, completed: false } : x));
      }
      progress.behaviors.set(behavior.id, b);
      // a behaviour's row changes with its completions; its last counted event matters only to the limits that read it
      if (b.achieved !== bState.achieved || readsLastEvent(behavior)) dirtyBehaviors.add(behavior.id);
    }
  }

  // the campaigns whose state this event changed
  const states = [...touchedCampaigns]
    .map((id) => ({ campaign_id: id, state: campaignView(catalog.byId.get(id)!, facts, progress).state }))
    .filter((r) => progress.states.get(r.campaign_id) !== r.state);
  result.points = awards.reduce((n, a) => n + a.points, 0);
  return { dirtyBehaviors, dirtyGoals, states, timeline, awards };
}
