/**
 * Campaign awards: an event's occurrences advance the member's goals (the
 * campaigns module decides, under the goals' and behaviours' limits), and the
 * points of the goals and behaviours completed are deposited through the
 * ledger, promoting the member when they are tier points.
 */
import type { Db } from '../db/index.js';
import { unitOf } from '../db/unit-of-work.js';
import { campaignStep, noProgress, readStep, type CampaignEventResult, type CampaignOccurrence } from '../modules/campaigns/index.js';
import type { Actor, MemberSummary } from '../modules/members/service.js';
import { applyPointChanges } from '../modules/points/ledger.js';
import { promoteAfter } from './apply-rule-outcomes.js';

/**
 * Records occurrences of an event for a member: advances every goal counting
 * it (in running campaigns the member may take part in; only `campaignId`'s
 * when given), under the goals' and behaviours' repetition limits; completes
 * goals, groups and behaviours; deposits goal and behaviour points into the
 * campaign's point account (else the retailer's first default account),
 * promoting the member when they are tier points; and writes
 * LOYALTY_GOAL_ACHIEVED / LOYALTY_RULE_ACHIEVED timeline entries — all in the
 * caller's transaction, in two statements (one read, one write) and those of
 * a promotion. The caller holds the member's lock. A restricted member takes
 * part in no campaign.
 */
export async function recordCampaignEvent(
  tx: Db,
  actor: Actor,
  member: MemberSummary,
  eventName: string,
  occurrences: CampaignOccurrence[],
  options: { campaignId?: number } = {},
): Promise<CampaignEventResult> {
  const step = await campaignStep(tx, actor, member, eventName, occurrences, options);
  if (!step) return noProgress();
  const read = await readStep(tx, actor, member, step);
  const deposits = await step.plan(read.progress);
  if (deposits.length) await promoteAfter(tx, actor, member, await applyPointChanges(tx, actor, member, deposits, { allowPartialSuccess: false, balances: read.balances }));
  else await unitOf(tx).flush(tx);
  return step.result;
}
