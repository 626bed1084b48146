// Simulations (flows/simulate.ts) rewind a member to an instant in a sandbox and replay what came after.
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

export interface RecordedEvent {
  name: string;
  qty: number;
  occurred_at: Date;
  received_at: Date;
  context: Record<string, unknown>;
}

/** The members who sent events received in [from, to). */
export async function membersWithEvents(db: Db, retailerId: string, from: Date, to: Date): Promise<string[]> {
  const rows = await db.selectFrom('member_events').select('member_id').distinct().where('retailer_id', '=', retailerId).where('received_at', '>=', from).where('received_at', '<', to).execute();
  return rows.map((r) => r.member_id);
}

/** How many events were received in [from, to) (of these members). */
export async function countEvents(db: Db, retailerId: string, from: Date, to: Date, memberIds?: string[]): Promise<number> {
  let q = db.selectFrom('member_events').select(sql<string>`count(*)`.as('n')).where('retailer_id', '=', retailerId).where('received_at', '>=', from).where('received_at', '<', to);
  if (memberIds) q = q.where('member_id', '=', sql<string>`ANY(${memberIds}::uuid[])`);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/** Forgets the member's events received from `from` on (so that they can be replayed); answers those received before `to`, in the order received. */
export async function takeEventsSince(tx: Db, retailerId: string, memberId: string, from: Date, to: Date): Promise<RecordedEvent[]> {
  const rows = await tx
    .deleteFrom('member_events')
    .where('retailer_id', '=', retailerId)
    .where('member_id', '=', memberId)
    .where('received_at', '>=', from)
    .returning(['name', 'qty', 'occurred_at', 'received_at', 'context'])
    .execute();
  return (rows as RecordedEvent[])
    .filter((r) => r.received_at < to)
    .sort((a, b) => a.received_at.getTime() - b.received_at.getTime() || a.occurred_at.getTime() - b.occurred_at.getTime());
}
