import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/**
 * Moves a member's campaign progress into another member: what that member
 * has not started moves, the rest stays. Answers how many campaigns moved.
 */
export async function moveMemberProgress(tx: Db, retailerId: string, fromId: string, intoId: string): Promise<number> {
  let campaigns = 0;
  for (const table of ['member_campaigns', 'member_behaviors', 'member_goals'] as const) {
    const key = table === 'member_campaigns' ? sql`campaign_id` : table === 'member_behaviors' ? sql`behavior_id` : sql`behavior_id, goal_name`;
    const moved = await sql`
      UPDATE ${sql.table(table)} SET member_id = ${intoId}
       WHERE ${sql.table(table)}.retailer_id = ${retailerId} AND ${sql.table(table)}.member_id = ${fromId}
         AND (${key}) NOT IN (SELECT ${key} FROM ${sql.table(table)} s WHERE s.retailer_id = ${retailerId} AND s.member_id = ${intoId})`.execute(tx);
    if (table === 'member_campaigns') campaigns = Number(moved.numAffectedRows ?? 0);
  }
  return campaigns;
}
