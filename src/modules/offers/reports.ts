// What the admin dashboard counts of offers in a window.
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/**
 * User offers acquired in [from, to) (issued, by any surface or a reward
 * store purchase), and redemptions made in it and not undone since (a
 * reinstated redemption counts none).
 */
export async function offerCounts(db: Db, retailerId: string, from: Date, to: Date): Promise<{ issued: number; redeemed: number }> {
  const { rows } = await sql<{ issued: number; redeemed: number }>`
    SELECT (SELECT count(*)::int FROM user_offers WHERE retailer_id = ${retailerId} AND acquired_at >= ${from} AND acquired_at < ${to}) AS issued,
           (SELECT count(*)::int FROM offer_redemptions WHERE retailer_id = ${retailerId} AND redeemed_at >= ${from} AND redeemed_at < ${to} AND reinstated_at IS NULL) AS redeemed`.execute(db);
  return { issued: Number(rows[0].issued), redeemed: Number(rows[0].redeemed) };
}
