// The admin console's dashboard of one retailer: its members, the points
// issued, spent and expired per day of its calendar, what it owes in points,
// offers and the most completed campaigns, read from each module that owns a
// part. A read: no transaction, the parts are read side by side.
import { DateTime } from 'luxon';
import type { Db } from '../db/index.js';
import { DomainError } from '../errors.js';
import { topCampaigns } from '../modules/campaigns/reports.js';
import { countMembersAmong, memberCounts } from '../modules/members/reports.js';
import { offerCounts } from '../modules/offers/reports.js';
import { toDecimal, ZERO } from '../modules/points/amount.js';
import { ledgerMembersBetween, pointLiability, pointsByDay } from '../modules/points/reports.js';
import { retailerTimeZone } from '../modules/tenants/service.js';
import { timelineMembersBetween } from '../modules/timeline/service.js';

const DAY_MS = 86_400_000;
/** The window when the request names none: the last 30 days up to now. */
export const DEFAULT_WINDOW_DAYS = 30;
/** The longest window a dashboard covers (a leap year and a day of overlap). */
export const MAX_WINDOW_DAYS = 366;
/** How many campaigns the dashboard ranks. */
const TOP_CAMPAIGNS = 5;

export interface Dashboard {
  from: string;
  to: string;
  time_zone: string;
  members: { total: number; new_in_period: number; active_last_30_days: number };
  points_per_day: { day: string; issued: string; spent: string; expired: string }[];
  liability: { point_account_id: string; name: string; outstanding: string; members_holding: number }[];
  offers: { issued: number; redeemed: number };
  top_campaigns: { campaign_id: number; name: string; completions: number }[];
}

const ISO = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** An instant of the request: ISO 8601 with its offset, or without one (a date, or a local time) in the retailer's time zone. */
function instantOf(text: string, field: 'from' | 'to', zone: string): Date {
  const parsed = ISO.test(text.trim()) ? DateTime.fromISO(text.trim(), { zone }) : undefined;
  if (!parsed?.isValid) throw new DomainError('argument_error', `${field}: not an ISO 8601 date or instant (2024-05-01, 2024-05-01T00:00:00Z)`, field);
  return parsed.toJSDate();
}

/** The retailer's dashboard over [from, to) (default: the 30 days up to now); refuses an empty window and one over 366 days (argument_error, naming the field). */
export async function retailerDashboard(db: Db, retailerId: string, query: { from?: string; to?: string }, now = new Date()): Promise<Dashboard> {
  const zone = (await retailerTimeZone(db, retailerId)) ?? 'UTC';
  const to = query.to === undefined ? now : instantOf(query.to, 'to', zone);
  const from = query.from === undefined ? new Date(to.getTime() - DEFAULT_WINDOW_DAYS * DAY_MS) : instantOf(query.from, 'from', zone);
  if (from.getTime() >= to.getTime()) throw new DomainError('argument_error', `to: must be after from (${from.toISOString()})`, 'to');
  if (to.getTime() - from.getTime() > MAX_WINDOW_DAYS * DAY_MS) throw new DomainError('argument_error', `from: the window is at most ${MAX_WINDOW_DAYS} days`, 'from');
  const activeSince = new Date(to.getTime() - DEFAULT_WINDOW_DAYS * DAY_MS);

  const [counts, active, days, liability, offers, campaigns] = await Promise.all([
    memberCounts(db, retailerId, from, to),
    countMembersAmong(db, retailerId, [ledgerMembersBetween(retailerId, activeSince, to), timelineMembersBetween(retailerId, activeSince, to)]),
    pointsByDay(db, retailerId, from, to, zone),
    pointLiability(db, retailerId, now),
    offerCounts(db, retailerId, from, to),
    topCampaigns(db, retailerId, from, to, TOP_CAMPAIGNS),
  ]);
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    time_zone: zone,
    members: { total: counts.total, new_in_period: counts.enrolled, active_last_30_days: active },
    points_per_day: daysOf(from, to, zone).map((day) => {
      const sums = days.get(day);
      return { day, issued: toDecimal(sums?.issued ?? ZERO), spent: toDecimal(sums?.spent ?? ZERO), expired: toDecimal(sums?.expired ?? ZERO) };
    }),
    liability: liability.map((a) => ({ point_account_id: a.point_account_id, name: a.name, outstanding: toDecimal(a.outstanding), members_holding: a.members_holding })),
    offers,
    top_campaigns: campaigns,
  };
}

/** Every day of `zone` that [from, to) touches, in order ('YYYY-MM-DD'). */
function daysOf(from: Date, to: Date, zone: string): string[] {
  const last = DateTime.fromJSDate(new Date(to.getTime() - 1), { zone }).startOf('day');
  const days: string[] = [];
  for (let day = DateTime.fromJSDate(from, { zone }).startOf('day'); day <= last; day = day.plus({ days: 1 })) days.push(day.toISODate()!);
  return days;
}
