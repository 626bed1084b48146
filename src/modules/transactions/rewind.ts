// Simulations (flows/simulate.ts) rewind a member to an instant in a sandbox and replay what came after.
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

export interface RecordedTransaction {
  store_id: string;
  transaction_id: string;
  channel: string | null;
  employee_id: string | null;
  table_id: string | null;
  guest_count: number | null;
  subtotal: string;
  tax_total: string;
  open_time: Date | null;
  modified_time: Date | null;
  items: unknown[];
  payments: unknown[];
  receipt_code: string | null;
  is_voided: boolean;
  created_at: Date;
}

/** The members with POS transactions recorded in [from, to). */
export async function membersWithTransactions(db: Db, retailerId: string, from: Date, to: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('pos_transactions')
    .select('member_id')
    .distinct()
    .where('retailer_id', '=', retailerId)
    .where('member_id', 'is not', null)
    .where('created_at', '>=', from)
    .where('created_at', '<', to)
    .execute();
  return rows.map((r) => r.member_id!);
}

/** How many members' transactions were recorded in [from, to) (of these members). */
export async function countTransactions(db: Db, retailerId: string, from: Date, to: Date, memberIds?: string[]): Promise<number> {
  let q = db.selectFrom('pos_transactions').select(sql<string>`count(*)`.as('n')).where('retailer_id', '=', retailerId).where('member_id', 'is not', null).where('created_at', '>=', from).where('created_at', '<', to);
  if (memberIds) q = q.where('member_id', '=', sql<string>`ANY(${memberIds}::uuid[])`);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/**
 * Forgets the member's transactions recorded from `from` on (so that they can
 * be sent again); answers those recorded before `to`, in the order recorded,
 * as they stand now (a modified one with its last lines, a voided one voided).
 */
export async function takeTransactionsSince(tx: Db, retailerId: string, memberId: string, from: Date, to: Date): Promise<RecordedTransaction[]> {
  const rows = await tx
    .deleteFrom('pos_transactions')
    .where('retailer_id', '=', retailerId)
    .where('member_id', '=', memberId)
    .where('created_at', '>=', from)
    .returning(['store_id', 'transaction_id', 'channel', 'employee_id', 'table_id', 'guest_count', 'subtotal', 'tax_total', 'open_time', 'modified_time', 'items', 'payments', 'receipt_code', 'is_voided', 'created_at'])
    .execute();
  return rows.filter((r) => r.created_at < to).sort((a, b) => a.created_at.getTime() - b.created_at.getTime()) as unknown as RecordedTransaction[];
}
