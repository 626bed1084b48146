// What the admin dashboard reads of the ledger and the balances: the points
// issued, spent and expired per day of the retailer's calendar, what is
// outstanding per account (the program's liability), and which members had an
// entry in a window (a subquery the caller composes).
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { listPointAccounts } from './accounts.js';
import { ZERO, fromDb, type Amount } from './amount.js';
import { effectiveBalance, effectivePending } from './lots.js';

export interface PointsOfDay {
  /** Points deposited (the deposits' sum: campaign and rule awards, manual deposits, settled pending deposits). */
  issued: Amount;
  /** Points spent net of returns: the spends' and forced spends' magnitudes less the returns' amounts. */
  spent: Amount;
  /** Points written off by expiry (magnitude). */
  expired: Amount;
}

/**
 * The retailer's ledger in [from, to) summed per day, each entry in the day of
 * `timeZone` its effective time falls on ('YYYY-MM-DD'); days without an entry
 * are absent. Merges (merge_in, merge_out) move points and count in none.
 */
export async function pointsByDay(db: Db, retailerId: string, from: Date, to: Date, timeZone: string): Promise<Map<string, PointsOfDay>> {
  const { rows } = await sql<{ day: string; issued: string; spent: string; expired: string }>`
    SELECT to_char((effective_at AT TIME ZONE ${timeZone}::text)::date, 'YYYY-MM-DD') AS day,
           coalesce(sum(amount) FILTER (WHERE modification_type = 'deposit'), 0)::text AS issued,
           coalesce(-sum(amount) FILTER (WHERE modification_type IN ('spend', 'forced_spend', 'return')), 0)::text AS spent,
           coalesce(-sum(amount) FILTER (WHERE modification_type = 'expiry'), 0)::text AS expired
      FROM point_ledger
     WHERE retailer_id = ${retailerId} AND effective_at >= ${from} AND effective_at < ${to}
     GROUP BY 1`.execute(db);
  return new Map(rows.map((r) => [r.day, { issued: fromDb(r.issued), spent: fromDb(r.spent), expired: fromDb(r.expired) }]));
}

export interface AccountLiability {
  point_account_id: string;
  name: string;
  /** Available and pending points of every member, as of `now`. */
  outstanding: Amount;
  /** Members whose available and pending points in the account are above zero. */
  members_holding: number;
}

/** What the retailer owes in each of its point accounts (program order), zero where no member holds any. */
export async function pointLiability(db: Db, retailerId: string, now = new Date()): Promise<AccountLiability[]> {
  const [accounts, { rows }] = await Promise.all([
    listPointAccounts(db, retailerId),
    sql<{ point_account_id: string; outstanding: string; holding: number }>`
      SELECT point_account_id, coalesce(sum(held), 0)::text AS outstanding, (count(*) FILTER (WHERE held > 0))::int AS holding
        FROM (SELECT a.point_account_id, (${effectiveBalance('a', now)}) + (${effectivePending('a', now)}) AS held
                FROM member_point_accounts a WHERE a.retailer_id = ${retailerId}) held
       GROUP BY point_account_id`.execute(db),
  ]);
  const byAccount = new Map(rows.map((r) => [r.point_account_id, r]));
  return accounts.map((a) => {
    const row = byAccount.get(a.id);
    return { point_account_id: a.id, name: a.name, outstanding: row ? fromDb(row.outstanding) : ZERO, members_holding: row ? Number(row.holding) : 0 };
  });
}

/** The SELECT of the members (member_id) with a ledger entry effective in [from, to), for a caller's statement. */
export const ledgerMembersBetween = (retailerId: string, from: Date, to: Date) =>
  sql<{ member_id: string }>`SELECT member_id FROM point_ledger WHERE retailer_id = ${retailerId} AND effective_at >= ${from} AND effective_at < ${to}`;
