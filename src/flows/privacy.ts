/**
 * Privacy requests (SPEC 1.5): filed under the member's lock, carried out by
 * the worker after their grace period. Forget and export are use cases over
 * every domain: each module forgets or exports its own part; the privacy
 * module scrubs what names the member from every member-owned row and checks
 * that no member table is left out of an export.
 */
import { transact } from '../db/unit-of-work.js';
import type { Db } from '../db/index.js';
import type { JobHandler } from '../modules/jobs/queue.js';
import { exportMemberCampaigns } from '../modules/campaigns/privacy.js';
import { exportMemberEvents } from '../modules/events/privacy.js';
import { exportMemberIdentifiers, exportMemberProfile, forgetProfile, lockAnyMember } from '../modules/members/privacy.js';
import { lockMember, memberSummary, subjectOf, type Actor } from '../modules/members/service.js';
import { exportMemberMerges, exportMergedInto, scrubMergedVictim } from '../modules/merge/privacy.js';
import { exportMemberOffers } from '../modules/offers/privacy.js';
import { exportMemberDomainEvents } from '../modules/outbox/privacy.js';
import { recordDomainEvent } from '../modules/outbox/service.js';
import { exportMemberPoints } from '../modules/points/privacy.js';
import { exportPrivacyRequests } from '../modules/privacy/export.js';
import { dropExportDocuments, memberTables, personalNeedles, scrubMemberRows } from '../modules/privacy/forget.js';
import {
  cancelPrivacyRequest,
  completePrivacyRequest,
  lockPrivacyRequest,
  PRIVACY_QUEUE,
  requestPrivacyAction,
  restrictMember,
  type PrivacyRequest,
} from '../modules/privacy/service.js';
import { dropReplaysMentioning } from '../modules/replays/privacy.js';
import { exportMemberAchievements } from '../modules/rules/privacy.js';
import { exportMemberTags, forgetMemberTags } from '../modules/tags/privacy.js';
import { retailerNumber } from '../modules/tenants/service.js';
import { exportMemberTiers } from '../modules/tiers/privacy.js';
import { exportMemberTimeline, forgetUserName } from '../modules/timeline/privacy.js';
import { recordTimeline } from '../modules/timeline/service.js';
import { exportMemberTransactions } from '../modules/transactions/privacy.js';
import { exportMemberDeliveries } from '../modules/webhooks/privacy.js';

/** Files a forget or export request, carried out after the grace period. */
export const askPrivacy = (db: Db, actor: Actor, memberId: string, type: 'forget' | 'export', graceSeconds: number) =>
  transact(db, async (tx) => requestPrivacyAction(tx, actor, await lockMember(tx, actor.retailerId, memberId), type, graceSeconds));

/** Restricts processing of the member's data, or reinstates it. */
export const setRestriction = (db: Db, actor: Actor, memberId: string, restrict: boolean) =>
  transact(db, async (tx) => restrictMember(tx, actor, await lockMember(tx, actor.retailerId, memberId), restrict));

export const cancelPrivacy = (db: Db, actor: Actor, memberId: string, requestId: string) => transact(db, (tx) => cancelPrivacyRequest(tx, actor, memberId, requestId));

/**
 * Carries out one due forget or export request, in the caller's transaction
 * (the worker's, which deletes the job when this commits; the job's run_at
 * is the end of the grace period). A cancelled or finished request is left alone.
 */
export async function processPrivacyRequest(tx: Db, retailerId: string, requestId: number | string, now = new Date()): Promise<PrivacyRequest | undefined> {
  const request = await lockPrivacyRequest(tx, retailerId, requestId);
  if (!request || request.status !== 'pending') return request;
  const actor: Actor = { retailerId: request.retailer_id, retailerNumber: await retailerNumber(tx, request.retailer_id), requestId: request.request_id ?? undefined };
  // the member's row lock serializes this with every other write of the member
  await lockAnyMember(tx, request.retailer_id, request.member_id);
  let document: Record<string, unknown> | null = null;
  if (request.type === 'forget') {
    await forgetMember(tx, request.retailer_id, request.member_id);
    recordDomainEvent(tx, { type: 'member.forgotten', retailerId: request.retailer_id, memberId: request.member_id, occurredAt: now, payload: { user_id: request.member_id, privacy_request_id: Number(request.id) } });
  } else if (request.type === 'export') {
    document = await exportMember(tx, request.retailer_id, request.member_id);
    const member = await memberSummary(tx, request.retailer_id, request.member_id);
    if (member) await recordTimeline(tx, subjectOf(actor, member), [{ type: 'CUSTOMER_DATA_EXPORTED', requestId: actor.requestId, payload: { privacy_request_id: Number(request.id) } }]);
  }
  recordDomainEvent(tx, { type: 'privacy.request_completed', retailerId: request.retailer_id, memberId: request.member_id, occurredAt: now, payload: { privacy_request_id: Number(request.id), request_type: request.type } });
  return completePrivacyRequest(tx, request, now, document);
}

/** The worker's handlers for privacy requests (queue PRIVACY_QUEUE, payload {retailer_id, request_id}). */
export const privacyJobHandlers: Record<string, JobHandler> = {
  [PRIVACY_QUEUE]: async (tx, payload) => {
    await processPrivacyRequest(tx, payload.retailer_id as string, payload.request_id as number);
  },
};

/**
 * Removes the member's personal data from every domain, in the caller's
 * transaction (the caller holds the member's row lock): the profile's
 * personal attributes, identifiers, phone numbers, custom profile and tags
 * are deleted; every other member-owned row (timeline payloads, ledger
 * references, offers, events, transactions, merges, exports) is kept in
 * anonymised form, so balances and the retailer's ledger still add up. The
 * member becomes 'forgotten': no query or lookup finds it again.
 */
export async function forgetMember(tx: Db, retailerId: string, memberId: string): Promise<{ needles: number; tables: string[] }> {
  const needles = await personalNeedles(tx, retailerId, memberId);
  await forgetProfile(tx, retailerId, memberId);
  await forgetMemberTags(tx, retailerId, memberId);
  await forgetUserName(tx, retailerId, memberId);
  await dropExportDocuments(tx, retailerId, memberId);
  let touched: string[] = [];
  if (needles.length) {
    touched = await scrubMemberRows(tx, retailerId, memberId, needles);
    // a merge names the victim too
    await scrubMergedVictim(tx, retailerId, memberId, needles);
    // answers kept for Message-ID replays carry the profile: they go
    await dropReplaysMentioning(tx, retailerId, [memberId, ...needles]);
  }
  return { needles: needles.length, tables: touched };
}

const SECTIONS: Record<string, string> = {
  member_identifiers: 'identifiers',
  member_phone_numbers: 'phone_numbers',
  member_tags: 'tags',
  member_point_accounts: 'point_balances',
  point_ledger: 'points_ledger',
  point_idempotency: 'point_idempotency',
  point_lots: 'point_lots',
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
  exportMemberDeliveries,
  exportMemberMerges,
  exportPrivacyRequests,
];

/** The member's privacy requests, without the documents of earlier exports (they are not copied into new ones). */

/**
 * A complete, machine-readable copy of everything held about a member: the
 * profile and every row of every member-owned table, each module giving its
 * part, grouped in named sections.
 */
export async function exportMember(db: Db, retailerId: string, memberId: string): Promise<Record<string, unknown>> {
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
