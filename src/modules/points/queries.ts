import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';
import { isUuid } from '../../lib/ids.js';
import { listPointAccounts } from './accounts.js';
import { ZERO, fromDb, type Amount } from './amount.js';
import { effectiveBalance, effectiveBalanceText, effectivePending, effectivePendingText, expiringText } from './lots.js';

export interface AccountBalance {
  account_name: string;
  /** Empty until the member first uses the account. */
  user_point_account_id: string;
  point_account_id: string;
  grouping_label: string;
  available_balance: Amount;
  life_time_value: Amount;
  /** Deposited, not yet available (where the read asks for it). */
  pending_balance?: Amount;
  /** The next amounts to expire, soonest first (accounts with an expiry policy). */
  expiring_points?: { amount: Amount; expires_at: Date }[];
}

export interface Balances {
  details: AccountBalance[];
  total_points: Amount;
  life_time_points: Amount;
}

/** The member's balance in each of the retailer's point accounts (or the given ones) as of `now`, zero where unused. */
export async function memberBalances(db: Db, retailerId: string, memberId: string, pointAccountIds?: string[], now?: Date): Promise<Balances> {
  const wanted = pointAccountIds?.length ? new Set(pointAccountIds.map((id) => id.toLowerCase())) : undefined;
  const accounts = (await listPointAccounts(db, retailerId)).filter((a) => !wanted || wanted.has(a.id));
  if (wanted) {
    const missing = [...wanted].find((id) => !accounts.some((a) => a.id === id));
    if (missing) throw new DomainError('point_account_not_found', `point_account_ids: point account ${missing} not found`, 'point_account_ids');
  }
  const rows = accounts.length
    ? await db
        .selectFrom('member_point_accounts as a')
        .select([
          'a.point_account_id',
          'a.id',
          effectiveBalance('a', now).as('available_balance'),
          'a.life_time_value',
          effectivePending('a', now).as('pending_balance'),
          sql<[string, string][] | null>`${sql.raw(expiringText('a', now))}`.as('expiring'),
        ])
        .where('a.retailer_id', '=', retailerId)
        .where('a.member_id', '=', memberId)
        .execute()
    : [];
  const byAccount = new Map(rows.map((r) => [r.point_account_id, r]));
  const details = accounts.map((a) => {
    const row = byAccount.get(a.id);
    return {
      account_name: a.name,
      user_point_account_id: row?.id ?? '',
      point_account_id: a.id,
      grouping_label: a.grouping_label,
      available_balance: row ? fromDb(row.available_balance) : ZERO,
      life_time_value: row ? fromDb(row.life_time_value) : ZERO,
      pending_balance: row ? fromDb(row.pending_balance) : ZERO,
      expiring_points: row?.expiring?.map(([at, amount]) => ({ amount: fromDb(amount), expires_at: new Date(at) })),
    };
  });
  return {
    details,
    total_points: details.reduce((s, d) => s + d.available_balance, ZERO),
    life_time_points: details.reduce((s, d) => s + d.life_time_value, ZERO),
  };
}

/** Spendable points shown on the profile: the default accounts' balances (all accounts when none is default). */
export async function availablePoints(db: Db, retailerId: string, memberId: string): Promise<Amount> {
  const accounts = await listPointAccounts(db, retailerId);
  const defaults = accounts.filter((a) => a.is_default);
  const ids = (defaults.length ? defaults : accounts).map((a) => a.id);
  if (!ids.length) return ZERO;
  const row = await db
    .selectFrom('member_point_accounts as a')
    .select(sql<string>`coalesce(sum(${effectiveBalance('a')}), 0)`.as('total'))
    .where('a.retailer_id', '=', retailerId)
    .where('a.member_id', '=', memberId)
    .where('a.point_account_id', 'in', ids)
    .executeTakeFirstOrThrow();
  return fromDb(row.total);
}

/**
 * A member's point account as the lookup reads it: [point_account_id, id,
 * available_balance, life_time_value, pending_balance, the next expiring
 * amounts ([[expires_at, amount], …], null when nothing expires)], amounts as text.
 */
export type BalanceTuple = [string, string, string, string, string, [string, string][] | null];

/**
 * The SELECT of a member's point accounts as a json array of BalanceTuple
 * (null without any), as SQL text for a caller's raw statement: `retailer`
 * and `member` are expressions of that statement (its text stays constant).
 */
export const balanceTuplesText = (retailer: string, member: string) => `(SELECT json_agg(json_build_array(a.point_account_id, a.id, (${effectiveBalanceText('a')})::text, a.life_time_value::text,
                                             (${effectivePendingText('a')})::text, ${expiringText('a')}))
     FROM member_point_accounts a WHERE a.retailer_id = ${retailer} AND a.member_id = ${member})`;

/** The member's lifetime points in each of `accountIds` it has used. */
export async function memberLifetimePoints(db: Db, retailerId: string, memberId: string, accountIds: string[]): Promise<Map<string, Amount>> {
  const rows = await db
    .selectFrom('member_point_accounts')
    .select(['point_account_id', 'life_time_value as value'])
    .where('retailer_id', '=', retailerId)
    .where('member_id', '=', memberId)
    .where('point_account_id', 'in', accountIds)
    .execute();
  return new Map(rows.map((r) => [r.point_account_id, fromDb(r.value)]));
}

/** The SELECT of memberLifetimePoints as one json column ([{ point_account_id, value }], value as text), for a caller's statement. */
export const memberLifetimePointsJson = (retailerId: string, memberId: string, accountIds: string[]) =>
  sql<{ point_account_id: string; value: string }[]>`(SELECT coalesce(json_agg(json_build_object('point_account_id', point_account_id, 'value', life_time_value::text)), '[]'::json)
              FROM member_point_accounts WHERE retailer_id = ${retailerId} AND member_id = ${memberId} AND point_account_id = ANY(${accountIds}::uuid[]))`;

/** The points deposited (or merged in) into each of `accountIds` after `after`, for the accounts that had any. */
export async function pointsDepositedAfter(db: Db, retailerId: string, memberId: string, accountIds: string[], after: Date): Promise<Map<string, Amount>> {
  const rows = await db
    .selectFrom('point_ledger')
    .select(['point_account_id', sql<string>`sum(amount)`.as('value')])
    .where('retailer_id', '=', retailerId)
    .where('member_id', '=', memberId)
    .where('point_account_id', 'in', accountIds)
    .where('modification_type', 'in', ['deposit', 'merge_in'])
    .where('effective_at', '>', after)
    .groupBy('point_account_id')
    .execute();
  return new Map(rows.map((r) => [r.point_account_id, fromDb(r.value)]));
}

/** The member's entries of `referenceType` that added points, effective at `since` or later. */
export async function pointsAddedSince(db: Db, retailerId: string, memberId: string, referenceType: string, since: Date): Promise<{ point_account_id: string; amount: Amount }[]> {
  const rows = await db
    .selectFrom('point_ledger')
    .select(['point_account_id', 'amount'])
    .where('retailer_id', '=', retailerId)
    .where('member_id', '=', memberId)
    .where('reference_type', '=', referenceType)
    .where('effective_at', '>=', since)
    .where('amount', '>', '0')
    .execute();
  return rows.map((r) => ({ point_account_id: r.point_account_id, amount: fromDb(r.amount) }));
}

export interface AuditQuery {
  pointSourceIds?: string[];
  pointAccountIds?: string[];
  modificationTypes?: string[];
  /** The listed modification types are left out instead of kept. */
  excludeModificationTypes?: boolean;
  from?: Date;
  to?: Date;
  skip: number;
  take: number;
}

export interface AuditEntry {
  id: number;
  point_account_id: string;
  account_name: string;
  user_point_account_id: string;
  amount: Amount;
  balance_after: Amount;
  modification_type: string;
  point_source_id: string | null;
  point_source_name: string | null;
  reference_id: string | null;
  reference_type: string | null;
  transaction_id: string | null;
  idempotency_id: string | null;
  request_id: string | null;
  effective_at: Date;
  inserted_at: Date;
}

/** Every change of the member's balances, newest first, filtered and paged. */
export async function auditLog(db: Db, retailerId: string, memberId: string, q: AuditQuery): Promise<{ total: number; entries: AuditEntry[] }> {
  let base = db
    .selectFrom('point_ledger as l')
    .where('l.retailer_id', '=', retailerId)
    .where('l.member_id', '=', memberId);
  // ids that are not UUIDs can match no entry (and PostgreSQL would refuse them as uuid)
  const uuids = (ids: string[]) => ids.filter(isUuid).map((id) => id.toLowerCase());
  if (q.pointSourceIds?.length) base = uuids(q.pointSourceIds).length ? base.where('l.point_source_id', 'in', uuids(q.pointSourceIds)) : base.where(sql<boolean>`false`);
  if (q.pointAccountIds?.length) base = uuids(q.pointAccountIds).length ? base.where('l.point_account_id', 'in', uuids(q.pointAccountIds)) : base.where(sql<boolean>`false`);
  if (q.modificationTypes?.length) base = base.where('l.modification_type', q.excludeModificationTypes ? 'not in' : 'in', q.modificationTypes);
  if (q.from) base = base.where('l.effective_at', '>=', q.from);
  if (q.to) base = base.where('l.effective_at', '<=', q.to);
  const { total } = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  // A page further in starts at its first entry, whose key the ledger's primary key
  // finds alone (an index-only scan over the skipped entries): an OFFSET would read
  // and join every skipped entry's row, a cost growing with the page's depth.
  const first = base.select(['l.effective_at', 'l.id']).orderBy('l.effective_at', 'desc').orderBy('l.id', 'desc').offset(q.skip).limit(1);
  const page = q.skip > 0 ? base.where(sql<boolean>`(l.effective_at, l.id) <= ${first}`) : base;
  const rows = await page
    .innerJoin('point_accounts as a', (j) => j.onRef('a.retailer_id', '=', 'l.retailer_id').onRef('a.id', '=', 'l.point_account_id'))
    .innerJoin('member_point_accounts as m', (j) => j.onRef('m.retailer_id', '=', 'l.retailer_id').onRef('m.member_id', '=', 'l.member_id').onRef('m.point_account_id', '=', 'l.point_account_id'))
    .leftJoin('point_sources as s', (j) => j.onRef('s.retailer_id', '=', 'l.retailer_id').onRef('s.id', '=', 'l.point_source_id'))
    .select([
      'l.id', 'l.point_account_id', 'a.name as account_name', 'm.id as user_point_account_id', 'l.amount', 'l.balance_after', 'l.modification_type',
      'l.point_source_id', 's.name as point_source_name', 'l.reference_id', 'l.reference_type', 'l.transaction_id', 'l.idempotency_id', 'l.request_id',
      'l.effective_at', 'l.inserted_at',
    ])
    .orderBy('l.effective_at', 'desc')
    .orderBy('l.id', 'desc')
    .limit(q.take)
    .execute();
  return {
    total: Number(total),
    entries: rows.map((r) => ({ ...r, amount: fromDb(r.amount), balance_after: fromDb(r.balance_after) })) as AuditEntry[],
  };
}

export interface LedgerPageQuery {
  /** Entries after this one in the order (older): an id a previous page answered. */
  before?: number;
  limit: number;
  pointAccountIds?: string[];
  modificationTypes?: string[];
}

/**
 * A page of the member's ledger, newest first (by effective time, then id, as
 * auditLog orders it) and filtered; `nextBefore` is the last entry's id when
 * more follow. A `before` that is not one of the member's entries is refused
 * (argument_error, before).
 */
export async function ledgerPage(db: Db, retailerId: string, memberId: string, q: LedgerPageQuery): Promise<{ entries: AuditEntry[]; nextBefore: number | null }> {
  let base = db
    .selectFrom('point_ledger as l')
    .where('l.retailer_id', '=', retailerId)
    .where('l.member_id', '=', memberId);
  if (q.pointAccountIds?.length) {
    const uuids = q.pointAccountIds.filter(isUuid).map((id) => id.toLowerCase());
    base = uuids.length ? base.where('l.point_account_id', 'in', uuids) : base.where(sql<boolean>`false`);
  }
  if (q.modificationTypes?.length) base = base.where('l.modification_type', 'in', q.modificationTypes);
  if (q.before !== undefined) {
    const cursor = await db
      .selectFrom('point_ledger')
      .select(['effective_at', 'id'])
      .where('retailer_id', '=', retailerId)
      .where('member_id', '=', memberId)
      .where('id', '=', q.before)
      .executeTakeFirst();
    if (!cursor) throw new DomainError('argument_error', `before: ${q.before} is not an entry of the member's ledger`, 'before');
    base = base.where(sql<boolean>`(l.effective_at, l.id) < (${cursor.effective_at}, ${cursor.id})`);
  }
  const rows = await base
    .innerJoin('point_accounts as a', (j) => j.onRef('a.retailer_id', '=', 'l.retailer_id').onRef('a.id', '=', 'l.point_account_id'))
    .innerJoin('member_point_accounts as m', (j) => j.onRef('m.retailer_id', '=', 'l.retailer_id').onRef('m.member_id', '=', 'l.member_id').onRef('m.point_account_id', '=', 'l.point_account_id'))
    .leftJoin('point_sources as s', (j) => j.onRef('s.retailer_id', '=', 'l.retailer_id').onRef('s.id', '=', 'l.point_source_id'))
    .select([
      'l.id', 'l.point_account_id', 'a.name as account_name', 'm.id as user_point_account_id', 'l.amount', 'l.balance_after', 'l.modification_type',
      'l.point_source_id', 's.name as point_source_name', 'l.reference_id', 'l.reference_type', 'l.transaction_id', 'l.idempotency_id', 'l.request_id',
      'l.effective_at', 'l.inserted_at',
    ])
    .orderBy('l.effective_at', 'desc')
    .orderBy('l.id', 'desc')
    .limit(q.limit + 1)
    .execute();
  const more = rows.length > q.limit;
  const entries = (more ? rows.slice(0, q.limit) : rows).map((r) => ({ ...r, id: Number(r.id), amount: fromDb(r.amount), balance_after: fromDb(r.balance_after) })) as AuditEntry[];
  return { entries, nextBefore: more ? entries.at(-1)!.id : null };
}
