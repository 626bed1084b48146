/**
 * Campaign progress as stored: a member's opt-ins and campaign states, and
 * its behaviours' and goals' counts (member_campaigns, member_behaviors,
 * member_goals). Read under the member's lock, written by the plan of one
 * event's step in the unit of work.
 */
import { sql, type OperationNodeSource, type RawBuilder } from 'kysely';
import type { Db } from '../../db/index.js';
import { recordset } from '../../db/rows.js';
import { unitOf } from '../../db/unit-of-work.js';
import { DomainError } from '../../errors.js';
import { accountStatusQuery, type Actor, type MemberSummary } from '../members/service.js';
import { audienceFacts, inAudience, isEmptyAudience } from './audience.js';
import { isRunning, type BehaviorDef, type CampaignDef } from './config.js';


export interface BehaviorState {
  achieved: number;
  achieved_at: Date[];
  last_event_at: Date | null;
}

export interface GoalState extends BehaviorState {
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
export const unlimited = (n: number | null) => n === null || n < 0;
export const emptyBehavior = (): BehaviorState => ({ achieved: 0, achieved_at: [], last_event_at: null });
export const emptyGoal = (): GoalState => ({ ...emptyBehavior(), current_count: 0, completed: false, seen: [] });

export interface ProgressOptions {
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

/**
 * Plans, in the unit of work, what an event's advance changed: the
 * behaviours and goals it moved, and the campaigns whose state changed.
 */
export function planProgressWrites(
  tx: Db,
  retailerId: string,
  memberId: string,
  progress: MemberProgress,
  behaviors: BehaviorDef[],
  moved: { dirtyBehaviors: Set<number>; dirtyGoals: Set<string>; states: { campaign_id: number; state: string }[] },
): void {
  const unit = unitOf(tx);
  for (const write of progressWrites(retailerId, memberId, progress, behaviors, moved.dirtyBehaviors, moved.dirtyGoals)) unit.plan(write);
  if (moved.states.length) {
    unit.plan(sql`
      INSERT INTO member_campaigns (retailer_id, member_id, campaign_id, opted_in_at, state, updated_at)
      SELECT ${retailerId}::uuid, ${memberId}::uuid, campaign_id, NULL, state, ${new Date()}::timestamptz FROM ${recordset(moved.states, CAMPAIGN_COLUMNS)} ORDER BY n
      ON CONFLICT (retailer_id, member_id, campaign_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`);
  }
}

/** Whether the member opted into the campaign, and when. */
export async function optedInAt(db: Db, retailerId: string, memberId: string, campaignId: number): Promise<Date | null> {
  const opt = await db.selectFrom('member_campaigns').select('opted_in_at').where('retailer_id', '=', retailerId).where('member_id', '=', memberId).where('campaign_id', '=', campaignId).executeTakeFirst();
  return opt?.opted_in_at ?? null;
}

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
