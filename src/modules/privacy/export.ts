import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { exportMemberCampaigns } from '../campaigns/privacy.js';
import { exportMemberEvents } from '../events/privacy.js';
import { exportMemberIdentifiers, exportMemberProfile } from '../members/privacy.js';
import { exportMemberMerges, exportMergedInto } from '../merge/privacy.js';
import { exportMemberOffers } from '../offers/privacy.js';
import { exportMemberDomainEvents } from '../outbox/privacy.js';
import { exportMemberPoints } from '../points/privacy.js';
import { exportMemberAchievements } from '../rules/privacy.js';
import { exportMemberTags } from '../tags/privacy.js';
import { exportMemberTiers } from '../tiers/privacy.js';
import { exportMemberTimeline } from '../timeline/privacy.js';
import { exportMemberTransactions } from '../transactions/privacy.js';
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
  domain_events: 'domain_events',
  member_merges: 'merges',
  privacy_requests: 'privacy_requests',
};

export const EXPORT_FORMAT = 'loyalist.member-data/1';

/** Each module's part of the export: its member-owned tables' rows, by table. */
const PARTS: ((db: Db, retailerId: string, memberId: string) => Promise<Record<string, Record<string, unknown>[]>>)[] = [
  exportMemberIdentifiers,
  exportMemberTags,
  exportMemberPoints,
  exportMemberTiers,
  exportMemberOffers,
  exportMemberCampaigns,
  exportMemberEvents,
  exportMemberAchievements,
  exportMemberTransactions,
  exportMemberTimeline,
  exportMemberDomainEvents,
  exportMemberMerges,
  exportPrivacyRequests,
];

/** The member's privacy requests, without the documents of earlier exports (they are not copied into new ones). */
async function exportPrivacyRequests(db: Db, retailerId: string, memberId: string): Promise<{ privacy_requests: Record<string, unknown>[] }> {
  const { rows } = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) - 'document' AS row FROM privacy_requests x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  return { privacy_requests: rows.map((r) => r.row) };
}

/**
 * A complete, machine-readable copy of everything held about a member: the
 * profile and every row of every member-owned table, each module giving its
 * part, grouped in named sections.
 */
export async function buildExport(db: Db, retailerId: string, memberId: string): Promise<Record<string, unknown>> {
  const document: Record<string, unknown> = {
    format: EXPORT_FORMAT,
    generated_at: new Date().toISOString(),
    retailer_id: retailerId,
    user_id: memberId,
    profile: await exportMemberProfile(db, retailerId, memberId),
  };
  const other: Record<string, unknown> = {};
  const exported = new Set<string>();
  for (const part of PARTS) {
    for (const [table, data] of Object.entries(await part(db, retailerId, memberId))) {
      exported.add(table);
      const section = SECTIONS[table];
      if (section) document[section] = data;
      else other[table] = data;
    }
  }
  // the catalog knows every member-owned table, also one added later: a copy without it would be incomplete
  const missing = (await memberTables(db)).map((t) => t.table).filter((t) => t !== 'members' && !exported.has(t));
  if (missing.length) throw new Error(`no module exports the member data in ${missing.join(', ')}`);
  const merged = await exportMergedInto(db, retailerId, memberId);
  if (merged.length) document.merged_into = merged;
  document.other = other;
  return document;
}
