import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** The member's point balances, ledger entries and point idempotency keys as JSON rows, by table, for its data export. */
export async function exportMemberPoints(db: Db, retailerId: string, memberId: string): Promise<{
  member_point_accounts: Record<string, unknown>[];
  point_ledger: Record<string, unknown>[];
  point_idempotency: Record<string, unknown>[];
}> {
  const memberPointAccounts = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM member_point_accounts x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  const pointLedger = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM point_ledger x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  const pointIdempotency = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM point_idempotency x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  return {
    member_point_accounts: memberPointAccounts.rows.map((r) => r.row),
    point_ledger: pointLedger.rows.map((r) => r.row),
    point_idempotency: pointIdempotency.rows.map((r) => r.row),
  };
}
