// Simulations (flows/simulate.ts) rewind a member to an instant in a sandbox and replay what came after.
import type { Db } from '../../db/index.js';

/** Sets how many times the member held a tag (0: not at all). */
export async function rewindTag(tx: Db, retailerId: string, memberId: string, tag: string, count: number): Promise<void> {
  if (count <= 0) await tx.deleteFrom('member_tags').where('retailer_id', '=', retailerId).where('member_id', '=', memberId).where('tag', '=', tag).execute();
  else await tx.updateTable('member_tags').set({ count }).where('retailer_id', '=', retailerId).where('member_id', '=', memberId).where('tag', '=', tag).execute();
}
