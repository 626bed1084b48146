import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import { enqueue, runNextJob, withdrawJob, type JobHandler } from '../modules/jobs/queue.js';
import { purgeExpiredTags } from '../modules/tags/service.js';
import { purgeReplays } from '../modules/replays/service.js';
import { pruneEvents } from '../modules/outbox/service.js';
import { pruneDeliveries } from '../modules/webhooks/deliveries.js';
import { pruneSessions } from '../modules/operators/service.js';
import { expireUserOffers } from '../modules/offers/user-offers.js';
import { runTierMaintenance } from '../flows/tier-maintenance.js';
import { analyzeChangedTables } from '../db/statistics.js';

export interface WorkerOptions {
  pollMs?: number;
  replayWindowSeconds?: number;
  eventRetentionDays?: number;
  handlers?: Record<string, JobHandler>;
}

/** Housekeeping must never give up for good: it retries (backing off to hourly) until it succeeds. */
const PERIODIC_MAX_ATTEMPTS = 2 ** 31 - 1;

/** Housekeeping that re-schedules itself: one pending job per queue. */
function periodicJobs(options: WorkerOptions): Record<string, { everySeconds: number; run: JobHandler }> {
  return {
    'tags.purge-expired': { everySeconds: 300, run: async (tx) => void (await purgeExpiredTags(tx)) },
    'replays.purge': { everySeconds: 600, run: async (tx) => purgeReplays(tx, options.replayWindowSeconds) },
    'tiers.maintenance': { everySeconds: 30, run: async (tx) => void (await runTierMaintenance(tx)) },
    // events and their webhook deliveries, after the retention period
    'outbox.prune': {
      everySeconds: 600,
      run: async (tx) => {
        const retention = (options.eventRetentionDays ?? 30) * 86_400;
        await pruneEvents(tx, retention);
        await pruneDeliveries(tx, retention);
      },
    },
    'offers.expire': { everySeconds: 30, run: async (tx) => void (await expireUserOffers(tx, new Date(), 1000)) },
    // operators' sessions past their end
    'operators.prune-sessions': { everySeconds: 3600, run: async (tx) => pruneSessions(tx) },
    'db.analyze': { everySeconds: 10, run: async (tx) => void (await analyzeChangedTables(tx)) },
  };
}

export function jobHandlers(options: WorkerOptions = {}): Record<string, JobHandler> {
  const handlers: Record<string, JobHandler> = { ...options.handlers };
  for (const [queue, { everySeconds, run }] of Object.entries(periodicJobs(options))) {
    handlers[queue] = async (tx, payload) => {
      await run(tx, payload);
      // the job row is deleted when this commits; the dedupe key lets the next one in
      await withdrawJob(tx, queue, queue);
      await enqueue(tx, { queue, dedupeKey: queue, runAt: new Date(Date.now() + everySeconds * 1000), maxAttempts: PERIODIC_MAX_ATTEMPTS });
    };
  }
  return handlers;
}

export interface Worker {
  stop(): Promise<void>;
  /** Runs every due job now (tests, CLI). */
  drain(): Promise<number>;
}

/** Polls the job queue in this process until stopped. */
export async function startWorker(db: Db, log: Logger, options: WorkerOptions = {}): Promise<Worker> {
  const handlers = jobHandlers(options);
  for (const queue of Object.keys(periodicJobs(options))) await enqueue(db, { queue, dedupeKey: queue, maxAttempts: PERIODIC_MAX_ATTEMPTS });
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();

  const drain = async () => {
    let count = 0;
    for (;;) {
      const outcome = await runNextJob(db, handlers);
      if (!outcome) return count;
      count++;
      if (!outcome.ok) log.warn({ job: outcome.id, queue: outcome.queue, err: outcome.error }, 'job failed; will retry');
    }
  };

  const timer = setInterval(() => {
    if (stopped) return;
    running = running.then(drain).catch((err) => log.error({ err }, 'worker poll failed'));
  }, options.pollMs ?? 1000);
  timer.unref();

  return {
    drain: () => (running = running.then(drain)) as Promise<number>,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running.catch(() => {});
    },
  };
}
