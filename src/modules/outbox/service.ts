import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { recordset } from '../../db/rows.js';
import { noteMemberWrite, unitOf, type Batch } from '../../db/unit-of-work.js';
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
    if (e.memberId) noteMemberWrite(tx, e.memberId);
    rows.push({ id: randomUUID(), member_id: e.memberId ?? null, type: e.type, version: EVENT_CATALOG[e.type].version, occurred_at: e.occurredAt?.toISOString() ?? now, payload: e.payload as Record<string, unknown> });
  }
  const unit = unitOf(tx);
  for (const [retailerId, rows] of byRetailer) unit.add(batchOf(retailerId), rows);
  return [...byRetailer.values()].flat().map((r) => r.id);
}

export const recordDomainEvent = <T extends EventType>(tx: Db, event: NewEvent<T>): string => recordDomainEvents(tx, [event as NewEvent])[0];

export interface EventFeedQuery {
  /** Events after this feed cursor (exclusive): `next_after` of the page before. */
  after?: string;
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

/** A feed cursor: `<transaction>-<position>` of the last event read (opaque to readers). */
export const FEED_CURSOR = '^\\d+-\\d+$';

/**
 * A page of a retailer's events in transaction order, as the relays read
 * them (see RelayCursor): only events of transactions older than every
 * transaction still running, so a reader that resumes from `nextAfter`
 * never misses an event, however late its transaction commits.
 */
export async function listEvents(db: Db, retailerId: string, q: EventFeedQuery): Promise<{ events: FeedEvent[]; nextAfter: string | null; more: boolean }> {
  let query = db
    .selectFrom('domain_events')
    .select(['position', 'id', 'type', 'version', 'retailer_id', 'member_id', 'occurred_at', 'payload', sql<string>`tx_id::text`.as('tx')])
    .where('retailer_id', '=', retailerId)
    .where(sql<boolean>`tx_id < pg_snapshot_xmin(pg_current_snapshot())`);
  if (q.after !== undefined) {
    const [tx, position] = q.after.split('-');
    query = query.where(sql<boolean>`(tx_id, position) > (${tx}::xid8, ${position}::bigint)`);
  }
  if (q.types?.length) query = query.where('type', 'in', q.types);
  if (q.memberId) query = query.where('member_id', '=', q.memberId);
  const rows = await query.orderBy(sql`tx_id`).orderBy('position').limit(q.limit + 1).execute();
  const more = rows.length > q.limit;
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return { events: page.map(feedEvent), nextAfter: last ? `${last.tx}-${last.position}` : (q.after ?? null), more };
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
 * Where a relay (the webhook fan-out, the broker) has got: the transaction
 * and position of the last event it handed on. Relays read in transaction
 * order: every transaction older than the snapshot's xmin has ended, and
 * every one still to commit is younger, so (tx_id, position) after the
 * cursor and below xmin is a complete prefix, however late a transaction
 * commits its events (position order alone is not: a position is taken when
 * the event is written). `since` is the snapshot taken when the relay was
 * opened: the events visible in it were committed before, and are not its.
 */
export interface RelayCursor {
  tx: string;
  position: number;
  since: string;
}

export type RelayEvent = FeedEvent & { tx_id: string };
/** What a relay that does not send the payload reads of an event. */
export type RelayHead = Pick<RelayEvent, 'tx_id' | 'position' | 'id' | 'type' | 'retailer_id' | 'user_id'>;

/**
 * Opens a relay's cursor if it is not open yet: from the oldest transaction
 * still running, with the snapshot of now (so the events of transactions
 * running now are its, however late they commit, and none committed before).
 */
export async function openCursor(tx: Db, consumer: string): Promise<void> {
  await sql`INSERT INTO outbox_cursors (consumer, tx_id, position) VALUES (${consumer}, pg_snapshot_xmin(pg_current_snapshot()), 0) ON CONFLICT (consumer) DO NOTHING`.execute(tx);
}

const afterCursor = (cursor: RelayCursor) => sql`(tx_id, position) > (${cursor.tx}::xid8, ${cursor.position}::bigint)
       AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
       AND NOT pg_visible_in_snapshot(tx_id, ${cursor.since}::pg_snapshot)`;

/**
 * Locks a relay's cursor (opened the first time) and answers the events after
 * it, of every retailer, in transaction order: with their payloads, or only
 * their heads; undefined when another process holds it.
 */
export async function claimCursor(tx: Db, consumer: string, limit: number): Promise<{ cursor: RelayCursor; events: RelayEvent[] } | undefined>;
export async function claimCursor(tx: Db, consumer: string, limit: number, heads: 'heads'): Promise<{ cursor: RelayCursor; events: RelayHead[] } | undefined>;
export async function claimCursor(tx: Db, consumer: string, limit: number, heads?: 'heads'): Promise<{ cursor: RelayCursor; events: RelayHead[] } | undefined> {
  await openCursor(tx, consumer);
  const { rows } = await sql<{ tx: string; position: number; since: string }>`
    SELECT tx_id::text AS tx, position, since::text AS since FROM outbox_cursors WHERE consumer = ${consumer} FOR UPDATE SKIP LOCKED`.execute(tx);
  if (!rows.length) return undefined;
  const cursor = { tx: rows[0].tx, position: Number(rows[0].position), since: rows[0].since };
  if (heads) {
    const { rows: events } = await sql<{ tx_id: string; position: number; id: string; type: string; retailer_id: string; member_id: string | null }>`
      SELECT tx_id::text AS tx_id, position, id, type, retailer_id, member_id FROM domain_events
       WHERE ${afterCursor(cursor)} ORDER BY tx_id, position LIMIT ${limit}`.execute(tx);
    return { cursor, events: events.map(({ member_id, ...e }) => ({ ...e, position: String(e.position), user_id: member_id })) };
  }
  const { rows: events } = await sql<{ tx_id: string; position: number; id: string; type: string; version: number; retailer_id: string; member_id: string | null; occurred_at: Date; payload: Record<string, unknown> }>`
    SELECT tx_id::text AS tx_id, position, id, type, version, retailer_id, member_id, occurred_at, payload FROM domain_events
     WHERE ${afterCursor(cursor)} ORDER BY tx_id, position LIMIT ${limit}`.execute(tx);
  return { cursor, events: events.map((r) => ({ ...feedEvent(r), tx_id: r.tx_id })) };
}

/** Moves a relay's cursor on to an event it handed on (in the transaction that claimed it). */
export async function advanceCursor(tx: Db, consumer: string, to: Pick<RelayEvent, 'tx_id' | 'position'>): Promise<void> {
  await sql`UPDATE outbox_cursors SET tx_id = ${to.tx_id}::xid8, position = ${Number(to.position)}, updated_at = now() WHERE consumer = ${consumer}`.execute(tx);
}

/** Deletes events older than the retention period (the worker's job); answers how many went. */
export async function pruneEvents(db: Db, retentionSeconds: number, now = new Date()): Promise<number> {
  const result = await db.deleteFrom('domain_events').where('occurred_at', '<', new Date(now.getTime() - retentionSeconds * 1000)).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The domain events recorded so far in the caller's transaction, in order (what a dry run would have recorded). */
export async function eventsOfThisTransaction(tx: Db): Promise<{ type: string; user_id: string | null; payload: Record<string, unknown> }[]> {
  const { rows } = await sql<{ type: string; user_id: string | null; payload: Record<string, unknown> }>`
    SELECT type, member_id AS user_id, payload FROM domain_events WHERE tx_id = pg_current_xact_id() ORDER BY position`.execute(tx);
  return rows;
}

/**
 * For a simulation's rewind: each member's first tier change per tier system
 * and first tag drop per tag recorded from `from` on (what changed first
 * tells what was before), by member; `key` is the tier system or the tag.
 */
export async function firstChangesSince(db: Db, retailerId: string, from: Date): Promise<Map<string, { type: string; key: string; payload: Record<string, unknown> }[]>> {
  const { rows } = await sql<{ member_id: string; type: string; key: string; payload: Record<string, unknown> }>`
    SELECT DISTINCT ON (member_id, type, key) member_id, type, key, payload
      FROM (SELECT member_id, type, position, payload, CASE type WHEN 'tier.changed' THEN payload->>'tier_system_id' ELSE payload->>'tag' END AS key
              FROM domain_events
             WHERE retailer_id = ${retailerId} AND type IN ('tier.changed', 'member.tag_added') AND occurred_at >= ${from} AND member_id IS NOT NULL) e
     ORDER BY member_id, type, key, position`.execute(db);
  const byMember = new Map<string, { type: string; key: string; payload: Record<string, unknown> }[]>();
  for (const { member_id, ...change } of rows) byMember.set(member_id, [...(byMember.get(member_id) ?? []), change]);
  return byMember;
}
