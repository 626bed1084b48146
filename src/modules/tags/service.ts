import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';
import { lockMember, subjectOf, type Actor, type MemberSummary } from '../members/service.js';
import { timelineRows } from '../timeline/service.js';

/** The member's live tags with their counts; expired tags are absent. */
export async function getTags(db: Db, retailerId: string, memberId: string, now = new Date()): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('member_tags')
    .select(['tag', 'count'])
    .where('retailer_id', '=', retailerId)
    .where('member_id', '=', memberId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .orderBy('tag')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.tag, r.count]));
}

/**
 * Drops tags on a member. Without `ttl` each tag is a counter (created at 1,
 * else one more); with `ttl` seconds it is an expiring tag that disappears
 * when its time is up (a tag is one kind or the other: the latest write decides).
 */
export async function addTags(tx: Db, actor: Actor, memberId: string, tags: string[], ttlSeconds?: number): Promise<Record<string, number>> {
  const member = await lockMember(tx, actor.retailerId, memberId);
  const now = await dropTags(tx, actor, member, tags, ttlSeconds);
  return getTags(tx, actor.retailerId, member.id, now);
}

/**
 * addTags for a caller that already holds the member's lock (the rules
 * engine): writes the tags and their timeline entries, reads nothing back.
 * Answers the time the tags were written.
 */
export async function dropTags(tx: Db, actor: Actor, member: MemberSummary, tags: string[], ttlSeconds?: number): Promise<Date> {
  const names = [...new Set(tags.map((t) => t.trim()))];
  if (!names.length || names.some((t) => !t)) throw new DomainError('missing_data', 'tags: give at least one non-empty tag', 'tags');
  const now = new Date();
  const upsert = tx
    .insertInto('member_tags')
    .values(
      names.map((tag) => ({
        retailer_id: actor.retailerId,
        member_id: member.id,
        tag,
        count: 1,
        expires_at: ttlSeconds === undefined ? null : new Date(now.getTime() + ttlSeconds * 1000),
        updated_at: now,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['retailer_id', 'member_id', 'tag']).doUpdateSet(
        ttlSeconds === undefined
          ? {
              // a live counter counts on; an expiring or expired tag starts a new count
              count: sql`CASE WHEN member_tags.expires_at IS NULL THEN member_tags.count + 1 ELSE 1 END`,
              expires_at: null,
              updated_at: now,
            }
          : { count: 1, expires_at: new Date(now.getTime() + ttlSeconds * 1000), updated_at: now },
      ),
    )
    .returning(['tag', 'count']);
  // one statement: the tags, and their timeline entries with the counts written
  const rows = timelineRows(
    subjectOf(actor, member),
    names.map((tag) => ({
      type: 'USER_TAG_DROPPED' as const,
      requestId: actor.requestId,
      occurredAt: now,
      payload: { tag, tag_date: now.toISOString(), ...(ttlSeconds !== undefined ? { ttl: ttlSeconds } : {}) },
    })),
  );
  const column = <T>(pick: (r: (typeof rows)[number]) => T) => rows.map(pick);
  await sql`
    WITH written AS (${upsert})
    INSERT INTO timeline_events (retailer_id, member_id, stream_id, event_type_id, occurred_at, request_id, payload)
    SELECT v.retailer_id, v.member_id, v.stream_id, v.event_type_id, v.occurred_at, v.request_id, v.payload || jsonb_build_object('tag_count', w.count)
      FROM unnest(${names}::text[], ${column((r) => r.retailer_id)}::uuid[], ${column((r) => r.member_id)}::uuid[], ${column((r) => r.stream_id)}::uuid[],
                  ${column((r) => r.event_type_id)}::int[], ${column((r) => r.occurred_at.toISOString())}::timestamptz[], ${column((r) => r.request_id)}::text[], ${column((r) => JSON.stringify(r.payload))}::jsonb[])
           WITH ORDINALITY AS v(tag, retailer_id, member_id, stream_id, event_type_id, occurred_at, request_id, payload, n)
      JOIN written w ON w.tag = v.tag
     ORDER BY v.n`.execute(tx);
  return now;
}

/** Removes expired tags (run by the worker); reads already hide them. */
export async function purgeExpiredTags(db: Db, now = new Date()): Promise<number> {
  const result = await db.deleteFrom('member_tags').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
