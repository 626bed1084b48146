import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** The member's loyalty events as JSON rows, by table, for its data export. */
export async function exportMemberEvents(db: Db, retailerId: string, memberId: string): Promise<{ member_events: Record<string, unknown>[] }> {
  const memberEvents = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM member_events x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  return { member_events: memberEvents.rows.map((r) => r.row) };
}
