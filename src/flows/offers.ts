import { transact } from '../db/unit-of-work.js';
import type { Db } from '../db/index.js';
import { DomainError, type ErrorCode } from '../errors.js';
import { lockMemberRef, resolveMemberRef, type Actor, type MemberSummary } from '../modules/members/service.js';
import { getOffer, type Offer } from '../modules/offers/catalog.js';
import { issueOffer, moveUserOffers, type MoveResult, type UserOffer } from '../modules/offers/user-offers.js';

/** fail_reason of an issuance (0 = issued). */
export const FAIL_REASON: Partial<Record<ErrorCode, number>> = {
  user_not_found: 1,
  multiple_matches: 1,
  purchase_limit_reached: 2,
  member_not_eligible: 3,
  inventory_exhausted: 4,
  offer_not_available: 5,
};

export interface Issuance {
  userRef: string;
  member?: MemberSummary;
  userOffer?: UserOffer;
  failReason: number;
  error?: { code: string; message: string };
}

/**
 * Issues an offer to each member, each in its own transaction: one member's
 * refusal (unknown member, limit reached) leaves the others issued. An offer
 * that does not exist is refused for all.
 */
export async function issueToMembers(db: Db, actor: Actor, offerId: string, userRefs: string[], options: { quantity: number; exactVersion: boolean }): Promise<{ offer: Offer; issued: Issuance[] }> {
  const offer = await getOffer(db, actor.retailerId, offerId, { exactVersion: options.exactVersion });
  const issued: Issuance[] = [];
  for (const userRef of userRefs) {
    try {
      issued.push(
        await transact(db, async (tx) => {
          const member = await lockMemberRef(tx, actor.retailerId, userRef);
          const userOffer = await issueOffer(tx, actor, member, offer, { quantity: options.quantity });
          return { userRef, member, userOffer, failReason: 0 };
        }),
      );
    } catch (err) {
      const failReason = err instanceof DomainError ? FAIL_REASON[err.code] : undefined;
      if (failReason === undefined) throw err;
      issued.push({ userRef, failReason, error: { code: (err as DomainError).code, message: (err as DomainError).message } });
    }
  }
  return { offer, issued };
}

/** Moves user offers between two members of the retailer, in one transaction. */
export async function moveOffers(db: Db, actor: Actor, fromRef: string, toRef: string, userOfferIds: string[]): Promise<{ from: MemberSummary; to: MemberSummary; results: MoveResult[] }> {
  return transact(db, async (tx) => {
    // lock both members in member id order (whether named by id or external id), so two opposite moves cannot deadlock
    const idOf = async (ref: string) => (await resolveMemberRef(tx, actor.retailerId, ref))?.id ?? ref.toLowerCase();
    const [fromId, toId] = [await idOf(fromRef), await idOf(toRef)];
    const locked = new Map<string, MemberSummary>();
    for (const id of [fromId, toId].sort()) if (!locked.has(id)) locked.set(id, await lockMemberRef(tx, actor.retailerId, id));
    const from = locked.get(fromId)!;
    const to = locked.get(toId)!;
    if (from.id === to.id) throw new DomainError('validation', 'destination_user_id: the same member as source_user_id', 'destination_user_id');
    return { from, to, results: await moveUserOffers(tx, actor, from, to, userOfferIds) };
  });
}
