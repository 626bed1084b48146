import { memberRows } from '../../db/rows.js';
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** Scrubs `needles` (what names a forgotten member) out of what the merges the member was merged away in moved. */
export async function scrubMergedVictim(tx: Db, retailerId: string, memberId: string, needles: string[]): Promise<void> {
  await sql`UPDATE member_merges SET moved = loyalist_scrub_jsonb(moved, ${needles}::text[]) WHERE retailer_id = ${retailerId} AND victim_id = ${memberId}`.execute(tx);
}

/** The merges into the member as JSON rows, by table, for its data export. */
export async function exportMemberMerges(db: Db, retailerId: string, memberId: string): Promise<{ member_merges: Record<string, unknown>[] }> {
  return { member_merges: await memberRows(db, 'member_merges', retailerId, memberId) };
}

/** The merges the member was merged away in (into another member) as JSON rows, for its data export. */
export async function exportMergedInto(db: Db, retailerId: string, memberId: string): Promise<Record<string, unknown>[]> {
  const { rows } = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM member_merges x WHERE retailer_id = ${retailerId} AND victim_id = ${memberId}`.execute(db);
  return rows.map((r) => r.row);
}
