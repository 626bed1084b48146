// Simulations (flows/simulate.ts) rewind a member to an instant in a sandbox and replay what came after.
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/**
 * The member's balances as they stood at `from`: the ledger's entries since
 * are forgotten, each account's balance is its last entry's before then and
 * its lifetime value loses the deposits forgotten. Lots (expiry buckets) and
 * pending points are left as they are now.
 */
export async function rewindBalances(tx: Db, retailerId: string, memberId: string, from: Date): Promise<void> {
  await sql`
    WITH gone AS (DELETE FROM point_ledger WHERE retailer_id = ${retailerId} AND member_id = ${memberId} AND inserted_at >= ${from}
                  RETURNING point_account_id, amount, modification_type),
         lost AS (SELECT point_account_id, coalesce(sum(amount) FILTER (WHERE modification_type IN ('deposit', 'merge_in')), 0) AS deposited FROM gone GROUP BY 1)
    UPDATE member_point_accounts a
       SET available_balance = coalesce((SELECT l.balance_after FROM point_ledger l
                                          WHERE l.retailer_id = a.retailer_id AND l.member_id = a.member_id AND l.point_account_id = a.point_account_id AND l.inserted_at < ${from}
                                          ORDER BY l.id DESC LIMIT 1), 0),
           life_time_value = a.life_time_value - lost.deposited
      FROM lost
     WHERE a.retailer_id = ${retailerId} AND a.member_id = ${memberId} AND a.point_account_id = lost.point_account_id`.execute(tx);
}
