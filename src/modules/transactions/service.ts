/**
 * Point of sale transactions (SPEC §5.9): stored once per (retailer, store,
 * transaction_id), with the loyalty effects they had (points earned — taken
 * back, as negative amounts, for a return —, offers redeemed, campaign goals
 * advanced) so that a modification applies the difference and a void
 * reverses exactly those, once.
 */
import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql, type Selectable } from 'kysely';
import type { Db } from '../../db/index.js';
import type { PosTransactionsTable } from '../../db/schema.js';
import { advancedGoalsJson } from '../campaigns/rollback.js';
import { transactionUserOfferIdsQuery, transactionUserOfferIdsText } from '../offers/user-offers.js';
import { fromDb, parseAmount, toDecimal, ZERO, type Amount } from '../points/amount.js';
import { balancesJson, balancesJsonText, type BalanceRow } from '../points/ledger.js';
import { noteMemberWrite, unitOf } from '../../db/unit-of-work.js';
import { lockActiveMemberText, type MemberSummary } from '../members/service.js';

export type PosTransactionRow = Selectable<PosTransactionsTable>;

/** What the till sent, normalized. */
export interface TransactionInput {
  storeId: string;
  transactionId: string;
  memberId: string | null;
  channel?: string;
  employeeId?: string;
  tableId?: string;
  guestCount?: number;
  subtotal: Amount;
  taxTotal: Amount;
  openTime?: Date;
  modifiedTime?: Date;
  items: unknown[];
  payments: unknown[];
  discounts: unknown[];
  receiptCode?: string;
  isVoided: boolean;
  requestId?: string;
}

export interface EarnedPoints {
  point_account_id: string;
  amount: string;
}

type Stored = { id: string; existing?: PosTransactionRow; offerIds: string[]; balances?: BalanceRow[] };

/**
 * Inserts the transaction unless the same (store, transaction_id) is stored
 * already: answers its id, and the stored row (locked) when it was there already. A concurrent
 * insert of the same key waits on the unique index and then finds the row.
 */
export async function storeTransaction(
  tx: Db,
  retailerId: string,
  input: TransactionInput,
  offers?: { memberId: string; userOfferIds: string[] },
): Promise<Stored> {
  // (a transaction first seen voided has no effects to reverse: it is stored voided)
  // in the same round trip: the member's offers locked to this transaction or named by its discounts, and its point accounts
  const id = randomUUID();
  const { rows } = await sql<{ id: string | null; offers: string[]; balances: BalanceRow[] | null }>`
    WITH inserted AS (INSERT INTO pos_transactions (${sql.raw(TRANSACTION_COLUMNS)}) VALUES (${sql.join(transactionValues(retailerId, id, input))}) ${sql.raw(ON_CONFLICT)})
    SELECT (SELECT id FROM inserted) AS id,
           ${transactionUserOfferIdsQuery(retailerId, offers?.memberId ?? null, input.transactionId, offers?.userOfferIds ?? [])} AS offers,
           ${offers ? balancesJson(retailerId, offers.memberId) : sql`NULL::json`} AS balances`.execute(tx);
  return stored(tx, retailerId, input, rows[0]);
}

/**
 * storeTransaction for a member given by id, in one statement with the member's
 * lock (as lockMemberRef takes it). Answers undefined, having done nothing, when
 * the retailer has no active member with that id. The member's point accounts are
 * locked there too, so they are read as the member's last holder left them (the
 * statement's snapshot predates its wait for the lock); the offers are read as the
 * statement began: a change to them that was not done when the transaction arrived
 * is one made beside it, which redeeming checks again under the offer's lock.
 */
export async function lockMemberAndStoreTransaction(
  tx: Db,
  retailerId: string,
  input: TransactionInput & { memberId: string },
  userOfferIds: string[],
): Promise<(Stored & { member: MemberSummary }) | undefined> {
  const { rows } = await tx.executeQuery<{ member: MemberSummary; id: string | null; offers: string[]; balances: BalanceRow[] }>(
    CompiledQuery.raw(LOCK_AND_STORE, [...transactionValues(retailerId, randomUUID(), input), userOfferIds]),
  );
  if (!rows.length) return undefined;
  const { member, ...row } = rows[0];
  noteMemberWrite(tx, member.id);
  return { ...(await stored(tx, retailerId, input, row)), member };
}

// constant texts, written out (the till's hot path): no query builder work per call
const TRANSACTION_COLUMNS = `retailer_id, id, store_id, transaction_id, member_id, channel, employee_id, table_id, guest_count, subtotal, tax_total,
                             open_time, modified_time, items, payments, discounts, receipt_code, is_voided, voided_at, created_at, updated_at, request_id`;
const ON_CONFLICT = 'ON CONFLICT (retailer_id, store_id, transaction_id) DO NOTHING RETURNING id';

/** A transaction's values in TRANSACTION_COLUMNS' order. */
function transactionValues(retailerId: string, id: string, input: TransactionInput): unknown[] {
  const now = new Date();
  return [retailerId, id, input.storeId.toLowerCase(), input.transactionId, input.memberId, input.channel ?? null, input.employeeId ?? null,
          input.tableId ?? null, input.guestCount ?? null, toDecimal(input.subtotal), toDecimal(input.taxTotal), input.openTime ?? null,
          input.modifiedTime ?? null, JSON.stringify(input.items), JSON.stringify(input.payments), JSON.stringify(input.discounts),
          input.receiptCode ?? null, input.isVoided, input.isVoided ? now : null, now, now, input.requestId ?? null];
}

// lockMemberAndStoreTransaction's statement: transactionValues first ($1 the retailer, $4 the transaction id, $5 the member), then the user offer ids
const COLUMN_COUNT = TRANSACTION_COLUMNS.split(',').length;
const LOCK_AND_STORE = `WITH m AS MATERIALIZED (${lockActiveMemberText('$1', '$5')}),
     inserted AS (INSERT INTO pos_transactions (${TRANSACTION_COLUMNS}) SELECT ${Array.from({ length: COLUMN_COUNT }, (_, i) => `$${i + 1}`).join(', ')} FROM m ${ON_CONFLICT})
SELECT to_json(m) AS member, (SELECT id FROM inserted) AS id,
       ${transactionUserOfferIdsText('$1', '$5', '$4', `$${COLUMN_COUNT + 1}`)} AS offers,
       ${balancesJsonText('$1', '$5', true)} AS balances
  FROM m`;

/** What the insert's statement answered: the new transaction, or the one stored already (locked, read again). */
async function stored(tx: Db, retailerId: string, input: TransactionInput, row: { id: string | null; offers: string[]; balances: BalanceRow[] | null }): Promise<Stored> {
  if (row.id) return { id: row.id, offerIds: row.offers, balances: row.balances ?? undefined };
  const existing = (await lockTransaction(tx, retailerId, input.storeId, input.transactionId))!;
  return { id: existing.id, existing, offerIds: [] };
}

export async function lockTransaction(tx: Db, retailerId: string, storeId: string, transactionId: string): Promise<PosTransactionRow | undefined> {
  return tx
    .selectFrom('pos_transactions')
    .selectAll()
    .where('retailer_id', '=', retailerId)
    .where('store_id', '=', storeId.toLowerCase())
    .where('transaction_id', '=', transactionId)
    .forUpdate()
    .executeTakeFirst();
}

/**
 * Records what a new transaction did, with what the unit of work holds
 * (its timeline entry, its events), in one statement: the hot path's last
 * round trip before commit.
 */
export async function recordEffects(tx: Db, retailerId: string, ref: TransactionRef, effects: Effects): Promise<void> {
  if (effects.earned.length || effects.redeemed.length || effects.campaignGoals?.goals.length) unitOf(tx).plan(effectsUpdate(retailerId, ref, effects));
  await unitOf(tx).flush(tx);
}

export interface Effects {
  earned: EarnedPoints[];
  redeemed: string[];
  /** The campaign goals the purchase advanced (their completion counts are read in the statement). */
  campaignGoals?: { memberId: string; goals: { behavior_id: number; goal: string }[] };
}

/** A stored transaction: its id and its key (store and transaction id). */
export interface TransactionRef {
  id: string;
  storeId: string;
  transactionId: string;
}

export const refOf = (row: Pick<PosTransactionRow, 'id' | 'store_id' | 'transaction_id'>): TransactionRef => ({ id: row.id, storeId: row.store_id, transactionId: row.transaction_id });

/**
 * The row of `ref`, by both its unique keys. A generic plan is made once per
 * connection, often while the table is still small and without statistics;
 * found by its id alone, it may then use the (retailer, store, transaction)
 * index on its first column and read every transaction of the retailer.
 */
const rowOf = (retailerId: string, ref: TransactionRef) =>
  sql<boolean>`retailer_id = ${retailerId} AND id = ${ref.id} AND store_id = ${ref.storeId} AND transaction_id = ${ref.transactionId}`;

/** The statement recordEffects sends, for a caller that sends it with its own writes. */
export const effectsUpdate = (retailerId: string, ref: TransactionRef, effects: Effects) =>
  effects.campaignGoals?.goals.length
    ? sql`UPDATE pos_transactions SET earned = ${JSON.stringify(effects.earned)}::jsonb, redeemed_user_offer_ids = ${JSON.stringify(effects.redeemed)}::jsonb,
                                      campaign_goals = ${advancedGoalsJson(retailerId, effects.campaignGoals.memberId, effects.campaignGoals.goals)}
           WHERE ${rowOf(retailerId, ref)}`
    : sql`UPDATE pos_transactions SET earned = ${JSON.stringify(effects.earned)}::jsonb, redeemed_user_offer_ids = ${JSON.stringify(effects.redeemed)}::jsonb
           WHERE ${rowOf(retailerId, ref)}`;

/** A modified transaction's new lines and what it earns now (a statement for the caller to send). */
export const linesUpdate = (retailerId: string, ref: TransactionRef, input: TransactionInput, earned: EarnedPoints[], now: Date) =>
  sql`UPDATE pos_transactions
         SET subtotal = ${toDecimal(input.subtotal)}, tax_total = ${toDecimal(input.taxTotal)}, items = ${JSON.stringify(input.items)}::jsonb,
             payments = ${JSON.stringify(input.payments)}::jsonb, discounts = ${JSON.stringify(input.discounts)}::jsonb,
             modified_time = coalesce(${input.modifiedTime ?? null}::timestamptz, modified_time), earned = ${JSON.stringify(earned)}::jsonb, updated_at = ${now}
       WHERE ${rowOf(retailerId, ref)}`;

/** Whether a transaction sent again has other lines than the stored one (its subtotal or items differ). */
export function linesChanged(row: PosTransactionRow, input: Pick<TransactionInput, 'subtotal' | 'items'>): boolean {
  return fromDb(row.subtotal) !== input.subtotal || canonical(row.items) !== canonical(JSON.parse(JSON.stringify(input.items)));
}

/** JSON text with object keys sorted (jsonb keeps its own key order). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * What the member's transactions (but `exceptId`) that are not voided earned
 * in all, by point account: the most a return may take back.
 */
export async function netEarned(tx: Db, retailerId: string, memberId: string, exceptId: string): Promise<Map<string, Amount>> {
  const { rows } = await sql<{ point_account_id: string; amount: string }>`
    SELECT lower(e->>'point_account_id') AS point_account_id, sum((e->>'amount')::numeric)::text AS amount
      FROM pos_transactions t CROSS JOIN LATERAL jsonb_array_elements(t.earned) e
     WHERE t.retailer_id = ${retailerId} AND t.member_id = ${memberId} AND NOT t.is_voided AND t.id <> ${exceptId}
     GROUP BY 1`.execute(tx);
  return new Map(rows.map((r) => [r.point_account_id, fromDb(r.amount)]));
}

export async function markVoided(tx: Db, retailerId: string, ref: TransactionRef, now: Date): Promise<void> {
  await tx.updateTable('pos_transactions').set({ is_voided: true, voided_at: now, updated_at: now }).where(rowOf(retailerId, ref)).execute();
}

/** The latest unclaimed anonymous transaction with this receipt code, locked. */
export async function lockClaimable(tx: Db, retailerId: string, receiptCode: string): Promise<PosTransactionRow | undefined> {
  return tx
    .selectFrom('pos_transactions')
    .selectAll()
    .where('retailer_id', '=', retailerId)
    .where(sql`lower(receipt_code)`, '=', receiptCode.toLowerCase())
    .orderBy(sql`member_id IS NULL`, 'desc')
    .orderBy('created_at', 'desc')
    .limit(1)
    .forUpdate()
    .executeTakeFirst();
}

export async function assignMember(tx: Db, retailerId: string, ref: TransactionRef, memberId: string, now: Date): Promise<void> {
  await tx.updateTable('pos_transactions').set({ member_id: memberId, claimed_at: now, updated_at: now }).where(rowOf(retailerId, ref)).execute();
}

/** Sums earned points per account (the rules' and campaigns' deposits). */
export function sumEarned(parts: { point_account_id: string; amount: Amount }[]): EarnedPoints[] {
  const byAccount = new Map<string, Amount>();
  for (const p of parts) byAccount.set(p.point_account_id.toLowerCase(), (byAccount.get(p.point_account_id.toLowerCase()) ?? 0n) + p.amount);
  return [...byAccount].filter(([, a]) => a > 0n).map(([point_account_id, amount]) => ({ point_account_id, amount: toDecimal(amount) }));
}

/** Amounts by point account as stored in `earned`: every one but zero (a return's are negative). */
export const earnedOf = (byAccount: Map<string, Amount>): EarnedPoints[] =>
  [...byAccount].filter(([, a]) => a !== ZERO).map(([point_account_id, amount]) => ({ point_account_id, amount: toDecimal(amount) }));

export const earnedAmount = (e: EarnedPoints): Amount => parseAmount(e.amount, 'amount', false);
