// What a request that writes says about its write, for the transaction that
// makes it: the admin surface records every write in the audit trail, in the
// same transaction (http/admin/access.ts). A flow adds what only it knows
// (the configuration before and after, the object it created) with
// describeWrite; transact() runs the context's hook before it commits, once.
import { AsyncLocalStorage } from 'node:async_hooks';
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

const storage = new AsyncLocalStorage<WriteContext>();

export const runWithWriteContext = <T>(context: WriteContext, work: () => T): T => storage.run(context, work);

/** The write context of the current request, if it has one. */
export const writeContext = (): WriteContext | undefined => storage.getStore();

/** Adds to what the current request's write record says (nothing outside such a request). */
export function describeWrite(detail: WriteDetail): void {
  const context = storage.getStore();
  if (context) Object.assign(context.detail, detail);
}
