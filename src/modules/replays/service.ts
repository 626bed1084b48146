import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';

/**
 * Message-ID replay (SessionM "Message IDs"): a mutating request repeated with
 * the same Message-ID within the window gets the first answer again. The same
 * id with a different body is a conflict, and so is a repeat that arrives
 * while the first is still being processed.
 */
export type ReplayClaim = { kind: 'new' } | { kind: 'replay'; statusCode: number; body: string };

export const bodyHash = (method: string, url: string, body: string): string =>
  createHash('sha256').update(method).update('\n').update(url).update('\n').update(body).digest('hex');

/**
 * A claim still without an answer after this long belongs to a request that
 * will never finish (its process died, or its answer could not be stored):
 * a retry takes it over rather than waiting out the whole window.
 */
export const ABANDONED_CLAIM_SECONDS = 60;

export async function claimMessageId(db: Db, retailerId: string, messageId: string, hash: string, windowSeconds: number): Promise<ReplayClaim> {
  const now = Date.now();
  const cutoff = new Date(now - windowSeconds * 1000);
  const abandoned = new Date(now - ABANDONED_CLAIM_SECONDS * 1000);
  // Insert the claim, or take over one that is older than the window or abandoned.
  const claimed = await db
    .insertInto('message_replays')
    .values({ retailer_id: retailerId, message_id: messageId, body_hash: hash })
    .onConflict((oc) =>
      oc
        .columns(['retailer_id', 'message_id'])
        .doUpdateSet({ body_hash: hash, status_code: null, response_body: null, created_at: new Date() })
        .where((eb) =>
          eb.or([eb('message_replays.created_at', '<', cutoff), eb.and([eb('message_replays.status_code', 'is', null), eb('message_replays.created_at', '<', abandoned)])]),
        ),
    )
    .returning('message_id')
    .executeTakeFirst();
  if (claimed) return { kind: 'new' };

  const existing = await db
    .selectFrom('message_replays')
    .select(['body_hash', 'status_code', 'response_body'])
    .where('retailer_id', '=', retailerId)
    .where('message_id', '=', messageId)
    .executeTakeFirstOrThrow();
  if (existing.body_hash !== hash) throw new DomainError('message_id_conflict', 'Message-ID: this id was already used for a different request', 'Message-ID');
  if (existing.status_code === null) throw new DomainError('request_in_progress', 'Message-ID: the first request with this id is still being processed', 'Message-ID');
  return { kind: 'replay', statusCode: existing.status_code, body: existing.response_body ?? '' };
}

/** Stores the answer to replay; an answer the client should retry (5xx) releases the id instead. */
export async function completeMessageId(db: Db, retailerId: string, messageId: string, statusCode: number, body: string): Promise<void> {
  if (statusCode >= 500) {
    await db.deleteFrom('message_replays').where('retailer_id', '=', retailerId).where('message_id', '=', messageId).execute();
    return;
  }
  await db
    .updateTable('message_replays')
    .set({ status_code: statusCode, response_body: body })
    .where('retailer_id', '=', retailerId)
    .where('message_id', '=', messageId)
    .execute();
}

/**
 * completeMessageId, retried in the background while the database does not
 * answer (once a second for ABANDONED_CLAIM_SECONDS), so that a request the
 * outage failed can be retried as soon as the database is back.
 */
export function completeMessageIdLater(db: Db, retailerId: string, messageId: string, statusCode: number, body: string, attempt = 1): void {
  const timer = setTimeout(() => {
    completeMessageId(db, retailerId, messageId, statusCode, body).catch(() => {
      if (attempt < ABANDONED_CLAIM_SECONDS) completeMessageIdLater(db, retailerId, messageId, statusCode, body, attempt + 1);
    });
  }, 1000);
  timer.unref();
}

export async function purgeReplays(db: Db, windowSeconds = 1800): Promise<void> {
  await db.deleteFrom('message_replays').where('created_at', '<', sql<Date>`now() - make_interval(secs => ${windowSeconds})`).execute();
}
