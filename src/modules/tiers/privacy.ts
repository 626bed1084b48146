import { memberRows } from '../../db/rows.js';
import type { Db } from '../../db/index.js';

/** The member's tiers as JSON rows, by table, for its data export. */
export async function exportMemberTiers(db: Db, retailerId: string, memberId: string): Promise<{ member_tiers: Record<string, unknown>[] }> {
  const memberTiers = await memberRows(db, 'member_tiers', retailerId, memberId);
  return { member_tiers: memberTiers };
}
