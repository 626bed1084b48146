import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** The member's tiers as JSON rows, by table, for its data export. */
export async function exportMemberTiers(db: Db, retailerId: string, memberId: string): Promise<{ member_tiers: Record<string, unknown>[] }> {
  const memberTiers = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM member_tiers x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  return { member_tiers: memberTiers.rows.map((r) => r.row) };
}
