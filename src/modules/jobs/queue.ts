import { transact } from '../../db/unit-of-work.js';
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

export interface JobSpec {
  queue: string;
  payload?: Record<string, unknown>;
  runAt?: Date;
  /** At most one pending job per queue and key. */
  dedupeKey?: string;
  maxAttempts?: number;
}

/** Enqueues a job in the caller's transaction, so it exists exactly when the work that asked for it commits. */
export async function enqueue(tx: Db, job: JobSpec): Promise<void> {
  await tx
    .insertInto('jobs')
    .values({
      queue: job.queue,
      payload: JSON.stringify(job.payload ?? {}),
      run_at: job.runAt ?? new Date(),
      dedupe_key: job.dedupeKey ?? null,
      ...(job.maxAttempts ? { max_attempts: job.maxAttempts } : {}),
    })
    .onConflict((oc) => oc.columns(['queue', 'dedupe_key']).where('dedupe_key', 'is not', null).doNothing())
    .execute();
}

/** Withdraws the job of a queue with a dedupe key, in the caller's transaction (a new one with that key can then be enqueued). */
export async function withdrawJob(tx: Db, queue: string, dedupeKey: string): Promise<void> {
  await tx.deleteFrom('jobs').where('queue', '=', queue).where('dedupe_key', '=', dedupeKey).execute();
}

export type JobHandler = (tx: Db, payload: Record<string, unknown>) => Promise<void>;

export interface JobOutcome {
  id: number;
  queue: string;
  ok: boolean;
  error?: string;
}

/**
 * Claims one due job with FOR UPDATE SKIP LOCKED (so workers never share a
 * job), runs its handler in the same transaction and deletes it on success.
 * A failure rolls the handler's writes back and schedules a retry with
 * exponential backoff; after max_attempts the job stays with its last error.
 */
export async function runNextJob(db: Db, handlers: Record<string, JobHandler>, now = new Date()): Promise<JobOutcome | undefined> {
  const queues = Object.keys(handlers);
  if (!queues.length) return undefined;
  let claimed: { id: number; queue: string; attempts: number } | undefined;
  try {
    return await transact(db, async (tx) => {
      const job = await tx
        .selectFrom('jobs')
        .select(['id', 'queue', 'payload', 'attempts'])
        .where('run_at', '<=', now)
        .where('queue', 'in', queues)
        .where(sql<boolean>`attempts < max_attempts`)
        .orderBy('run_at')
        .limit(1)
        .forUpdate()
        .skipLocked()
        .executeTakeFirst();
      if (!job) return undefined;
      claimed = job;
      await handlers[job.queue](tx, job.payload);
      await tx.deleteFrom('jobs').where('id', '=', job.id).execute();
      return { id: job.id, queue: job.queue, ok: true };
    });
  } catch (err) {
    if (!claimed) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const delaySeconds = Math.min(3600, 2 ** claimed.attempts * 5);
    await db
      .updateTable('jobs')
      .set({ attempts: claimed.attempts + 1, last_error: message, run_at: new Date(now.getTime() + delaySeconds * 1000) })
      .where('id', '=', claimed.id)
      .execute();
    return { id: claimed.id, queue: claimed.queue, ok: false, error: message };
  }
}

/** Jobs waiting to run (for /metrics). */
export async function queueDepth(db: Db): Promise<number> {
  const row = await db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).where(sql<boolean>`attempts < max_attempts`).executeTakeFirstOrThrow();
  return Number(row.n);
}
