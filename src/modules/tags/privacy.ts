import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** Forgets a member's tags: they go, counts and all. */
export async function forgetMemberTags(tx: Db, retailerId: string, memberId: string): Promise<void> {
  await tx.deleteFrom('member_tags').where('retailer_id', '=', retailerId).where('member_id', '=', memberId).execute();
}

/** The member's tags as JSON rows, by table, for its data export. */
export async function exportMemberTags(db: Db, retailerId: string, memberId: string): Promise<{ member_tags: Record<string, unknown>[] }> {
  const { rows } = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM member_tags x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  return { member_tags: rows.map((r) => r.row) };
}
