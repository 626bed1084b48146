import { memberRows } from '../../db/rows.js';
import type { Db } from '../../db/index.js';

/** The member's rule achievements as JSON rows, by table, for its data export. */
export async function exportMemberAchievements(db: Db, retailerId: string, memberId: string): Promise<{ rule_achievements: Record<string, unknown>[] }> {
  const ruleAchievements = await memberRows(db, 'rule_achievements', retailerId, memberId);
  return { rule_achievements: ruleAchievements };
}
