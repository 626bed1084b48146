/**
 * Taking campaign progress back (a voided POS purchase). A purchase records
 * which goals it advanced, each with its goal's and behaviour's completion
 * counts right after (`advancedGoalsJson`, stored with the transaction). A
 * void takes one count back from each of those goals that is still in that
 * cycle (neither the goal nor its behaviour completed since) and not
 * completed; a completion stands (the points it awarded are part of what the
 * transaction earned, which the void spends back). The campaigns' stored
 * states follow. The caller holds the member's lock.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import type { Actor, MemberSummary } from '../members/service.js';
import { audienceFacts, isEmptyAudience } from './audience.js';
import { campaignCatalog, type BehaviorDef, type CampaignDef } from './config.js';
import { goalKey, loadProgress } from './progress-store.js';
import { campaignView } from './views.js';

/** A goal a purchase advanced, with the completion counts of the goal and its behaviour right after. */
export interface AdvancedGoal {
  behavior_id: number;
  goal: string;
  achieved: number;
  behavior_achieved: number;
}

/**
 * The goals a purchase just advanced as stored (jsonb), read from the
 * member's progress in the statement that records the transaction's effects.
 */
export const advancedGoalsJson = (retailerId: string, memberId: string, goals: { behavior_id: number; goal: string }[]) =>
  sql<AdvancedGoal[]>`(SELECT coalesce(jsonb_agg(jsonb_build_object('behavior_id', g.behavior_id, 'goal', g.goal_name, 'achieved', g.achieved, 'behavior_achieved', coalesce(b.achieved, 0))
                                               ORDER BY g.behavior_id, g.goal_name), '[]'::jsonb)
                        FROM member_goals g
                        LEFT JOIN member_behaviors b ON b.retailer_id = g.retailer_id AND b.member_id = g.member_id AND b.behavior_id = g.behavior_id
                       WHERE g.retailer_id = ${retailerId} AND g.member_id = ${memberId}
                         AND (g.behavior_id, g.goal_name) IN (SELECT * FROM unnest(${goals.map((g) => g.behavior_id)}::int[], ${goals.map((g) => g.goal)}::text[])))`;

/**
 * Takes back one count from each goal a purchase advanced (see above); for
 * unique behaviours the purchase's store leaves the goal's distinct values.
 * Answers how many goals were rolled back.
 */
export async function rollbackCampaignGoals(tx: Db, actor: Actor, member: MemberSummary, goals: AdvancedGoal[], store: string): Promise<number> {
  if (!goals.length) return 0;
  const catalog = await campaignCatalog(tx, actor.retailerId);
  const defs = new Map<number, { campaign: CampaignDef; behavior: BehaviorDef }>();
  for (const campaign of catalog.campaigns) for (const behavior of campaign.behaviors) defs.set(behavior.id, { campaign, behavior });
  // goals of retired campaigns keep their progress
  const wanted = goals.filter((g) => defs.get(g.behavior_id)?.behavior.goals.some((d) => d.name === g.goal));
  if (!wanted.length) return 0;
  const campaigns = [...new Map(wanted.map((g) => defs.get(g.behavior_id)!.campaign).map((c) => [c.id, c])).values()];
  // every behaviour of those campaigns: their states are computed from all of them
  const progress = await loadProgress(
    tx,
    actor.retailerId,
    member.id,
    campaigns.flatMap((c) => c.behaviors.map((b) => b.id)),
    { optIns: true, states: campaigns.map((c) => c.id) },
  );
  const value = store.trim().toLowerCase();
  const now = new Date();
  let rolledBack = 0;
  for (const g of wanted) {
    const key = goalKey(g.behavior_id, g.goal);
    const state = progress.goals.get(key);
    if (!state || state.completed || state.current_count <= 0) continue;
    // a completion since: the count belongs to a finished cycle
    if (state.achieved !== g.achieved || (progress.behaviors.get(g.behavior_id)?.achieved ?? 0) !== g.behavior_achieved) continue;
    let seen = state.seen;
    if (defs.get(g.behavior_id)!.behavior.type === 'unique') {
      const at = seen.indexOf(value);
      if (at < 0) continue;
      seen = seen.filter((_, i) => i !== at);
    }
    const next = { ...state, current_count: state.current_count - 1, seen };
    progress.goals.set(key, next);
    await tx
      .updateTable('member_goals')
      .set({ current_count: next.current_count, seen: sql<string[]>`${seen}::text[]`, updated_at: now })
      .where('retailer_id', '=', actor.retailerId)
      .where('member_id', '=', member.id)
      .where('behavior_id', '=', g.behavior_id)
      .where('goal_name', '=', g.goal)
      .execute();
    rolledBack++;
  }
  if (!rolledBack) return 0;
  // the campaigns' stored states, as recording an event writes them (a restricted member's are left as they are)
  const facts = await audienceFacts(tx, actor.retailerId, member.id, campaigns.some((c) => !isEmptyAudience(c.audience)), now);
  if (facts.restricted) return rolledBack;
  for (const campaign of campaigns) {
    const stored = progress.states.get(campaign.id);
    const state = campaignView(campaign, facts, progress, now).state;
    if (stored === undefined || stored === state) continue;
    await tx
      .updateTable('member_campaigns')
      .set({ state, updated_at: now })
      .where('retailer_id', '=', actor.retailerId)
      .where('member_id', '=', member.id)
      .where('campaign_id', '=', campaign.id)
      .execute();
  }
  return rolledBack;
}
