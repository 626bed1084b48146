import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/index.js';
import { sql, type OperationNodeSource } from 'kysely';
import { DomainError, type ErrorCode } from '../../errors.js';
import type { Actor, MemberSummary } from '../members/service.js';
import { subjectOf } from '../members/service.js';
import { asCtes, unitOf } from '../../db/unit-of-work.js';
import { recordDomainEvents, type NewEvent } from '../outbox/service.js';
import { planTimeline, type TimelineEntry } from '../timeline/service.js';
import { listPointAccounts, listPointSources, type PointAccount } from './accounts.js';
import { ZERO, fromDb, min, toDecimal, toJson, type Amount } from './amount.js';

export type ModificationType = 'deposit' | 'spend' | 'forced_spend' | 'return' | 'expiry' | 'merge_in' | 'merge_out';

interface DetailCommon {
  point_source_id?: string;
  reference_id?: string;
  reference_type?: string;
  transaction_id?: string;
  /** A retry with the same id applies nothing and gets the first answer. */
  idempotency_id?: string;
  /** Details apply in rank order (then in request order). */
  rank?: number;
}

export interface DepositDetail extends DetailCommon {
  kind: 'deposit';
  point_account_id: string;
  amount: Amount;
}

export interface SpendDetail extends DetailCommon {
  kind: 'spend';
  amount: Amount;
  /** Accounts to spend from, in order; absent: the default accounts, oldest first. */
  point_account_ids?: string[];
  /** Spend even when the balance does not cover it (the last account goes negative). */
  force_spend?: boolean;
  /** Put the amount back (a refund) instead of spending it. */
  is_return?: boolean;
}

export type PointDetail = DepositDetail | SpendDetail;

/** What one detail did to one account. */
export interface AccountLine {
  account_name: string;
  point_account_id: string;
  user_point_account_id: string;
  grouping_label: string;
  /** Signed change of the balance. */
  amount: Amount;
  available_balance: Amount;
  life_time_value: Amount;
}

export interface DetailResult {
  index: number;
  detail: PointDetail;
  ok: boolean;
  error?: { code: ErrorCode; message: string };
  lines: AccountLine[];
  /** Answered from an earlier request with the same idempotency_id. */
  replayed: boolean;
}

export interface PointChangeOutcome {
  results: DetailResult[];
  /** True when a deposit reached an account that counts toward tiers. */
  tierPointsChanged: boolean;
  time: Date;
  /** The row of the `read` option, when a detail applied. */
  read?: Record<string, unknown>;
}

interface Working {
  account: PointAccount;
  userPointAccountId: string;
  balance: Amount;
  lifetime: Amount;
  changed: boolean;
}

interface Entry {
  account: Working;
  amount: Amount;
  type: ModificationType;
  detail: PointDetail;
}

class DetailError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

/**
 * Applies point deposits and spends for one member in the caller's
 * transaction. The caller holds the member's lock (lockMemberRef, lockMember,
 * or a member created in this transaction), so all point operations of a
 * member are serialized: balances are read, checked and written under that
 * lock, and every change is a ledger entry written with its balance.
 * Without `allowPartialSuccess` one failing detail fails the whole request
 * (a DomainError, nothing written); with it, failing details are answered
 * with their code and the others apply.
 */
export async function applyPointChanges(
  tx: Db,
  actor: Actor,
  member: MemberSummary,
  details: PointDetail[],
  options: {
    allowPartialSuccess: boolean;
    effectiveAt?: Date;
    /**
     * Given the answers, plans the caller's writes in the transaction's unit
     * of work (before the change is written): they go in its statement.
     */
    then?: (results: DetailResult[]) => void;
    /** A SELECT answered from the change's statement (PointChangeOutcome.read) when a detail applied; it sees the database as it was before. */
    read?: OperationNodeSource;
    /** The member's point accounts as read under its lock in this transaction, after any earlier change and before this one (saves reading them again). */
    balances?: BalanceRow[];
  },
): Promise<PointChangeOutcome> {
  // taken once the lock is held, so the member's entries are timed in the
  // order they are written (the audit log's newest first follows the balances)
  const time = options.effectiveAt ?? new Date();

  const accounts = new Map((await listPointAccounts(tx, actor.retailerId)).map((a) => [a.id, a]));
  const defaults = [...accounts.values()].filter((a) => a.is_default && a.active);
  const needsSources = details.some((d) => d.point_source_id);
  const sources = needsSources ? new Map((await listPointSources(tx, actor.retailerId)).map((s) => [s.id, s])) : new Map();

  const order = details.map((detail, index) => ({ detail, index })).sort((a, b) => (a.detail.rank ?? 0) - (b.detail.rank ?? 0) || a.index - b.index);
  const accountIdsOf = (d: PointDetail): string[] => (d.kind === 'deposit' ? [d.point_account_id] : d.point_account_ids?.length ? d.point_account_ids : defaults.map((a) => a.id)).map((id) => id.toLowerCase());
  const touched = [...new Set(details.flatMap(accountIdsOf))].filter((id) => accounts.has(id));
  const working = await loadWorking(tx, actor.retailerId, member.id, touched.map((id) => accounts.get(id)!), options.balances);

  const replays = await loadReplays(tx, actor.retailerId, details);
  const results: DetailResult[] = [];
  const entries: Entry[] = [];
  const idempotencyRows: { idempotency_id: string; result: DetailResult }[] = [];

  for (const { detail, index } of order) {
    // the same idempotency_id twice in one request applies once, like a retry
    const earlier = detail.idempotency_id ? idempotencyRows.find((r) => r.idempotency_id === detail.idempotency_id) : undefined;
    if (earlier) {
      results.push(
        fingerprint(earlier.result.detail) === fingerprint(detail)
          ? { ...earlier.result, index, detail, replayed: true }
          : { index, detail, ok: false, replayed: false, lines: [], error: { code: 'idempotency_conflict', message: `idempotency_id ${detail.idempotency_id} is used twice for different details` } },
      );
      continue;
    }
    const stored = detail.idempotency_id ? replays.get(detail.idempotency_id) : undefined;
    if (stored) {
      if (stored.member_id !== member.id) {
        results.push({ index, detail, ok: false, replayed: false, lines: [], error: { code: 'idempotency_conflict', message: `idempotency_id ${detail.idempotency_id} was used for another member` } });
      } else if (stored.result.fingerprint !== fingerprint(detail)) {
        results.push({ index, detail, ok: false, replayed: false, lines: [], error: { code: 'idempotency_conflict', message: `idempotency_id ${detail.idempotency_id} was used for a different request` } });
      } else {
        results.push({ ...revive(stored.result), index, detail, replayed: true });
      }
      continue;
    }
    const snapshot = [...working.values()].map((w) => ({ w, balance: w.balance, lifetime: w.lifetime, changed: w.changed }));
    const mark = entries.length;
    try {
      const lines = applyDetail(detail, accountIdsOf(detail), accounts, sources, working, entries);
      const result: DetailResult = { index, detail, ok: true, replayed: false, lines };
      results.push(result);
      if (detail.idempotency_id) idempotencyRows.push({ idempotency_id: detail.idempotency_id, result });
    } catch (err) {
      if (!(err instanceof DetailError)) throw err;
      // undo this detail's in-memory changes; the others stand
      for (const s of snapshot) Object.assign(s.w, { balance: s.balance, lifetime: s.lifetime, changed: s.changed });
      entries.length = mark;
      results.push({ index, detail, ok: false, replayed: false, lines: [], error: { code: err.code, message: err.message } });
    }
  }
  results.sort((a, b) => a.index - b.index);

  const failed = results.find((r) => !r.ok);
  if (failed && !options.allowPartialSuccess) {
    const field = failed.detail.kind === 'deposit' ? 'deposit_details' : 'spend_details';
    throw new DomainError(failed.error!.code, `${field}[${failed.index}]: ${failed.error!.message}`, field);
  }

  options.then?.(results);
  const read = entries.length ? await persist(tx, actor, member, working, entries, idempotencyRows, time, options.read) : (await unitOf(tx).flush(tx), undefined);
  return {
    results,
    tierPointsChanged: entries.some((e) => e.account.account.counts_toward_tiers && e.amount > ZERO),
    time,
    read,
  };
}

function applyDetail(
  detail: PointDetail,
  accountIds: string[],
  accounts: Map<string, PointAccount>,
  sources: Map<string, { account_ids: string[] }>,
  working: Map<string, Working>,
  entries: Entry[],
): AccountLine[] {
  if (detail.amount <= ZERO) throw new DetailError('argument_error', 'amount must be greater than 0');
  if (!accountIds.length) throw new DetailError('point_account_not_found', 'no point account given and the retailer has no default account');
  for (const id of accountIds) {
    const account = accounts.get(id);
    if (!account) throw new DetailError('point_account_not_found', `point account ${id} not found`);
    if (!account.active) throw new DetailError('point_account_inactive', `point account ${account.name} is not active`);
  }
  if (detail.point_source_id) {
    const source = sources.get(detail.point_source_id.toLowerCase());
    if (!source) throw new DetailError('point_source_not_found', `point source ${detail.point_source_id} not found`);
    const notAllowed = accountIds.find((id) => source.account_ids.length && !source.account_ids.includes(id));
    if (notAllowed) throw new DetailError('point_source_not_allowed', `point source ${detail.point_source_id} does not deposit into ${notAllowed}`);
  }

  const credit = (w: Working, amount: Amount, type: ModificationType) => {
    const balance = w.balance + amount;
    if (w.account.maximum_balance !== null && balance > w.account.maximum_balance) {
      throw new DetailError('maximum_balance_exceeded', `${w.account.name} would exceed its maximum balance of ${toDecimal(w.account.maximum_balance)}`);
    }
    return change(w, amount, type);
  };
  const change = (w: Working, amount: Amount, type: ModificationType): AccountLine => {
    w.balance += amount;
    if (type === 'deposit') w.lifetime += amount;
    w.changed = true;
    entries.push({ account: w, amount, type, detail });
    return line(w, amount);
  };

  if (detail.kind === 'deposit') return [credit(working.get(accountIds[0])!, detail.amount, 'deposit')];
  if (detail.is_return) return [credit(working.get(accountIds[0])!, detail.amount, 'return')];

  const targets = accountIds.map((id) => working.get(id)!);
  const lines: AccountLine[] = [];
  let remaining = detail.amount;
  for (const w of targets) {
    const take = min(w.balance > ZERO ? w.balance : ZERO, remaining);
    if (take > ZERO) {
      lines.push(change(w, -take, 'spend'));
      remaining -= take;
    }
    if (remaining === ZERO) return lines;
  }
  const last = targets[targets.length - 1];
  if (!detail.force_spend && !last.account.allow_negative) {
    throw new DetailError('insufficient_points', `${toDecimal(detail.amount)} points asked, ${toDecimal(detail.amount - remaining)} available`);
  }
  lines.push(change(last, -remaining, detail.force_spend && !last.account.allow_negative ? 'forced_spend' : 'spend'));
  return lines;
}

const line = (w: Working, amount: Amount): AccountLine => ({
  account_name: w.account.name,
  point_account_id: w.account.id,
  user_point_account_id: w.userPointAccountId,
  grouping_label: w.account.grouping_label,
  amount,
  available_balance: w.balance,
  life_time_value: w.lifetime,
});

/** A member's point account as stored. */
export interface BalanceRow {
  point_account_id: string;
  id: string;
  available_balance: string;
  life_time_value: string;
}

/** The SELECT of a member's point accounts (all of them) as one json column, for a caller's statement under the member's lock. */
export const balancesJson = (retailerId: string, memberId: string) =>
  sql<BalanceRow[]>`(SELECT coalesce(json_agg(json_build_object('point_account_id', point_account_id, 'id', id, 'available_balance', available_balance::text, 'life_time_value', life_time_value::text)), '[]'::json)
                       FROM member_point_accounts WHERE retailer_id = ${retailerId} AND member_id = ${memberId})`;

/** The member's point accounts for `accounts` (from `preloaded` when given), created at zero on first use (the member's lock makes select-then-insert safe). */
async function loadWorking(tx: Db, retailerId: string, memberId: string, accounts: PointAccount[], preloaded?: BalanceRow[]): Promise<Map<string, Working>> {
  const working = new Map<string, Working>();
  if (!accounts.length) return working;
  const select = () =>
    tx
      .selectFrom('member_point_accounts')
      .select(['point_account_id', 'id', 'available_balance', 'life_time_value'])
      .where('retailer_id', '=', retailerId)
      .where('member_id', '=', memberId)
      .where(
        'point_account_id',
        'in',
        accounts.map((a) => a.id),
      )
      .execute();
  const wanted = new Set(accounts.map((a) => a.id));
  let rows = preloaded ? preloaded.filter((r) => wanted.has(r.point_account_id)) : await select();
  if (rows.length < accounts.length) {
    const have = new Set(rows.map((r) => r.point_account_id));
    await tx
      .insertInto('member_point_accounts')
      .values(accounts.filter((a) => !have.has(a.id)).map((a) => ({ retailer_id: retailerId, member_id: memberId, point_account_id: a.id, id: randomUUID() })))
      .onConflict((oc) => oc.columns(['retailer_id', 'member_id', 'point_account_id']).doNothing())
      .execute();
    rows = await select();
  }
  const byId = new Map(accounts.map((a) => [a.id, a]));
  for (const row of rows) {
    working.set(row.point_account_id, {
      account: byId.get(row.point_account_id)!,
      userPointAccountId: row.id,
      balance: fromDb(row.available_balance),
      lifetime: fromDb(row.life_time_value),
      changed: false,
    });
  }
  return working;
}

async function loadReplays(tx: Db, retailerId: string, details: PointDetail[]) {
  const ids = [...new Set(details.map((d) => d.idempotency_id).filter((id): id is string => !!id))];
  if (!ids.length) return new Map<string, { member_id: string; result: Record<string, unknown> }>();
  const rows = await tx.selectFrom('point_idempotency').select(['idempotency_id', 'member_id', 'result']).where('retailer_id', '=', retailerId).where('idempotency_id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.idempotency_id, r]));
}

async function persist(
  tx: Db,
  actor: Actor,
  member: MemberSummary,
  working: Map<string, Working>,
  entries: Entry[],
  idempotencyRows: { idempotency_id: string; result: DetailResult }[],
  time: Date,
  read?: OperationNodeSource,
): Promise<Record<string, unknown> | undefined> {
  const changed = [...working.values()].filter((w) => w.changed);
  // balance_after of each entry: replay the entries in order from the balances before
  const running = new Map<Working, Amount>();
  for (const w of changed) running.set(w, w.balance - entries.filter((e) => e.account === w).reduce((sum, e) => sum + e.amount, ZERO));
  const ledger = entries.map((e) => {
    const after = running.get(e.account)! + e.amount;
    running.set(e.account, after);
    return { e, after };
  });
  const column = <T>(pick: (x: (typeof ledger)[number]) => T) => ledger.map(pick);
  // the entries' timeline entries before those the caller planned, their events after
  planTimeline(tx, subjectOf(actor, member), timelineEntries(actor, entries, time), { first: true });
  recordDomainEvents(tx, ledger.map(({ e, after }) => pointEvent(actor, member, e, after, time)));
  // one statement: the balances, their ledger entries, and what the unit of work holds (timeline entries, events, the caller's writes)
  const { rows } = await sql<Record<string, unknown>>`
    WITH ${sql.join(asCtes(unitOf(tx).take()), sql` `)} balances AS (
      UPDATE member_point_accounts AS a
         SET available_balance = v.balance, life_time_value = v.lifetime, updated_at = ${time}
        FROM unnest(${changed.map((w) => w.account.id)}::uuid[], ${changed.map((w) => toDecimal(w.balance))}::numeric[], ${changed.map((w) => toDecimal(w.lifetime))}::numeric[])
             AS v(point_account_id, balance, lifetime)
       WHERE a.retailer_id = ${actor.retailerId} AND a.member_id = ${member.id} AND a.point_account_id = v.point_account_id
    ), ledger AS (
    INSERT INTO point_ledger (retailer_id, member_id, point_account_id, amount, balance_after, modification_type, point_source_id,
                              reference_id, reference_type, transaction_id, idempotency_id, request_id, effective_at)
    SELECT ${actor.retailerId}, ${member.id}, e.point_account_id, e.amount, e.balance_after, e.modification_type, e.point_source_id,
           e.reference_id, e.reference_type, e.transaction_id, e.idempotency_id, ${actor.requestId ?? null}, ${time}
      FROM unnest(
             ${column((x) => x.e.account.account.id)}::uuid[],
             ${column((x) => toDecimal(x.e.amount))}::numeric[],
             ${column((x) => toDecimal(x.after))}::numeric[],
             ${column((x) => x.e.type)}::text[],
             ${column((x) => x.e.detail.point_source_id?.toLowerCase() ?? null)}::uuid[],
             ${column((x) => x.e.detail.reference_id ?? null)}::text[],
             ${column((x) => x.e.detail.reference_type ?? null)}::text[],
             ${column((x) => x.e.detail.transaction_id ?? null)}::text[],
             ${column((x) => x.e.detail.idempotency_id ?? null)}::text[]
           ) WITH ORDINALITY AS e(point_account_id, amount, balance_after, modification_type, point_source_id, reference_id, reference_type, transaction_id, idempotency_id, n)
     ORDER BY e.n
    ) ${read ?? sql`SELECT NULL`}`.execute(tx);
  if (idempotencyRows.length) {
    // a key taken meanwhile can only be another member's (this member's requests wait on its lock)
    const inserted = await tx
      .insertInto('point_idempotency')
      .values(idempotencyRows.map((r) => ({ retailer_id: actor.retailerId, idempotency_id: r.idempotency_id, member_id: member.id, result: JSON.stringify(freeze(r.result)) })))
      .onConflict((oc) => oc.columns(['retailer_id', 'idempotency_id']).doNothing())
      .returning('idempotency_id')
      .execute();
    if (inserted.length < idempotencyRows.length) {
      const taken = idempotencyRows.find((r) => !inserted.some((i) => i.idempotency_id === r.idempotency_id))!;
      throw new DomainError('idempotency_conflict', `idempotency_id ${taken.idempotency_id} was used for another member`, 'idempotency_id');
    }
  }
  return read ? rows[0] : undefined;
}

const EVENT_OF: Record<ModificationType, 'points.deposited' | 'points.spent' | 'points.returned' | 'points.expired'> = {
  deposit: 'points.deposited',
  merge_in: 'points.deposited',
  spend: 'points.spent',
  forced_spend: 'points.spent',
  merge_out: 'points.spent',
  return: 'points.returned',
  expiry: 'points.expired',
};

const pointEvent = (actor: Actor, member: MemberSummary, e: Entry, after: Amount, time: Date): NewEvent =>
  ledgerEvent(actor.retailerId, member.id, time, {
    account: e.account.account,
    type: e.type,
    amount: e.amount,
    balanceAfter: after,
    pointSourceId: e.detail.point_source_id?.toLowerCase() ?? null,
    referenceType: e.detail.reference_type ?? null,
    referenceId: e.detail.reference_id ?? null,
    transactionId: e.detail.transaction_id ?? null,
  });

/** The domain event of one ledger entry (points.deposited, spent, returned or expired), for every writer of the ledger. */
export function ledgerEvent(
  retailerId: string,
  memberId: string,
  time: Date,
  e: { account: Pick<PointAccount, 'id' | 'name'>; type: ModificationType; amount: Amount; balanceAfter: Amount; pointSourceId?: string | null; referenceType?: string | null; referenceId?: string | null; transactionId?: string | null },
): NewEvent {
  return {
    type: EVENT_OF[e.type],
    retailerId,
    memberId,
    occurredAt: time,
    payload: {
      point_account_id: e.account.id,
      account_name: e.account.name,
      modification_type: e.type,
      amount: toDecimal(e.amount < ZERO ? -e.amount : e.amount),
      balance_after: toDecimal(e.balanceAfter),
      point_source_id: e.pointSourceId ?? null,
      reference_type: e.referenceType ?? null,
      reference_id: e.referenceId ?? null,
      transaction_id: e.transactionId ?? null,
    },
  };
}

function timelineEntries(actor: Actor, entries: Entry[], time: Date): TimelineEntry[] {
  return entries.map((e) => ({
    type: e.amount > ZERO ? 'INCENTIVES_POINT_DEPOSIT' : 'INCENTIVES_POINT_SPEND',
    requestId: actor.requestId,
    occurredAt: time,
    payload: {
      modification_type: e.type,
      amount: toJson(e.amount < ZERO ? -e.amount : e.amount),
      point_account_id: e.account.account.id,
      account_name: e.account.account.name,
      point_source_id: e.detail.point_source_id ?? null,
      reference_id: e.detail.reference_id ?? null,
      reference_type: e.detail.reference_type ?? null,
    },
  }));
}

/** What makes a retry the same request: a key reused for another amount or account is a conflict, not a replay. */
function fingerprint(detail: PointDetail): string {
  const accounts = detail.kind === 'deposit' ? [detail.point_account_id] : (detail.point_account_ids ?? []);
  const flags = detail.kind === 'spend' ? [detail.force_spend ? 'force' : '', detail.is_return ? 'return' : ''] : [];
  return [detail.kind, toDecimal(detail.amount), ...accounts.map((a) => a.toLowerCase()), detail.point_source_id?.toLowerCase() ?? '', ...flags].join('|');
}

/** DetailResult as stored for idempotent replays (amounts as decimal strings). */
function freeze(result: DetailResult): Record<string, unknown> {
  return {
    ok: result.ok,
    fingerprint: fingerprint(result.detail),
    lines: result.lines.map((l) => ({ ...l, amount: toDecimal(l.amount), available_balance: toDecimal(l.available_balance), life_time_value: toDecimal(l.life_time_value) })),
  };
}

function revive(stored: Record<string, unknown>): Pick<DetailResult, 'ok' | 'lines'> {
  const lines = (stored.lines as Record<string, string>[]).map((l) => ({
    ...l,
    amount: fromDb(l.amount),
    available_balance: fromDb(l.available_balance),
    life_time_value: fromDb(l.life_time_value),
  })) as unknown as AccountLine[];
  return { ok: true, lines };
}
