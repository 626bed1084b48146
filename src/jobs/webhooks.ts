/**
 * The webhook dispatcher: copies new outbox events into each endpoint's
 * deliveries, claims the due ones (leased, never in flight twice, a member's
 * in order) and POSTs them, signed as Standard Webhooks 1.0, then records the
 * attempt: done on a 2xx, the endpoint disabled on a 410, else again after
 * the next wait of the retry schedule (or the receiver's Retry-After, when
 * longer) until the schedule is used up and the delivery fails for good.
 * Any number of processes may run one on the same database.
 */
import type { Logger } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Db } from '../db/index.js';
import { transact } from '../db/unit-of-work.js';
import { pollLoop } from './poll.js';
import { claimDue, fanOut, recordAttempts, type AttemptOutcome, type Claimed } from '../modules/webhooks/deliveries.js';
import { disableEndpoint, signingSecrets } from '../modules/webhooks/endpoints.js';
import { postWebhook } from '../modules/webhooks/send.js';
import { signatureHeader } from '../modules/webhooks/signing.js';

export interface DispatcherOptions {
  /** Seconds to wait before each retry. */
  retrySchedule: number[];
  timeoutMs: number;
  allowPrivate: boolean;
  /** Deliveries in flight per endpoint (default 100). */
  perEndpoint?: number;
  /** Idle wait between polls (default 250 ms). */
  pollMs?: number;
}

/** The dispatcher's options as configured (WEBHOOK_RETRY_SCHEDULE "5,300,1800" → [5, 300, 1800]). */
export const dispatcherOptions = (config: Pick<Config, 'webhookRetrySchedule' | 'webhookTimeoutMs' | 'webhookAllowPrivateNetworks'>): DispatcherOptions => ({
  retrySchedule: config.webhookRetrySchedule.split(',').map((s) => Number(s.trim())),
  timeoutMs: config.webhookTimeoutMs,
  allowPrivate: config.webhookAllowPrivateNetworks,
});

/** The dispatcher's metrics (served with the process's others at /metrics). */
export const webhookRegistry = new Registry();
const results = new Counter({ name: 'loyalist_webhook_deliveries_total', help: 'Webhook delivery attempts by result', labelNames: ['result'], registers: [webhookRegistry] });
const latency = new Histogram({ name: 'loyalist_webhook_delivery_seconds', help: 'Webhook delivery attempt latency', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15], registers: [webhookRegistry] });

/** The body a delivery POSTs. */
export const deliveryBody = (c: Claimed) => JSON.stringify({ id: c.event.id, type: c.event.type, timestamp: c.event.occurred_at, retailer_id: c.event.retailer_id, data: c.event.payload });

async function deliver(db: Db, log: Logger, c: Claimed, options: DispatcherOptions): Promise<AttemptOutcome> {
  const body = deliveryBody(c);
  const timestamp = Math.floor(Date.now() / 1000);
  const headers = { 'webhook-id': c.event.id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signatureHeader(c.event.id, timestamp, body, signingSecrets(c)) };
  const sent = await postWebhook(c.url, body, headers, { timeoutMs: options.timeoutMs, allowPrivate: options.allowPrivate });
  latency.observe(sent.durationMs / 1000);
  const attempt = { at: new Date().toISOString(), status_code: sent.status, duration_ms: sent.durationMs, error: sent.error };
  const made = c.delivery.attempts.length + 1;
  if (sent.status !== null && sent.status >= 200 && sent.status < 300) {
    results.inc({ result: 'succeeded' });
    return { delivery: c.delivery, attempt, next: { status: 'succeeded' } };
  }
  if (sent.status === 410) {
    // the receiver is gone: the endpoint stops, the event waits for it to be enabled again
    results.inc({ result: 'gone' });
    await disableEndpoint(db, c.delivery.retailer_id, c.delivery.endpoint_id, 'the receiver answered 410 Gone');
    log.warn({ webhook: c.delivery.endpoint_id }, 'webhook endpoint disabled: 410 Gone');
    return { delivery: c.delivery, attempt, next: { status: 'pending', retryAt: new Date() } };
  }
  if (made > options.retrySchedule.length) {
    results.inc({ result: 'failed' });
    log.warn({ webhook: c.delivery.endpoint_id, event: c.event.id, attempts: made }, 'webhook delivery failed for good');
    return { delivery: c.delivery, attempt, next: { status: 'failed' } };
  }
  results.inc({ result: 'retry' });
  // ±10% jitter, so that retries of many deliveries spread out; a longer Retry-After wins
  // (a Retry-After beyond a day is taken as a day)
  const wait = Math.max(options.retrySchedule[made - 1] * (0.9 + Math.random() * 0.2), Math.min(sent.retryAfter ?? 0, 86_400));
  return { delivery: c.delivery, attempt, next: { status: 'pending', retryAt: new Date(Date.now() + wait * 1000) } };
}

export interface Dispatcher {
  stop(): Promise<void>;
  /** Copies, claims and sends until nothing is due (tests). */
  drain(): Promise<number>;
}

/** Deliveries one process has in flight at most. */
const IN_FLIGHT = 500;
/** Events the fan-out copies per round. */
const FAN_OUT_BATCH = 1000;

/**
 * Runs the dispatcher in this process until stopped. Sends run on while the
 * loop claims more: an attempt is recorded (and its member's next event
 * claimed) in the round after it ends, so a slow receiver holds up only its
 * own deliveries.
 */
export function startDispatcher(db: Db, log: Logger, options: DispatcherOptions): Dispatcher {
  // longer than an attempt can take: a lease still running means a process is at it
  const leaseSeconds = Math.ceil((2 * options.timeoutMs) / 1000) + 5;
  const inFlight = new Set<Promise<void>>();
  let ended: AttemptOutcome[] = [];
  const send = (c: Claimed) => {
    const sending: Promise<void> = deliver(db, log, c, options)
      .then((outcome) => void ended.push(outcome))
      // not recorded: the lease runs out and the delivery is sent again
      .catch((err) => log.error({ err, webhook: c.delivery.endpoint_id }, 'webhook attempt not recorded'))
      .finally(() => {
        inFlight.delete(sending);
        // the attempts that end within a few milliseconds are recorded by one round
        loop.wake(5);
      });
    inFlight.add(sending);
  };
  /** Records the attempts that ended, copies new events into deliveries, and sends what is due; answers how much it did. */
  const round = async (): Promise<number> => {
    const outcomes = ended;
    ended = [];
    try {
      await recordAttempts(db, outcomes);
    } catch (err) {
      ended.unshift(...outcomes);
      throw err;
    }
    const copied = await transact(db, (tx) => fanOut(tx, FAN_OUT_BATCH));
    const room = IN_FLIGHT - inFlight.size;
    const claimed = room > 0 ? await claimDue(db, room, options.perEndpoint ?? 100, leaseSeconds) : [];
    claimed.forEach(send);
    // the next round at once after claiming (or with a backlog of events); attempts ending wake it
    return claimed.length + (copied === FAN_OUT_BATCH ? copied : 0);
  };
  const loop = pollLoop(round, {
    pollMs: options.pollMs ?? 250,
    onError: (err, failures) => failures === 1 && log.error({ err }, 'webhook dispatch failed; retrying'),
    onRecover: () => log.info('webhook dispatch works again'),
  });
  return {
    async drain() {
      await loop.current;
      let total = 0;
      for (;;) {
        const n = await round();
        total += n;
        if (!n && !inFlight.size && !ended.length) return total;
        if (!n && inFlight.size) await Promise.race(inFlight);
      }
    },
    async stop() {
      await loop.stop();
      await Promise.allSettled(inFlight);
      await recordAttempts(db, ended).catch((err) => log.error({ err }, 'webhook attempts not recorded at stop'));
      ended = [];
    },
  };
}
