import { memberRows } from '../../db/rows.js';
import type { Db } from '../../db/index.js';

/** The member's point-of-sale transactions as JSON rows, by table, for its data export. */
export async function exportMemberTransactions(db: Db, retailerId: string, memberId: string): Promise<{ pos_transactions: Record<string, unknown>[] }> {
  const posTransactions = await memberRows(db, 'pos_transactions', retailerId, memberId);
  return { pos_transactions: posTransactions };
}
