import type { Db } from '../../db/index.js';
import { memberRows } from '../../db/rows.js';

/** The member's domain events as JSON rows, by table, for its data export. */
export async function exportMemberDomainEvents(db: Db, retailerId: string, memberId: string): Promise<{ domain_events: Record<string, unknown>[] }> {
  return { domain_events: await memberRows(db, 'domain_events', retailerId, memberId) };
}
