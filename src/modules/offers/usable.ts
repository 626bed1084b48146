import { DomainError } from '../../errors.js';
import type { Offer } from './catalog.js';
import type { Basket, DiscountResult } from './discount.js';
import { assertStoreAllowed, assertUsableNow, discountFor, type RedeemableFields } from './user-offers.js';

/** Where and on what the member's offers would be used. */
export interface UsableQuery {
  now?: Date;
  /** The store they would be used at (an offer restricted to other stores is not usable). */
  storeId?: string;
  /** The basket: only offers that take something off it are usable, each with its discount. */
  basket?: Basket;
  /** Offers still waiting for extended data count too. */
  includePending?: boolean;
}

export interface UsableOffer<U> {
  userOffer: U;
  offer: Offer;
  discount: DiscountResult;
}

/**
 * Which of a member's offers are usable now, and what each takes off the
 * basket: the one answer of POS lookup and Connect get_user. Usable means
 * redeemable as a redemption would check it (issued, inside its redemption
 * window, allowed at the store when one is named), not waiting for extended
 * data (unless asked), and, with a basket, discounting it.
 */
export function usableOffers<U extends RedeemableFields & { offer_id: string; pending_extended_data?: boolean }>(candidates: U[], offers: Map<string, Offer>, q: UsableQuery = {}): UsableOffer<U>[] {
  const now = q.now ?? new Date();
  const usable: UsableOffer<U>[] = [];
  for (const userOffer of candidates) {
    const offer = offers.get(userOffer.offer_id);
    if (!offer || (userOffer.pending_extended_data && !q.includePending)) continue;
    try {
      assertUsableNow(userOffer, { now });
      if (q.storeId) assertStoreAllowed(userOffer, offer, q.storeId);
    } catch (err) {
      if (err instanceof DomainError) continue;
      throw err;
    }
    const discount = discountFor(offer, q.basket);
    if (q.basket && discount.amount <= 0n) continue;
    usable.push({ userOffer, offer, discount });
  }
  return usable;
}
