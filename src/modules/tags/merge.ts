import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** Moves a member's tags into another member: counts add up, the later expiry wins. Answers the tags moved. */
export async function moveMemberTags(tx: Db, retailerId: string, fromId: string, intoId: string, now: Date): Promise<string[]> {
  const tags = await tx.selectFrom('member_tags').selectAll().where('retailer_id', '=', retailerId).where('member_id', '=', fromId).execute();
  if (tags.length) {
    await tx
      .insertInto('member_tags')
      .values(tags.map((t) => ({ ...t, member_id: intoId, updated_at: now })))
      .onConflict((oc) =>
        oc.columns(['retailer_id', 'member_id', 'tag']).doUpdateSet({
          count: sql`member_tags.count + excluded.count`,
          expires_at: sql`CASE WHEN member_tags.expires_at IS NULL OR excluded.expires_at IS NULL THEN NULL ELSE greatest(member_tags.expires_at, excluded.expires_at) END`,
          updated_at: now,
        }),
      )
      .execute();
    await tx.deleteFrom('member_tags').where('retailer_id', '=', retailerId).where('member_id', '=', fromId).execute();
  }
  return tags.map((t) => t.tag);
}
