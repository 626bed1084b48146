import type { Db } from '../../db/index.js';

/** Moves a member's rule achievements into another member. */
export async function moveMemberAchievements(tx: Db, retailerId: string, fromId: string, intoId: string): Promise<void> {
  await tx.updateTable('rule_achievements').set({ member_id: intoId }).where('retailer_id', '=', retailerId).where('member_id', '=', fromId).execute();
}
