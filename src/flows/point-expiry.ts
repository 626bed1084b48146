import type { Db } from '../db/index.js';
import { subjectOf, tryLockMembers } from '../modules/members/service.js';
import { listPointAccounts, type PointAccount } from '../modules/points/accounts.js';
import { dueMembers, expireLots, membersWithReleasesOrNotices, releaseAndNotify } from '../modules/points/lots.js';

/**
 * Settles the lots of members whose accounts have passed their next
 * instant, as of `now`, in the caller's transaction: members with pending
 * points to credit or a notice due have those done one at a time
 * (releaseAndNotify), then the whole batch's expired points are written off
 * at once (expireLots).
 * A member another transaction holds is left for the next run (its own next
 * change settles it first anyway). Answers how many members it settled.
 */
export async function settleDuePoints(tx: Db, now = new Date(), limit = 500): Promise<number> {
  const locked = await tryLockMembers(tx, await dueMembers(tx, now, limit));
  if (!locked.length) return 0;
  const accounts = new Map<string, Map<string, PointAccount>>();
  for (const retailerId of new Set(locked.map((m) => m.retailer_id))) accounts.set(retailerId, new Map((await listPointAccounts(tx, retailerId)).map((a) => [a.id, a])));
  const oneByOne = await membersWithReleasesOrNotices(tx, locked.map((m) => ({ retailer_id: m.retailer_id, member_id: m.id })), now);
  const subjects = locked.map((m) => ({ m, subject: subjectOf({ retailerId: m.retailer_id }, m) }));
  for (const { m, subject } of subjects.filter(({ m }) => oneByOne.has(`${m.retailer_id}/${m.id}`))) await releaseAndNotify(tx, subject, accounts.get(m.retailer_id)!, now);
  await expireLots(tx, subjects.map((x) => x.subject), accounts, now);
  return locked.length;
}
