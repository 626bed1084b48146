import { sql, type Selectable } from 'kysely';
import type { Db } from '../../db/index.js';
import type { MemberMergesTable } from '../../db/schema.js';
import { DomainError } from '../../errors.js';
import { isUuid } from '../../lib/ids.js';

/** The record of a merge (member_merges): who was merged into whom, and what moved. */
export type Merge = Selectable<MemberMergesTable>;

/** Records a finished merge; `already_merged` when the victim (or the merge id) has one. */
export async function recordMerge(tx: Db, row: { retailerId: string; survivorId: string; victimId: string; id: string; moved: Record<string, unknown>; requestId?: string; at: Date }): Promise<Merge> {
  return tx
    .insertInto('member_merges')
    .values({ retailer_id: row.retailerId, member_id: row.survivorId, id: row.id, victim_id: row.victimId, status: 'finished', moved: JSON.stringify(row.moved), request_id: row.requestId ?? null, finished_at: row.at })
    .returningAll()
    .executeTakeFirstOrThrow()
    .catch((err: { code?: string }) => {
      if (err.code === '23505') throw new DomainError('already_merged', 'this member was merged already, or the merge id is taken', 'merge_account');
      throw err;
    });
}

/** The merge that took a member (as its victim), if any. */
export async function mergeOfVictim(db: Db, retailerId: string, victimId: string): Promise<Pick<Merge, 'id'> | undefined> {
  return db.selectFrom('member_merges').select('id').where('retailer_id', '=', retailerId).where('victim_id', '=', victimId).executeTakeFirst();
}

/** Whether a merge of this id exists for the retailer. */
export async function mergeExists(db: Db, retailerId: string, id: string): Promise<boolean> {
  return !!(await db.selectFrom('member_merges').select('id').where('retailer_id', '=', retailerId).where('id', '=', id).executeTakeFirst());
}

/** The survivor's earlier merge that moved this external id to it. */
export async function earlierMergeOf(tx: Db, retailerId: string, survivorId: string, externalId: string): Promise<Merge | undefined> {
  return tx
    .selectFrom('member_merges')
    .selectAll()
    .where('retailer_id', '=', retailerId)
    .where('member_id', '=', survivorId)
    .where(sql<boolean>`EXISTS (SELECT 1 FROM jsonb_array_elements(moved->'external_ids') e WHERE lower(e->>'external_id') = ${externalId.trim().toLowerCase()})`)
    .executeTakeFirst();
}

/** A merge read back under its survivor. */
export async function findMerge(db: Db, retailerId: string, survivorId: string, mergeId: string): Promise<Merge> {
  const found = isUuid(mergeId)
    ? await db.selectFrom('member_merges').selectAll().where('retailer_id', '=', retailerId).where('member_id', '=', survivorId).where('id', '=', mergeId.toLowerCase()).executeTakeFirst()
    : undefined;
  if (!found) throw new DomainError('merge_not_found', `merge ${mergeId} not found`, 'merge_id');
  return found;
}
