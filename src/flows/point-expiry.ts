import type { Db } from '../db/index.js';
import { subjectOf, tryLockMember } from '../modules/members/service.js';
import { listPointAccounts } from '../modules/points/accounts.js';
import { dueMembers, settleLots } from '../modules/points/lots.js';

/**
 * Settles the lots of members whose accounts have passed their next
 * instant, as of `now`, in the caller's transaction: pending points become
 * available, expired ones are written off (lots.ts settleLots). A member
 * another transaction holds is left for the next run (its own next change
 * settles it first anyway). Answers how many members it settled.
 */
export async function settleDuePoints(tx: Db, now = new Date(), limit = 200): Promise<number> {
  let settled = 0;
  for (const due of await dueMembers(tx, now, limit)) {
    const member = await tryLockMember(tx, due.retailer_id, due.member_id);
    if (!member) continue;
    const accounts = new Map((await listPointAccounts(tx, due.retailer_id)).map((a) => [a.id, a]));
    await settleLots(tx, subjectOf({ retailerId: due.retailer_id }, member), accounts, now);
    settled++;
  }
  return settled;
}
