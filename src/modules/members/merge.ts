import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import type { Identifier, MemberSummary } from './service.js';

/** A member whatever its lifecycle, so that a merge can say why it refuses one. */
export interface MemberState extends MemberSummary {
  lifecycle: string;
}

/** The members (up to two, enough to tell a unique owner) holding an external id, any type, any case. */
export async function ownersOfExternalId(tx: Db, retailerId: string, externalId: string): Promise<string[]> {
  const owners = await tx
    .selectFrom('member_identifiers')
    .select('member_id')
    .distinct()
    .where('retailer_id', '=', retailerId)
    .where(sql`lower(external_id)`, '=', externalId.trim().toLowerCase())
    .limit(2)
    .execute();
  return owners.map((o) => o.member_id);
}

export async function memberState(tx: Db, retailerId: string, id: string): Promise<MemberState | undefined> {
  return tx.selectFrom('members').select(['id', 'player_id', 'first_name', 'last_name', 'lifecycle']).where('retailer_id', '=', retailerId).where('id', '=', id).executeTakeFirst();
}

/** Locks members whatever their lifecycle, in id order, so two callers locking the same members cannot deadlock. */
export async function lockMemberStates(tx: Db, retailerId: string, ids: string[]): Promise<MemberState[]> {
  return tx.selectFrom('members').select(['id', 'player_id', 'first_name', 'last_name', 'lifecycle']).where('retailer_id', '=', retailerId).where('id', 'in', ids).orderBy('id').forUpdate().execute();
}

/** Moves a member's external ids into another member, after that member's own; answers them in their order. */
export async function moveExternalIds(tx: Db, retailerId: string, fromId: string, intoId: string): Promise<Identifier[]> {
  const { max } = await tx.selectFrom('member_identifiers').select((eb) => eb.fn.max('position').as('max')).where('retailer_id', '=', retailerId).where('member_id', '=', intoId).executeTakeFirstOrThrow();
  const ids = await tx.selectFrom('member_identifiers').select(['external_id', 'external_id_type', 'position']).where('retailer_id', '=', retailerId).where('member_id', '=', fromId).orderBy('position').execute();
  const base = (max ?? -1) + 1;
  for (const [n, i] of ids.entries()) {
    await tx
      .updateTable('member_identifiers')
      .set({ member_id: intoId, position: base + n })
      .where('retailer_id', '=', retailerId)
      .where('member_id', '=', fromId)
      .where('external_id', '=', i.external_id)
      .where('external_id_type', '=', i.external_id_type)
      .execute();
  }
  return ids.map((i) => ({ external_id: i.external_id, external_id_type: i.external_id_type }));
}

/** Marks a member merged into another: it is never returned again. */
export async function markMerged(tx: Db, retailerId: string, id: string, now: Date): Promise<void> {
  await tx.updateTable('members').set({ lifecycle: 'merged', updated_at: now }).where('retailer_id', '=', retailerId).where('id', '=', id).execute();
}
