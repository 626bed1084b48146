/**
 * The point settler: within moments of a lot's instant, pending points are
 * credited and expired ones written off, in batches of members, each batch
 * one transaction; any number of processes share the work (SKIP LOCKED).
 * Reads count lots past their instant at once, so nothing waits for it, and
 * through a backlog it rests as long as each batch took: live requests keep
 * at least half of what the database gives it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import { transact } from '../db/unit-of-work.js';
import { settleDuePoints } from '../flows/point-expiry.js';
import { pollLoop, type PollLoop } from './poll.js';

export function startSettler(db: Db, log: Logger, options: { pollMs?: number; batch?: number } = {}): PollLoop {
  const batch = options.batch ?? 500;
  const round = async () => {
    const started = Date.now();
    const settled = await transact(db, (tx) => settleDuePoints(tx, new Date(), batch));
    if (settled === batch) await sleep(Date.now() - started);
    return settled;
  };
  return pollLoop(round, {
    pollMs: options.pollMs ?? 1000,
    onError: (err, failures) => failures === 1 && log.error({ err }, 'point settling failed; retrying'),
    onRecover: () => log.info('point settling works again'),
  });
}
