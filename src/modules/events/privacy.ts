import { memberRows } from '../../db/rows.js';
import type { Db } from '../../db/index.js';

/** The member's loyalty events as JSON rows, by table, for its data export. */
export async function exportMemberEvents(db: Db, retailerId: string, memberId: string): Promise<{ member_events: Record<string, unknown>[] }> {
  const memberEvents = await memberRows(db, 'member_events', retailerId, memberId);
  return { member_events: memberEvents };
}
