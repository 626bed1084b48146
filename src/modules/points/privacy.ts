import { memberRows } from '../../db/rows.js';
import type { Db } from '../../db/index.js';

/** The member's point balances, ledger entries, lots and point idempotency keys as JSON rows, by table, for its data export. */
export async function exportMemberPoints(db: Db, retailerId: string, memberId: string): Promise<{
  member_point_accounts: Record<string, unknown>[];
  point_ledger: Record<string, unknown>[];
  point_idempotency: Record<string, unknown>[];
  point_lots: Record<string, unknown>[];
}> {
  const memberPointAccounts = await memberRows(db, 'member_point_accounts', retailerId, memberId);
  const pointLedger = await memberRows(db, 'point_ledger', retailerId, memberId);
  const pointIdempotency = await memberRows(db, 'point_idempotency', retailerId, memberId);
  return {
    member_point_accounts: memberPointAccounts,
    point_ledger: pointLedger,
    point_idempotency: pointIdempotency,
    point_lots: await memberRows(db, 'point_lots', retailerId, memberId),
  };
}
