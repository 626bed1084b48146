// Simulations (flows/simulate.ts) rewind a member to an instant in a sandbox and replay what came after.
import type { Db } from '../../db/index.js';

/** Forgets the rules the member achieved from `from` on: their limits count as they stood then. */
export async function rewindAchievements(tx: Db, retailerId: string, memberId: string, from: Date): Promise<void> {
  await tx.deleteFrom('rule_achievements').where('retailer_id', '=', retailerId).where('member_id', '=', memberId).where('created_at', '>=', from).execute();
}
