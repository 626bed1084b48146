import type { Member } from '../../modules/members/service.js';
import { maskPhone } from '../../modules/members/values.js';
import { EVENT_TYPES, eventTypeById } from '../../modules/timeline/catalog.js';
import { payloadOf, type TimelineRow } from '../../modules/timeline/service.js';
import type { tierDetails } from '../connect/tiers.js';

/** Core dates: `YYYY-MM-DD HH:MM:SS` in UTC, as strictly typed clients parse them. */
export function coreTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

export const DEFAULT_PHOTO = '/images/account-neutral.png';

export interface UserRenderOptions {
  identifiers?: boolean;
  /** The custom profile, when asked for: defaults merged with the member's values. */
  profileDefaults?: Record<string, unknown>;
  tierDetails?: Awaited<ReturnType<typeof tierDetails>>;
  availablePoints?: number;
}

/** A member in the Core user shape (collection 1.1.x); booleans and numbers are never null. */
export function renderUser(member: Member, options: UserRenderOptions = {}) {
  return {
    id: member.id,
    external_id: member.identifiers[0]?.external_id ?? null,
    opted_in: member.opted_in,
    activated: member.activated,
    proxy_ids: [] as string[],
    ...(options.identifiers ? { identifiers: member.identifiers } : {}),
    available_points: options.availablePoints ?? 0,
    test_points: 0,
    unclaimed_achievement_count: 0,
    email: member.email,
    gender: member.gender,
    dob: member.dob,
    created_at: coreTime(member.created_at),
    updated_at: coreTime(member.updated_at),
    address: member.address,
    address2: member.address2,
    city: member.city,
    zip: member.zip,
    dma: member.dma ?? '',
    state: member.state,
    country: member.country,
    locale: member.locale,
    suspended: member.suspended,
    last_name: member.last_name,
    first_name: member.first_name,
    registered_at: coreTime(member.registered_at),
    profile_photo_url: member.profile_photo_url ?? DEFAULT_PHOTO,
    test_account: member.test_account,
    account_status: member.account_status,
    ...(options.tierDetails !== undefined ? { tier_details: options.tierDetails } : {}),
    referrer_code: member.referrer_code,
    ...(options.profileDefaults ? { user_profile: renderProfile(member, options.profileDefaults) } : {}),
    // absent when there are none: clients read phone_numbers[0] whenever the key is there
    ...(member.phone_numbers.length ? { phone_numbers: member.phone_numbers } : {}),
  };
}

export function renderProfile(member: Member, defaults: Record<string, unknown>) {
  return { _version: member.profile_version, ...defaults, ...member.user_profile };
}

/** A search result row (collection 1.7.1). */
export function renderPlayer(member: Member, profileDefaults?: Record<string, unknown>) {
  const year = member.dob ? Number(member.dob.slice(0, 4)) : null;
  return {
    id: member.player_id,
    user_id: member.id,
    first_name: member.first_name,
    last_name: member.last_name,
    dob: member.dob,
    yob: year,
    email: member.email,
    home_state: member.state,
    masked_phone_numbers: member.phone_numbers.map((p) => maskPhone(p.phone_number)),
    ...(profileDefaults ? { user_profile: renderProfile(member, profileDefaults) } : {}),
    affiliate_type: null,
    external_ids: member.identifiers.map((i) => i.external_id),
    home_address: member.address,
    home_address2: member.address2,
  };
}

export function renderTimelineEntry(row: TimelineRow, playerId: number, retailerNumber: number) {
  const type = eventTypeById(row.event_type_id);
  return {
    event_stream_stream_id: row.stream_id,
    event_stream_event_category_id: type?.categoryId ?? 0,
    event_stream_event_type_id: row.event_type_id,
    target_id: playerId,
    timestamp: row.occurred_at.getTime(),
    created_at: Math.floor(row.created_at.getTime() / 1000),
    event_stream_payload: payloadOf(row, retailerNumber),
    contexts: [{}],
  };
}

/** The event-type catalog as the timeline answer lists it. */
export const EVENT_TYPE_LIST = EVENT_TYPES.map((t) => ({
  id: t.id,
  name: t.name,
  slug: t.slug,
  event_stream_event_category_id: t.categoryId,
  event_stream_stream_id: 4,
}));
