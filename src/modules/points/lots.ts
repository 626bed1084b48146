/**
 * Point lots (migrations/0015_point_lots.sql): what a member's balance in an
 * account is made of, each with its expiry. The ledger (ledger.ts) plans the
 * lots' changes with each balance change; this file reads them, counts the
 * ones past their instant in every balance read, and settles an account (the
 * worker, or the next change under the member's lock): pending lots that
 * became available are credited, open lots that expired are written off.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { recordDomainEvents } from '../outbox/service.js';
import { planTimeline, type TimelineSubject } from '../timeline/service.js';
import { ZERO, fromDb, min, positivePart, toDecimal, toJson, type Amount } from './amount.js';
import type { PointAccount } from './accounts.js';

export interface Lot {
  id: string;
  point_account_id: string;
  state: 'pending' | 'open' | 'expired' | 'merged' | 'cancelled';
  bucket: string;
  remaining: Amount;
  expires_at: Date | null;
  available_at: Date | null;
  notify_at: Date | null;
  transaction_id: string | null;
  /** (in a change) what a return of its transaction may put back: drawn by its spends and not yet returned */
  returnable?: Amount;
  /** (in a change) points deposited into it */
  added?: Amount;
  /** (in a change) its remaining, expiry or amount changed */
  touched?: boolean;
}

/** A draw from (negative) or a put-back into (positive) a lot, as point_ledger.lots keeps it. */
export type LotMove = [string, string];

/** The open lots holding points and the pending lots of a member's accounts; open ones soonest-expiring first (never last). */
export async function loadLots(db: Db, retailerId: string, memberId: string, accountIds: string[]): Promise<Map<string, Lot[]>> {
  const lots = new Map<string, Lot[]>(accountIds.map((id) => [id, []]));
  if (!accountIds.length) return lots;
  const rows = await db
    .selectFrom('point_lots')
    .select(['id', 'point_account_id', 'state', 'bucket', 'remaining', 'expires_at', 'available_at', 'notify_at', 'transaction_id'])
    .where('retailer_id', '=', retailerId)
    .where('member_id', '=', memberId)
    .where('point_account_id', 'in', accountIds)
    .where((eb) => eb.or([eb.and([eb('state', '=', 'open'), eb('remaining', '>', '0')]), eb('state', '=', 'pending')]))
    .orderBy(sql`expires_at ASC NULLS LAST`)
    .orderBy('id')
    .execute();
  for (const r of rows) lots.get(r.point_account_id)!.push({ ...r, id: String(r.id), state: r.state as Lot['state'], remaining: fromDb(r.remaining) });
  return lots;
}

/**
 * Adds to `lots` the lots a return of `transactionId` may put points back
 * into: those its spends drew from, less what its returns put back, with
 * what is owed to each (`returnable`).
 */
export async function loadReturnable(db: Db, retailerId: string, memberId: string, accountId: string, transactionId: string, lots: Lot[]): Promise<void> {
  const { rows } = await sql<{ id: string; owed: string; state: string; bucket: string; remaining: string; expires_at: Date | null; notify_at: Date | null }>`
    SELECT l.id::text AS id, (-sum((x->>1)::numeric))::text AS owed, l.state, l.bucket, l.remaining::text AS remaining, l.expires_at, l.notify_at
      FROM point_ledger e CROSS JOIN LATERAL jsonb_array_elements(e.lots) x
      JOIN point_lots l ON l.retailer_id = e.retailer_id AND l.member_id = e.member_id AND l.id = (x->>0)::bigint
     WHERE e.retailer_id = ${retailerId} AND e.member_id = ${memberId} AND e.point_account_id = ${accountId} AND e.transaction_id = ${transactionId}
       AND e.modification_type IN ('spend', 'forced_spend', 'return') AND e.lots IS NOT NULL
     GROUP BY l.id, l.state, l.bucket, l.remaining, l.expires_at, l.notify_at
    HAVING sum((x->>1)::numeric) < 0`.execute(db);
  for (const r of rows) {
    const known = lots.find((l) => l.id === r.id);
    if (known) known.returnable = fromDb(r.owed);
    else lots.push({ id: r.id, point_account_id: accountId, state: r.state as Lot['state'], bucket: r.bucket, remaining: fromDb(r.remaining), expires_at: r.expires_at, available_at: null, notify_at: r.notify_at, transaction_id: null, returnable: fromDb(r.owed) });
  }
  // soonest-expiring first, as loadLots answers them
  const rank = (l: Lot) => (l.expires_at ? l.expires_at.getTime() : Infinity);
  lots.sort((x, y) => rank(x) - rank(y) || Number(x.id) - Number(y.id));
}

/** Takes `amount` from the open lots in order (soonest-expiring first); answers the draws. */
export function drawLots(lots: Lot[], amount: Amount): LotMove[] {
  const moves: LotMove[] = [];
  let left = amount;
  for (const lot of lots) {
    if (left === ZERO) break;
    if (lot.state !== 'open' || lot.remaining === ZERO) continue;
    const take = min(lot.remaining, left);
    lot.remaining -= take;
    lot.touched = true;
    left -= take;
    moves.push([lot.id, toDecimal(-take)]);
  }
  return moves;
}

/** `now` as SQL text: the statement's now(), or an instant (a Date's ISO text: never a request's). */
const nowText = (now?: Date) => (now ? `'${now.toISOString()}'::timestamptz` : 'now()');

/**
 * A balance as of `now`, as SQL text: the stored one (the ledger's sum) with
 * the lots past their instant counted at once, before they are settled;
 * `a` names the member_point_accounts row of the caller's statement. Only
 * an account whose next_change_at has passed reads its lots.
 */
export function effectiveBalanceText(a: string, now?: Date): string {
  const t = nowText(now);
  return `CASE WHEN ${a}.next_change_at <= ${t} THEN ${a}.available_balance + coalesce((
      SELECT sum(CASE WHEN l.state = 'pending' THEN l.remaining ELSE -l.remaining END) FROM point_lots l
       WHERE l.retailer_id = ${a}.retailer_id AND l.member_id = ${a}.member_id AND l.point_account_id = ${a}.point_account_id
         AND ((l.state = 'open' AND l.expires_at <= ${t}) OR (l.state = 'pending' AND l.available_at <= ${t} AND (l.expires_at IS NULL OR l.expires_at > ${t})))), 0)
    ELSE ${a}.available_balance END`;
}

/** The pending points of an account as of `now`, as SQL text (those past their instant are available already). */
export function effectivePendingText(a: string, now?: Date): string {
  const t = nowText(now);
  return `CASE WHEN ${a}.next_change_at <= ${t} THEN ${a}.pending_balance - coalesce((
      SELECT sum(l.remaining) FROM point_lots l
       WHERE l.retailer_id = ${a}.retailer_id AND l.member_id = ${a}.member_id AND l.point_account_id = ${a}.point_account_id
         AND l.state = 'pending' AND l.available_at <= ${t}), 0)
    ELSE ${a}.pending_balance END`;
}

export const effectiveBalance = (a: string, now?: Date) => sql<string>`${sql.raw(effectiveBalanceText(a, now))}`;
export const effectivePending = (a: string, now?: Date) => sql<string>`${sql.raw(effectivePendingText(a, now))}`;

/** The next three amounts to expire of the account `a` names after `now`, as SQL text: a json array of [expires_at, amount], null when nothing does (read only for an account with a next instant). */
export const expiringText = (a: string, now?: Date) => `CASE WHEN ${a}.next_change_at IS NULL THEN NULL ELSE (
    SELECT json_agg(json_build_array(x.expires_at, x.amount::text) ORDER BY x.expires_at) FROM (
      SELECT l.expires_at, sum(l.remaining) AS amount FROM point_lots l
       WHERE l.retailer_id = ${a}.retailer_id AND l.member_id = ${a}.member_id AND l.point_account_id = ${a}.point_account_id
         AND l.state = 'open' AND l.remaining > 0 AND l.expires_at > ${nowText(now)}
       GROUP BY l.expires_at ORDER BY l.expires_at LIMIT 3) x) END`;

/**
 * Members with an account past its next instant, soonest first. Not locked
 * here: the caller takes each member's lock (before its accounts' rows, as
 * every change does) and settleLots reads what is due again under it.
 */
export async function dueMembers(tx: Db, now: Date, limit: number): Promise<{ retailer_id: string; member_id: string }[]> {
  const { rows } = await sql<{ retailer_id: string; member_id: string }>`
    SELECT retailer_id, member_id FROM member_point_accounts WHERE next_change_at <= ${now} ORDER BY next_change_at LIMIT ${limit}`.execute(tx);
  const seen = new Set<string>();
  return rows.filter((r) => !seen.has(`${r.retailer_id}/${r.member_id}`) && seen.add(`${r.retailer_id}/${r.member_id}`));
}

/** A ledger entry settling writes: pending points credited, or expired ones written off. */
interface SettledEntry {
  subject: TimelineSubject;
  account: PointAccount;
  amount: Amount;
  after: Amount;
  type: 'deposit' | 'expiry';
  at: Date;
  lots: LotMove[];
}

/** Writes settled entries: their ledger rows in one INSERT, their events (points.available, points.expired) and timeline entries planned. */
async function writeSettled(tx: Db, entries: SettledEntry[]): Promise<void> {
  if (!entries.length) return;
  const magnitude = (x: Amount) => (x < ZERO ? -x : x);
  await tx
    .insertInto('point_ledger')
    .values(
      entries.map((e) => ({
        retailer_id: e.subject.retailerId,
        member_id: e.subject.memberId,
        point_account_id: e.account.id,
        amount: toDecimal(e.amount),
        balance_after: toDecimal(e.after),
        modification_type: e.type,
        lots: JSON.stringify(e.lots),
        effective_at: e.at,
      })),
    )
    .execute();
  recordDomainEvents(
    tx,
    entries.map((e) => ({
      type: e.type === 'deposit' ? ('points.available' as const) : ('points.expired' as const),
      retailerId: e.subject.retailerId,
      memberId: e.subject.memberId,
      occurredAt: e.at,
      payload: { point_account_id: e.account.id, account_name: e.account.name, modification_type: e.type, amount: toDecimal(magnitude(e.amount)), balance_after: toDecimal(e.after), point_source_id: null, reference_type: null, reference_id: null, transaction_id: null },
    })),
  );
  for (const e of entries) {
    planTimeline(tx, e.subject, [
      { type: e.type === 'deposit' ? 'INCENTIVES_POINT_DEPOSIT' : 'POINTS_EXPIRED', occurredAt: e.at, payload: { modification_type: e.type, amount: toJson(magnitude(e.amount)), point_account_id: e.account.id, account_name: e.account.name } },
    ]);
  }
}

/** An account's next instant, recomputed from its lots (SQL text for `a`, a member_point_accounts row). */
const nextChangeText = (a: string) => `(SELECT min(CASE WHEN l.state = 'pending' THEN l.available_at ELSE least(l.notify_at, l.expires_at) END) FROM point_lots l
    WHERE l.retailer_id = ${a}.retailer_id AND l.member_id = ${a}.member_id AND l.point_account_id = ${a}.point_account_id
      AND (l.state = 'pending' OR (l.state = 'open' AND l.remaining > 0 AND l.expires_at IS NOT NULL)))`;

/**
 * Of these members (their locks held), those with pending points past
 * their instant or a notice due: releaseAndNotify does theirs one at a
 * time; what every member has to write off expireLots does at once.
 */
export async function membersWithReleasesOrNotices(tx: Db, members: { retailer_id: string; member_id: string }[], now: Date): Promise<Set<string>> {
  if (!members.length) return new Set();
  const { rows } = await sql<{ retailer_id: string; member_id: string }>`
    SELECT DISTINCT l.retailer_id, l.member_id FROM point_lots l
      JOIN unnest(${members.map((x) => x.retailer_id)}::uuid[], ${members.map((x) => x.member_id)}::uuid[]) AS k(retailer_id, member_id)
        ON l.retailer_id = k.retailer_id AND l.member_id = k.member_id
     WHERE (l.state = 'pending' AND l.available_at <= ${now}) OR (l.state = 'open' AND l.notify_at <= ${now})`.execute(tx);
  return new Set(rows.map((r) => `${r.retailer_id}/${r.member_id}`));
}

/**
 * Writes off the open lots past their instant of many members at once,
 * their locks held (after releaseAndNotify, for those that need it): one
 * statement for the lots, one for the
 * balances and next instants, one for the ledger; one `expiry` entry per
 * member and account, with its event and timeline entry.
 */
export async function expireLots(tx: Db, subjects: TimelineSubject[], accounts: Map<string, Map<string, PointAccount>>, now: Date): Promise<number> {
  if (!subjects.length) return 0;
  const [r, m] = [subjects.map((x) => x.retailerId), subjects.map((x) => x.memberId)];
  const { rows: gone } = await sql<{ retailer_id: string; member_id: string; point_account_id: string; id: string; remaining: string }>`
    UPDATE point_lots l SET state = 'expired', remaining = 0
      FROM (SELECT p.retailer_id, p.member_id, p.id, p.remaining FROM point_lots p
              JOIN unnest(${r}::uuid[], ${m}::uuid[]) AS k(retailer_id, member_id) ON p.retailer_id = k.retailer_id AND p.member_id = k.member_id
             WHERE p.state = 'open' AND p.expires_at <= ${now}) o
     WHERE l.retailer_id = o.retailer_id AND l.member_id = o.member_id AND l.id = o.id
    RETURNING l.retailer_id, l.member_id, l.point_account_id, l.id::text AS id, o.remaining::text AS remaining`.execute(tx);
  const expired = new Map<string, { amount: Amount; lots: LotMove[] }>();
  for (const g of gone) {
    const amount = fromDb(g.remaining);
    if (amount === ZERO) continue;
    const key = `${g.retailer_id}/${g.member_id}/${g.point_account_id}`;
    const e = expired.get(key) ?? { amount: ZERO, lots: [] };
    e.amount += amount;
    e.lots.push([g.id, toDecimal(-amount)]);
    expired.set(key, e);
  }
  const keys = [...expired.keys()].map((k) => k.split('/'));
  const { rows: after } = await sql<{ retailer_id: string; member_id: string; point_account_id: string; balance: string }>`
    UPDATE member_point_accounts a
       SET available_balance = a.available_balance - coalesce((
             SELECT e.amount FROM unnest(${keys.map((k) => k[0])}::uuid[], ${keys.map((k) => k[1])}::uuid[], ${keys.map((k) => k[2])}::uuid[],
                                         ${[...expired.values()].map((e) => toDecimal(e.amount))}::numeric[]) AS e(retailer_id, member_id, point_account_id, amount)
              WHERE e.retailer_id = a.retailer_id AND e.member_id = a.member_id AND e.point_account_id = a.point_account_id), 0),
           next_change_at = ${sql.raw(nextChangeText('a'))}, updated_at = ${now}
      FROM unnest(${r}::uuid[], ${m}::uuid[]) AS k(retailer_id, member_id)
     WHERE a.retailer_id = k.retailer_id AND a.member_id = k.member_id AND a.next_change_at <= ${now}
    RETURNING a.retailer_id, a.member_id, a.point_account_id, a.available_balance::text AS balance`.execute(tx);
  const subjectOf = new Map(subjects.map((x) => [`${x.retailerId}/${x.memberId}`, x]));
  await writeSettled(
    tx,
    after.flatMap((row) => {
      const e = expired.get(`${row.retailer_id}/${row.member_id}/${row.point_account_id}`);
      const account = accounts.get(row.retailer_id)?.get(row.point_account_id);
      return e && account ? [{ subject: subjectOf.get(`${row.retailer_id}/${row.member_id}`)!, account, amount: -e.amount, after: fromDb(row.balance), type: 'expiry' as const, at: now, lots: e.lots }] : [];
    }),
  );
  return gone.length;
}

/**
 * Settles a member's accounts as of `now`, under the member's lock: pending
 * lots past their instant become available, notices due are told, then open
 * lots past their instant are written off (expireLots).
 */
export async function settleLots(tx: Db, subject: TimelineSubject, accounts: Map<string, PointAccount>, now: Date): Promise<void> {
  await releaseAndNotify(tx, subject, accounts, now);
  await expireLots(tx, [subject], new Map([[subject.retailerId, accounts]]), now);
}

/**
 * A member's pending lots past their instant credited (a `deposit` entry,
 * points.available; what a debt does not take goes into the open lot of
 * their expiry) and its notices due told (points.expiring), under its lock.
 * The accounts' next instants are left to expireLots, which runs after.
 */
export async function releaseAndNotify(tx: Db, subject: TimelineSubject, accounts: Map<string, PointAccount>, now: Date): Promise<void> {
  const { retailerId, memberId } = subject;
  const due = await tx
    .selectFrom('member_point_accounts')
    .select(['point_account_id', 'available_balance'])
    .where('retailer_id', '=', retailerId)
    .where('member_id', '=', memberId)
    .where('next_change_at', '<=', now)
    .execute();
  for (const row of due) {
    const account = accounts.get(row.point_account_id);
    const lots = (await loadLots(tx, retailerId, memberId, [row.point_account_id])).get(row.point_account_id)!;
    let balance = fromDb(row.available_balance);
    // the balance as far as paying a debt goes: without the points that expired before they were released
    let paying = balance;
    let released = ZERO;
    const ledger: { amount: Amount; after: Amount; type: 'deposit'; at: Date; lots: LotMove[] }[] = [];
    for (const lot of lots.filter((l) => l.state === 'pending' && l.available_at! <= now).sort((x, y) => +x.available_at! - +y.available_at!)) {
      if (lot.remaining === ZERO) {
        // taken back entirely while pending: nothing becomes available
        await sql`UPDATE point_lots SET state = 'cancelled' WHERE retailer_id = ${retailerId} AND member_id = ${memberId} AND id = ${lot.id}`.execute(tx);
        continue;
      }
      balance += lot.remaining;
      released += lot.remaining;
      // points that expired before they were released pay no debt (whichever lot comes first): they are written off just after
      const expired = !!lot.expires_at && lot.expires_at <= now;
      const before = paying;
      if (!expired) paying += lot.remaining;
      const kept = expired ? lot.remaining : positivePart(paying) - positivePart(before);
      ledger.push({ amount: lot.remaining, after: balance, type: 'deposit', at: lot.available_at!, lots: lot.bucket === 'never' ? [] : [[lot.id, toDecimal(kept)]] });
      if (lot.bucket === 'never') {
        // points that never expire join the balance's never-expiring rest
        await sql`UPDATE point_lots SET state = 'merged', remaining = 0 WHERE retailer_id = ${retailerId} AND member_id = ${memberId} AND id = ${lot.id}`.execute(tx);
        continue;
      }
      await sql`WITH bucket AS (
                  UPDATE point_lots SET amount = amount + ${toDecimal(lot.remaining)}::numeric, remaining = remaining + ${toDecimal(kept)}::numeric
                   WHERE retailer_id = ${retailerId} AND member_id = ${memberId} AND point_account_id = ${lot.point_account_id} AND state = 'open' AND bucket = ${lot.bucket}
                  RETURNING id)
                UPDATE point_lots SET state = CASE WHEN EXISTS (SELECT 1 FROM bucket) THEN 'merged' ELSE 'open' END,
                                      remaining = CASE WHEN EXISTS (SELECT 1 FROM bucket) THEN 0 ELSE ${toDecimal(kept)}::numeric END,
                                      merged_into = (SELECT id FROM bucket)
                 WHERE retailer_id = ${retailerId} AND member_id = ${memberId} AND id = ${lot.id}`.execute(tx);
    }
    // points still to expire whose notice is due: told once per expiry instant
    const { rows: told } = await sql<{ expires_at: Date; amount: string }>`
      WITH due AS (
        UPDATE point_lots SET notify_at = NULL
         WHERE retailer_id = ${retailerId} AND member_id = ${memberId} AND point_account_id = ${row.point_account_id} AND state = 'open' AND notify_at <= ${now}
        RETURNING expires_at, remaining)
      SELECT expires_at, sum(remaining)::text AS amount FROM due WHERE remaining > 0 AND expires_at > ${now} GROUP BY expires_at ORDER BY expires_at`.execute(tx);
    if (account && told.length) {
      recordDomainEvents(
        tx,
        told.map((t) => ({ type: 'points.expiring' as const, retailerId, memberId, occurredAt: now, payload: { point_account_id: account.id, account_name: account.name, amount: toDecimal(fromDb(t.amount)), expires_at: new Date(t.expires_at).toISOString() } })),
      );
    }
    if (released === ZERO) continue;
    await sql`UPDATE member_point_accounts
                 SET available_balance = ${toDecimal(balance)}::numeric, pending_balance = pending_balance - ${toDecimal(released)}::numeric,
                     life_time_value = life_time_value + ${toDecimal(released)}::numeric, updated_at = ${now}
               WHERE retailer_id = ${retailerId} AND member_id = ${memberId} AND point_account_id = ${row.point_account_id}`.execute(tx);
    if (account) await writeSettled(tx, ledger.map((e) => ({ ...e, subject, account })));
  }
}
