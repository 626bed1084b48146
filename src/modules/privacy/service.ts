import { sql, type Selectable } from 'kysely';
import type { Db } from '../../db/index.js';
import type { PrivacyRequestPart, PrivacyRequestsTable } from '../../db/schema.js';
import { DomainError } from '../../errors.js';
import { enqueue, withdrawJob } from '../jobs/queue.js';
import { restrictAccount } from '../members/privacy.js';
import { subjectOf, type Actor, type MemberSummary } from '../members/service.js';
import { recordDomainEvent } from '../outbox/service.js';
import { recordTimeline } from '../timeline/service.js';

export type PrivacyRequestType = PrivacyRequestsTable['type'];
export type PrivacyRequest = Selectable<PrivacyRequestsTable>;

/** The job queue the worker runs forget and export requests from once their grace period is over. */
export const PRIVACY_QUEUE = 'privacy.process';

/** One part per domain that acts (the names of the 1.5.2 example for forget). */
export const PRIVACY_PARTS: Record<PrivacyRequestType, string[]> = {
  forget: [
    'forget',
    'timeline_forget_stream',
    'offers_domain_forget_organization',
    'txn_domain_forget_organization',
    'messaging_platform_forget',
    'data_team_forget',
    'external_dbs_forget',
    'incentives_forget',
  ],
  export: ['export', 'timeline_export_stream', 'offers_domain_export_organization', 'txn_domain_export_organization', 'incentives_export'],
  restrict: ['restrict', 'messaging_platform_restrict', 'campaigns_restrict'],
  reinstate: ['reinstate', 'messaging_platform_reinstate', 'campaigns_reinstate'],
};

/** `{"291": "forget", ...}` as 1.5.2 answers it. */
export function partIds(request: Pick<PrivacyRequest, 'parts'>): Record<string, string> {
  return Object.fromEntries(request.parts.map((p) => [String(p.id), p.name]));
}

async function newParts(tx: Db, type: PrivacyRequestType, status: string): Promise<PrivacyRequestPart[]> {
  const names = PRIVACY_PARTS[type];
  const { rows } = await sql<{ id: string }>`SELECT nextval('privacy_request_part_ids') AS id FROM generate_series(1, ${names.length})`.execute(tx);
  return names.map((name, i) => ({ id: Number(rows[i].id), name, status }));
}

async function insertRequest(tx: Db, actor: Actor, memberId: string, type: PrivacyRequestType, dueAt: Date, completed: boolean): Promise<PrivacyRequest> {
  const now = new Date();
  return tx
    .insertInto('privacy_requests')
    .values({
      retailer_id: actor.retailerId,
      member_id: memberId,
      type,
      status: completed ? 'completed' : 'pending',
      parts: JSON.stringify(await newParts(tx, type, completed ? 'completed' : 'pending')),
      request_id: actor.requestId ?? null,
      due_at: dueAt,
      completed_at: completed ? now : null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Files a forget or export request for a member (the caller holds the
 * member's lock): it waits `graceSeconds`, during which it can be cancelled,
 * then the worker carries it out (PRIVACY_QUEUE). A pending request of the
 * same type is answered again rather than doubled.
 */
export async function requestPrivacyAction(tx: Db, actor: Actor, member: MemberSummary, type: 'forget' | 'export', graceSeconds: number): Promise<PrivacyRequest> {
  const pending = await tx
    .selectFrom('privacy_requests')
    .selectAll()
    .where('retailer_id', '=', actor.retailerId)
    .where('member_id', '=', member.id)
    .where('type', '=', type)
    .where('status', '=', 'pending')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  if (pending) return pending;
  const dueAt = new Date(Date.now() + graceSeconds * 1000);
  const request = await insertRequest(tx, actor, member.id, type, dueAt, false);
  await enqueue(tx, { queue: PRIVACY_QUEUE, payload: { retailer_id: actor.retailerId, request_id: Number(request.id) }, runAt: dueAt, dedupeKey: `privacy:${request.id}` });
  return request;
}

/**
 * Restricts (account_status 'restricted': no campaign, audience or marketing)
 * or reinstates ('good') a member at once, with its timeline entry; without
 * `restrict` the status toggles. The caller holds the member's lock.
 */
export async function restrictMember(tx: Db, actor: Actor, member: MemberSummary, restrict: boolean): Promise<{ request: PrivacyRequest; restricted: boolean }> {
  const restricted = restrict;
  const changed = await restrictAccount(tx, actor.retailerId, member.id, restricted);
  const request = await insertRequest(tx, actor, member.id, restricted ? 'restrict' : 'reinstate', new Date(), true);
  if (changed) {
    await recordTimeline(tx, subjectOf(actor, member), [
      { type: restricted ? 'DATA_PROCESSING_RESTRICTED' : 'DATA_PROCESSING_REINSTATED', requestId: actor.requestId, payload: { privacy_request_id: Number(request.id) } },
    ]);
    recordDomainEvent(tx, { type: restricted ? 'member.restricted' : 'member.reinstated', retailerId: actor.retailerId, memberId: member.id, payload: { user_id: member.id } });
  }
  return { request, restricted };
}

export async function listPrivacyRequests(db: Db, retailerId: string, memberId: string, type?: PrivacyRequestType): Promise<PrivacyRequest[]> {
  let q = db.selectFrom('privacy_requests').selectAll().where('retailer_id', '=', retailerId).where('member_id', '=', memberId);
  if (type) q = q.where('type', '=', type);
  return q.orderBy('id', 'desc').execute();
}

export async function findPrivacyRequest(db: Db, retailerId: string, memberId: string, requestId: string): Promise<PrivacyRequest> {
  const found = /^\d{1,18}$/.test(requestId)
    ? await db.selectFrom('privacy_requests').selectAll().where('retailer_id', '=', retailerId).where('member_id', '=', memberId).where('id', '=', requestId).executeTakeFirst()
    : undefined;
  if (!found) throw new DomainError('privacy_request_not_found', `privacy request ${requestId} not found`, 'request_id');
  return found;
}

/** Cancels a pending forget or export request during its grace period. */
export async function cancelPrivacyRequest(tx: Db, actor: Actor, memberId: string, requestId: string): Promise<PrivacyRequest> {
  const found = await findPrivacyRequest(tx, actor.retailerId, memberId, requestId);
  const locked = await tx.selectFrom('privacy_requests').selectAll().where('retailer_id', '=', actor.retailerId).where('id', '=', found.id).forUpdate().executeTakeFirstOrThrow();
  if (locked.status !== 'pending') throw new DomainError('privacy_request_not_cancellable', `privacy request ${requestId} is ${locked.status}: only a pending request can be cancelled`, 'request_id');
  const now = new Date();
  const cancelled = await tx
    .updateTable('privacy_requests')
    .set({ status: 'cancelled', cancelled_at: now, parts: JSON.stringify(locked.parts.map((p) => ({ ...p, status: 'cancelled' }))) })
    .where('retailer_id', '=', actor.retailerId)
    .where('id', '=', locked.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await withdrawJob(tx, PRIVACY_QUEUE, `privacy:${locked.id}`);
  return cancelled;
}

/** Locks a retailer's privacy request for the worker; undefined when there is none. */
export async function lockPrivacyRequest(tx: Db, retailerId: string, requestId: number | string): Promise<PrivacyRequest | undefined> {
  return tx.selectFrom('privacy_requests').selectAll().where('retailer_id', '=', retailerId).where('id', '=', String(requestId)).forUpdate().executeTakeFirst();
}

/** Marks a request carried out, with its export document when it made one. */
export async function completePrivacyRequest(tx: Db, request: PrivacyRequest, now: Date, document: Record<string, unknown> | null): Promise<PrivacyRequest> {
  return tx
    .updateTable('privacy_requests')
    .set({
      status: 'completed',
      completed_at: now,
      parts: JSON.stringify(request.parts.map((p) => ({ ...p, status: 'completed' }))),
      ...(document ? { document: JSON.stringify(document) } : {}),
    })
    .where('retailer_id', '=', request.retailer_id)
    .where('id', '=', request.id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface PrivacyQueueQuery {
  status?: PrivacyRequest['status'];
  limit: number;
  /** The cursor a previous page answered (next_before). */
  before?: string;
}

/**
 * The retailer's privacy requests across its members, a page at a time:
 * pending ones soonest due first (then by id); any other status, or all of
 * them, newest first (by id). The cursor is opaque; one this server did not
 * issue is refused (argument_error, before).
 */
export async function privacyQueue(db: Db, retailerId: string, q: PrivacyQueueQuery): Promise<{ requests: PrivacyRequest[]; nextBefore: string | null }> {
  const dueFirst = q.status === 'pending';
  let query = db.selectFrom('privacy_requests').selectAll().where('retailer_id', '=', retailerId);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.before !== undefined) {
    const match = /^(?:(\d{1,15}):)?(\d{1,18})$/.exec(Buffer.from(q.before, 'base64url').toString());
    if (!match || dueFirst !== (match[1] !== undefined)) throw new DomainError('argument_error', 'before: not a cursor this server issued for this order', 'before');
    query = dueFirst ? query.where(sql<boolean>`(due_at, id) > (${new Date(Number(match[1]))}, ${match[2]}::bigint)`) : query.where('id', '<', match[2]);
  }
  query = dueFirst ? query.orderBy('due_at').orderBy('id') : query.orderBy('id', 'desc');
  const rows = await query.limit(q.limit + 1).execute();
  const more = rows.length > q.limit;
  const requests = more ? rows.slice(0, q.limit) : rows;
  const last = requests.at(-1);
  const cursor = (r: PrivacyRequest) => Buffer.from(dueFirst ? `${r.due_at.getTime()}:${r.id}` : String(r.id)).toString('base64url');
  return { requests, nextBefore: more && last ? cursor(last) : null };
}
