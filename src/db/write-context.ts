// What a request that writes says about its write, for the transaction that
// makes it: the admin surface records every write in the audit trail, in the
// same transaction (http/admin/access.ts). The request works through a handle
// on the database that carries its context (withWriteContext); transact()
// runs the context's hook before the first of its transactions commits, and a
// flow adds what only it knows (the configuration before and after, the
// object it created) with describeWrite(tx, …).
//
// A handle, not AsyncLocalStorage: on Node 20, a storage once used puts a
// hook on every promise of the process from then on.
import type { KyselyPlugin } from 'kysely';
import type { Db } from './connection.js';

export interface WriteDetail {
  retailerId?: string;
  objectId?: string;
  before?: unknown;
  after?: unknown;
}

export interface WriteContext {
  detail: WriteDetail;
  /** Runs in the first transaction of the request that commits, before it commits. */
  beforeCommit(tx: Db, detail: WriteDetail): Promise<void>;
  /** Whether a transaction carrying the hook committed. */
  committed: boolean;
}

/** Kysely's way to a second handle on the same pool: a plugin that changes nothing. */
const SAME: KyselyPlugin = { transformQuery: (args) => args.node, transformResult: async (args) => args.result };

const byHandle = new WeakMap<Db, WriteContext>();
const byTransaction = new WeakMap<Db, WriteContext>();

/** A handle on the database whose transactions (transact) carry the context. */
export function withWriteContext(db: Db, context: WriteContext): Db {
  const handle = db.withPlugin(SAME);
  byHandle.set(handle, context);
  return handle;
}

/** The context of a handle (transact asks), kept for its transaction. */
export function contextOfTransaction(db: Db, tx: Db): WriteContext | undefined {
  const context = byHandle.get(db);
  if (context) byTransaction.set(tx, context);
  return context;
}

/** Adds to what the write record of the request that began this transaction says (nothing for another transaction). */
export function describeWrite(tx: Db, detail: WriteDetail): void {
  const context = byTransaction.get(tx);
  if (context) Object.assign(context.detail, detail);
}
