// The audit trail: who changed what through the admin API, written in the
// transaction of the change (a write that fails leaves no record), and never
// changed after (a trigger refuses UPDATE and DELETE).
import type { Db } from '../../db/index.js';

export interface AuditEntry {
  retailerId: string | null;
  actor: { type: 'operator' | 'operator_token' | 'admin_token'; id: string | null; email: string | null };
  address: string | null;
  userAgent: string | null;
  action: string;
  objectType: string;
  objectId: string | null;
  requestId: string | null;
  before?: unknown;
  after?: unknown;
}

export async function recordAudit(tx: Db, e: AuditEntry): Promise<void> {
  const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));
  await tx
    .insertInto('audit_log')
    .values({
      retailer_id: e.retailerId,
      actor_type: e.actor.type,
      actor_id: e.actor.id,
      actor_email: e.actor.email,
      address: e.address,
      user_agent: e.userAgent?.slice(0, 500) ?? null,
      action: e.action,
      object_type: e.objectType,
      object_id: e.objectId,
      request_id: e.requestId,
      before: json(e.before),
      after: json(e.after),
    })
    .execute();
}

export interface AuditQuery {
  /** Records older than this id (the page before's `next_before`). */
  before?: string;
  limit: number;
  action?: string;
  objectType?: string;
  objectId?: string;
  actorId?: string;
  from?: Date;
  to?: Date;
}

/** The retailer's records (undefined: everyone's), newest first, filtered and paged by id. */
export async function listAudit(db: Db, retailerId: string | undefined, q: AuditQuery) {
  let query = db.selectFrom('audit_log').selectAll();
  if (retailerId) query = query.where('retailer_id', '=', retailerId);
  if (q.before) query = query.where('id', '<', q.before);
  if (q.action) query = query.where('action', '=', q.action);
  if (q.objectType) query = query.where('object_type', '=', q.objectType);
  if (q.objectId) query = query.where('object_id', '=', q.objectId);
  if (q.actorId) query = query.where('actor_id', '=', q.actorId);
  if (q.from) query = query.where('at', '>=', q.from);
  if (q.to) query = query.where('at', '<', q.to);
  const rows = await query.orderBy('id', 'desc').limit(q.limit + 1).execute();
  return { records: rows.slice(0, q.limit), more: rows.length > q.limit };
}
