import type { Db } from '../../db/index.js';
import { memberRows } from '../../db/rows.js';

/** The webhook deliveries of the member's events, as JSON rows, for its data export. */
export async function exportMemberDeliveries(db: Db, retailerId: string, memberId: string): Promise<{ webhook_deliveries: Record<string, unknown>[] }> {
  return { webhook_deliveries: await memberRows(db, 'webhook_deliveries', retailerId, memberId) };
}
