import { memberRows } from '../../db/rows.js';
import type { Db } from '../../db/index.js';

/** The member's progress in campaigns, behaviors and goals as JSON rows, by table, for its data export. */
export async function exportMemberCampaigns(db: Db, retailerId: string, memberId: string): Promise<{
  member_campaigns: Record<string, unknown>[];
  member_behaviors: Record<string, unknown>[];
  member_goals: Record<string, unknown>[];
}> {
  const memberCampaigns = await memberRows(db, 'member_campaigns', retailerId, memberId);
  const memberBehaviors = await memberRows(db, 'member_behaviors', retailerId, memberId);
  const memberGoals = await memberRows(db, 'member_goals', retailerId, memberId);
  return {
    member_campaigns: memberCampaigns,
    member_behaviors: memberBehaviors,
    member_goals: memberGoals,
  };
}
