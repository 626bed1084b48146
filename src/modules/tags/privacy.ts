import { memberRows } from '../../db/rows.js';
import type { Db } from '../../db/index.js';

/** Forgets a member's tags: they go, counts and all. */
export async function forgetMemberTags(tx: Db, retailerId: string, memberId: string): Promise<void> {
  await tx.deleteFrom('member_tags').where('retailer_id', '=', retailerId).where('member_id', '=', memberId).execute();
}

/** The member's tags as JSON rows, by table, for its data export. */
export async function exportMemberTags(db: Db, retailerId: string, memberId: string): Promise<{ member_tags: Record<string, unknown>[] }> {
  return { member_tags: await memberRows(db, 'member_tags', retailerId, memberId) };
}
