import type { Offer } from '../../modules/offers/catalog.js';
import { offerMedia, offerText } from '../../modules/offers/catalog.js';
import { effectiveStatus, isRedeemableNow, STATUS_DESCRIPTION, type UserOffer } from '../../modules/offers/user-offers.js';
import { fromDb, toJson } from '../../modules/points/amount.js';
import { isoTime } from './common.js';

/** The answer shapes of the Connect offer endpoints (collection 3.1.x–3.3.x). */

export const NO_GROUP = '00000000-0000-0000-0000-000000000000';
const iso = (d: Date | null) => (d ? isoTime(d) : null);
const num = (v: string) => toJson(fromDb(v));

/** time_zone_settings as the examples write it: acquisition first (jsonb does not keep key order). */
function timeZoneSettings(offer: Offer): string {
  const { AcquisitionTimeZone, RedemptionTimeZone, ...rest } = offer.time_zone_settings;
  return JSON.stringify({ AcquisitionTimeZone, RedemptionTimeZone, ...rest });
}

/** A user offer as get_user_offers and get_user list it (3.2.3, 3.2.4). */
export function userOfferItem(uo: UserOffer, offer: Offer, culture?: string) {
  const text = offerText(offer, culture);
  return {
    offer_id: offer.id,
    offer_group_id: NO_GROUP,
    offer_type: offer.offer_type,
    redemption_start_date: iso(uo.redemption_start_date),
    redemption_end_date: iso(uo.redemption_end_date),
    acquire_date: isoTime(uo.acquired_at),
    is_redeemable: isRedeemableNow(uo),
    check_level: offer.check_level,
    pending_extended_data: uo.pending_extended_data,
    division_id: offer.division_id,
    start_date: iso(uo.redemption_start_date),
    id: uo.id,
    root_offer_id: offer.root_offer_id,
    ...(offer.pos_discount_id ? { pos_discount_id: offer.pos_discount_id } : {}),
    redemption_code: uo.redemption_code,
    name: text.title,
    description: text.description,
    terms: text.terms,
    culture: text.culture,
    media: offerMedia(offer),
  };
}

/** The user offer record (3.1.3, 3.2.5). */
export function userOfferRecord(uo: UserOffer) {
  const status = effectiveStatus(uo);
  return {
    id: uo.id,
    user_id: uo.member_id,
    retailer_id: uo.retailer_id,
    offer_id: uo.offer_id,
    root_offer_id: uo.root_offer_id,
    status,
    status_description: STATUS_DESCRIPTION[status],
    acquire_date: isoTime(uo.acquired_at),
    redemption_start_date: iso(uo.redemption_start_date),
    redemption_end_date: iso(uo.redemption_end_date),
    expiration_date: iso(uo.redemption_end_date),
    redeemed_by_store_id: uo.redeemed_store_id ?? '',
    immediate_issue_and_redeem: false,
    is_redeemable: isRedeemableNow(uo),
    quantity: uo.quantity,
    remaining_uses: uo.remaining_uses,
    pending_extended_data: uo.pending_extended_data,
    custom_data: uo.custom_data,
    facebook_shared: false,
    twitter_shared: false,
    pos_offer_id: 0,
    redeemed_store_id: uo.redeemed_store_id ?? '',
    redemption_code: uo.redemption_code,
    locked_by_pos_transaction_key: uo.lock_key,
  };
}

/** An offer of the catalog as fetch_offers_overview lists it (3.2.1). */
export function offerOverview(offer: Offer, counts: { acquired: number; redeemed: number }, culture?: string) {
  const text = offerText(offer, culture);
  return {
    offer_id: offer.id,
    root_offer_id: offer.root_offer_id,
    offer_type: offer.offer_type,
    check_level: offer.check_level,
    status: offer.status,
    internal_title: offer.internal_title,
    title: text.title,
    description: text.description,
    culture: text.culture,
    division_id: offer.division_id,
    acquisition_start_date: iso(offer.acquisition_start_date),
    acquisition_end_date: iso(offer.acquisition_end_date),
    does_not_expire: offer.does_not_expire,
    points: num(offer.points),
    monetary_value: num(offer.monetary_value),
    requires_extended_data: offer.requires_extended_data,
    purchase_count: counts.acquired,
    redemption_count: counts.redeemed,
    published_parent_offer_ids: offer.parent_offer_ids,
    start_date: iso(offer.redemption_start_date ?? offer.acquisition_start_date),
    valid_after_end_date: offer.does_not_expire,
  };
}

/** fetch_offers_details (3.2.7). */
export function offerDetails(offer: Offer, counts: { acquired: number; redeemed: number }, childrenCount: number, culture?: string) {
  const text = offerText(offer, culture);
  const percent = offer.offer_type.includes('percent');
  const restrictions = offer.restrictions;
  return {
    offer_id: offer.id,
    root_offer_id: offer.root_offer_id,
    offer_type: offer.offer_type,
    status: offer.status,
    check_level: offer.check_level,
    time_zone_settings: timeZoneSettings(offer),
    internal_title: offer.internal_title,
    title: text.title,
    description: text.description,
    culture: text.culture,
    acquisition_start_date: iso(offer.acquisition_start_date),
    acquisition_end_date: iso(offer.acquisition_end_date),
    points: num(offer.points),
    monetary_value: num(offer.monetary_value),
    division_id: offer.division_id,
    acquisition_count: counts.acquired,
    redemption_count: counts.redeemed,
    discount_amount: num(offer.amount),
    discount_type: percent ? '%' : '$',
    configured_restrictions: ['location', 'catalog', 'purchase', 'redemption'].filter((k) => restrictions[k as keyof typeof restrictions]).length,
    parents_count: offer.parent_offer_ids.length,
    children_count: childrenCount,
    requires_extended_data: offer.requires_extended_data,
    purchase_count: counts.acquired,
    total_inventory: offer.total_inventory,
    available_inventory_remaining: offer.total_inventory === null ? null : Math.max(0, offer.total_inventory - counts.acquired),
  };
}

/** fetch_offer (3.2.2). */
export function offerRecord(offer: Offer, options: { restrictions: boolean; culture?: string }) {
  const text = offerText(offer, options.culture);
  const r = offer.restrictions;
  const catalog = r.catalog;
  return {
    offer_type_id: offer.offer_type,
    amount: num(offer.amount),
    allow_overage: offer.allow_overage,
    buy_count: offer.buy_count,
    get_count: offer.get_count,
    max_recurrence: offer.max_recurrence,
    item_price_affinity: 0,
    id: offer.id,
    root_offer_id: offer.root_offer_id,
    version: offer.version,
    retailer_id: offer.retailer_id,
    title: text.title,
    internal_title: offer.internal_title,
    status: offer.status,
    acquisition_start_date: iso(offer.acquisition_start_date),
    acquisition_end_date: iso(offer.acquisition_end_date),
    redemption_start_date: iso(offer.redemption_start_date),
    redemption_end_date: iso(offer.redemption_end_date),
    redemption_days: offer.redemption_days,
    time_zone_settings: timeZoneSettings(offer),
    division_id: offer.division_id,
    points: num(offer.points),
    monetary_value: num(offer.monetary_value),
    pos_discount_id: offer.pos_discount_id,
    reward_store: offer.offer_type === 'points_exchange',
    requires_extended_data: offer.requires_extended_data,
    all_items_eligible: !(catalog?.item_ids?.length || catalog?.category_ids?.length),
    parent_offer_ids: offer.parent_offer_ids,
    check_level: offer.check_level,
    offer_catalog_restrictions: options.restrictions && catalog ? [catalog] : [],
    offer_purchase_restrictions: options.restrictions && r.purchase ? [r.purchase] : [],
    offer_redemption_restrictions: options.restrictions && r.redemption ? [r.redemption] : [],
    offer_location_restrictions: options.restrictions ? (r.location?.store_ids ?? []).map((store_id) => ({ store_id })) : [],
    offer_location_catalog_restrictions: [],
    offer_text: offer.texts.map((t) => ({ id: t.id, offer_id: offer.id, culture: t.culture, title: t.title, description: t.description, terms: t.terms })),
    offer_media: offerMedia(offer),
    start_date: iso(offer.redemption_start_date ?? offer.acquisition_start_date),
    valid_after_end_date: offer.does_not_expire,
    total_inventory: offer.total_inventory,
  };
}

/** user_offer_history rows (3.2.6). */
export function historyItem(uo: UserOffer, offer: Offer, page: { skip: number; take: number }, culture?: string) {
  const text = offerText(offer, culture);
  const media = offer.media[0];
  const status = effectiveStatus(uo);
  return {
    title: text.title,
    description: text.description,
    terms: text.terms,
    user_offer_id: uo.id,
    offer_id: offer.id,
    division_id: offer.division_id,
    offer_type: offer.offer_type,
    user_id: uo.member_id,
    acquire_date: isoTime(uo.acquired_at),
    redemption_start_date: iso(uo.redemption_start_date),
    redemption_end_date: iso(uo.redemption_end_date),
    redeemed_date: iso(uo.redeemed_at),
    revoked_date: iso(uo.revoked_at),
    status,
    status_description: STATUS_DESCRIPTION[status],
    culture: text.culture,
    media_uri: media?.uri ?? null,
    media_culture: media?.culture ?? null,
    skip: page.skip,
    take: page.take,
  };
}
