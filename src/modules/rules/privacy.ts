import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** The member's rule achievements as JSON rows, by table, for its data export. */
export async function exportMemberAchievements(db: Db, retailerId: string, memberId: string): Promise<{ rule_achievements: Record<string, unknown>[] }> {
  const ruleAchievements = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM rule_achievements x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  return { rule_achievements: ruleAchievements.rows.map((r) => r.row) };
}
