import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import type { Actor } from '../members/service.js';
import { recordDomainEvents } from '../outbox/service.js';
import { listPointAccounts } from './accounts.js';
import { ZERO, fromDb, positivePart, toDecimal, toJson, type Amount } from './amount.js';
import { drawLots, loadLots } from './lots.js';
import { ledgerEvent } from './ledger.js';

/** What a merge moved of one point account. */
export interface MovedPoints {
  point_account_id: string;
  amount: number;
  life_time_value: number;
}

/**
 * Moves a member's point balances and lifetime values into another member,
 * as ledger entries on both sides (merge_out, merge_in) referencing the
 * merge; the member moved from ends at zero. The caller holds both members'
 * locks. Answers the accounts that held anything.
 */
export async function moveMemberPoints(tx: Db, actor: Actor, fromId: string, intoId: string, mergeId: string, now: Date): Promise<MovedPoints[]> {
  const r = actor.retailerId;
  const accounts = await tx
    .selectFrom('member_point_accounts')
    .select(['point_account_id', 'available_balance', 'life_time_value', 'pending_balance', 'next_change_at'])
    .where('retailer_id', '=', r)
    .where('member_id', '=', fromId)
    .execute();
  const moved: MovedPoints[] = [];
  const names = new Map((await listPointAccounts(tx, r)).map((p) => [p.id, p]));
  for (const a of accounts) {
    const balance = fromDb(a.available_balance);
    const lifetime = fromDb(a.life_time_value);
    const pending = fromDb(a.pending_balance);
    if (balance === ZERO && lifetime === ZERO && pending === ZERO) continue;
    moved.push({ point_account_id: a.point_account_id, amount: toJson(balance), life_time_value: toJson(lifetime) });
    await tx
      .updateTable('member_point_accounts')
      .set({ available_balance: '0', life_time_value: '0', pending_balance: '0', next_change_at: null, updated_at: now })
      .where('retailer_id', '=', r)
      .where('member_id', '=', fromId)
      .where('point_account_id', '=', a.point_account_id)
      .execute();
    await tx
      .insertInto('member_point_accounts')
      .values({ retailer_id: r, member_id: intoId, point_account_id: a.point_account_id, id: randomUUID() })
      .onConflict((oc) => oc.columns(['retailer_id', 'member_id', 'point_account_id']).doNothing())
      .execute();
    const after = await tx
      .updateTable('member_point_accounts')
      .set({
        available_balance: sql`available_balance + ${toDecimal(balance)}::numeric`,
        life_time_value: sql`life_time_value + ${toDecimal(lifetime)}::numeric`,
        pending_balance: sql`pending_balance + ${toDecimal(pending)}::numeric`,
        next_change_at: sql`least(next_change_at, ${a.next_change_at}::timestamptz)`,
        updated_at: now,
      })
      .where('retailer_id', '=', r)
      .where('member_id', '=', intoId)
      .where('point_account_id', '=', a.point_account_id)
      .returning('available_balance')
      .executeTakeFirstOrThrow();
    await moveLots(tx, r, fromId, intoId, a.point_account_id, fromDb(String(after.available_balance)) - balance, balance);
    const entry = { retailer_id: r, point_account_id: a.point_account_id, reference_id: mergeId, reference_type: 'merge', request_id: actor.requestId ?? null, effective_at: now };
    await tx
      .insertInto('point_ledger')
      .values([
        { ...entry, member_id: fromId, amount: toDecimal(-balance), balance_after: '0', modification_type: 'merge_out' },
        { ...entry, member_id: intoId, amount: toDecimal(balance), balance_after: String(after.available_balance), modification_type: 'merge_in' },
      ])
      .execute();
    const account = names.get(a.point_account_id)!;
    const reference = { referenceType: 'merge', referenceId: mergeId };
    recordDomainEvents(tx, [
      ledgerEvent(r, fromId, now, { account, type: 'merge_out', amount: -balance, balanceAfter: ZERO, ...reference }),
      ledgerEvent(r, intoId, now, { account, type: 'merge_in', amount: balance, balanceAfter: fromDb(String(after.available_balance)), ...reference }),
    ]);
  }
  return moved;
}

/**
 * Moves a member's lots of an account into another member's, with their
 * expiry dates: open ones join the survivor's open lot of their bucket (an
 * inactivity lot keeps the later expiry), pending ones move as they are. A
 * debt on either side is paid from the other's points: the survivor's lots
 * are drawn down (soonest-expiring first) to what the sum of both balances leaves.
 */
async function moveLots(tx: Db, r: string, fromId: string, intoId: string, accountId: string, survivorBefore: Amount, moved: Amount): Promise<void> {
  await sql`WITH gone AS (
              UPDATE point_lots l SET state = 'merged', remaining = 0
                FROM (SELECT id, remaining FROM point_lots
                       WHERE retailer_id = ${r} AND member_id = ${fromId} AND point_account_id = ${accountId} AND state = 'open' AND remaining > 0) o
               WHERE l.retailer_id = ${r} AND l.member_id = ${fromId} AND l.id = o.id
              RETURNING l.bucket, l.amount, o.remaining, l.earned_at, l.expires_at, l.notify_at)
            INSERT INTO point_lots AS l (retailer_id, member_id, point_account_id, state, bucket, amount, remaining, earned_at, expires_at, notify_at)
            SELECT ${r}, ${intoId}, ${accountId}, 'open', bucket, amount, remaining, earned_at, expires_at, notify_at FROM gone
            ON CONFLICT (retailer_id, member_id, point_account_id, bucket) WHERE state = 'open'
            DO UPDATE SET amount = l.amount + EXCLUDED.amount, remaining = l.remaining + EXCLUDED.remaining, expires_at = greatest(l.expires_at, EXCLUDED.expires_at)`.execute(tx);
  await sql`UPDATE point_lots SET member_id = ${intoId} WHERE retailer_id = ${r} AND member_id = ${fromId} AND point_account_id = ${accountId} AND state = 'pending'`.execute(tx);
  const excess = positivePart(survivorBefore) + positivePart(moved) - positivePart(survivorBefore + moved);
  if (excess === ZERO) return;
  const lots = (await loadLots(tx, r, intoId, [accountId])).get(accountId)!;
  for (const [id] of drawLots(lots, excess)) {
    const lot = lots.find((l) => l.id === id)!;
    await sql`UPDATE point_lots SET remaining = ${toDecimal(lot.remaining)}::numeric WHERE retailer_id = ${r} AND member_id = ${intoId} AND id = ${id}`.execute(tx);
  }
}
