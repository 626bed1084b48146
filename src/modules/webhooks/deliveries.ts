import { sql, type Selectable } from 'kysely';
import type { Db } from '../../db/index.js';
import { transact } from '../../db/unit-of-work.js';
import type { DeliveryAttempt, WebhookDeliveriesTable } from '../../db/schema.js';
import { DomainError } from '../../errors.js';
import { isUuid } from '../../lib/ids.js';
import { recordset } from '../../db/rows.js';
import { advanceCursor, claimCursor, eventsByPosition, type FeedEvent } from '../outbox/service.js';
import { FAN_OUT, findEndpoint } from './endpoints.js';

export type Delivery = Selectable<WebhookDeliveriesTable>;

/**
 * Copies the events after the fan-out relay's cursor into the deliveries of
 * every endpoint of their retailer that subscribes to them and was added
 * before they committed (its snapshot does not see them), and moves the
 * cursor on: one scan of the outbox for all endpoints. The cursor's lock
 * lets one process at a time do it. Disabled endpoints get theirs too,
 * sent once they are enabled again. Answers how many events it read.
 */
export async function fanOut(tx: Db, batch = 1000): Promise<number> {
  const claimed = await claimCursor(tx, FAN_OUT, batch, 'heads');
  if (!claimed?.events.length) return 0;
  const events = claimed.events;
  await sql`
    INSERT INTO webhook_deliveries (retailer_id, endpoint_id, position, event_id, event_type, member_id)
    SELECT r.retailer_id, w.id, r.position, r.id, r.type, r.member_id
      FROM ${recordset(events.map((e) => ({ tx_id: e.tx_id, retailer_id: e.retailer_id, position: e.position, id: e.id, type: e.type, member_id: e.user_id })), { tx_id: 'xid8', retailer_id: 'uuid', position: 'bigint', id: 'uuid', type: 'text', member_id: 'uuid' })}
      JOIN webhook_endpoints w ON w.retailer_id = r.retailer_id
       AND (cardinality(w.event_types) = 0 OR r.type = ANY (w.event_types))
       AND NOT pg_visible_in_snapshot(r.tx_id, w.since)
    ON CONFLICT DO NOTHING`.execute(tx);
  await advanceCursor(tx, FAN_OUT, events.at(-1)!);
  return events.length;
}

/** How many of an endpoint's earliest undelivered deliveries a claim looks at (a backlog costs no more than this). */
const WINDOW = 2000;

/** A claimed delivery with what sending it needs. */
export interface Claimed {
  delivery: Delivery;
  event: FeedEvent;
  url: string;
  secrets: { secret: string; expires_at: string | null }[];
}

/**
 * Claims due deliveries with a lease (FOR UPDATE SKIP LOCKED: never in
 * flight twice): of enabled endpoints, at most `perEndpoint` in flight each,
 * and only a member's earliest undelivered event (a later one waits while
 * an earlier one is retried). A lease that ran out (its process died) is due again.
 */
export async function claimDue(db: Db, limit: number, perEndpoint: number, leaseSeconds: number, now = new Date()): Promise<Claimed[]> {
  return transact(db, async (tx) => {
    // one pass over what is undelivered: each member's earliest delivery (its head), the due heads
    // numbered per endpoint, less what each endpoint has in flight
    const { rows } = await sql<Delivery & { url: string; secrets: Claimed['secrets'] }>`
      WITH ahead AS (
        -- the earliest undelivered deliveries of each endpoint: a member's earliest among them is its earliest of all
        SELECT w.* FROM webhook_endpoints e
          CROSS JOIN LATERAL (SELECT retailer_id, endpoint_id, member_id, position, status, next_attempt_at, lease_until FROM webhook_deliveries
                               WHERE retailer_id = e.retailer_id AND endpoint_id = e.id AND status IN ('pending', 'delivering')
                               ORDER BY position LIMIT ${WINDOW}) w
         WHERE e.enabled
      ), heads AS (
        -- (an event of no member is a head of its own)
        SELECT DISTINCT ON (retailer_id, endpoint_id, coalesce(member_id::text, position::text)) retailer_id, endpoint_id, position, status, next_attempt_at, lease_until
          FROM ahead ORDER BY retailer_id, endpoint_id, coalesce(member_id::text, position::text), position
      ), due AS (
        SELECT h.retailer_id, h.endpoint_id, h.position, h.next_attempt_at,
               row_number() OVER (PARTITION BY h.retailer_id, h.endpoint_id ORDER BY h.next_attempt_at, h.position) AS n
          FROM heads h
         WHERE (h.status = 'pending' AND h.next_attempt_at <= ${now}) OR (h.status = 'delivering' AND h.lease_until < ${now})
      ), busy AS (
        SELECT retailer_id, endpoint_id, count(*) AS c FROM webhook_deliveries
         WHERE status = 'delivering' AND lease_until >= ${now} GROUP BY retailer_id, endpoint_id
      )
      SELECT d.*, e.url, e.secrets
        FROM due
        JOIN webhook_endpoints e ON e.retailer_id = due.retailer_id AND e.id = due.endpoint_id AND e.enabled
        JOIN webhook_deliveries d ON d.retailer_id = due.retailer_id AND d.endpoint_id = due.endpoint_id AND d.position = due.position
        LEFT JOIN busy b ON b.retailer_id = due.retailer_id AND b.endpoint_id = due.endpoint_id
       WHERE due.n <= ${perEndpoint} - coalesce(b.c, 0)
         -- checked again on the row's latest version once it is locked: another process may have just claimed it
         AND ((d.status = 'pending' AND d.next_attempt_at <= ${now}) OR (d.status = 'delivering' AND d.lease_until < ${now}))
       ORDER BY due.next_attempt_at, due.position
       LIMIT ${limit}
       FOR UPDATE OF d SKIP LOCKED`.execute(tx);
    if (!rows.length) return [];
    const lease = new Date(now.getTime() + leaseSeconds * 1000);
    await sql`UPDATE webhook_deliveries d SET status = 'delivering', lease_until = ${lease}, updated_at = ${now}
                FROM unnest(${rows.map((r) => r.retailer_id)}::uuid[], ${rows.map((r) => r.endpoint_id)}::uuid[], ${rows.map((r) => r.position)}::bigint[]) AS k(retailer_id, endpoint_id, position)
               WHERE d.retailer_id = k.retailer_id AND d.endpoint_id = k.endpoint_id AND d.position = k.position`.execute(tx);
    const events = await eventsByPosition(tx, rows.map((r) => ({ retailerId: r.retailer_id, position: r.position })));
    // an event pruned before it could be delivered fails for good (it would hold its member's later ones back)
    const pruned = rows.filter((r) => !events.has(`${r.retailer_id}/${r.position}`));
    await recordAttempts(
      tx,
      pruned.map((delivery) => ({ delivery, attempt: { at: now.toISOString(), status_code: null, duration_ms: 0, error: 'the event was pruned (EVENT_RETENTION_DAYS) before it was delivered' }, next: { status: 'failed' } })),
    );
    return rows.flatMap((r) => {
      const event = events.get(`${r.retailer_id}/${r.position}`);
      const { url, secrets, ...delivery } = r;
      return event ? [{ delivery, event, url, secrets }] : [];
    });
  });
}

/** What one attempt did, and what follows: done, again at `retryAt`, or failed for good. */
export interface AttemptOutcome {
  delivery: Pick<Delivery, 'retailer_id' | 'endpoint_id' | 'position'>;
  attempt: DeliveryAttempt;
  next: { status: 'succeeded' | 'failed' } | { status: 'pending'; retryAt: Date };
}

/** Records a round's attempts, in one statement. */
export async function recordAttempts(db: Db, outcomes: AttemptOutcome[]): Promise<void> {
  if (!outcomes.length) return;
  const rows = outcomes.map((o) => ({
    retailer_id: o.delivery.retailer_id,
    endpoint_id: o.delivery.endpoint_id,
    position: o.delivery.position,
    status: o.next.status,
    next_attempt_at: o.next.status === 'pending' ? o.next.retryAt.toISOString() : null,
    attempt: o.attempt,
  }));
  await sql`UPDATE webhook_deliveries d
               SET status = r.status, attempts = d.attempts || jsonb_build_array(r.attempt), next_attempt_at = coalesce(r.next_attempt_at, d.next_attempt_at),
                   lease_until = NULL, updated_at = now()
              FROM ${recordset(rows, { retailer_id: 'uuid', endpoint_id: 'uuid', position: 'bigint', status: 'text', next_attempt_at: 'timestamptz', attempt: 'jsonb' })}
             WHERE d.retailer_id = r.retailer_id AND d.endpoint_id = r.endpoint_id AND d.position = r.position`.execute(db);
}

/** An endpoint's deliveries, newest first, a page at a time. */
export async function listDeliveries(db: Db, retailerId: string, endpointId: string, q: { skip: number; take: number; status?: string }): Promise<Delivery[]> {
  const endpoint = await findEndpoint(db, retailerId, endpointId);
  let query = db.selectFrom('webhook_deliveries').selectAll().where('retailer_id', '=', retailerId).where('endpoint_id', '=', endpoint.id);
  if (q.status) query = query.where('status', '=', q.status as Delivery['status']);
  return query.orderBy('position', 'desc').offset(q.skip).limit(q.take).execute();
}

/** Sends a delivery again now, also one that failed for good. */
export async function retryDelivery(tx: Db, retailerId: string, endpointId: string, eventId: string): Promise<Delivery> {
  const endpoint = await findEndpoint(tx, retailerId, endpointId);
  const row = await tx
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', next_attempt_at: new Date(), lease_until: null, updated_at: new Date() })
    .where('retailer_id', '=', retailerId)
    .where('endpoint_id', '=', endpoint.id)
    .where('event_id', '=', isUuid(eventId) ? eventId.toLowerCase() : '00000000-0000-0000-0000-000000000000')
    .where('status', '!=', 'delivering')
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new DomainError('not_found', `no delivery of event ${eventId} to webhook endpoint ${endpointId} (or it is being delivered now)`, 'event_id');
  return row;
}

/** Seconds since the oldest delivery still waiting was recorded (0 with none): the outbox lag metric. */
export async function deliveryLag(db: Db, now = new Date()): Promise<number> {
  const row = await db.selectFrom('webhook_deliveries').select((eb) => eb.fn.min('created_at').as('oldest')).where('status', 'in', ['pending', 'delivering']).executeTakeFirst();
  return row?.oldest ? Math.max(0, (now.getTime() - new Date(row.oldest as unknown as string).getTime()) / 1000) : 0;
}

/** Deletes the deliveries recorded before the retention period, done or not (their events are pruned too); answers how many went. */
export async function pruneDeliveries(db: Db, retentionSeconds: number, now = new Date()): Promise<number> {
  const result = await db.deleteFrom('webhook_deliveries').where('created_at', '<', new Date(now.getTime() - retentionSeconds * 1000)).executeTakeFirst();
  return Number(result.numDeletedRows);
}
