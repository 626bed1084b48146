import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** The member's offers and their redemptions as JSON rows, by table, for its data export. */
export async function exportMemberOffers(db: Db, retailerId: string, memberId: string): Promise<{
  user_offers: Record<string, unknown>[];
  offer_redemptions: Record<string, unknown>[];
}> {
  const userOffers = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM user_offers x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  const offerRedemptions = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM offer_redemptions x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  return {
    user_offers: userOffers.rows.map((r) => r.row),
    offer_redemptions: offerRedemptions.rows.map((r) => r.row),
  };
}
