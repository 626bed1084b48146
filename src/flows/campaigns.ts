/** A member's part in campaigns, each one transaction under the member's lock. */
import { transact } from '../db/unit-of-work.js';
import type { Db } from '../db/index.js';
import { optIn, type CampaignOccurrence } from '../modules/campaigns/index.js';
import { recordCampaignEvent } from './campaign-award.js';
import type { CampaignDef } from '../modules/campaigns/config.js';
import { lockMemberRef, type Actor } from '../modules/members/service.js';

export const optInToCampaign = (db: Db, actor: Actor, memberId: string, campaign: CampaignDef) =>
  transact(db, async (tx) => optIn(tx, actor, await lockMemberRef(tx, actor.retailerId, memberId), campaign));

/** Occurrences of events counted toward one campaign's goals (its awards deposited in the same transaction). */
export const recordCampaignEvents = (db: Db, actor: Actor, memberId: string, campaignId: number, events: { event: string; occurrences: CampaignOccurrence[] }[]) =>
  transact(db, async (tx) => {
    const member = await lockMemberRef(tx, actor.retailerId, memberId);
    for (const { event, occurrences } of events) await recordCampaignEvent(tx, actor, member, event, occurrences, { campaignId });
  });
