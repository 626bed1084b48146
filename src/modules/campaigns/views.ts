/** What a member sees of a campaign: its state, behaviours, goals and groups (the routes render these). */
import type { Db } from '../../db/index.js';
import { audienceFacts, inAudience, isEmptyAudience, type AudienceFacts, type AudienceRow } from './audience.js';
import { campaignCatalog, isRunning, type BehaviorDef, type CampaignDef, type GoalDef } from './config.js';
import { emptyBehavior, emptyGoal, goalKey, loadProgress, optedInAt, unlimited, type GoalState, type MemberProgress } from './progress-store.js';

/** `ended`: past its end date and not completed (its events no longer count). */
export type CampaignState = 'qualified' | 'opted_in' | 'in_progress' | 'completed' | 'ineligible' | 'ended';

export interface GoalView {
  def: GoalDef;
  state: GoalState;
}

export interface GroupView {
  id: string;
  current_count: number;
  total_count: number;
  num_goals: number;
  completed: boolean;
}

export interface BehaviorView {
  def: BehaviorDef;
  achieved: number;
  goals: GoalView[];
  groups: GroupView[];
  /** Goals (or occurrences, for count / unique) done in the current cycle, and needed. */
  progress: number;
  goal: number;
  /** Can still be achieved. */
  active: boolean;
}

export interface CampaignView {
  campaign: CampaignDef;
  state: CampaignState;
  qualified: boolean;
  optedIn: boolean;
  behaviors: BehaviorView[];
}

function groupsOf(def: BehaviorDef, goals: GoalView[]): GroupView[] {
  const ids = [...new Set(def.goals.map((g) => g.group_id))];
  return ids.map((id) => {
    const inGroup = goals.filter((g) => g.def.group_id === id);
    const required = inGroup.filter((g) => g.def.required).length;
    // a group of optional goals needs one of them
    const total = Math.max(1, required);
    const done = inGroup.filter((g) => g.state.completed).length;
    const completed = inGroup.every((g) => !g.def.required || g.state.completed) && done >= total;
    return { id, current_count: Math.min(done, total), total_count: total, num_goals: inGroup.length, completed };
  });
}

export function behaviorView(def: BehaviorDef, progress: MemberProgress, running: boolean): BehaviorView {
  const state = progress.behaviors.get(def.id) ?? emptyBehavior();
  const goals = def.goals.map((g) => ({ def: g, state: progress.goals.get(goalKey(def.id, g.name)) ?? emptyGoal() }));
  const groups = groupsOf(def, goals);
  const exhausted = !unlimited(def.max_times_repeatable) && state.achieved >= def.max_times_repeatable!;
  const composite = def.type === 'composite';
  return {
    def,
    achieved: state.achieved,
    goals,
    groups,
    progress: composite ? groups.reduce((n, g) => n + g.current_count, 0) : (goals[0]?.state.current_count ?? 0),
    goal: composite ? groups.reduce((n, g) => n + g.total_count, 0) : (goals[0]?.def.earn_count ?? 1),
    active: running && !exhausted,
  };
}

/** A campaign as a member sees it now; `qualified: false` when outside the audience (or restricted). */
export function campaignView(campaign: CampaignDef, facts: AudienceFacts, progress: MemberProgress, now = new Date()): CampaignView {
  const qualified = inAudience(campaign.audience, facts);
  const optedIn = progress.optedIn.has(campaign.id);
  const behaviors = campaign.behaviors.map((b) => behaviorView(b, progress, isRunning(campaign, now)));
  let state: CampaignState = 'qualified';
  if (!qualified) state = 'ineligible';
  else if (behaviors.length && behaviors.every((b) => b.achieved > 0 && !unlimited(b.def.max_times_repeatable) && b.achieved >= b.def.max_times_repeatable!)) state = 'completed';
  else if (behaviors.some((b) => b.achieved > 0 || b.goals.some((g) => g.state.current_count > 0))) state = 'in_progress';
  else if (optedIn) state = 'opted_in';
  if (state !== 'completed' && state !== 'ineligible' && campaign.end_date && now >= campaign.end_date) state = 'ended';
  return { campaign, state, qualified, optedIn, behaviors };
}

/**
 * The running campaigns a member sees, in program order (or one campaign
 * by id or permalink, running or not). A restricted member sees none. `row`:
 * the member's own row, when the caller has read it.
 */
export async function memberCampaignViews(db: Db, retailerId: string, memberId: string, now = new Date(), row?: AudienceRow): Promise<CampaignView[]> {
  const catalog = await campaignCatalog(db, retailerId);
  const running = catalog.campaigns.filter((c) => isRunning(c, now));
  const facts = await audienceFacts(db, retailerId, memberId, running.some((c) => !isEmptyAudience(c.audience)), now, row);
  if (facts.restricted || !running.length) return [];
  const progress = await loadProgress(db, retailerId, memberId);
  return running.map((c) => campaignView(c, facts, progress, now)).filter((v) => v.qualified);
}

export async function memberCampaignView(db: Db, retailerId: string, memberId: string, campaign: CampaignDef, now = new Date()): Promise<CampaignView> {
  const facts = await audienceFacts(db, retailerId, memberId, !isEmptyAudience(campaign.audience), now);
  const progress = await loadProgress(db, retailerId, memberId, campaign.behaviors.map((b) => b.id));
  if (!facts.restricted) {
    const at = await optedInAt(db, retailerId, memberId, campaign.id);
    if (at) progress.optedIn.set(campaign.id, at);
  }
  return campaignView(campaign, facts, progress, now);
}

