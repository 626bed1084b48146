import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { recordset } from '../../db/rows.js';
import { noteMemberWrite, unitOf, type Batch } from '../../db/unit-of-work.js';
import { DomainError } from '../../errors.js';
import { EVENT_CATEGORIES, EVENT_TYPES, TIMELINE_VIEWS, eventTypeById, eventTypeBySlug, type EventTypeSlug } from './catalog.js';

/** Who an entry is about, as the payload names them. */
export interface TimelineSubject {
  retailerId: string;
  memberId: string;
  playerId: number;
  userName: string;
}

export interface TimelineEntry {
  type: EventTypeSlug;
  requestId?: string;
  occurredAt?: Date;
  payload?: Record<string, unknown>;
}

/** Appends entries to a member's timeline, in the caller's transaction. */
export async function recordTimeline(tx: Db, subject: TimelineSubject, entries: TimelineEntry[]): Promise<void> {
  noteMemberWrite(tx, subject.memberId);
  if (entries.length) await timelineInsert(subject, entries).execute(tx);
}

// (who the entries are about is the same for every row of an insert: parameters of the statement, not columns of the rows)
const TIMELINE_COLUMNS = { event_type_id: 'int', occurred_at: 'timestamptz', request_id: 'text', payload: 'jsonb' };

interface PlannedEntry {
  event_type_id: number;
  occurred_at: Date;
  request_id: string | null;
  payload: Record<string, unknown>;
}

const rowsOf = (entries: TimelineEntry[]): PlannedEntry[] => {
  const now = new Date();
  return entries.map((entry) => ({
    event_type_id: eventTypeBySlug(entry.type)!.id,
    occurred_at: entry.occurredAt ?? now,
    request_id: entry.requestId ?? null,
    payload: entry.payload ?? {},
  }));
};

/** The payload keeps the entry's own fields and who it was about at the time (those win over the entry's fields of the same names). */
const insertOf = (subject: TimelineSubject, rows: PlannedEntry[]) =>
  sql`INSERT INTO timeline_events (retailer_id, member_id, stream_id, event_type_id, occurred_at, request_id, payload)
      SELECT ${subject.retailerId}::uuid, ${subject.memberId}::uuid, gen_random_uuid(), event_type_id, occurred_at, request_id,
             payload || jsonb_build_object('player_id', ${subject.playerId}::bigint, 'user_id', ${subject.memberId}::text, 'user_name', ${subject.userName}::text)
        FROM ${recordset(rows, TIMELINE_COLUMNS)} ORDER BY n`;

/**
 * The insert of timeline entries as a query, not yet run: a flow can send it
 * in the same statement as its own writes (one round trip on hot paths). What
 * follows from the row (its type's names, its time, its request, the
 * retailer) is added to the payload when it is read (payloadOf).
 */
export const timelineInsert = (subject: TimelineSubject, entries: TimelineEntry[]) => insertOf(subject, rowsOf(entries));

/** One batch per subject: a transaction's entries about one member (as it was named) go in one insert. */
const batchOf = (subject: TimelineSubject): Batch<PlannedEntry> => ({
  name: `timeline_events:${subject.retailerId}:${subject.memberId}:${subject.playerId}:${subject.userName}`,
  insert: (rows) => insertOf(subject, rows),
});

/**
 * Plans timeline entries in the transaction's unit of work: they are written
 * with its other planned writes in one INSERT (before those planned earlier
 * when `first`).
 */
export function planTimeline(tx: Db, subject: TimelineSubject, entries: TimelineEntry[], options: { first?: boolean } = {}): void {
  noteMemberWrite(tx, subject.memberId);
  unitOf(tx).add(batchOf(subject), rowsOf(entries), options);
}

/** An entry's payload as the timeline answers it: the stored fields with those that follow from its row. */
export function payloadOf(row: TimelineRow, retailerNumber: number): Record<string, unknown> {
  const type = eventTypeById(row.event_type_id);
  const category = type ? EVENT_CATEGORIES[type.categoryId] : null;
  return {
    created_at: Math.floor(row.occurred_at.getTime() / 1000),
    event_category_name: category,
    event_category_slug: category,
    event_type_name: type?.name ?? null,
    event_type_slug: type?.slug ?? null,
    request_id: row.request_id,
    rewards_system_id: retailerNumber,
    // entries written before these fields were derived hold the same values
    ...row.payload,
  };
}

export interface TimelinePageQuery {
  view: string;
  limit: number;
  /** Only events after this time. */
  since?: Date;
  /** Event type slugs or ids. */
  eventTypes?: string[];
  /** Keyset cursor from a previous page. */
  cursor?: string;
  offset?: number;
}

export interface TimelineRow {
  id: number;
  stream_id: string;
  event_type_id: number;
  occurred_at: Date;
  created_at: Date;
  request_id: string | null;
  payload: Record<string, unknown>;
}

/**
 * One page of a member's timeline, newest first. Keyset paging on
 * (occurred_at, id) keeps the cost flat however long the history is.
 */
export async function listTimeline(db: Db, retailerId: string, memberId: string, query: TimelinePageQuery) {
  if (!(query.view in TIMELINE_VIEWS)) throw new DomainError('not_found', `timeline view ${query.view} not found`, 'view');
  const categories = TIMELINE_VIEWS[query.view];
  const typeIds = query.eventTypes?.map((t) => {
    const type = /^\d+$/.test(t) ? eventTypeById(Number(t)) : eventTypeBySlug(t);
    if (!type) throw new DomainError('argument_error', `event_types: unknown event type ${t}`, 'event_types');
    return type.id;
  });

  let q = db
    .selectFrom('timeline_events')
    .select(['id', 'stream_id', 'event_type_id', 'occurred_at', 'created_at', 'request_id', 'payload'])
    .where('retailer_id', '=', retailerId)
    .where('member_id', '=', memberId);
  if (categories) {
    const allowed = EVENT_TYPES.filter((t) => categories.includes(t.categoryId)).map((t) => t.id);
    q = q.where('event_type_id', 'in', allowed);
  }
  if (typeIds?.length) q = q.where('event_type_id', 'in', typeIds);
  if (query.since) q = q.where('occurred_at', '>', query.since);
  if (query.cursor) {
    const [ms, id] = decodeCursor(query.cursor);
    q = q.where(sql<boolean>`(occurred_at, id) < (${new Date(ms)}, ${id})`);
  }
  // A page further in by offset starts at its first entry, whose key the primary key
  // (retailer_id, member_id, occurred_at, id) finds alone, with an index-only scan over
  // the skipped entries: an OFFSET on the page itself would read every skipped entry's
  // row, one heap page each in a long history (1.0 ms and 519 buffers at offset 490).
  if (query.offset) {
    const first = q.clearSelect().select(['occurred_at', 'id']).orderBy('occurred_at', 'desc').orderBy('id', 'desc').offset(query.offset).limit(1);
    q = q.where(sql<boolean>`(occurred_at, id) <= ${first}`);
  }
  const rows = (await q
    .orderBy('occurred_at', 'desc')
    .orderBy('id', 'desc')
    .limit(query.limit + 1)
    .execute()) as TimelineRow[];
  const more = rows.length > query.limit;
  const page = more ? rows.slice(0, query.limit) : rows;
  const last = page.at(-1);
  return { rows: page, nextCursor: more && last ? encodeCursor(last) : null };
}

function encodeCursor(row: TimelineRow): string {
  return Buffer.from(`${row.occurred_at.getTime()}:${row.id}`).toString('base64url');
}

function decodeCursor(cursor: string): [number, number] {
  const match = /^(\d+):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new DomainError('argument_error', 'cursor: not a cursor this server issued', 'cursor');
  return [Number(match[1]), Number(match[2])];
}

/** The SELECT of the members (member_id) with a timeline entry in [from, to), for a caller's statement. */
export const timelineMembersBetween = (retailerId: string, from: Date, to: Date) =>
  sql<{ member_id: string }>`SELECT member_id FROM timeline_events WHERE retailer_id = ${retailerId} AND occurred_at >= ${from} AND occurred_at < ${to}`;
