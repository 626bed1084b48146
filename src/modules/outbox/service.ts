import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { recordset } from '../../db/rows.js';
import { unitOf, type Batch } from '../../db/unit-of-work.js';
import { EVENT_CATALOG, type EventPayload, type EventType } from './catalog.js';

/** A domain event as a module records it. */
export interface NewEvent<T extends EventType = EventType> {
  type: T;
  retailerId: string;
  /** The member it is about, when there is one. */
  memberId?: string | null;
  occurredAt?: Date;
  payload: EventPayload<T>;
}

interface EventRow {
  id: string;
  member_id: string | null;
  type: string;
  version: number;
  occurred_at: string;
  payload: Record<string, unknown>;
}

const EVENT_COLUMNS = { id: 'uuid', member_id: 'uuid', type: 'text', version: 'int', occurred_at: 'timestamptz', payload: 'jsonb' };

/** Every event of a transaction in one INSERT, in the order recorded (so in `position` order). */
const outbox = (retailerId: string): Batch<EventRow> => ({
  name: `domain_events:${retailerId}`,
  insert: (rows) =>
    sql`INSERT INTO domain_events (id, retailer_id, member_id, type, version, occurred_at, payload)
        SELECT id, ${retailerId}::uuid, member_id, type, version, occurred_at, payload FROM ${recordset(rows, EVENT_COLUMNS)} ORDER BY n`,
});

// one batch per retailer, so the units of work of a retailer's requests share it
const batches = new Map<string, Batch<EventRow>>();
const batchOf = (retailerId: string) => batches.get(retailerId) ?? (batches.set(retailerId, outbox(retailerId)), batches.get(retailerId)!);

/**
 * Records domain events in the caller's unit of work: they are written with
 * the transaction's other planned writes, and commit with the change (or
 * roll back with it). Answers their ids.
 */
export function recordDomainEvents(tx: Db, events: NewEvent[]): string[] {
  const now = new Date().toISOString();
  const byRetailer = new Map<string, EventRow[]>();
  for (const e of events) {
    const rows = byRetailer.get(e.retailerId) ?? [];
    byRetailer.set(e.retailerId, rows);
    rows.push({ id: randomUUID(), member_id: e.memberId ?? null, type: e.type, version: EVENT_CATALOG[e.type].version, occurred_at: e.occurredAt?.toISOString() ?? now, payload: e.payload as Record<string, unknown> });
  }
  const unit = unitOf(tx);
  for (const [retailerId, rows] of byRetailer) unit.add(batchOf(retailerId), rows);
  return [...byRetailer.values()].flat().map((r) => r.id);
}

export const recordDomainEvent = <T extends EventType>(tx: Db, event: NewEvent<T>): string => recordDomainEvents(tx, [event as NewEvent])[0];

export interface EventFeedQuery {
  /** Events after this position (exclusive). */
  after?: number;
  limit: number;
  types?: string[];
  memberId?: string;
}

export interface FeedEvent {
  position: string;
  id: string;
  type: string;
  version: number;
  retailer_id: string;
  user_id: string | null;
  occurred_at: string;
  payload: Record<string, unknown>;
}

const feedEvent = (r: { position: number; id: string; type: string; version: number; retailer_id: string; member_id: string | null; occurred_at: Date; payload: Record<string, unknown> }): FeedEvent => ({
  position: String(r.position),
  id: r.id,
  type: r.type,
  version: r.version,
  retailer_id: r.retailer_id,
  user_id: r.member_id,
  occurred_at: new Date(r.occurred_at).toISOString(),
  payload: r.payload,
});

/**
 * A page of a retailer's events in position order. Only events of
 * transactions older than every transaction still running are answered, so
 * a reader that resumes after the last position it saw never misses an
 * event committed later with a lower position.
 */
export async function listEvents(db: Db, retailerId: string, q: EventFeedQuery): Promise<{ events: FeedEvent[]; nextAfter: string | null; more: boolean }> {
  let query = db
    .selectFrom('domain_events')
    .select(['position', 'id', 'type', 'version', 'retailer_id', 'member_id', 'occurred_at', 'payload'])
    .where('retailer_id', '=', retailerId)
    .where(sql<boolean>`tx_id < pg_snapshot_xmin(pg_current_snapshot())`);
  if (q.after !== undefined) query = query.where('position', '>', q.after);
  if (q.types?.length) query = query.where('type', 'in', q.types);
  if (q.memberId) query = query.where('member_id', '=', q.memberId);
  const rows = await query.orderBy('position').limit(q.limit + 1).execute();
  const more = rows.length > q.limit;
  const events = rows.slice(0, q.limit).map(feedEvent);
  return { events, nextAfter: events.at(-1)?.position ?? (q.after === undefined ? null : String(q.after)), more };
}

/** Events by (retailer, position), keyed `${retailer}/${position}` (what deliveries send). */
export async function eventsByPosition(db: Db, keys: { retailerId: string; position: number }[]): Promise<Map<string, FeedEvent>> {
  if (!keys.length) return new Map();
  const { rows } = await sql<{ position: number; id: string; type: string; version: number; retailer_id: string; member_id: string | null; occurred_at: Date; payload: Record<string, unknown> }>`
    SELECT e.position, e.id, e.type, e.version, e.retailer_id, e.member_id, e.occurred_at, e.payload
      FROM unnest(${keys.map((k) => k.retailerId)}::uuid[], ${keys.map((k) => k.position)}::bigint[]) AS k(retailer_id, position)
      JOIN domain_events e ON e.retailer_id = k.retailer_id AND e.position = k.position`.execute(db);
  return new Map(rows.map((r) => [`${r.retailer_id}/${r.position}`, feedEvent(r)]));
}

/**
 * Where a relay (webhook fan-out, the broker) has got: the transaction and
 * position of the last event it handed on. Relays read in transaction order:
 * every transaction older than the snapshot's xmin has ended, and every one
 * still to commit is younger, so (tx_id, position) after the cursor and below
 * xmin is a complete prefix, however late a transaction commits its events
 * (position order alone is not: a position is taken when the event is written).
 */
export interface RelayCursor {
  tx: string;
  position: number;
}

export type RelayEvent = FeedEvent & { tx_id: string };

/**
 * The cursor a new relay starts from: after every event committed so far
 * (the latest in transaction order), and no earlier than the transactions
 * still running. Events of transactions older than the latest committed one
 * and still open are not its to send either.
 */
export async function startCursor(db: Db): Promise<RelayCursor> {
  const { rows } = await sql<{ tx: string; position: number }>`
    SELECT tx, position FROM (
      (SELECT tx_id::text AS tx, tx_id AS t, position FROM domain_events ORDER BY tx_id DESC, position DESC LIMIT 1)
      UNION ALL
      SELECT pg_snapshot_xmin(pg_current_snapshot())::text, pg_snapshot_xmin(pg_current_snapshot()), 0
    ) c ORDER BY t DESC, position DESC LIMIT 1`.execute(db);
  return { tx: rows[0].tx, position: Number(rows[0].position) };
}

/** Events after the cursor in (transaction, position) order, of one retailer (or all), only of ended transactions. */
export async function eventsAfter(db: Db, cursor: RelayCursor, limit: number, filter: { retailerId?: string; types?: string[] } = {}): Promise<RelayEvent[]> {
  const { rows } = await sql<{ tx_id: string; position: number; id: string; type: string; version: number; retailer_id: string; member_id: string | null; occurred_at: Date; payload: Record<string, unknown> }>`
    SELECT tx_id::text AS tx_id, position, id, type, version, retailer_id, member_id, occurred_at, payload FROM domain_events
     WHERE ${filter.retailerId ? sql`retailer_id = ${filter.retailerId} AND` : sql``}
           (tx_id, position) > (${cursor.tx}::xid8, ${cursor.position}::bigint)
       AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
       ${filter.types?.length ? sql`AND type = ANY(${filter.types}::text[])` : sql``}
     ORDER BY tx_id, position
     LIMIT ${limit}`.execute(db);
  return rows.map((r) => ({ ...feedEvent(r), tx_id: r.tx_id }));
}

/**
 * Locks a whole-outbox relay's cursor (created where startCursor says the
 * first time) and answers the events after it of every retailer; undefined
 * when another process holds it.
 */
export async function claimCursor(tx: Db, consumer: string, limit: number): Promise<{ cursor: RelayCursor; events: RelayEvent[] } | undefined> {
  const start = await startCursor(tx);
  await sql`INSERT INTO outbox_cursors (consumer, tx_id, position) VALUES (${consumer}, ${start.tx}::xid8, 0) ON CONFLICT (consumer) DO NOTHING`.execute(tx);
  const { rows } = await sql<{ tx: string; position: number }>`SELECT tx_id::text AS tx, position FROM outbox_cursors WHERE consumer = ${consumer} FOR UPDATE SKIP LOCKED`.execute(tx);
  if (!rows.length) return undefined;
  const cursor = { tx: rows[0].tx, position: Number(rows[0].position) };
  return { cursor, events: await eventsAfter(tx, cursor, limit) };
}

/** Moves a relay's cursor on to an event it handed on (in the transaction that claimed it). */
export async function advanceCursor(tx: Db, consumer: string, to: RelayEvent): Promise<void> {
  await sql`UPDATE outbox_cursors SET tx_id = ${to.tx_id}::xid8, position = ${Number(to.position)}, updated_at = now() WHERE consumer = ${consumer}`.execute(tx);
}

/** Deletes events older than the retention period (the worker's job); answers how many went. */
export async function pruneEvents(db: Db, retentionSeconds: number, now = new Date()): Promise<number> {
  const result = await db.deleteFrom('domain_events').where('occurred_at', '<', new Date(now.getTime() - retentionSeconds * 1000)).executeTakeFirst();
  return Number(result.numDeletedRows);
}
