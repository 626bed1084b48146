import { randomUUID } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { Db } from '../../db/index.js';
import type { MemberMergesTable } from '../../db/schema.js';
import { DomainError, memberNotFound } from '../../errors.js';
import { subjectOf, type Actor, type MemberSummary } from '../members/service.js';
import { isUuid } from '../../lib/ids.js';
import { ZERO, fromDb, toDecimal, toJson } from '../points/amount.js';
import { evaluateTier, listTierSystems } from '../tiers/service.js';
import { recordTimeline } from '../timeline/service.js';

export type Merge = Selectable<MemberMergesTable>;

/** How a merge names a member: an external id, or (API clients, the demo) a member id. */
export interface MemberRef {
  external_id?: string;
  user_id?: string;
}

interface MemberState extends MemberSummary {
  lifecycle: string;
}

/** Finds the member a reference names, whatever its lifecycle, so that refusals can say why. */
async function resolveRef(tx: Db, retailerId: string, ref: MemberRef, field: string): Promise<MemberState> {
  const select = () => tx.selectFrom('members').select(['id', 'player_id', 'first_name', 'last_name', 'lifecycle']).where('retailer_id', '=', retailerId);
  if (ref.external_id) {
    const owners = await tx
      .selectFrom('member_identifiers')
      .select('member_id')
      .distinct()
      .where('retailer_id', '=', retailerId)
      .where(sql`lower(external_id)`, '=', ref.external_id.trim().toLowerCase())
      .limit(2)
      .execute();
    if (owners.length > 1) throw new DomainError('multiple_matches', `${field}: external_id ${ref.external_id} names several members`, field);
    if (owners.length) return (await select().where('id', '=', owners[0].member_id).executeTakeFirstOrThrow()) as MemberState;
    if (!isUuid(ref.external_id)) throw memberNotFound();
  }
  const id = (ref.user_id ?? ref.external_id ?? '').toLowerCase();
  const found = isUuid(id) ? ((await select().where('id', '=', id).executeTakeFirst()) as MemberState | undefined) : undefined;
  if (!found || found.lifecycle === 'deleted') throw memberNotFound();
  return found;
}

function assertMergeable(member: MemberState, role: 'survivor' | 'victim') {
  if (member.lifecycle === 'forgotten') throw new DomainError('member_forgotten', `the ${role} was forgotten (privacy request): it cannot take part in a merge`, role);
  if (member.lifecycle === 'merged') throw new DomainError('member_merged', `the ${role} was already merged into another member`, role);
  if (member.lifecycle !== 'active') throw memberNotFound();
}

export interface MergeOptions {
  /** A known merge id (the demo); absent: a new one. */
  id?: string;
}

/**
 * Merges the victim into the survivor in the caller's transaction, under both
 * members' row locks (taken in id order, so two merges of the same pair
 * cannot deadlock): point balances and lifetime values move as ledger entries
 * on both sides (merge_out, merge_in), then user offers, external ids, tags,
 * campaign progress, events, rule achievements and transactions; ACCOUNT_MERGED
 * goes on both timelines; the survivor's tiers are re-evaluated; the victim
 * becomes 'merged' and is never returned again. Refused: a member into
 * itself, a forgotten or merged member, a victim merged before.
 */
export async function mergeMembers(tx: Db, actor: Actor, survivorRef: MemberRef, victimRef: MemberRef, options: MergeOptions = {}): Promise<Merge> {
  const survivor0 = await resolveRef(tx, actor.retailerId, survivorRef, 'survivor');
  const victim0 = await resolveRef(tx, actor.retailerId, victimRef, 'merge_account');
  if (survivor0.id === victim0.id) {
    // a victim's external ids move with it: naming it again names the survivor
    const earlier = victimRef.external_id ? await earlierMergeOf(tx, actor.retailerId, survivor0.id, victimRef.external_id) : undefined;
    if (earlier) throw new DomainError('already_merged', `external_id ${victimRef.external_id} was merged into this member already (merge ${earlier.id})`, 'merge_account');
    throw new DomainError('merge_into_self', 'a member cannot be merged into itself', 'merge_account');
  }
  // lock both, in id order
  const locked = await tx
    .selectFrom('members')
    .select(['id', 'player_id', 'first_name', 'last_name', 'lifecycle'])
    .where('retailer_id', '=', actor.retailerId)
    .where('id', 'in', [survivor0.id, victim0.id])
    .orderBy('id')
    .forUpdate()
    .execute();
  const survivor = locked.find((m) => m.id === survivor0.id) as MemberState;
  const victim = locked.find((m) => m.id === victim0.id) as MemberState;
  if (victim.lifecycle === 'merged') {
    const earlier = await tx.selectFrom('member_merges').select('id').where('retailer_id', '=', actor.retailerId).where('victim_id', '=', victim.id).executeTakeFirst();
    throw new DomainError('already_merged', `this member was merged already${earlier ? ` (merge ${earlier.id})` : ''}`, 'merge_account');
  }
  assertMergeable(survivor, 'survivor');
  assertMergeable(victim, 'victim');

  const id = options.id?.toLowerCase() ?? randomUUID();
  const now = new Date();
  const r = actor.retailerId;
  const scope = (table: string, memberId: string) => sql`${sql.table(table)}.retailer_id = ${r} AND ${sql.table(table)}.member_id = ${memberId}`;

  // points: both sides as ledger entries; the victim ends at zero
  const accounts = await tx.selectFrom('member_point_accounts').select(['point_account_id', 'available_balance', 'life_time_value']).where('retailer_id', '=', r).where('member_id', '=', victim.id).execute();
  const movedPoints: { point_account_id: string; amount: number; life_time_value: number }[] = [];
  for (const a of accounts) {
    const balance = fromDb(a.available_balance);
    const lifetime = fromDb(a.life_time_value);
    if (balance === ZERO && lifetime === ZERO) continue;
    movedPoints.push({ point_account_id: a.point_account_id, amount: toJson(balance), life_time_value: toJson(lifetime) });
    await tx.updateTable('member_point_accounts').set({ available_balance: '0', life_time_value: '0', updated_at: now }).where('retailer_id', '=', r).where('member_id', '=', victim.id).where('point_account_id', '=', a.point_account_id).execute();
    await tx
      .insertInto('member_point_accounts')
      .values({ retailer_id: r, member_id: survivor.id, point_account_id: a.point_account_id, id: randomUUID() })
      .onConflict((oc) => oc.columns(['retailer_id', 'member_id', 'point_account_id']).doNothing())
      .execute();
    const after = await tx
      .updateTable('member_point_accounts')
      .set({ available_balance: sql`available_balance + ${toDecimal(balance)}::numeric`, life_time_value: sql`life_time_value + ${toDecimal(lifetime)}::numeric`, updated_at: now })
      .where('retailer_id', '=', r)
      .where('member_id', '=', survivor.id)
      .where('point_account_id', '=', a.point_account_id)
      .returning('available_balance')
      .executeTakeFirstOrThrow();
    const entry = { retailer_id: r, point_account_id: a.point_account_id, reference_id: id, reference_type: 'merge', request_id: actor.requestId ?? null, effective_at: now };
    await tx
      .insertInto('point_ledger')
      .values([
        { ...entry, member_id: victim.id, amount: toDecimal(-balance), balance_after: '0', modification_type: 'merge_out' },
        { ...entry, member_id: survivor.id, amount: toDecimal(balance), balance_after: String(after.available_balance), modification_type: 'merge_in' },
      ])
      .execute();
  }

  // user offers and their redemptions
  const offers = await tx.updateTable('user_offers').set({ member_id: survivor.id, updated_at: now }).where('retailer_id', '=', r).where('member_id', '=', victim.id).returning('id').execute();
  await tx.updateTable('offer_redemptions').set({ member_id: survivor.id }).where('retailer_id', '=', r).where('member_id', '=', victim.id).execute();

  // external ids, after the survivor's own
  const { max } = await tx.selectFrom('member_identifiers').select((eb) => eb.fn.max('position').as('max')).where('retailer_id', '=', r).where('member_id', '=', survivor.id).executeTakeFirstOrThrow();
  const ids = await tx.selectFrom('member_identifiers').select(['external_id', 'external_id_type', 'position']).where('retailer_id', '=', r).where('member_id', '=', victim.id).orderBy('position').execute();
  const base = (max ?? -1) + 1;
  for (const [n, i] of ids.entries()) {
    await tx
      .updateTable('member_identifiers')
      .set({ member_id: survivor.id, position: base + n })
      .where('retailer_id', '=', r)
      .where('member_id', '=', victim.id)
      .where('external_id', '=', i.external_id)
      .where('external_id_type', '=', i.external_id_type)
      .execute();
  }

  // tags: counts add up, the later expiry wins
  const tags = await tx.selectFrom('member_tags').selectAll().where('retailer_id', '=', r).where('member_id', '=', victim.id).execute();
  if (tags.length) {
    await tx
      .insertInto('member_tags')
      .values(tags.map((t) => ({ ...t, member_id: survivor.id, updated_at: now })))
      .onConflict((oc) =>
        oc.columns(['retailer_id', 'member_id', 'tag']).doUpdateSet({
          count: sql`member_tags.count + excluded.count`,
          expires_at: sql`CASE WHEN member_tags.expires_at IS NULL OR excluded.expires_at IS NULL THEN NULL ELSE greatest(member_tags.expires_at, excluded.expires_at) END`,
          updated_at: now,
        }),
      )
      .execute();
    await tx.deleteFrom('member_tags').where('retailer_id', '=', r).where('member_id', '=', victim.id).execute();
  }

  // campaign progress: what the survivor has not started moves; the rest stays with the victim
  let campaigns = 0;
  for (const table of ['member_campaigns', 'member_behaviors', 'member_goals'] as const) {
    const key = table === 'member_campaigns' ? sql`campaign_id` : table === 'member_behaviors' ? sql`behavior_id` : sql`behavior_id, goal_name`;
    const moved = await sql`
      UPDATE ${sql.table(table)} SET member_id = ${survivor.id}
       WHERE ${scope(table, victim.id)}
         AND (${key}) NOT IN (SELECT ${key} FROM ${sql.table(table)} s WHERE s.retailer_id = ${r} AND s.member_id = ${survivor.id})`.execute(tx);
    if (table === 'member_campaigns') campaigns = Number(moved.numAffectedRows ?? 0);
  }

  // history: events, rule achievements, and point-of-sale transactions when that table exists
  const events = await tx.updateTable('member_events').set({ member_id: survivor.id }).where('retailer_id', '=', r).where('member_id', '=', victim.id).executeTakeFirst();
  await tx.updateTable('rule_achievements').set({ member_id: survivor.id }).where('retailer_id', '=', r).where('member_id', '=', victim.id).execute();
  let transactions = 0;
  const { rows: posTable } = await sql<{ ok: boolean }>`SELECT to_regclass('pos_transactions') IS NOT NULL AS ok`.execute(tx);
  if (posTable[0]?.ok) {
    const moved = await sql`UPDATE pos_transactions SET member_id = ${survivor.id} WHERE retailer_id = ${r} AND member_id = ${victim.id}`.execute(tx);
    transactions = Number(moved.numAffectedRows ?? 0);
  }

  await tx.updateTable('members').set({ lifecycle: 'merged', updated_at: now }).where('retailer_id', '=', r).where('id', '=', victim.id).execute();

  const movedSummary = {
    point_accounts: movedPoints,
    user_offer_ids: offers.map((o) => o.id),
    external_ids: ids.map((i) => ({ external_id: i.external_id, external_id_type: i.external_id_type })),
    tags: tags.map((t) => t.tag),
    campaigns,
    events: Number(events.numUpdatedRows ?? 0),
    transactions,
  };
  const merge = await tx
    .insertInto('member_merges')
    .values({ retailer_id: r, member_id: survivor.id, id, victim_id: victim.id, status: 'finished', moved: JSON.stringify(movedSummary), request_id: actor.requestId ?? null, finished_at: now })
    .returningAll()
    .executeTakeFirstOrThrow()
    .catch((err: { code?: string }) => {
      if (err.code === '23505') throw new DomainError('already_merged', 'this member was merged already, or the merge id is taken', 'merge_account');
      throw err;
    });

  const payload = { merge_id: id, survivor_user_id: survivor.id, victim_user_id: victim.id };
  await recordTimeline(tx, subjectOf(actor, survivor), [{ type: 'ACCOUNT_MERGED', requestId: actor.requestId, occurredAt: now, payload: { ...payload, role: 'survivor' } }]);
  await recordTimeline(tx, subjectOf(actor, victim), [{ type: 'ACCOUNT_MERGED', requestId: actor.requestId, occurredAt: now, payload: { ...payload, role: 'victim' } }]);

  for (const system of await listTierSystems(tx, r)) await evaluateTier(tx, actor, survivor, system, 'promote', now);
  return merge;
}

async function earlierMergeOf(tx: Db, retailerId: string, survivorId: string, externalId: string): Promise<Merge | undefined> {
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
