// What the admin dashboard counts of the retailer's members. Merged-away,
// forgotten and deleted members are not counted.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../db/index.js';

/** Members now, and those among them who enrolled in [from, to). */
export async function memberCounts(db: Db, retailerId: string, from: Date, to: Date): Promise<{ total: number; enrolled: number }> {
  const row = await db
    .selectFrom('members')
    .select([sql<number>`count(*)::int`.as('total'), sql<number>`(count(*) FILTER (WHERE created_at >= ${from} AND created_at < ${to}))::int`.as('enrolled')])
    .where('retailer_id', '=', retailerId)
    .where('lifecycle', '=', 'active')
    .executeTakeFirstOrThrow();
  return { total: Number(row.total), enrolled: Number(row.enrolled) };
}

/**
 * How many of the retailer's members are among those the subqueries select
 * (each a SELECT of member_id another module gives: who had a ledger entry,
 * a timeline entry …), each member once.
 */
export async function countMembersAmong(db: Db, retailerId: string, among: RawBuilder<{ member_id: string }>[]): Promise<number> {
  if (!among.length) return 0;
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM members m
     WHERE m.retailer_id = ${retailerId} AND m.lifecycle = 'active' AND m.id IN (${sql.join(among, sql` UNION `)})`.execute(db);
  return Number(rows[0].n);
}
