/**
 * Merging members: the victim's data moves to the survivor through each
 * owning module (points through the ledger's merge entries, offers, external
 * ids, tags, campaign progress, events, rule achievements, transactions), in
 * one transaction under both members' locks.
 */
import { randomUUID } from 'node:crypto';
import { transact } from '../db/unit-of-work.js';
import type { Db } from '../db/index.js';
import { DomainError, memberNotFound } from '../errors.js';
import { isUuid } from '../lib/ids.js';
import { moveMemberProgress } from '../modules/campaigns/merge.js';
import { moveMemberEvents } from '../modules/events/merge.js';
import { lockMemberStates, markMerged, memberState, moveExternalIds, ownersOfExternalId, type MemberState } from '../modules/members/merge.js';
import { createMember, subjectOf, type Actor } from '../modules/members/service.js';
import { DEMO_EARLIER_VICTIM_EXTERNAL_ID, DEMO_EARLIER_VICTIM_ID, DEMO_MERGE_ID, DEMO_SURVIVOR_ID } from '../modules/merge/demo.js';
import { earlierMergeOf, mergeExists, mergeOfVictim, recordMerge, type Merge } from '../modules/merge/service.js';
import { moveMemberOffers } from '../modules/offers/merge.js';
import { recordDomainEvent } from '../modules/outbox/service.js';
import { moveMemberPoints } from '../modules/points/merge.js';
import { moveMemberAchievements } from '../modules/rules/merge.js';
import { moveMemberTags } from '../modules/tags/merge.js';
import { evaluateTier, listTierSystems } from '../modules/tiers/service.js';
import { recordTimeline } from '../modules/timeline/service.js';
import { moveMemberTransactions } from '../modules/transactions/merge.js';

/** Merges the victim into the survivor in one transaction. */
export const mergeAccounts = (db: Db, actor: Actor, survivor: MemberRef, victim: MemberRef) => transact(db, (tx) => mergeMembers(tx, actor, survivor, victim));

/** How a merge names a member: an external id, or (API clients, the demo) a member id. */
export interface MemberRef {
  external_id?: string;
  user_id?: string;
}

/** Finds the member a reference names, whatever its lifecycle, so that refusals can say why. */
async function resolveRef(tx: Db, retailerId: string, ref: MemberRef, field: string): Promise<MemberState> {
  if (ref.external_id) {
    const owners = await ownersOfExternalId(tx, retailerId, ref.external_id);
    if (owners.length > 1) throw new DomainError('multiple_matches', `${field}: external_id ${ref.external_id} names several members`, field);
    // an identifier's member exists (foreign key)
    if (owners.length) return (await memberState(tx, retailerId, owners[0]))!;
    if (!isUuid(ref.external_id)) throw memberNotFound();
  }
  const id = (ref.user_id ?? ref.external_id ?? '').toLowerCase();
  const found = isUuid(id) ? await memberState(tx, retailerId, id) : undefined;
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
  const locked = await lockMemberStates(tx, actor.retailerId, [survivor0.id, victim0.id]);
  const survivor = locked.find((m) => m.id === survivor0.id)!;
  const victim = locked.find((m) => m.id === victim0.id)!;
  if (victim.lifecycle === 'merged') {
    const earlier = await mergeOfVictim(tx, actor.retailerId, victim.id);
    throw new DomainError('already_merged', `this member was merged already${earlier ? ` (merge ${earlier.id})` : ''}`, 'merge_account');
  }
  assertMergeable(survivor, 'survivor');
  assertMergeable(victim, 'victim');

  const id = options.id?.toLowerCase() ?? randomUUID();
  const now = new Date();
  const r = actor.retailerId;

  await moveMemberAchievements(tx, r, victim.id, survivor.id);
  const moved = {
    point_accounts: await moveMemberPoints(tx, actor, victim.id, survivor.id, id, now),
    user_offer_ids: await moveMemberOffers(tx, r, victim.id, survivor.id, now),
    external_ids: await moveExternalIds(tx, r, victim.id, survivor.id),
    tags: await moveMemberTags(tx, r, victim.id, survivor.id, now),
    campaigns: await moveMemberProgress(tx, r, victim.id, survivor.id),
    events: await moveMemberEvents(tx, r, victim.id, survivor.id),
    transactions: await moveMemberTransactions(tx, r, victim.id, survivor.id),
  };
  await markMerged(tx, r, victim.id, now);
  const merge = await recordMerge(tx, { retailerId: r, survivorId: survivor.id, victimId: victim.id, id, moved, requestId: actor.requestId, at: now });

  const payload = { merge_id: id, survivor_user_id: survivor.id, victim_user_id: victim.id };
  await recordTimeline(tx, subjectOf(actor, survivor), [{ type: 'ACCOUNT_MERGED', requestId: actor.requestId, occurredAt: now, payload: { ...payload, role: 'survivor' } }]);
  await recordTimeline(tx, subjectOf(actor, victim), [{ type: 'ACCOUNT_MERGED', requestId: actor.requestId, occurredAt: now, payload: { ...payload, role: 'victim' } }]);
  recordDomainEvent(tx, { type: 'member.merged', retailerId: r, memberId: survivor.id, occurredAt: now, payload: { user_id: survivor.id, merged_user_id: victim.id, merge_id: id } });

  for (const system of await listTierSystems(tx, r)) await evaluateTier(tx, actor, survivor, system, 'promote', now);
  return merge;
}

/**
 * Creates the finished merge entry DEMO_MERGE_ID: a third demo member merged
 * into the survivor (BRANDX-SURVIVOR-001), in the caller's transaction. Does
 * nothing when the entry exists. The survivor must exist already.
 */
export async function seedDemoMerge(tx: Db, actor: Actor): Promise<void> {
  if (await mergeExists(tx, actor.retailerId, DEMO_MERGE_ID)) return;
  if (!(await memberState(tx, actor.retailerId, DEMO_EARLIER_VICTIM_ID))) {
    await createMember(tx, actor, {
      id: DEMO_EARLIER_VICTIM_ID,
      email: 'earlier.account@brandx.example',
      first_name: 'Sam',
      last_name: 'Survivor',
      identifiers: [{ external_id: DEMO_EARLIER_VICTIM_EXTERNAL_ID, external_id_type: 'merchant_identifier' }],
    });
  }
  await mergeMembers(tx, actor, { user_id: DEMO_SURVIVOR_ID }, { user_id: DEMO_EARLIER_VICTIM_ID }, { id: DEMO_MERGE_ID });
}
