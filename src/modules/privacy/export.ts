import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { memberTables } from './forget.js';

/** Where each member-owned table goes in the export document; tables not named here go under `other`. */
const SECTIONS: Record<string, string> = {
  member_identifiers: 'identifiers',
  member_phone_numbers: 'phone_numbers',
  member_tags: 'tags',
  member_point_accounts: 'point_balances',
  point_ledger: 'points_ledger',
  point_idempotency: 'point_idempotency',
  member_tiers: 'tiers',
  user_offers: 'offers',
  offer_redemptions: 'offer_redemptions',
  member_campaigns: 'campaigns',
  member_behaviors: 'campaign_behaviors',
  member_goals: 'campaign_goals',
  member_events: 'events',
  rule_achievements: 'rule_achievements',
  pos_transactions: 'transactions',
  timeline_events: 'timeline',
  member_merges: 'merges',
  privacy_requests: 'privacy_requests',
};

export const EXPORT_FORMAT = 'loyalist.member-data/1';

/**
 * A complete, machine-readable copy of everything held about a member: the
 * profile and every row of every member-owned table (found in the catalog,
 * so tables added later are included), grouped in named sections.
 */
export async function buildExport(db: Db, retailerId: string, memberId: string): Promise<Record<string, unknown>> {
  const profile = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(m) AS row FROM members m WHERE retailer_id = ${retailerId} AND id = ${memberId}`.execute(db);
  const document: Record<string, unknown> = {
    format: EXPORT_FORMAT,
    generated_at: new Date().toISOString(),
    retailer_id: retailerId,
    user_id: memberId,
    profile: profile.rows[0]?.row ?? null,
  };
  const other: Record<string, unknown> = {};
  for (const t of await memberTables(db)) {
    if (t.table === 'members') continue;
    // earlier exports are not copied into new ones
    const select = t.table === 'privacy_requests' ? sql`to_jsonb(x) - 'document'` : sql`to_jsonb(x)`;
    const { rows } = await sql<{ row: Record<string, unknown> }>`SELECT ${select} AS row FROM ${sql.table(t.table)} x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
    const data = rows.map((r) => r.row);
    const section = SECTIONS[t.table];
    if (section) document[section] = data;
    else other[t.table] = data;
  }
  const merged = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM member_merges x WHERE retailer_id = ${retailerId} AND victim_id = ${memberId}`.execute(db);
  if (merged.rows.length) document.merged_into = merged.rows.map((r) => r.row);
  document.other = other;
  return document;
}
