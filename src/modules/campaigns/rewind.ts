// Simulations (flows/simulate.ts) rewind a member to an instant in a sandbox and replay what came after.
import type { Db } from '../../db/index.js';

/**
 * Campaign progress as it stood at `from`, as near as it is kept: progress
 * rows touched since then start again from nothing (their counts then are not
 * kept), those left alone since stay.
 */
export async function rewindCampaignProgress(tx: Db, retailerId: string, memberId: string, from: Date): Promise<void> {
  await tx.deleteFrom('member_goals').where('retailer_id', '=', retailerId).where('member_id', '=', memberId).where('updated_at', '>=', from).execute();
  await tx.deleteFrom('member_behaviors').where('retailer_id', '=', retailerId).where('member_id', '=', memberId).where('updated_at', '>=', from).execute();
}
