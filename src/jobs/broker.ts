/**
 * The NATS JetStream publisher: every outbox event, in position order, to
 * stream NATS_STREAM (subjects `loyalist.>`) as `loyalist.<retailer>.<type>`
 * with `Nats-Msg-Id: <event id>` (JetStream drops a duplicate within its
 * window). The cursor moves only once the stream has acknowledged the
 * events; while the broker is down nothing moves and nothing is lost, and
 * the API serves on. One process publishes at a time (the cursor's lock).
 */
import type { Logger } from 'pino';
import { connect, headers, RetentionPolicy, StringCodec, type JetStreamClient, type NatsConnection } from 'nats';
import type { Db } from '../db/index.js';
import { transact } from '../db/unit-of-work.js';
import { advanceCursor, claimCursor, type FeedEvent } from '../modules/outbox/service.js';
import { pollLoop } from './poll.js';

const CONSUMER = 'nats';
const BATCH = 500;
const codec = StringCodec();

export interface PublisherOptions {
  url: string;
  stream: string;
  /** Idle wait between polls (default 250 ms). */
  pollMs?: number;
}

export const subjectOf = (e: Pick<FeedEvent, 'retailer_id' | 'type'>) => `loyalist.${e.retailer_id}.${e.type}`;

export interface Publisher {
  stop(): Promise<void>;
  /** Publishes until nothing is left (tests); throws while the broker is down. */
  drain(): Promise<void>;
}

/** Publishes the outbox to JetStream until stopped, reconnecting (and waiting) while the broker is away. */
export function startPublisher(db: Db, log: Logger, options: PublisherOptions): Publisher {
  let nc: NatsConnection | undefined;
  let js: JetStreamClient | undefined;
  const ready = async (): Promise<JetStreamClient> => {
    if (js && nc && !nc.isClosed()) return js;
    nc = await connect({ servers: options.url, name: 'loyalist', maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 2000 });
    const jsm = await nc.jetstreamManager();
    try {
      await jsm.streams.info(options.stream);
    } catch {
      await jsm.streams.add({ name: options.stream, subjects: ['loyalist.>'], retention: RetentionPolicy.Limits, duplicate_window: 2 * 60 * 1_000_000_000 });
    }
    js = nc.jetstream({ timeout: 5000 });
    return js;
  };

  /** One batch: the events after the cursor published (in order, acknowledged) and the cursor moved, in one transaction. */
  const round = async (): Promise<number> => {
    const client = await ready();
    return transact(db, async (tx) => {
      const claimed = await claimCursor(tx, CONSUMER, BATCH);
      if (!claimed?.events.length) return 0;
      // sent in order on one connection, acknowledged in any order; the cursor moves only when all are
      await Promise.all(
        claimed.events.map((e) => {
          const h = headers();
          h.set('Nats-Msg-Id', e.id);
          return client.publish(subjectOf(e), codec.encode(JSON.stringify({ id: e.id, type: e.type, version: e.version, position: e.position, retailer_id: e.retailer_id, user_id: e.user_id, occurred_at: e.occurred_at, data: e.payload })), { msgID: e.id, headers: h });
        }),
      );
      await advanceCursor(tx, CONSUMER, claimed.events.at(-1)!);
      // a full batch: more is waiting, the next round at once; else the next poll
      return claimed.events.length === BATCH ? BATCH : 0;
    });
  };

  const loop = pollLoop(round, {
    pollMs: options.pollMs ?? 250,
    // the broker (or the database) is away: the loop waits longer each time, up to 5 s, and goes on
    onError(err, failures) {
      if (failures === 1) log.warn({ err: (err as Error).message, broker: options.url }, 'cannot publish to NATS; the outbox keeps the events');
      if (nc?.isClosed()) js = undefined;
    },
    onRecover: () => log.info({ broker: options.url }, 'publishing to NATS again'),
  });

  return {
    async drain() {
      await loop.current;
      while (await round());
    },
    async stop() {
      await loop.stop();
      await nc?.close().catch(() => {});
    },
  };
}
