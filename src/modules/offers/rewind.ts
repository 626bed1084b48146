// Simulations (flows/simulate.ts) rewind a member to an instant in a sandbox and replay what came after.
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** Forgets the offers issued to the member from `from` on (and their redemptions): per-member limits count as they stood then. */
export async function rewindUserOffers(tx: Db, retailerId: string, memberId: string, from: Date): Promise<void> {
  await sql`WITH gone AS (DELETE FROM user_offers WHERE retailer_id = ${retailerId} AND member_id = ${memberId} AND acquired_at >= ${from} RETURNING id)
            DELETE FROM offer_redemptions WHERE retailer_id = ${retailerId} AND user_offer_id IN (SELECT id FROM gone)`.execute(tx);
}
