import { transact } from '../db/unit-of-work.js';
import type { Db } from '../db/index.js';
import { lockMemberRef, type Actor, type MemberSummary } from '../modules/members/service.js';
import { purchaseStoreOffer, type Purchase } from '../modules/reward-stores/service.js';

/**
 * Buys a reward store offer for a member (a member id or an external id) in
 * one transaction: the member's lock, the point spend and the issued user
 * offers commit together or not at all.
 */
export async function purchaseReward(
  db: Db,
  actor: Actor,
  userRef: string,
  storeId: string,
  storeOfferId: string,
  quantity: number,
): Promise<Purchase & { member: MemberSummary }> {
  return transact(db, async (tx) => {
    const member = await lockMemberRef(tx, actor.retailerId, userRef);
    return { ...(await purchaseStoreOffer(tx, actor, member, storeId, storeOfferId, quantity)), member };
  });
}
