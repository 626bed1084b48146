import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/index.js';
import { sql, type OperationNodeSource, type RawBuilder } from 'kysely';
import { DomainError, type ErrorCode } from '../../errors.js';
import type { Actor, MemberSummary } from '../members/service.js';
import { subjectOf } from '../members/service.js';
import { asCtes, unitOf } from '../../db/unit-of-work.js';
import { textFragment } from '../../db/rows.js';
import { recordDomainEvents, type NewEvent } from '../outbox/service.js';
import { planTimeline, type TimelineEntry } from '../timeline/service.js';
import { listPointAccounts, listPointSources, type PointAccount } from './accounts.js';
import { ZERO, fromDb, min, positivePart, toDecimal, toJson, type Amount } from './amount.js';
import { inactivityExpiry, lotTerms, noticeOf, type LotTerms } from './expiry.js';
import { drawLots, effectiveBalanceText, loadLots, loadReturnable, settleLots, type Lot, type LotMove } from './lots.js';

/** What a ledger entry records: its modification_type. */
export const MODIFICATION_TYPES = ['deposit', 'spend', 'forced_spend', 'return', 'expiry', 'merge_in', 'merge_out'] as const;
export type ModificationType = (typeof MODIFICATION_TYPES)[number];

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
  /** The deposit's own expiry (Connect expiration_date): wins over the account's policy. */
  expires_at?: Date;
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
  pending: Amount;
  nextChangeAt: Date | null;
  /** Its open lots holding points and its pending lots (loaded for spends), and lots a return may put points back into. */
  lots: Lot[];
  /** Points this change puts into open lots not loaded (upserted when it is written): a later spend of the change draws them after the known lots. */
  credits: Credit[];
  changed: boolean;
}

/** Points going into the open lot of a bucket (a deposit, or a return with nowhere to go back to), or into a new pending lot. */
interface Credit {
  terms: LotTerms;
  amount: Amount;
  /** what of it stays in the lot (a debt takes the rest) */
  kept: Amount;
  pending: boolean;
}

interface Entry {
  account: Working;
  /** The balance's change (0: none, a pending deposit or a cancelled one: no ledger entry). */
  amount: Amount;
  type: ModificationType;
  detail: PointDetail;
  /** draws from (negative) and put-backs into (positive) known lots */
  moves: LotMove[];
  credit?: Credit;
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
    /**
     * The change's writes may wait in the unit of work (without `read`, or idempotency
     * ids to check): the caller reads nothing they change before its next statement
     * that takes the plan, or the commit, sends them.
     */
    plan?: boolean;
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
  let working = await loadWorking(tx, actor.retailerId, member.id, touched.map((id) => accounts.get(id)!), options.balances);
  // lots past their instant are settled first (pending ones credited, expired ones written off)
  if ([...working.values()].some((w) => w.nextChangeAt && w.nextChangeAt <= time)) {
    await settleLots(tx, subjectOf(actor, member), accounts, time);
    working = await loadWorking(tx, actor.retailerId, member.id, touched.map((id) => accounts.get(id)!));
  }
  // what spends draw from (soonest-expiring first; an account without a next instant has no lot), and what returns may put back
  const spent = [...new Set(details.filter((d) => d.kind === 'spend' && !d.is_return).flatMap(accountIdsOf))].filter((id) => working.get(id)?.nextChangeAt);
  for (const [id, lots] of await loadLots(tx, actor.retailerId, member.id, spent)) working.get(id)!.lots = lots;
  for (const d of details) {
    const w = d.kind === 'spend' && d.is_return && d.transaction_id ? working.get(accountIdsOf(d)[0]) : undefined;
    if (w) await loadReturnable(tx, actor.retailerId, member.id, w.account.id, d.transaction_id!, w.lots);
  }

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
    const snapshot = [...working.values()].map((w) => ({
      w,
      balance: w.balance,
      lifetime: w.lifetime,
      pending: w.pending,
      changed: w.changed,
      lots: w.lots.map((l) => ({ ...l })),
      credits: [...w.credits],
      kept: w.credits.map((c) => c.kept),
    }));
    const mark = entries.length;
    try {
      const lines = applyDetail(time, detail, accountIdsOf(detail), accounts, sources, working, entries);
      const result: DetailResult = { index, detail, ok: true, replayed: false, lines };
      results.push(result);
      if (detail.idempotency_id) idempotencyRows.push({ idempotency_id: detail.idempotency_id, result });
    } catch (err) {
      if (!(err instanceof DetailError)) throw err;
      // undo this detail's in-memory changes; the others stand
      for (const s of snapshot) {
        Object.assign(s.w, { balance: s.balance, lifetime: s.lifetime, pending: s.pending, changed: s.changed, lots: s.lots, credits: s.credits });
        s.credits.forEach((c, i) => (c.kept = s.kept[i]));
      }
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
  const read = entries.length ? await persist(tx, actor, member, working, entries, idempotencyRows, time, options.read, options.plan) : (await unitOf(tx).flush(tx), undefined);
  return {
    results,
    tierPointsChanged: entries.some((e) => e.account.account.counts_toward_tiers && e.amount > ZERO),
    time,
    read,
  };
}

function applyDetail(
  time: Date,
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
    const terms = lotTerms(w.account, time, detail.kind === 'deposit' ? detail.expires_at : undefined);
    if (type === 'deposit' && terms.availableAt && terms.availableAt > time) {
      // pending: no balance change (nor ledger entry) until it becomes available
      w.pending += amount;
      w.changed = true;
      entries.push({ account: w, amount: ZERO, type, detail, moves: [], credit: { terms, amount, kept: amount, pending: true } });
      return line(w, amount);
    }
    const balance = w.balance + amount;
    if (w.account.maximum_balance !== null && balance > w.account.maximum_balance) {
      throw new DetailError('maximum_balance_exceeded', `${w.account.name} would exceed its maximum balance of ${toDecimal(w.account.maximum_balance)}`);
    }
    // a debt is paid first; a return goes back into the lots its transaction's spends drew from, while they are open
    let kept = positivePart(balance) - positivePart(w.balance);
    const moves: LotMove[] = [];
    if (type === 'return' && detail.transaction_id) {
      for (const lot of w.lots) {
        const owed = lot.returnable ?? ZERO;
        if (kept === ZERO || owed <= ZERO || lot.state !== 'open') continue;
        const back = min(owed, kept);
        lot.returnable = owed - back;
        lot.remaining += back;
        lot.touched = true;
        kept -= back;
        moves.push([lot.id, toDecimal(back)]);
      }
    }
    // points that never expire are the balance beyond the lots: no lot to credit
    const rest = kept === ZERO || terms.bucket === 'never' ? undefined : intoKnownLot(w, terms, kept, moves);
    const lot = rest === undefined ? undefined : { terms, amount: rest, kept: rest, pending: false };
    if (lot) w.credits.push(lot);
    change(w, amount, type, moves, lot);
    return line(w, amount);
  };
  const change = (w: Working, amount: Amount, type: ModificationType, moves: LotMove[], credit?: Credit) => {
    w.balance += amount;
    if (type === 'deposit') w.lifetime += amount;
    w.changed = true;
    entries.push({ account: w, amount, type, detail, moves, credit });
  };
  const spend = (w: Working, amount: Amount, type: ModificationType, cancelled = ZERO) => {
    const drawn = positivePart(w.balance) - positivePart(w.balance - amount);
    const moves = drawLots(w.lots, drawn);
    // then what this change put into lots not yet written; the never-expiring rest last
    let left = drawn + moves.reduce((s, [, x]) => s + fromDb(x), ZERO);
    for (const c of w.credits) {
      const take = min(c.kept, left);
      c.kept -= take;
      left -= take;
    }
    change(w, -amount, type, moves);
    return line(w, -(amount + cancelled));
  };

  if (detail.kind === 'deposit') return [credit(working.get(accountIds[0])!, detail.amount, 'deposit')];
  if (detail.is_return) return [credit(working.get(accountIds[0])!, detail.amount, 'return')];

  const targets = accountIds.map((id) => working.get(id)!);
  const lines: AccountLine[] = [];
  let remaining = detail.amount;
  // taking back a transaction's points (a forced spend with its id) cancels what of them is still pending first
  const cancelled = new Map<Working, Amount>();
  if (detail.force_spend && detail.transaction_id) {
    for (const w of targets) {
      for (const lot of w.lots.filter((l) => l.state === 'pending' && l.transaction_id === detail.transaction_id)) {
        const take = min(lot.remaining, remaining);
        if (take === ZERO) continue;
        lot.remaining -= take;
        lot.touched = true;
        w.pending -= take;
        w.changed = true;
        remaining -= take;
        cancelled.set(w, (cancelled.get(w) ?? ZERO) + take);
        entries.push({ account: w, amount: ZERO, type: 'forced_spend', detail, moves: [[lot.id, toDecimal(-take)]] });
      }
    }
  }
  const cancelledLine = (w: Working) => {
    const amount = cancelled.get(w) ?? ZERO;
    cancelled.delete(w);
    return amount;
  };
  for (const w of targets) {
    const take = min(w.balance > ZERO ? w.balance : ZERO, remaining);
    if (take > ZERO) {
      lines.push(spend(w, take, 'spend', cancelledLine(w)));
      remaining -= take;
    }
    if (remaining === ZERO) break;
  }
  if (remaining > ZERO) {
    const last = targets[targets.length - 1];
    if (!detail.force_spend && !last.account.allow_negative) {
      throw new DetailError('insufficient_points', `${toDecimal(detail.amount)} points asked, ${toDecimal(detail.amount - remaining)} available`);
    }
    lines.push(spend(last, remaining, detail.force_spend && !last.account.allow_negative ? 'forced_spend' : 'spend', cancelledLine(last)));
  }
  // an account whose only change was a cancelled pending deposit
  for (const [w, amount] of cancelled) lines.push(line(w, -amount));
  return lines;
}

/**
 * Puts `amount` into the open lot of `terms`' bucket when it is among the
 * account's known lots (a move: one statement must not change a row twice),
 * answering undefined; else answers the amount for the bucket's upsert.
 */
function intoKnownLot(w: Working, terms: LotTerms, amount: Amount, moves: LotMove[]): Amount | undefined {
  const lot = w.lots.find((l) => l.state === 'open' && l.bucket === terms.bucket);
  if (!lot) return amount;
  lot.remaining += amount;
  lot.added = (lot.added ?? ZERO) + amount;
  lot.touched = true;
  if (terms.bucket === 'inactivity') lot.expires_at = terms.expiresAt;
  moves.push([lot.id, toDecimal(amount)]);
  return undefined;
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

/** A member's point account as stored (available_balance: the ledger's sum, before lots past their instant are settled). */
export interface BalanceRow {
  point_account_id: string;
  id: string;
  available_balance: string;
  life_time_value: string;
  pending_balance: string;
  next_change_at: string | null;
}

/**
 * The SELECT of a member's point accounts (all of them) as one json column, as SQL text for a caller's raw
 * statement (`retailer` and `member` are its expressions), under the member's lock. `lock`: the rows are
 * locked and read as they are now, not as the statement's snapshot has them (for the member's lock's own
 * statement, whose snapshot predates its wait for the lock: lockMemberRefReading).
 */
export const balancesJsonText = (retailer: string, member: string, lock = false) =>
  `(SELECT coalesce(json_agg(json_build_object('point_account_id', a.point_account_id, 'id', a.id, 'available_balance', (${effectiveBalanceText('a')})::text, 'life_time_value', a.life_time_value::text,
                                               'pending_balance', a.pending_balance::text, 'next_change_at', a.next_change_at)), '[]'::json)
     FROM (SELECT * FROM member_point_accounts WHERE retailer_id = ${retailer} AND member_id = ${member}${lock ? ' FOR UPDATE' : ''}) a)`;

/** balancesJsonText for a caller's statement. */
export const balancesJson: (retailerId: string, memberId: string) => RawBuilder<BalanceRow[]> = textFragment(balancesJsonText('$1', '$2'));

/** balancesJsonText, locked, of a statement's $1 (the retailer) and $2 (the member): for lockMemberRefReading. */
export const LOCKED_BALANCES = balancesJsonText('$1', '$2', true);

/** The member's point accounts for `accounts` (from `preloaded` when given), created at zero on first use (the member's lock makes select-then-insert safe). */
async function loadWorking(tx: Db, retailerId: string, memberId: string, accounts: PointAccount[], preloaded?: BalanceRow[]): Promise<Map<string, Working>> {
  const working = new Map<string, Working>();
  if (!accounts.length) return working;
  const select = () =>
    tx
      .selectFrom('member_point_accounts')
      .select(['point_account_id', 'id', 'available_balance', 'life_time_value', 'pending_balance', sql<string | null>`next_change_at::text`.as('next_change_at')])
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
      pending: fromDb(row.pending_balance),
      nextChangeAt: row.next_change_at ? new Date(row.next_change_at) : null,
      lots: [],
      credits: [],
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
  plan?: boolean,
): Promise<Record<string, unknown> | undefined> {
  const changed = [...working.values()].filter((w) => w.changed);
  // balance_after of each entry: replay the entries in order from the balances before
  const running = new Map<Working, Amount>();
  for (const w of changed) running.set(w, w.balance - entries.filter((e) => e.account === w).reduce((sum, e) => sum + e.amount, ZERO));
  // entries that change a balance are the ledger's (a pending deposit, or its cancellation, changes lots only)
  const ledger = entries.flatMap((e) => {
    if (e.amount === ZERO) return [];
    const after = running.get(e.account)! + e.amount;
    running.set(e.account, after);
    return [{ e, after }];
  });
  const column = <T>(pick: (x: (typeof ledger)[number]) => T) => ledger.map(pick);
  const lots = lotChanges(changed, entries, time);
  // the entries' timeline entries before those the caller planned, their events after
  planTimeline(tx, subjectOf(actor, member), timelineEntries(actor, ledger.map((x) => x.e), time), { first: true });
  recordDomainEvents(tx, [
    ...ledger.map(({ e, after }) => pointEvent(actor, member, e, after, time)),
    ...entries.filter((e) => e.credit?.pending).map((e) => pendingEvent(actor, member, e, time)),
  ]);
  const statements = [
    sql`UPDATE member_point_accounts AS a
           SET available_balance = v.balance, life_time_value = v.lifetime, pending_balance = v.pending, next_change_at = least(a.next_change_at, v.next), updated_at = ${time}
          FROM unnest(${changed.map((w) => w.account.id)}::uuid[], ${changed.map((w) => toDecimal(w.balance))}::numeric[], ${changed.map((w) => toDecimal(w.lifetime))}::numeric[],
                      ${changed.map((w) => toDecimal(w.pending))}::numeric[], ${changed.map((w) => lots.next.get(w)?.toISOString() ?? null)}::timestamptz[])
               AS v(point_account_id, balance, lifetime, pending, next)
         WHERE a.retailer_id = ${actor.retailerId} AND a.member_id = ${member.id} AND a.point_account_id = v.point_account_id`,
    ...lots.statements(actor.retailerId, member.id),
    sql`INSERT INTO point_ledger (retailer_id, member_id, point_account_id, amount, balance_after, modification_type, point_source_id,
                                  reference_id, reference_type, transaction_id, idempotency_id, request_id, effective_at, lots)
        SELECT ${actor.retailerId}, ${member.id}, e.point_account_id, e.amount, e.balance_after, e.modification_type, e.point_source_id,
               e.reference_id, e.reference_type, e.transaction_id, e.idempotency_id, ${actor.requestId ?? null}, ${time}, e.lots
          FROM unnest(
                 ${column((x) => x.e.account.account.id)}::uuid[],
                 ${column((x) => toDecimal(x.e.amount))}::numeric[],
                 ${column((x) => toDecimal(x.after))}::numeric[],
                 ${column((x) => x.e.type)}::text[],
                 ${column((x) => x.e.detail.point_source_id?.toLowerCase() ?? null)}::uuid[],
                 ${column((x) => x.e.detail.reference_id ?? null)}::text[],
                 ${column((x) => x.e.detail.reference_type ?? null)}::text[],
                 ${column((x) => x.e.detail.transaction_id ?? null)}::text[],
                 ${column((x) => x.e.detail.idempotency_id ?? null)}::text[],
                 ${column((x) => (x.e.moves.length ? JSON.stringify(x.e.moves) : null))}::jsonb[]
               ) WITH ORDINALITY AS e(point_account_id, amount, balance_after, modification_type, point_source_id, reference_id, reference_type, transaction_id, idempotency_id, lots, n)
         ORDER BY e.n`,
  ];
  const unit = unitOf(tx);
  // nothing to answer or to check: the change waits in the unit of work, for the caller's next statement or the commit
  if (plan && !read && !idempotencyRows.length) {
    for (const statement of statements) unit.plan(statement);
    return undefined;
  }
  // one statement: the balances, their lots, their ledger entries, and what the unit of work holds (timeline entries, events, the caller's writes)
  const { rows } = await sql<Record<string, unknown>>`WITH ${sql.join(asCtes([...unit.take(), ...statements]), sql` `)} changed AS (SELECT 1) ${read ?? sql`SELECT NULL`}`.execute(tx);
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

/**
 * The lots' side of a change, as statements of it: known lots set to
 * what the change left in them (each at most once), points for the open lot
 * of a bucket upserted (an inactivity account's lot takes the new expiry),
 * pending lots inserted; and each account's earliest new instant (`next`).
 */
function lotChanges(changed: Working[], entries: Entry[], time: Date) {
  const next = new Map<Working, Date>();
  const sooner = (w: Working, at: Date | null) => at && (!next.has(w) || at < next.get(w)!) && next.set(w, at);
  const upserts = new Map<string, { w: Working; terms: LotTerms; amount: Amount; kept: Amount }>();
  const pending: { w: Working; credit: Credit; transactionId: string | null }[] = [];
  for (const e of entries) {
    const c = e.credit;
    if (!c) continue;
    if (c.pending) {
      pending.push({ w: e.account, credit: c, transactionId: e.detail.transaction_id ?? null });
      sooner(e.account, c.terms.availableAt);
      continue;
    }
    const key = `${e.account.account.id}/${c.terms.bucket}`;
    const u = upserts.get(key) ?? { w: e.account, terms: c.terms, amount: ZERO, kept: ZERO };
    u.amount += c.amount;
    u.kept += c.kept;
    upserts.set(key, u);
    sooner(e.account, c.terms.notifyAt ?? c.terms.expiresAt);
  }
  // an inactivity account's earn or spend moves its expiry: on its known open lot, else through an upsert
  for (const w of changed) {
    const expiresAt = inactivityExpiry(w.account, time);
    if (!expiresAt) continue;
    const open = w.lots.find((l) => l.state === 'open' && l.bucket === 'inactivity');
    if (open) Object.assign(open, { expires_at: expiresAt, notify_at: noticeOf(w.account, expiresAt), touched: true });
    else if (![...upserts.values()].some((u) => u.w === w)) upserts.set(`${w.account.id}/inactivity`, { w, terms: { expiresAt, availableAt: null, notifyAt: noticeOf(w.account, expiresAt), bucket: 'inactivity' }, amount: ZERO, kept: ZERO });
    sooner(w, noticeOf(w.account, expiresAt) ?? expiresAt);
  }
  for (const w of changed) for (const l of w.lots) if (l.touched && l.state === 'open' && l.remaining > ZERO) sooner(w, l.notify_at ?? l.expires_at);
  const known = changed.flatMap((w) => w.lots.filter((l) => l.touched));
  const inserts = [
    ...[...upserts.values()].map((u) => ({ account: u.w.account.id, state: 'open', bucket: u.terms.bucket, amount: u.amount, remaining: u.kept, expires: u.terms.expiresAt, available: null, notify: u.terms.notifyAt, transaction: null })),
    ...pending.map((p) => ({ account: p.w.account.id, state: 'pending', bucket: p.credit.terms.bucket, amount: p.credit.amount, remaining: p.credit.amount, expires: p.credit.terms.expiresAt, available: p.credit.terms.availableAt, notify: p.credit.terms.notifyAt, transaction: p.transactionId })),
  ];
  const statements = (retailerId: string, memberId: string) => [
    ...(known.length
      ? [
          sql`UPDATE point_lots l SET remaining = v.remaining, amount = l.amount + v.added, expires_at = v.expires_at, notify_at = v.notify_at
                FROM unnest(${known.map((l) => l.id)}::bigint[], ${known.map((l) => toDecimal(l.remaining))}::numeric[], ${known.map((l) => toDecimal(l.added ?? ZERO))}::numeric[],
                            ${known.map((l) => l.expires_at?.toISOString() ?? null)}::timestamptz[], ${known.map((l) => l.notify_at?.toISOString() ?? null)}::timestamptz[])
                     AS v(id, remaining, added, expires_at, notify_at)
               WHERE l.retailer_id = ${retailerId} AND l.member_id = ${memberId} AND l.id = v.id`,
        ]
      : []),
    ...(inserts.length
      ? [
          sql`INSERT INTO point_lots AS l (retailer_id, member_id, point_account_id, state, bucket, amount, remaining, earned_at, expires_at, available_at, notify_at, transaction_id)
              SELECT ${retailerId}, ${memberId}, v.account, v.state, v.bucket, v.amount, v.remaining, ${time}, v.expires, v.available, v.notify, v.transaction
                FROM unnest(${inserts.map((i) => i.account)}::uuid[], ${inserts.map((i) => i.state)}::text[], ${inserts.map((i) => i.bucket)}::text[], ${inserts.map((i) => toDecimal(i.amount))}::numeric[],
                            ${inserts.map((i) => toDecimal(i.remaining))}::numeric[], ${inserts.map((i) => i.expires?.toISOString() ?? null)}::timestamptz[],
                            ${inserts.map((i) => i.available?.toISOString() ?? null)}::timestamptz[], ${inserts.map((i) => i.notify?.toISOString() ?? null)}::timestamptz[], ${inserts.map((i) => i.transaction)}::text[])
                     AS v(account, state, bucket, amount, remaining, expires, available, notify, transaction)
              ON CONFLICT (retailer_id, member_id, point_account_id, bucket) WHERE state = 'open'
              -- an inactivity lot takes the new expiry (and its notice); a bucket told once is not told again
              DO UPDATE SET amount = l.amount + EXCLUDED.amount, remaining = l.remaining + EXCLUDED.remaining, expires_at = EXCLUDED.expires_at,
                            notify_at = CASE WHEN l.bucket = 'inactivity' THEN EXCLUDED.notify_at ELSE l.notify_at END`,
        ]
      : []),
  ];
  return { next, statements };
}

/** points.pending: a deposit held pending (no ledger entry until it becomes available). */
const pendingEvent = (actor: Actor, member: MemberSummary, e: Entry, time: Date): NewEvent => {
  const detail = e.detail as DepositDetail;
  return {
    type: 'points.pending',
    retailerId: actor.retailerId,
    memberId: member.id,
    occurredAt: time,
    payload: {
      point_account_id: e.account.account.id,
      account_name: e.account.account.name,
      amount: toDecimal(e.credit!.amount),
      available_at: e.credit!.terms.availableAt!.toISOString(),
      expires_at: e.credit!.terms.expiresAt?.toISOString() ?? null,
      point_source_id: detail.point_source_id?.toLowerCase() ?? null,
      reference_type: detail.reference_type ?? null,
      reference_id: detail.reference_id ?? null,
      transaction_id: detail.transaction_id ?? null,
    },
  };
};

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
