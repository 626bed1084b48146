import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** The member's progress in campaigns, behaviors and goals as JSON rows, by table, for its data export. */
export async function exportMemberCampaigns(db: Db, retailerId: string, memberId: string): Promise<{
  member_campaigns: Record<string, unknown>[];
  member_behaviors: Record<string, unknown>[];
  member_goals: Record<string, unknown>[];
}> {
  const memberCampaigns = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM member_campaigns x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  const memberBehaviors = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM member_behaviors x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  const memberGoals = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM member_goals x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  return {
    member_campaigns: memberCampaigns.rows.map((r) => r.row),
    member_behaviors: memberBehaviors.rows.map((r) => r.row),
    member_goals: memberGoals.rows.map((r) => r.row),
  };
}
