import type { Db } from '../../db/index.js';

/** Moves a member's events into another member; answers how many moved. */
export async function moveMemberEvents(tx: Db, retailerId: string, fromId: string, intoId: string): Promise<number> {
  const moved = await tx.updateTable('member_events').set({ member_id: intoId }).where('retailer_id', '=', retailerId).where('member_id', '=', fromId).executeTakeFirst();
  return Number(moved.numUpdatedRows ?? 0);
}
