import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';
import { lockMember, subjectOf, type Actor, type MemberSummary } from '../members/service.js';
import { unitOf } from '../../db/unit-of-work.js';
import { recordDomainEvents } from '../outbox/service.js';
import { planTimeline } from '../timeline/service.js';

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
 * addTags for a caller that already holds the member's lock: writes the tags
 * and their timeline entries, reads nothing back. Answers the time the tags
 * were written.
 */
export async function dropTags(tx: Db, actor: Actor, member: MemberSummary, tags: string[], ttlSeconds?: number): Promise<Date> {
  const names = [...new Set(tags.map((t) => t.trim()))];
  if (!names.length || names.some((t) => !t)) throw new DomainError('missing_data', 'tags: give at least one non-empty tag', 'tags');
  const now = new Date();
  const { rows } = await sql<{ counters: Record<string, number> }>`SELECT ${countersJson(actor.retailerId, member.id, names)} AS counters`.execute(tx);
  planTagDrops(tx, actor, member, names.map((tag) => ({ tag, ttlSeconds })), rows[0].counters, now);
  await unitOf(tx).flush(tx);
  return now;
}

/** One tag written: without `ttlSeconds` a counter, with it an expiring tag. */
export interface TagDrop {
  tag: string;
  ttlSeconds?: number;
}

/**
 * The member's counters among `tags` (the tags it has without an expiry, by
 * count) as one json column, for a statement under the member's lock.
 */
export const countersJson = (retailerId: string, memberId: string, tags: string[]) =>
  sql<Record<string, number>>`(SELECT coalesce(json_object_agg(tag, count), '{}'::json) FROM member_tags
                                WHERE retailer_id = ${retailerId} AND member_id = ${memberId} AND expires_at IS NULL AND tag = ANY(${tags}::text[]))`;

/** The member's live tags at `at` with their counts (as getTags answers them) as one json column, for a statement of the caller's. */
export const liveTagsJson = (retailerId: string, memberId: string, at: Date) =>
  sql<Record<string, number>>`(SELECT coalesce(json_object_agg(tag, count), '{}'::json) FROM member_tags
                                WHERE retailer_id = ${retailerId} AND member_id = ${memberId} AND (expires_at IS NULL OR expires_at > ${at}))`;

/**
 * Tag drops made one after the other at `now` by a caller holding the
 * member's lock, given its counters read under that lock (countersJson),
 * planned in the unit of work: the upsert of the tags as the drops leave
 * them, and each drop's USER_TAG_DROPPED entry and member.tag_added event
 * with the count it made. A counter counts on; a counter dropped on an expiring or
 * expired tag starts a new count; a drop with a ttl makes an expiring tag at
 * 1 (a tag is one kind or the other: the latest drop decides).
 */
export function planTagDrops(tx: Db, actor: Actor, member: MemberSummary, drops: TagDrop[], counters: Record<string, number>, now: Date): void {
  const tags = new Map<string, { count: number; expiresAt: Date | null }>();
  const timeline = drops.map(({ tag, ttlSeconds }) => {
    const before = tags.get(tag) ?? { count: counters[tag] ?? 0, expiresAt: null };
    const after = ttlSeconds === undefined ? { count: before.expiresAt ? 1 : before.count + 1, expiresAt: null } : { count: 1, expiresAt: new Date(now.getTime() + ttlSeconds * 1000) };
    tags.set(tag, after);
    const payload = { tag, tag_date: now.toISOString(), ...(ttlSeconds !== undefined ? { ttl: ttlSeconds } : {}), tag_count: after.count };
    return { type: 'USER_TAG_DROPPED' as const, requestId: actor.requestId, occurredAt: now, payload };
  });
  const rows = [...tags];
  const statement = sql`
    INSERT INTO member_tags (retailer_id, member_id, tag, count, expires_at, updated_at)
    SELECT ${actor.retailerId}, ${member.id}, v.tag, v.count, v.expires_at, ${now}
      FROM unnest(${rows.map(([tag]) => tag)}::text[], ${rows.map(([, t]) => t.count)}::int[], ${rows.map(([, t]) => t.expiresAt?.toISOString() ?? null)}::timestamptz[]) AS v(tag, count, expires_at)
    ON CONFLICT (retailer_id, member_id, tag) DO UPDATE SET count = excluded.count, expires_at = excluded.expires_at, updated_at = excluded.updated_at`;
  unitOf(tx).plan(statement);
  planTimeline(tx, subjectOf(actor, member), timeline);
  recordDomainEvents(
    tx,
    timeline.map(({ payload }) => ({
      type: 'member.tag_added',
      retailerId: actor.retailerId,
      memberId: member.id,
      occurredAt: now,
      payload: { tag: payload.tag, count: payload.tag_count, expires_at: payload.ttl === undefined ? null : new Date(now.getTime() + payload.ttl * 1000).toISOString() },
    })),
  );
}

/** Removes expired tags (run by the worker); reads already hide them. */
export async function purgeExpiredTags(db: Db, now = new Date()): Promise<number> {
  const result = await db.deleteFrom('member_tags').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
