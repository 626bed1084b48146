import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql, type Selectable } from 'kysely';
import type { Db } from '../../db/index.js';
import type { MemberEventsTable } from '../../db/schema.js';
import { noteMemberWrite } from '../../db/unit-of-work.js';
import { DomainError } from '../../errors.js';
import { lockActiveMemberText, type Actor, type MemberSummary } from '../members/service.js';

export type MemberEvent = Selectable<MemberEventsTable>;

export interface EventInput {
  name: string;
  /** The event's own date; absent: it counts at processing time. */
  occurredAt?: Date;
  context?: Record<string, unknown>;
  /** How many occurrences the event stands for (default 1). */
  qty?: number;
}

export const MAX_EVENT_NAME = 200;

/** Checks an event name: non-empty, at most 200 characters. Names compare case-insensitively. */
export function eventName(value: unknown, field = 'name'): string {
  if (typeof value !== 'string' || !value.trim()) throw new DomainError('missing_data', `${field}: give the event's name`, field);
  const name = value.trim();
  if (name.length > MAX_EVENT_NAME) throw new DomainError('argument_error', `${field}: at most ${MAX_EVENT_NAME} characters`, field);
  return name;
}

/**
 * Records a member's event in the caller's transaction (the caller holds the
 * member's lock). Every event is recorded, whether or not a rule knows its
 * name: it counts for rule conditions and campaigns later.
 */
export async function recordEvent(tx: Db, actor: Actor, member: MemberSummary, input: EventInput, now = new Date()): Promise<MemberEvent> {
  return tx.insertInto('member_events').values(eventRow(actor, member.id, input, now)).returningAll().executeTakeFirstOrThrow();
}

function eventRow(actor: Actor, memberId: string, input: EventInput, now: Date) {
  const qty = input.qty ?? 1;
  if (!Number.isInteger(qty) || qty < 1 || qty > 1_000_000) throw new DomainError('argument_error', 'qty: a whole number from 1', 'qty');
  return {
    retailer_id: actor.retailerId,
    member_id: memberId,
    id: randomUUID(),
    name: eventName(input.name),
    qty,
    occurred_at: input.occurredAt ?? now,
    received_at: now,
    context: JSON.stringify(input.context ?? {}),
    request_id: actor.requestId ?? null,
  };
}

/**
 * recordEvent for a member given by id, in one statement: takes the member's
 * lock (as lockMemberRef does) and records the event. Answers undefined, having
 * done nothing, when the retailer has no active member with that id; throws as
 * recordEvent for an event it would refuse, before anything is done.
 */
export async function lockAndRecordEvent(tx: Db, actor: Actor, memberId: string, input: EventInput, now = new Date()): Promise<{ member: MemberSummary; event: MemberEvent } | undefined> {
  const row = eventRow(actor, memberId, input, now);
  const { rows } = await tx.executeQuery<MemberEvent & { m_id: string; m_player_id: MemberSummary['player_id']; m_first_name: MemberSummary['first_name']; m_last_name: MemberSummary['last_name'] }>(
    CompiledQuery.raw(LOCK_AND_RECORD, [row.retailer_id, memberId, row.id, row.name, row.qty, row.occurred_at, row.received_at, row.context, row.request_id]),
  );
  if (!rows.length) return undefined;
  noteMemberWrite(tx, rows[0].m_id);
  const { m_id, m_player_id, m_first_name, m_last_name, ...event } = rows[0];
  return { member: { id: m_id, player_id: m_player_id, first_name: m_first_name, last_name: m_last_name }, event };
}

// lockAndRecordEvent's statement, a constant text (the events' hot path): $1 the retailer, $2 the member, $3… the event's columns
const LOCK_AND_RECORD = `WITH m AS (${lockActiveMemberText('$1', '$2')}), e AS (
  INSERT INTO member_events (retailer_id, member_id, id, name, qty, occurred_at, received_at, context, request_id)
  SELECT $1, m.id, $3, $4, $5, $6, $7, $8::jsonb, $9 FROM m
  RETURNING *
)
SELECT m.id AS m_id, m.player_id AS m_player_id, m.first_name AS m_first_name, m.last_name AS m_last_name, e.* FROM m JOIN e ON true`;

/**
 * How many times (the sum of qty) the member had an event of this name with
 * `from < occurred_at <= to` (from absent: since ever). Reads the
 * (retailer, member, lower(name), occurred_at) index: no scan of the history.
 */
export async function countEvents(db: Db, retailerId: string, memberId: string, name: string, to: Date, from?: Date): Promise<number> {
  let q = db
    .selectFrom('member_events')
    .select(sql<string>`coalesce(sum(qty), 0)`.as('n'))
    .where('retailer_id', '=', retailerId)
    .where('member_id', '=', memberId)
    .where(sql`lower(name)`, '=', name.toLowerCase())
    .where('occurred_at', '<=', to);
  if (from) q = q.where('occurred_at', '>', from);
  const { n } = await q.executeTakeFirstOrThrow();
  return Number(n);
}

/** The distinct UTC days (YYYY-MM-DD) on which the member had an event of this name, with `from <= occurred_at < to`. */
export async function eventDays(db: Db, retailerId: string, memberId: string, name: string, from: Date, to: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('member_events')
    .select(sql<string>`to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`.as('day'))
    .distinct()
    .where('retailer_id', '=', retailerId)
    .where('member_id', '=', memberId)
    .where(sql`lower(name)`, '=', name.toLowerCase())
    .where('occurred_at', '>=', from)
    .where('occurred_at', '<', to)
    .execute();
  return rows.map((r) => r.day).sort();
}
