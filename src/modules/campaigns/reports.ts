// What the admin dashboard reads of campaigns: the most completed ones.
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/**
 * The `limit` campaigns most members completed in [from, to) (a member's
 * campaign state became completed then), most first (then by id).
 */
export async function topCampaigns(db: Db, retailerId: string, from: Date, to: Date, limit: number): Promise<{ campaign_id: number; name: string; completions: number }[]> {
  const { rows } = await sql<{ campaign_id: number; name: string; completions: number }>`
    SELECT c.id AS campaign_id, c.name, count(*)::int AS completions
      FROM member_campaigns mc
      JOIN campaigns c ON c.retailer_id = mc.retailer_id AND c.id = mc.campaign_id
     WHERE mc.retailer_id = ${retailerId} AND mc.state = 'completed' AND mc.updated_at >= ${from} AND mc.updated_at < ${to}
     GROUP BY c.id, c.name
     ORDER BY completions DESC, c.id
     LIMIT ${limit}`.execute(db);
  return rows.map((r) => ({ campaign_id: Number(r.campaign_id), name: r.name, completions: Number(r.completions) }));
}
