import { randomUUID } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { Db } from '../../db/index.js';
import type { WebhookEndpointsTable } from '../../db/schema.js';
import { DomainError } from '../../errors.js';
import { isUuid } from '../../lib/ids.js';
import { openCursor } from '../outbox/service.js';
import { EVENT_TYPES } from '../outbox/catalog.js';
import { newSecret } from './signing.js';

type Row = Selectable<WebhookEndpointsTable>;

/** An endpoint as the admin API shows it (never its secrets). */
export interface WebhookEndpoint {
  id: string;
  retailer_id: string;
  url: string;
  description: string | null;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

export const endpointView = (r: Row): WebhookEndpoint => ({
  id: r.id,
  retailer_id: r.retailer_id,
  url: r.url,
  description: r.description,
  event_types: r.event_types,
  enabled: r.enabled,
  disabled_reason: r.disabled_reason,
  created_at: new Date(r.created_at).toISOString(),
  updated_at: new Date(r.updated_at).toISOString(),
});

/** Where webhooks may go: https anywhere, http only to the hosts allowed (WEBHOOK_HTTP_HOSTS). */
export interface UrlPolicy {
  httpHosts: string[];
}

/** A URL an endpoint may have: https (or http to an allowed host), no credentials in it. */
export function checkUrl(url: string, policy: UrlPolicy): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DomainError('validation', 'url: not a URL', 'url');
  }
  if (parsed.username || parsed.password) throw new DomainError('validation', 'url: credentials do not belong in the URL', 'url');
  if (parsed.protocol === 'https:') return parsed.toString();
  if (parsed.protocol === 'http:' && policy.httpHosts.includes(parsed.hostname.toLowerCase())) return parsed.toString();
  throw new DomainError('validation', `url: must be https${parsed.protocol === 'http:' ? ` (http only to the hosts WEBHOOK_HTTP_HOSTS allows, not ${parsed.hostname})` : ''}`, 'url');
}

function checkTypes(types: string[] | undefined): string[] {
  const list = [...new Set(types ?? [])];
  const unknown = list.find((t) => !(EVENT_TYPES as string[]).includes(t));
  if (unknown) throw new DomainError('validation', `event_types: unknown event type ${unknown} (see docs/events.md)`, 'event_types');
  return list;
}

/** The outbox relay that copies events into every endpoint's deliveries. */
export const FAN_OUT = 'webhooks';

/**
 * Creates an endpoint; it receives the events of every transaction that
 * commits from now on (those of transactions running now too: the snapshot
 * of its creation says which were before). Answers it with its secret, shown this once.
 */
export async function createEndpoint(tx: Db, retailerId: string, input: { url: string; event_types?: string[]; description?: string }, policy: UrlPolicy): Promise<WebhookEndpoint & { secret: string }> {
  const secret = newSecret();
  // opened before the endpoint's snapshot is taken: the relay sees at least what the endpoint must receive
  await openCursor(tx, FAN_OUT);
  const row = await tx
    .insertInto('webhook_endpoints')
    .values({
      retailer_id: retailerId,
      id: randomUUID(),
      url: checkUrl(input.url, policy),
      description: input.description ?? null,
      event_types: checkTypes(input.event_types),
      secrets: JSON.stringify([{ secret, expires_at: null }]),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { ...endpointView(row), secret };
}

export async function listEndpoints(db: Db, retailerId: string): Promise<WebhookEndpoint[]> {
  return (await db.selectFrom('webhook_endpoints').selectAll().where('retailer_id', '=', retailerId).orderBy('created_at').execute()).map(endpointView);
}

/** One endpoint's row (with its secrets); `webhook_not_found` when the retailer has none by this id. */
export async function findEndpoint(db: Db, retailerId: string, id: string, lock = false): Promise<Row> {
  let q = db.selectFrom('webhook_endpoints').selectAll().where('retailer_id', '=', retailerId).where('id', '=', isUuid(id) ? id.toLowerCase() : '00000000-0000-0000-0000-000000000000');
  if (lock) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row) throw new DomainError('not_found', `webhook endpoint ${id} not found`, 'webhook_id');
  return row;
}

/** Changes an endpoint's URL, event types, description or state; enabling it clears why it was disabled. */
export async function updateEndpoint(tx: Db, retailerId: string, id: string, changes: { url?: string; event_types?: string[]; description?: string | null; enabled?: boolean }, policy: UrlPolicy): Promise<WebhookEndpoint> {
  const current = await findEndpoint(tx, retailerId, id, true);
  const row = await tx
    .updateTable('webhook_endpoints')
    .set({
      ...(changes.url !== undefined ? { url: checkUrl(changes.url, policy) } : {}),
      ...(changes.event_types !== undefined ? { event_types: checkTypes(changes.event_types) } : {}),
      ...(changes.description !== undefined ? { description: changes.description } : {}),
      ...(changes.enabled !== undefined ? { enabled: changes.enabled, disabled_reason: changes.enabled ? null : 'disabled through the admin API' } : {}),
      updated_at: new Date(),
    })
    .where('retailer_id', '=', retailerId)
    .where('id', '=', current.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return endpointView(row);
}

export async function deleteEndpoint(tx: Db, retailerId: string, id: string): Promise<void> {
  const current = await findEndpoint(tx, retailerId, id);
  await tx.deleteFrom('webhook_endpoints').where('retailer_id', '=', retailerId).where('id', '=', current.id).execute();
}

/**
 * A new signing secret, shown this once; the current one keeps signing too
 * for `overlapSeconds`, so that the receiver can move over.
 */
export async function rotateSecret(tx: Db, retailerId: string, id: string, overlapSeconds: number): Promise<{ secret: string; previous_expires_at: Date }> {
  const current = await findEndpoint(tx, retailerId, id, true);
  const now = new Date();
  const expires = new Date(now.getTime() + overlapSeconds * 1000);
  const kept = current.secrets.filter((s) => !s.expires_at || new Date(s.expires_at) > now).map((s) => ({ secret: s.secret, expires_at: s.expires_at && new Date(s.expires_at) < expires ? s.expires_at : expires.toISOString() }));
  const secret = newSecret();
  await tx
    .updateTable('webhook_endpoints')
    .set({ secrets: JSON.stringify([{ secret, expires_at: null }, ...kept]), updated_at: now })
    .where('retailer_id', '=', retailerId)
    .where('id', '=', current.id)
    .execute();
  return { secret, previous_expires_at: expires };
}

/** The secrets that sign now: the newest, and rotated ones still inside their overlap. */
export const signingSecrets = (row: Pick<Row, 'secrets'>, now = new Date()) => row.secrets.filter((s) => !s.expires_at || new Date(s.expires_at) > now).map((s) => s.secret);

/** Stops deliveries to an endpoint (its receiver answered 410 Gone). */
export async function disableEndpoint(db: Db, retailerId: string, id: string, reason: string): Promise<void> {
  await db.updateTable('webhook_endpoints').set({ enabled: false, disabled_reason: reason, updated_at: sql`now()` }).where('retailer_id', '=', retailerId).where('id', '=', id).execute();
}
