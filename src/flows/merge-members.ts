import { transact } from '../db/unit-of-work.js';
import type { Db } from '../db/index.js';
import type { Actor } from '../modules/members/service.js';
import { mergeMembers, type MemberRef } from '../modules/merge/service.js';

/** Merges the victim into the survivor in one transaction (the merge module moves each domain's data through its owner). */
export const mergeAccounts = (db: Db, actor: Actor, survivor: MemberRef, victim: MemberRef) => transact(db, (tx) => mergeMembers(tx, actor, survivor, victim));
