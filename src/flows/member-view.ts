// What a support agent sees of members: the search, and one member's whole
// picture (profile, points with their lots, tiers, offers, campaigns, the
// timeline, privacy requests) read from each module that owns a part of it.
// A read: no transaction, the parts are read side by side. Amounts are the
// points module's exact decimal text, instants ISO 8601.
import type { Db } from '../db/index.js';
import { DomainError, memberNotFound } from '../errors.js';
import { getMember, getMemberRow, searchMembers, searchMembersByText, type Identifier, type Member, type PhoneNumber } from '../modules/members/service.js';
import { memberCampaignViews, type CampaignState } from '../modules/campaigns/views.js';
import { offersByIds } from '../modules/offers/catalog.js';
import { effectiveStatus, listUserOffers, STATUS_DESCRIPTION } from '../modules/offers/user-offers.js';
import { toDecimal, ZERO } from '../modules/points/amount.js';
import { loadLots, type Lot } from '../modules/points/lots.js';
import { auditLog, ledgerPage, memberBalances, type AuditEntry } from '../modules/points/queries.js';
import { listPrivacyRequests, type PrivacyRequest } from '../modules/privacy/service.js';
import { getTags } from '../modules/tags/service.js';
import { listTierSystems, memberTiers, nextLevelProgress } from '../modules/tiers/service.js';
import { retailerNumber } from '../modules/tenants/service.js';
import { EVENT_CATEGORIES, eventTypeById } from '../modules/timeline/catalog.js';
import { listTimeline, payloadOf, type TimelineRow } from '../modules/timeline/service.js';

/** How many of the newest ledger entries, user offers and timeline entries the view shows. */
const NEWEST = 50;

const iso = (at: Date) => at.toISOString();
const isoOrNull = (at: Date | null) => (at ? at.toISOString() : null);

/** The search: `q` is the one search box (searchMembersByText); without it, the fields given must all match. */
export interface MemberQuery {
  q?: string;
  email?: string;
  phone?: string;
  external_id?: string;
  first_name?: string;
  last_name?: string;
  limit: number;
}

/** A member as the search lists it. */
export interface MemberListItem {
  user_id: string;
  /** The first of its external ids. */
  external_id: string | null;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  /** The first of its phone numbers. */
  phone: string | null;
  account_status: string;
  created_at: string;
}

export async function findMembersForAdmin(db: Db, retailerId: string, query: MemberQuery): Promise<{ total: number; members: MemberListItem[] }> {
  const { q, limit, ...fields } = query;
  const found = q?.trim() ? await searchMembersByText(db, retailerId, q, limit) : await searchMembers(db, retailerId, { ...fields, limit });
  return { total: found.total, members: found.members.map(listItem) };
}

const listItem = (m: Member): MemberListItem => ({
  user_id: m.id,
  external_id: m.identifiers[0]?.external_id ?? null,
  email: m.email,
  first_name: m.first_name,
  last_name: m.last_name,
  phone: m.phone_numbers[0]?.phone_number ?? null,
  account_status: m.account_status,
  created_at: iso(m.created_at),
});

export interface MemberView {
  profile: {
    user_id: string;
    player_id: number;
    external_id: string | null;
    email: string | null;
    first_name: string | null;
    last_name: string | null;
    gender: string | null;
    /** YYYY-MM-DD */
    dob: string | null;
    address: string | null;
    address2: string | null;
    city: string | null;
    state: string | null;
    zip: string | null;
    country: string | null;
    locale: string | null;
    opted_in: boolean;
    account_status: string;
    /** A privacy restriction: the member earns nothing and sees no campaign while it lasts. */
    restricted: boolean;
    suspended: boolean;
    test_account: boolean;
    created_at: string;
    updated_at: string;
    /** The custom profile attributes. */
    user_profile: Record<string, unknown>;
  };
  identifiers: Identifier[];
  phone_numbers: PhoneNumber[];
  /** Live tags by name, with their counts. */
  tags: Record<string, number>;
  tiers: TierView[];
  point_accounts: PointAccountView[];
  ledger: { total: number; entries: LedgerEntryView[] };
  offers: { total: number; user_offers: UserOfferView[] };
  campaigns: CampaignView[];
  timeline: { entries: TimelineEntryView[]; has_more: boolean };
  privacy_requests: PrivacyRequestView[];
}

export interface TierView {
  tier_system_id: string;
  /** null: the system has been retired since. */
  tier_system_name: string | null;
  tier_level_id: string;
  tier_level_name: string | null;
  rank: number | null;
  join_date: string;
  next_maintenance_eval_date: string | null;
  /** The level above, and the member's qualifying points toward it; null at the top (or at a level retired since). */
  next_level: { tier_level_id: string; name: string; point_account_id: string | null; threshold: string; current: string } | null;
}

export interface PointAccountView {
  point_account_id: string;
  name: string;
  grouping_label: string;
  /** null until the member first uses the account. */
  user_point_account_id: string | null;
  available_balance: string;
  pending_balance: string;
  life_time_value: string;
  /** The lots holding points that expire (open) or are not yet available (pending); never-expiring points are no lot. */
  lots: { lot_id: string; state: Lot['state']; remaining: string; expires_at: string | null; available_at: string | null; transaction_id: string | null }[];
}

export interface LedgerEntryView {
  id: number;
  point_account_id: string;
  account_name: string;
  amount: string;
  balance_after: string;
  modification_type: string;
  point_source_id: string | null;
  point_source_name: string | null;
  reference_id: string | null;
  reference_type: string | null;
  transaction_id: string | null;
  request_id: string | null;
  effective_at: string;
  inserted_at: string;
}

export interface UserOfferView {
  user_offer_id: string;
  offer_id: string;
  root_offer_id: string;
  internal_title: string | null;
  /** The status a client sees (an issued offer past its redemption end is expired), and its name. */
  status: number;
  status_description: string;
  acquired_at: string;
  redemption_start_date: string | null;
  redemption_end_date: string | null;
  quantity: number;
  remaining_uses: number;
  redemption_code: string;
  source: string;
  redeemed_at: string | null;
  revoked_at: string | null;
  revoke_reason: string | null;
}

export interface CampaignView {
  campaign_id: number;
  name: string;
  permalink: string;
  state: CampaignState;
  opted_in: boolean;
  start_date: string;
  end_date: string | null;
  behaviors: { behavior_id: number; name: string; event_name: string; achieved: number; progress: number; goal: number; active: boolean }[];
}

export interface TimelineEntryView {
  occurred_at: string;
  event_type: string | null;
  event_category: string | null;
  request_id: string | null;
  payload: Record<string, unknown>;
}

export interface PrivacyRequestView {
  id: number;
  type: PrivacyRequest['type'];
  status: PrivacyRequest['status'];
  created_at: string;
  due_at: string;
  cancelled_at: string | null;
  completed_at: string | null;
}

/** One member's whole picture; throws user_not_found for a member the retailer does not have (or no longer has active). */
export async function memberView(db: Db, retailerId: string, memberId: string): Promise<MemberView> {
  const member = await getMember(db, retailerId, memberId);
  if (!member) throw memberNotFound();
  const id = member.id;
  const [tags, tiers, pointAccounts, ledger, offers, campaigns, timeline, privacy] = await Promise.all([
    getTags(db, retailerId, id),
    tierViews(db, retailerId, id),
    pointAccountViews(db, retailerId, id),
    auditLog(db, retailerId, id, { skip: 0, take: NEWEST }),
    userOfferViews(db, retailerId, id),
    memberCampaignViews(db, retailerId, id),
    timelineView(db, retailerId, id),
    listPrivacyRequests(db, retailerId, id),
  ]);
  return {
    profile: {
      user_id: id,
      player_id: member.player_id,
      external_id: member.identifiers[0]?.external_id ?? null,
      email: member.email,
      first_name: member.first_name,
      last_name: member.last_name,
      gender: member.gender,
      dob: member.dob,
      address: member.address,
      address2: member.address2,
      city: member.city,
      state: member.state,
      zip: member.zip,
      country: member.country,
      locale: member.locale,
      opted_in: member.opted_in,
      account_status: member.account_status,
      restricted: member.account_status === 'restricted',
      suspended: member.suspended,
      test_account: member.test_account,
      created_at: iso(member.created_at),
      updated_at: iso(member.updated_at),
      user_profile: member.user_profile,
    },
    identifiers: member.identifiers,
    phone_numbers: member.phone_numbers,
    tags,
    tiers,
    point_accounts: pointAccounts,
    ledger: {
      total: ledger.total,
      entries: ledger.entries.map(ledgerEntryView),
    },
    offers,
    campaigns: campaigns.map((c) => ({
      campaign_id: c.campaign.id,
      name: c.campaign.name,
      permalink: c.campaign.permalink,
      state: c.state,
      opted_in: c.optedIn,
      start_date: iso(c.campaign.start_date),
      end_date: isoOrNull(c.campaign.end_date),
      behaviors: c.behaviors.map((b) => ({ behavior_id: b.def.id, name: b.def.name, event_name: b.def.event_name, achieved: b.achieved, progress: b.progress, goal: b.goal, active: b.active })),
    })),
    timeline,
    privacy_requests: privacy.map((r) => ({
      // a bigint column, read as a number
      id: Number(r.id),
      type: r.type,
      status: r.status,
      created_at: iso(r.created_at),
      due_at: iso(r.due_at),
      cancelled_at: isoOrNull(r.cancelled_at),
      completed_at: isoOrNull(r.completed_at),
    })),
  };
}

/** The member's tier in each system, with the system's and the level's names. */
async function tierViews(db: Db, retailerId: string, memberId: string): Promise<TierView[]> {
  const [systems, tiers] = await Promise.all([listTierSystems(db, retailerId), memberTiers(db, retailerId, memberId)]);
  return Promise.all(tiers.map(async (t) => {
    const system = systems.find((s) => s.id === t.tier_system_id);
    const level = system?.levels.find((l) => l.id === t.tier_level_id);
    const next = system && (await nextLevelProgress(db, retailerId, memberId, system, t.tier_level_id));
    return {
      tier_system_id: t.tier_system_id,
      tier_system_name: system?.name ?? null,
      tier_level_id: t.tier_level_id,
      tier_level_name: level?.name ?? null,
      rank: level?.rank ?? null,
      join_date: iso(t.join_date),
      next_maintenance_eval_date: isoOrNull(t.next_maintenance_eval_date),
      next_level: next
        ? { tier_level_id: next.level.id, name: next.level.name, point_account_id: next.point_account_id, threshold: toDecimal(next.threshold), current: toDecimal(next.current) }
        : null,
    };
  }));
}

/** Every point account of the retailer (zero where unused), with the member's lots in it. */
async function pointAccountViews(db: Db, retailerId: string, memberId: string): Promise<PointAccountView[]> {
  const { details } = await memberBalances(db, retailerId, memberId);
  const lots = await loadLots(db, retailerId, memberId, details.map((d) => d.point_account_id));
  return details.map((d) => ({
    point_account_id: d.point_account_id,
    name: d.account_name,
    grouping_label: d.grouping_label,
    user_point_account_id: d.user_point_account_id || null,
    available_balance: toDecimal(d.available_balance),
    pending_balance: toDecimal(d.pending_balance ?? ZERO),
    life_time_value: toDecimal(d.life_time_value),
    lots: (lots.get(d.point_account_id) ?? []).map((l) => ({
      lot_id: l.id,
      state: l.state,
      remaining: toDecimal(l.remaining),
      expires_at: isoOrNull(l.expires_at),
      available_at: isoOrNull(l.available_at),
      transaction_id: l.transaction_id,
    })),
  }));
}

/** The newest user offers, with their offers' titles. */
async function userOfferViews(db: Db, retailerId: string, memberId: string): Promise<MemberView['offers']> {
  const { total, rows } = await listUserOffers(db, retailerId, [memberId], { skip: 0, take: NEWEST });
  const offers = await offersByIds(db, retailerId, rows.map((u) => u.offer_id));
  const user_offers = rows.map((u) => {
    const status = effectiveStatus(u);
    return {
      user_offer_id: u.id,
      offer_id: u.offer_id,
      root_offer_id: u.root_offer_id,
      internal_title: offers.get(u.offer_id)?.internal_title ?? null,
      status,
      status_description: STATUS_DESCRIPTION[status],
      acquired_at: iso(u.acquired_at),
      redemption_start_date: isoOrNull(u.redemption_start_date),
      redemption_end_date: isoOrNull(u.redemption_end_date),
      quantity: u.quantity,
      remaining_uses: u.remaining_uses,
      redemption_code: u.redemption_code,
      source: u.source,
      redeemed_at: isoOrNull(u.redeemed_at),
      revoked_at: isoOrNull(u.revoked_at),
      revoke_reason: u.revoke_reason,
    };
  });
  return { total, user_offers };
}

/** The newest timeline entries of every category, their payloads as the Core timeline answers them. */
async function timelineView(db: Db, retailerId: string, memberId: string): Promise<MemberView['timeline']> {
  const [number, page] = await Promise.all([retailerNumber(db, retailerId), listTimeline(db, retailerId, memberId, { view: 'END_USER_MEMBER_STATEMENT', limit: NEWEST })]);
  return { entries: page.rows.map((row) => timelineEntryView(row, number)), has_more: page.nextCursor !== null };
}

const timelineEntryView = (row: TimelineRow, retailerNumber: number): TimelineEntryView => {
  const type = eventTypeById(row.event_type_id);
  return {
    occurred_at: iso(row.occurred_at),
    event_type: type?.slug ?? null,
    event_category: type ? EVENT_CATEGORIES[type.categoryId] : null,
    request_id: row.request_id,
    payload: payloadOf(row, retailerNumber),
  };
};

const ledgerEntryView = (e: AuditEntry): LedgerEntryView => ({
  id: e.id,
  point_account_id: e.point_account_id,
  account_name: e.account_name,
  amount: toDecimal(e.amount),
  balance_after: toDecimal(e.balance_after),
  modification_type: e.modification_type,
  point_source_id: e.point_source_id,
  point_source_name: e.point_source_name,
  reference_id: e.reference_id,
  reference_type: e.reference_type,
  transaction_id: e.transaction_id,
  request_id: e.request_id,
  effective_at: iso(e.effective_at),
  inserted_at: iso(e.inserted_at),
});

/** The query of a page of the member's ledger (ledgerPage). */
export interface LedgerPageRequest {
  before?: number;
  limit: number;
  point_account_id?: string[];
  modification_type?: string[];
}

/** A page of the member's ledger, newest first; `next_before` is the cursor of the next page (null: the last). */
export async function memberLedgerPage(db: Db, retailerId: string, memberId: string, query: LedgerPageRequest): Promise<{ entries: LedgerEntryView[]; next_before: number | null }> {
  const member = await getMemberRow(db, retailerId, memberId);
  if (!member) throw memberNotFound();
  const page = await ledgerPage(db, retailerId, member.id, { before: query.before, limit: query.limit, pointAccountIds: query.point_account_id, modificationTypes: query.modification_type });
  return { entries: page.entries.map(ledgerEntryView), next_before: page.nextBefore };
}

/** A page of the member's timeline (every category), newest first; `next_before` is the opaque cursor of the next page (null: the last). */
export async function memberTimelinePage(db: Db, retailerId: string, memberId: string, query: { before?: string; limit: number }): Promise<{ entries: TimelineEntryView[]; next_before: string | null }> {
  const member = await getMemberRow(db, retailerId, memberId);
  if (!member) throw memberNotFound();
  const [number, page] = await Promise.all([
    retailerNumber(db, retailerId),
    listTimeline(db, retailerId, member.id, { view: 'END_USER_MEMBER_STATEMENT', limit: query.limit, cursor: query.before }).catch((err: unknown) => {
      // the timeline names its cursor as Core's query does; here it is `before`
      if (err instanceof DomainError && err.field === 'cursor') throw new DomainError(err.code, 'before: not a cursor this server issued', 'before');
      throw err;
    }),
  ]);
  return { entries: page.rows.map((row) => timelineEntryView(row, number)), next_before: page.nextCursor };
}
