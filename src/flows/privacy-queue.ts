// The retailer's privacy request queue, as the loyalty team works through it:
// the requests (privacy module) with whom each is about (members module).
// A read: no transaction.
import type { Db } from '../db/index.js';
import { getMembers } from '../modules/members/service.js';
import { privacyQueue, type PrivacyQueueQuery, type PrivacyRequest } from '../modules/privacy/service.js';

export interface PrivacyQueueEntry {
  id: number;
  user_id: string;
  /** null once the member is forgotten, merged away or deleted (nothing of them is shown). */
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  type: PrivacyRequest['type'];
  status: PrivacyRequest['status'];
  created_at: string;
  due_at: string;
  completed_at: string | null;
  cancelled_at: string | null;
}

/** A page of the queue (privacyQueue's order); `next_before` is the opaque cursor of the next page (null: the last). */
export async function privacyRequestQueue(db: Db, retailerId: string, query: PrivacyQueueQuery): Promise<{ requests: PrivacyQueueEntry[]; next_before: string | null }> {
  const page = await privacyQueue(db, retailerId, query);
  const members = new Map((await getMembers(db, retailerId, page.requests.map((r) => r.member_id))).map((m) => [m.id, m]));
  return {
    requests: page.requests.map((r) => {
      const member = members.get(r.member_id);
      return {
        // a bigint column, read as a number
        id: Number(r.id),
        user_id: r.member_id,
        email: member?.email ?? null,
        first_name: member?.first_name ?? null,
        last_name: member?.last_name ?? null,
        type: r.type,
        status: r.status,
        created_at: r.created_at.toISOString(),
        due_at: r.due_at.toISOString(),
        completed_at: r.completed_at?.toISOString() ?? null,
        cancelled_at: r.cancelled_at?.toISOString() ?? null,
      };
    }),
    next_before: page.nextBefore,
  };
}
