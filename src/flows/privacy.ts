/** A member's privacy requests, each one transaction under the member's lock (the worker carries out forget and export later). */
import { transact } from '../db/unit-of-work.js';
import type { Db } from '../db/index.js';
import { lockMember, type Actor } from '../modules/members/service.js';
import { cancelPrivacyRequest, requestPrivacyAction, restrictMember } from '../modules/privacy/service.js';

/** Files a forget or export request, carried out after the grace period. */
export const askPrivacy = (db: Db, actor: Actor, memberId: string, type: 'forget' | 'export', graceSeconds: number) =>
  transact(db, async (tx) => requestPrivacyAction(tx, actor, await lockMember(tx, actor.retailerId, memberId), type, graceSeconds));

/** Restricts processing of the member's data, or reinstates it. */
export const setRestriction = (db: Db, actor: Actor, memberId: string, restrict: boolean) =>
  transact(db, async (tx) => restrictMember(tx, actor, await lockMember(tx, actor.retailerId, memberId), restrict));

export const cancelPrivacy = (db: Db, actor: Actor, memberId: string, requestId: string) => transact(db, (tx) => cancelPrivacyRequest(tx, actor, memberId, requestId));
