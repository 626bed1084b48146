/**
 * The redemption paths of Connect and the till, each one transaction: a
 * member's offer revoked, changed, redeemed, locked to a transaction,
 * unlocked or reinstated (the offers module checks and writes; the ledger is
 * not involved).
 */
import { transact } from '../db/unit-of-work.js';
import type { Db } from '../db/index.js';
import { DomainError } from '../errors.js';
import type { Actor } from '../modules/members/service.js';
import {
  findUserOffer,
  findUserOfferByLookup,
  lockUserOfferFor,
  redeemUserOffer,
  reinstateUserOffer,
  revokeUserOffer,
  unlockUserOffer,
  updateUserOffer,
  type RedemptionContext,
  type UserOfferChanges,
} from '../modules/offers/user-offers.js';

export const revokeOffer = (db: Db, actor: Actor, userOfferId: string, reason?: string) => transact(db, (tx) => revokeUserOffer(tx, actor, userOfferId, reason));

export const changeUserOffer = (db: Db, actor: Actor, userOfferId: string, changes: UserOfferChanges, memberId?: string) => transact(db, (tx) => updateUserOffer(tx, actor, userOfferId, changes, memberId));

/** Redeems one use of a user offer, or (lockOnly) locks it to the context's transaction. */
export const redeemOffer = (db: Db, actor: Actor, userOfferId: string, ctx: RedemptionContext, options: { lockOnly?: boolean } = {}) =>
  transact(db, (tx) => (options.lockOnly ? lockUserOfferFor(tx, actor, userOfferId, ctx) : redeemUserOffer(tx, actor, userOfferId, ctx)));

/** A redemption by hand (no basket), of an offer that must be the named member's when one is named. */
export const redeemMemberOffer = (db: Db, actor: Actor, userOfferId: string, memberId: string | undefined, ctx: RedemptionContext) =>
  transact(db, async (tx) => {
    const uo = await findUserOffer(tx, actor.retailerId, userOfferId);
    if (memberId && uo && uo.member_id !== memberId) throw new DomainError('user_offer_not_found', `user offer ${userOfferId} does not belong to user ${memberId}`, 'user_offer_id');
    return redeemUserOffer(tx, actor, userOfferId, ctx);
  });

export const lockOffer = (db: Db, actor: Actor, userOfferId: string, ctx: RedemptionContext) => transact(db, (tx) => lockUserOfferFor(tx, actor, userOfferId, ctx));

export const unlockOffer = (db: Db, actor: Actor, userOfferId: string, options: { force?: boolean; transactionKey?: string }) => transact(db, (tx) => unlockUserOffer(tx, actor, userOfferId, options));

export const reinstateOffer = (db: Db, actor: Actor, userOfferId: string) => transact(db, (tx) => reinstateUserOffer(tx, actor, userOfferId));

/** At the till: the offer named by a lookup code (its id or redemption code) redeemed, or locked to the transaction. */
export const redeemAtTill = (db: Db, actor: Actor, lookup: { code: string; type?: string }, ctx: RedemptionContext, options: { lockOnly?: boolean } = {}) =>
  transact(db, async (tx) => {
    const uo = await findUserOfferByLookup(tx, actor.retailerId, lookup.code, lookup.type);
    return options.lockOnly ? lockUserOfferFor(tx, actor, uo.id, ctx) : redeemUserOffer(tx, actor, uo.id, ctx);
  });
