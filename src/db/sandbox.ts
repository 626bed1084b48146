/**
 * A sandbox: work that runs against the real database, in one transaction
 * that is always rolled back, so it writes nothing (no rows, no outbox
 * events, no counters) while every rule, lock and constraint applies as for
 * real. Transactions begun inside it (transact) are savepoints of it: one
 * that fails is undone alone, as a failed transaction would be.
 */
import { sql, type Transaction } from 'kysely';
import type { Db } from './connection.js';
import type { Database } from './schema.js';
import { withOwnConfiguration } from '../lib/config-cache.js';

const ROLLBACK = Symbol('sandbox rollback');

/**
 * Runs `work` in a sandbox and answers what it answered; its writes are
 * rolled back. `ownConfiguration`: configuration read in it is its own (a
 * program applied in it is what it evaluates with).
 */
export async function sandbox<T>(db: Db, work: (db: Db) => Promise<T>, options: { ownConfiguration?: boolean } = {}): Promise<T> {
  let result: { value: T } | undefined;
  const run = () =>
    db.transaction().execute(async (tx) => {
      result = { value: await work(nested(tx)) };
      throw ROLLBACK;
    });
  try {
    await (options.ownConfiguration ? withOwnConfiguration(run) : run());
  } catch (err) {
    if (err !== ROLLBACK) throw err;
  }
  return result!.value;
}

/** The sandbox's transaction as a database whose transactions are savepoints. */
function nested(tx: Transaction<Database>): Db {
  const handle: Db = new Proxy(tx, {
    get(target, prop) {
      if (prop === 'transaction') return () => savepoint;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as unknown as Db;
  const savepoint = {
    setIsolationLevel: () => savepoint,
    setAccessMode: () => savepoint,
    async execute<R>(work: (tx: Transaction<Database>) => Promise<R>): Promise<R> {
      await sql`SAVEPOINT sandbox`.execute(tx);
      try {
        const value = await work(handle as unknown as Transaction<Database>);
        await sql`RELEASE SAVEPOINT sandbox`.execute(tx);
        return value;
      } catch (err) {
        await sql`ROLLBACK TO SAVEPOINT sandbox`.execute(tx);
        throw err;
      }
    },
  };
  return handle;
}
