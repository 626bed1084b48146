import { memberRows } from '../../db/rows.js';
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** Blanks the member's name that every one of its timeline entries carries. */
export async function forgetUserName(tx: Db, retailerId: string, memberId: string): Promise<void> {
  await sql`UPDATE timeline_events SET payload = jsonb_set(payload, '{user_name}', '""') WHERE retailer_id = ${retailerId} AND member_id = ${memberId} AND payload ? 'user_name'`.execute(tx);
}

/** The member's timeline entries as JSON rows, by table, for its data export. */
export async function exportMemberTimeline(db: Db, retailerId: string, memberId: string): Promise<{ timeline_events: Record<string, unknown>[] }> {
  return { timeline_events: await memberRows(db, 'timeline_events', retailerId, memberId) };
}
