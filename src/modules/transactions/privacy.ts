import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** The member's point-of-sale transactions as JSON rows, by table, for its data export. */
export async function exportMemberTransactions(db: Db, retailerId: string, memberId: string): Promise<{ pos_transactions: Record<string, unknown>[] }> {
  const posTransactions = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM pos_transactions x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  return { pos_transactions: posTransactions.rows.map((r) => r.row) };
}
