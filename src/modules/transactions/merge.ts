import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** Moves a member's point-of-sale transactions into another member, when that table exists; answers how many moved. */
export async function moveMemberTransactions(tx: Db, retailerId: string, fromId: string, intoId: string): Promise<number> {
  const { rows } = await sql<{ ok: boolean }>`SELECT to_regclass('pos_transactions') IS NOT NULL AS ok`.execute(tx);
  if (!rows[0]?.ok) return 0;
  const moved = await sql`UPDATE pos_transactions SET member_id = ${intoId} WHERE retailer_id = ${retailerId} AND member_id = ${fromId}`.execute(tx);
  return Number(moved.numAffectedRows ?? 0);
}
