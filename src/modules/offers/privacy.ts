import { memberRows } from '../../db/rows.js';
import type { Db } from '../../db/index.js';

/** The member's offers and their redemptions as JSON rows, by table, for its data export. */
export async function exportMemberOffers(db: Db, retailerId: string, memberId: string): Promise<{
  user_offers: Record<string, unknown>[];
  offer_redemptions: Record<string, unknown>[];
}> {
  const userOffers = await memberRows(db, 'user_offers', retailerId, memberId);
  const offerRedemptions = await memberRows(db, 'offer_redemptions', retailerId, memberId);
  return {
    user_offers: userOffers,
    offer_redemptions: offerRedemptions,
  };
}
