import { sql, type OperationNodeSource, type Transaction } from 'kysely';
import { THEN_COMMIT, type Db } from './connection.js';
import type { Database } from './schema.js';
import { contextOfTransaction } from './write-context.js';
import { notingWrites, writesCommitted } from './replica.js';

/**
 * Rows of one kind planned by several callers, written by one INSERT
 * (timeline entries, domain events): the module that owns the table gives
 * the insert, the unit of work gathers the rows.
 */
export interface Batch<R> {
  /** Batches of one name are one: their rows go to the insert of the first one planned. */
  name: string;
  insert(rows: R[]): OperationNodeSource;
}

/**
 * What a use case has planned to write in its transaction and not written
 * yet: statements (no answer read) and batched rows. A hot path sends them
 * within its own statement (take()); whatever is left is written in one
 * statement before the transaction commits, so a change and the events it
 * records commit together or not at all.
 */
export class UnitOfWork {
  private statements: OperationNodeSource[] = [];
  private batches = new Map<string, { batch: Batch<unknown>; rows: unknown[] }>();
  /** The members this transaction wrote, noted while a replica is read (db/replica.ts). */
  readonly members = new Set<string>();

  /** A write, sent with the next statement that takes the plan. */
  plan(statement: OperationNodeSource): void {
    this.statements.push(statement);
  }

  /** Rows of a batch, after those planned before (or before them, `first`). */
  add<R>(batch: Batch<R>, rows: R[], options: { first?: boolean } = {}): void {
    if (!rows.length) return;
    const planned = this.batches.get(batch.name);
    if (!planned) this.batches.set(batch.name, { batch: batch as Batch<unknown>, rows });
    else planned.rows = options.first ? [...rows, ...planned.rows] : [...planned.rows, ...rows];
  }

  /** How many statements and rows are planned (a caller can tell whether a step planned anything). */
  get size(): number {
    return this.statements.length + [...this.batches.values()].reduce((n, { rows }) => n + rows.length, 0);
  }

  /** Everything planned, as statements in order (the batches' inserts last), leaving the plan empty. */
  take(): OperationNodeSource[] {
    const taken = [...this.statements, ...[...this.batches.values()].map(({ batch, rows }) => batch.insert(rows))];
    this.statements = [];
    this.batches = new Map();
    return taken;
  }

  /**
   * Writes what is planned, in one statement (or none); `commit`: the transaction's
   * last, with its COMMIT right behind it on the wire (THEN_COMMIT).
   */
  async flush(tx: Db, options: { commit?: boolean } = {}): Promise<void> {
    const taken = this.take();
    const end = sql.raw(options.commit ? THEN_COMMIT : '');
    if (taken.length === 1) await sql`${taken[0]}${end}`.execute(tx);
    else if (taken.length) await sql`WITH ${sql.join(asCtes(taken), sql` `)} planned AS (SELECT 1) SELECT 1${end}`.execute(tx);
  }
}

/** Planned statements as the leading CTEs of a caller's statement (`WITH ${...} own AS (...)`). */
export const asCtes = (statements: OperationNodeSource[]) => statements.map((q, i) => sql`${sql.raw(`planned_${i}`)} AS (${q}),`);

const units = new WeakMap<Db, UnitOfWork>();

/** The unit of work of a transaction begun by transact(). */
export function unitOf(tx: Db): UnitOfWork {
  const unit = units.get(tx);
  if (!unit) throw new Error('not in a transaction begun by transact()');
  return unit;
}

/**
 * The transaction writes this member's data (its lock, timeline entries, domain events): once
 * it commits, this process reads the member from the primary until a replica has replayed it.
 * Memory only, and nothing at all without a replica.
 */
export function noteMemberWrite(tx: Db, memberId: string): void {
  if (notingWrites()) units.get(tx)?.members.add(memberId);
}

/** A transaction PostgreSQL chose to fail so others could go on (a deadlock, a serialization failure): safe to run again. */
const isRetryable = (err: unknown) => !!err && typeof err === 'object' && ((err as { code?: unknown }).code === '40P01' || (err as { code?: unknown }).code === '40001');

const ATTEMPTS = 3;

/**
 * Runs a use case in one transaction with its unit of work, writes what it
 * left planned, and commits. A deadlock or serialization failure rolls
 * everything back (its events with it) and runs the use case again, up to
 * three times; `work` must therefore keep its effects inside the database.
 */
export async function transact<T>(db: Db, work: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
  let context: ReturnType<typeof contextOfTransaction>;
  for (let attempt = 1; ; attempt++) {
    const unit = new UnitOfWork();
    try {
      const result = await db.transaction().execute(async (tx) => {
        units.set(tx, unit);
        context = contextOfTransaction(db, tx);
        const result = await work(tx);
        // the request's write record (the audit trail) commits with its first transaction
        if (context && !context.committed) {
          await unit.flush(tx);
          await context.beforeCommit(tx, context.detail);
        }
        // what is left planned goes out with the COMMIT: nothing may follow it here (inside a
        // sandbox's transaction, where this one is a savepoint, there is no COMMIT to send)
        await unit.flush(tx, { commit: !db.isTransaction });
        return result;
      });
      if (context) context.committed = true;
      if (unit.members.size) writesCommitted(unit.members);
      return result;
    } catch (err) {
      if (attempt >= ATTEMPTS || !isRetryable(err)) throw err;
    }
  }
}
