import { sql, type OperationNodeSource, type RawBuilder } from 'kysely';
import { recordset } from '../../db/rows.js';
import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';
import { accountStatusQuery, subjectOf, type Actor, type MemberSummary } from '../members/service.js';
import { listPointAccounts } from '../points/accounts.js';
import { balancesJson, type BalanceRow, type DepositDetail } from '../points/ledger.js';
import { unitOf } from '../../db/unit-of-work.js';
import { recordDomainEvent } from '../outbox/service.js';
import { parseAmount } from '../points/amount.js';
import { planTimeline, type TimelineEntry } from '../timeline/service.js';
import { audienceFacts, inAudience, isEmptyAudience, type AudienceFacts } from './audience.js';
import { campaignCatalog, type BehaviorDef, type CampaignDef, type GoalDef, type GoalRef, type Limits } from './config.js';

/** Completion times kept per behaviour and goal with a per-period limit (it looks at the latest ones). */
const KEEP_TIMES = 100;
const DAY_MS = 86_400_000;

export type CampaignState = 'qualified' | 'opted_in' | 'in_progress' | 'completed' | 'ineligible';

interface BehaviorState {
  achieved: number;
  achieved_at: Date[];
  last_event_at: Date | null;
}

interface GoalState extends BehaviorState {
  current_count: number;
  completed: boolean;
  seen: string[];
}

/** A member's stored progress on some behaviours. */
export interface MemberProgress {
  optedIn: Map<number, Date>;
  /** The stored state of the campaigns asked for (loadProgress `states`) that the member has a row for. */
  states: Map<number, string>;
  /** Whether the member is restricted, when asked for (loadProgress `status`). */
  restricted?: boolean;
  behaviors: Map<number, BehaviorState>;
  /** Key: `${behavior_id}/${goal_name}`. */
  goals: Map<string, GoalState>;
}

export const goalKey = (behaviorId: number, goal: string) => `${behaviorId}/${goal}`;
const unlimited = (n: number | null) => n === null || n < 0;
const emptyBehavior = (): BehaviorState => ({ achieved: 0, achieved_at: [], last_event_at: null });
const emptyGoal = (): GoalState => ({ ...emptyBehavior(), current_count: 0, completed: false, seen: [] });

interface ProgressOptions {
  /** Read the campaigns the member opted into (default true). */
  optIns?: boolean;
  /** Read whether the member is restricted. */
  status?: boolean;
  /** Campaigns whose stored state to read. */
  states?: number[];
}

type Times = { achieved: number; achieved_at: string[]; last_event_at: string | null };

/** A member's progress as progressRead reads it. */
interface ProgressRow {
  account_status: string | null;
  campaigns: { campaign_id: number; opted_in_at: string | null; state: string }[];
  behaviors: (Times & { behavior_id: number })[];
  goals: (Times & { behavior_id: number; goal_name: string; current_count: number; completed: boolean; seen: string[] })[];
}

const emptyProgress = (): MemberProgress => ({ optedIn: new Map(), states: new Map(), behaviors: new Map(), goals: new Map() });

/**
 * A member's progress (all of it, or for some behaviours) as one json value,
 * for a statement of the caller's (progressOf reads it).
 */
export function progressRead(retailerId: string, memberId: string, behaviorIds: number[] | undefined, options: ProgressOptions = {}): RawBuilder<unknown> {
  const some = behaviorIds ? sql`AND behavior_id = ANY(${behaviorIds}::int[])` : sql``;
  // (two texts rather than a flag in one: a prepared plan keeps the index condition on campaign_id when opt-ins are not wanted)
  const states = sql`campaign_id = ANY(${options.states ?? []}::int[])`;
  const optIns = sql`(SELECT coalesce(json_agg(json_build_object('campaign_id', campaign_id, 'opted_in_at', opted_in_at, 'state', state)), '[]'::json) FROM member_campaigns
                      WHERE retailer_id = ${retailerId} AND member_id = ${memberId}
                        AND ${options.optIns === false ? states : sql`(opted_in_at IS NOT NULL OR ${states})`})`;
  const status = options.status ? accountStatusQuery(retailerId, memberId) : sql`NULL::text`;
  return sql`(SELECT row_to_json(p) FROM (
              SELECT ${status} AS account_status, ${optIns} AS campaigns,
                     (SELECT coalesce(json_agg(json_build_object('behavior_id', behavior_id, 'achieved', achieved, 'achieved_at', achieved_at, 'last_event_at', last_event_at)), '[]'::json)
                        FROM member_behaviors WHERE retailer_id = ${retailerId} AND member_id = ${memberId} ${some}) AS behaviors,
                     (SELECT coalesce(json_agg(json_build_object('behavior_id', behavior_id, 'goal_name', goal_name, 'current_count', current_count, 'completed', completed,
                                                                 'achieved', achieved, 'achieved_at', achieved_at, 'last_event_at', last_event_at, 'seen', seen)), '[]'::json)
                        FROM member_goals WHERE retailer_id = ${retailerId} AND member_id = ${memberId} ${some}) AS goals) p)`;
}

/** The progress progressRead read (`status` as it was asked for). */
export function progressOf(value: unknown, status = false): MemberProgress {
  const row = value as ProgressRow;
  const progress = emptyProgress();
  if (status) progress.restricted = row.account_status === 'restricted';
  const times = (r: Times): BehaviorState => ({ achieved: r.achieved, achieved_at: (r.achieved_at ?? []).map((t) => new Date(t)), last_event_at: r.last_event_at === null ? null : new Date(r.last_event_at) });
  for (const r of row.campaigns) {
    if (r.opted_in_at !== null) progress.optedIn.set(r.campaign_id, new Date(r.opted_in_at));
    progress.states.set(r.campaign_id, r.state);
  }
  for (const r of row.behaviors) progress.behaviors.set(r.behavior_id, times(r));
  for (const r of row.goals) progress.goals.set(goalKey(r.behavior_id, r.goal_name), { ...times(r), current_count: r.current_count, completed: r.completed, seen: r.seen ?? [] });
  return progress;
}

/** Loads a member's progress (all of it, or for some behaviours), in one statement. */
export async function loadProgress(db: Db, retailerId: string, memberId: string, behaviorIds?: number[], options: ProgressOptions = {}): Promise<MemberProgress> {
  if (behaviorIds && !behaviorIds.length) return emptyProgress();
  const { rows } = await sql<{ progress: unknown }>`SELECT ${progressRead(retailerId, memberId, behaviorIds, options)} AS progress`.execute(db);
  return progressOf(rows[0].progress, options.status);
}

// ---------------------------------------------------------------------------
// Views: what a member sees of a campaign (the routes render these)

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

export const isRunning = (c: CampaignDef, at: Date) => c.start_date <= at && (c.end_date === null || at < c.end_date);

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
  return { campaign, state, qualified, optedIn, behaviors };
}

/**
 * The running campaigns a member sees, in program order (or one campaign
 * by id or permalink, running or not). A restricted member sees none.
 */
export async function memberCampaignViews(db: Db, retailerId: string, memberId: string, now = new Date()): Promise<CampaignView[]> {
  const catalog = await campaignCatalog(db, retailerId);
  const running = catalog.campaigns.filter((c) => isRunning(c, now));
  const facts = await audienceFacts(db, retailerId, memberId, running.some((c) => !isEmptyAudience(c.audience)), now);
  if (facts.restricted || !running.length) return [];
  const progress = await loadProgress(db, retailerId, memberId);
  return running.map((c) => campaignView(c, facts, progress, now)).filter((v) => v.qualified);
}

export async function memberCampaignView(db: Db, retailerId: string, memberId: string, campaign: CampaignDef, now = new Date()): Promise<CampaignView> {
  const facts = await audienceFacts(db, retailerId, memberId, !isEmptyAudience(campaign.audience), now);
  const progress = await loadProgress(db, retailerId, memberId, campaign.behaviors.map((b) => b.id));
  if (!facts.restricted) {
    const opt = await db.selectFrom('member_campaigns').select('opted_in_at').where('retailer_id', '=', retailerId).where('member_id', '=', memberId).where('campaign_id', '=', campaign.id).executeTakeFirst();
    if (opt?.opted_in_at) progress.optedIn.set(campaign.id, opt.opted_in_at);
  }
  return campaignView(campaign, facts, progress, now);
}

// ---------------------------------------------------------------------------
// Opt-in

/**
 * Opts a member into a campaign (idempotent: a second opt-in keeps the first
 * time). The caller holds the member's lock. `not_available` when the member
 * is restricted or outside the audience, the campaign is not running, or the
 * opt-in window is closed.
 */
export async function optIn(tx: Db, actor: Actor, member: MemberSummary, campaign: CampaignDef, now = new Date()): Promise<{ optedInAt: Date; already: boolean }> {
  if (!isRunning(campaign, now)) throw new DomainError('not_available', `campaign ${campaign.id} is not running`, 'campaign_id');
  if ((campaign.opt_in_start && now < campaign.opt_in_start) || (campaign.opt_in_end && now >= campaign.opt_in_end)) {
    throw new DomainError('not_available', `campaign ${campaign.id}: the opt-in window is closed`, 'campaign_id');
  }
  const facts = await audienceFacts(tx, actor.retailerId, member.id, !isEmptyAudience(campaign.audience), now);
  if (!inAudience(campaign.audience, facts)) throw new DomainError('not_available', `campaign ${campaign.id} is not available to user ${member.id}`, 'campaign_id');
  const existing = await tx
    .selectFrom('member_campaigns')
    .select(['opted_in_at', 'state'])
    .where('retailer_id', '=', actor.retailerId)
    .where('member_id', '=', member.id)
    .where('campaign_id', '=', campaign.id)
    .executeTakeFirst();
  if (existing?.opted_in_at) return { optedInAt: existing.opted_in_at, already: true };
  await tx
    .insertInto('member_campaigns')
    .values({ retailer_id: actor.retailerId, member_id: member.id, campaign_id: campaign.id, opted_in_at: now, state: 'opted_in', updated_at: now })
    .onConflict((oc) => oc.columns(['retailer_id', 'member_id', 'campaign_id']).doUpdateSet({ opted_in_at: now, updated_at: now }))
    .execute();
  return { optedInAt: now, already: false };
}

// ---------------------------------------------------------------------------
// Events

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

/**
 * The campaign progress one event makes for a member, in steps the rules
 * can run within their own statements (flows/apply-rule-outcomes.ts):
 * `read` (the member's progress on the behaviours the event counts for) comes
 * with the rules' read under the member's lock, then `plan` (given what was
 * read, advances it: plans the writes in the unit of work and answers the
 * awards to deposit, all or nothing, after the rules'), then `result`.
 * The campaign-award flow runs them in statements of their own.
 */
export interface CampaignStep {
  /** A json value to read with the rules' state. */
  read: RawBuilder<unknown>;
  /** Whether plan may answer deposits (the member's point accounts are then read too). */
  mayDeposit: boolean;
  /** Given the value read (before any rule's outcome), plans its writes in the unit of work and answers its deposits. */
  plan(read: unknown): Promise<DepositDetail[]>;
  /** Whether plan ran. */
  planned: boolean;
  /** What the event did, once planned. */
  result: CampaignEventResult;
}

/**
 * The step of an event's occurrences (see recordCampaignEvent), or nothing
 * when no goal the member may work on counts them. Campaigns with an
 * audience read the member's facts here, first; `openOnly` answers nothing
 * for those instead (a caller whose own writes may change the facts runs
 * recordCampaignEvent after them).
 */
export async function campaignStep(
  tx: Db,
  actor: Actor,
  member: MemberSummary,
  eventName: string,
  occurrences: CampaignOccurrence[],
  options: { campaignId?: number; openOnly?: boolean } = {},
): Promise<CampaignStep | undefined> {
  const catalog = await campaignCatalog(tx, actor.retailerId);
  let refs: GoalRef[] = catalog.byEvent.get(eventName.trim().toLowerCase()) ?? [];
  if (options.campaignId !== undefined) refs = refs.filter((r) => r.campaign.id === options.campaignId);
  const ordered = occurrences.filter((o) => o.qty > 0).sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime());
  if (!refs.length || !ordered.length) return undefined;

  const campaigns = [...new Map(refs.map((r) => [r.campaign.id, r.campaign])).values()];
  // every campaign open to all but restricted members: the member's status comes with its progress
  const open = campaigns.every((c) => isEmptyAudience(c.audience));
  let facts: AudienceFacts | undefined;
  if (!open) {
    if (options.openOnly) return undefined;
    facts = await audienceFacts(tx, actor.retailerId, member.id, true);
    if (facts.restricted) return undefined;
    const eligible = new Set(campaigns.filter((c) => inAudience(c.audience, facts!)).map((c) => c.id));
    refs = refs.filter((r) => eligible.has(r.campaign.id));
    if (!refs.length) return undefined;
  }
  const behaviors = [...new Map(refs.map((r) => [r.behavior.id, r])).values()].map((r) => ({
    campaign: r.campaign,
    behavior: r.behavior,
    goals: refs.filter((x) => x.behavior.id === r.behavior.id).map((x) => x.goal),
  }));
  const step: CampaignStep = {
    // opt-ins are read only when a campaign counting this event needs one
    read: progressRead(actor.retailerId, member.id, behaviors.map((b) => b.behavior.id), {
      optIns: behaviors.some((b) => b.campaign.opt_in_required),
      status: open,
      states: [...new Set(behaviors.map((b) => b.campaign.id))],
    }),
    mayDeposit: behaviors.some((b) => b.behavior.points > 0 || b.behavior.goals.some((g) => g.points > 0)),
    planned: false,
    result: noProgress(),
    async plan(read) {
      step.planned = true;
      const progress = progressOf(read, open);
      if (progress.restricted) return [];
      return advance(tx, actor, member, catalog, behaviors, progress, facts ?? { restricted: false, tags: new Set(), tierLevelIds: new Set(), profile: {} }, ordered, step.result);
    },
  };
  return step;
}

/** What a step reads, in one statement of its own (with the member's point accounts when it may deposit). */
export async function readStep(tx: Db, actor: Actor, member: MemberSummary, step: CampaignStep): Promise<{ progress: unknown; balances?: BalanceRow[] }> {
  const { rows } = await sql<{ progress: unknown; balances: BalanceRow[] | null }>`
    SELECT ${step.read} AS progress, ${step.mayDeposit ? balancesJson(actor.retailerId, member.id) : sql`NULL::json`} AS balances`.execute(tx);
  return { progress: rows[0].progress, balances: rows[0].balances ?? undefined };
}

/** Advances the progress by the occurrences (into `result`), planning its writes in the unit of work; answers the awards to deposit. */
async function advance(
  tx: Db,
  actor: Actor,
  member: MemberSummary,
  catalog: Awaited<ReturnType<typeof campaignCatalog>>,
  behaviors: { campaign: CampaignDef; behavior: BehaviorDef; goals: GoalDef[] }[],
  progress: MemberProgress,
  facts: AudienceFacts,
  ordered: CampaignOccurrence[],
  result: CampaignEventResult,
): Promise<DepositDetail[]> {
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
              requestId: actor.requestId,
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
          requestId: actor.requestId,
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

  // the writes: the progress and the campaigns' states, with the timeline entries (the awards go with them)
  const writes = progressWrites(actor.retailerId, member.id, progress, behaviors.map((b) => b.behavior), dirtyBehaviors, dirtyGoals);
  // the campaigns whose state this event changed
  const now = new Date();
  const rows = [...touchedCampaigns]
    .map((id) => ({ campaign_id: id, state: campaignView(catalog.byId.get(id)!, facts, progress).state }))
    .filter((r) => progress.states.get(r.campaign_id) !== r.state);
  if (rows.length) {
    writes.push(sql`
      INSERT INTO member_campaigns (retailer_id, member_id, campaign_id, opted_in_at, state, updated_at)
      SELECT ${actor.retailerId}::uuid, ${member.id}::uuid, campaign_id, NULL, state, ${now}::timestamptz FROM ${recordset(rows, CAMPAIGN_COLUMNS)} ORDER BY n
      ON CONFLICT (retailer_id, member_id, campaign_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`);
  }
  for (const write of writes) unitOf(tx).plan(write);
  planTimeline(tx, subjectOf(actor, member), timeline);
  for (const r of rows.filter((r) => r.state === 'completed')) {
    const campaign = catalog.byId.get(r.campaign_id)!;
    recordDomainEvent(tx, { type: 'campaign.completed', retailerId: actor.retailerId, memberId: member.id, occurredAt: now, payload: { campaign_id: String(campaign.id), campaign_name: campaign.name } });
  }
  if (!awards.length) return [];
  const accounts = await listPointAccounts(tx, actor.retailerId);
  const fallback = accounts.find((a) => a.is_default && a.active)?.id;
  const deposits: DepositDetail[] = awards.map((a) => {
    const account = a.campaign.point_account_id ?? fallback;
    if (!account) throw new DomainError('point_account_not_found', `campaign ${a.campaign.id} awards points but names no point account and the retailer has no default one`);
    return { kind: 'deposit', point_account_id: account, amount: parseAmount(a.points), reference_id: a.reference, reference_type: 'campaign' };
  });
  result.points = awards.reduce((n, a) => n + a.points, 0);
  return deposits;
}

// (the member's ids and the time are the same for every row: parameters of the statement, not columns of the rows)
const CAMPAIGN_COLUMNS = { campaign_id: 'int', state: 'text' };
const BEHAVIOR_COLUMNS = { behavior_id: 'int', campaign_id: 'int', achieved: 'int', achieved_at: 'timestamptz[]', last_event_at: 'timestamptz' };
const GOAL_COLUMNS = { behavior_id: 'int', goal_name: 'text', current_count: 'int', completed: 'boolean', achieved: 'int', achieved_at: 'timestamptz[]', last_event_at: 'timestamptz', seen: 'text[]' };

/** The upserts of the behaviours and goals an event moved (not yet run). */
function progressWrites(retailerId: string, memberId: string, progress: MemberProgress, behaviors: BehaviorDef[], dirtyBehaviors: Set<number>, dirtyGoals: Set<string>): OperationNodeSource[] {
  const writes: OperationNodeSource[] = [];
  const now = new Date();
  const byId = new Map(behaviors.map((b) => [b.id, b]));
  const behaviorRows = [...dirtyBehaviors].map((id) => {
    const s = progress.behaviors.get(id)!;
    return { behavior_id: id, campaign_id: byId.get(id)!.campaign_id, achieved: s.achieved, achieved_at: s.achieved_at, last_event_at: s.last_event_at };
  });
  if (behaviorRows.length) {
    writes.push(sql`
      INSERT INTO member_behaviors (retailer_id, member_id, behavior_id, campaign_id, achieved, achieved_at, last_event_at, updated_at)
      SELECT ${retailerId}::uuid, ${memberId}::uuid, behavior_id, campaign_id, achieved, achieved_at, last_event_at, ${now}::timestamptz FROM ${recordset(behaviorRows, BEHAVIOR_COLUMNS)} ORDER BY n
      ON CONFLICT (retailer_id, member_id, behavior_id) DO UPDATE
         SET achieved = excluded.achieved, achieved_at = excluded.achieved_at, last_event_at = excluded.last_event_at, updated_at = excluded.updated_at`);
  }
  const goalRows = [...dirtyGoals].map((key) => {
    const slash = key.indexOf('/');
    const s = progress.goals.get(key)!;
    return {
      behavior_id: Number(key.slice(0, slash)),
      goal_name: key.slice(slash + 1),
      current_count: s.current_count,
      completed: s.completed,
      achieved: s.achieved,
      achieved_at: s.achieved_at,
      last_event_at: s.last_event_at,
      seen: s.seen,
    };
  });
  if (goalRows.length) {
    writes.push(sql`
      INSERT INTO member_goals (retailer_id, member_id, behavior_id, goal_name, current_count, completed, achieved, achieved_at, last_event_at, seen, updated_at)
      SELECT ${retailerId}::uuid, ${memberId}::uuid, behavior_id, goal_name, current_count, completed, achieved, achieved_at, last_event_at, seen, ${now}::timestamptz
        FROM ${recordset(goalRows, GOAL_COLUMNS)} ORDER BY n
      ON CONFLICT (retailer_id, member_id, behavior_id, goal_name) DO UPDATE
         SET current_count = excluded.current_count, completed = excluded.completed, achieved = excluded.achieved, achieved_at = excluded.achieved_at,
             last_event_at = excluded.last_event_at, seen = excluded.seen, updated_at = excluded.updated_at`);
  }
  return writes;
}
