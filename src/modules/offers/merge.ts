import type { Db } from '../../db/index.js';

/** Moves a member's user offers and their redemptions into another member; answers the user offers' ids. */
export async function moveMemberOffers(tx: Db, retailerId: string, fromId: string, intoId: string, now: Date): Promise<string[]> {
  const offers = await tx.updateTable('user_offers').set({ member_id: intoId, updated_at: now }).where('retailer_id', '=', retailerId).where('member_id', '=', fromId).returning('id').execute();
  await tx.updateTable('offer_redemptions').set({ member_id: intoId }).where('retailer_id', '=', retailerId).where('member_id', '=', fromId).execute();
  return offers.map((o) => o.id);
}
