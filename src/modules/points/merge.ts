import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import type { Actor } from '../members/service.js';
import { recordDomainEvents } from '../outbox/service.js';
import { listPointAccounts } from './accounts.js';
import { ZERO, fromDb, toDecimal, toJson } from './amount.js';
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
  const accounts = await tx.selectFrom('member_point_accounts').select(['point_account_id', 'available_balance', 'life_time_value']).where('retailer_id', '=', r).where('member_id', '=', fromId).execute();
  const moved: MovedPoints[] = [];
  const names = new Map((await listPointAccounts(tx, r)).map((p) => [p.id, p]));
  for (const a of accounts) {
    const balance = fromDb(a.available_balance);
    const lifetime = fromDb(a.life_time_value);
    if (balance === ZERO && lifetime === ZERO) continue;
    moved.push({ point_account_id: a.point_account_id, amount: toJson(balance), life_time_value: toJson(lifetime) });
    await tx.updateTable('member_point_accounts').set({ available_balance: '0', life_time_value: '0', updated_at: now }).where('retailer_id', '=', r).where('member_id', '=', fromId).where('point_account_id', '=', a.point_account_id).execute();
    await tx
      .insertInto('member_point_accounts')
      .values({ retailer_id: r, member_id: intoId, point_account_id: a.point_account_id, id: randomUUID() })
      .onConflict((oc) => oc.columns(['retailer_id', 'member_id', 'point_account_id']).doNothing())
      .execute();
    const after = await tx
      .updateTable('member_point_accounts')
      .set({ available_balance: sql`available_balance + ${toDecimal(balance)}::numeric`, life_time_value: sql`life_time_value + ${toDecimal(lifetime)}::numeric`, updated_at: now })
      .where('retailer_id', '=', r)
      .where('member_id', '=', intoId)
      .where('point_account_id', '=', a.point_account_id)
      .returning('available_balance')
      .executeTakeFirstOrThrow();
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
