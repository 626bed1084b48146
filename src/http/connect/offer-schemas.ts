// The Connect offer and reward store answers (collection 3.1.x–3.4.x): the
// success envelope and the pieces several operations share (a user offer, an
// offer's media, a redemption, a reward store), next to the one-operation
// shapes of the catalog, history and purchase.
import { Type, type TProperties } from '@sinclair/typebox';
import { component, CoreTime, FreeForm, IsoTime, Nullable, Obj, OneOf, Uuid } from '../contract.js';
import { Opt } from '../inputs.js';

const Count = Type.Integer({ minimum: 0 });
/** An ISO 8601 instant or null; `when` says what null means. */
const At = (when?: string) => Nullable(when ? Type.String({ description: `ISO 8601 instant; ${when}` }) : IsoTime);
/** Arrays these endpoints always answer empty, kept for the collection's shape. */
const AlwaysEmpty = (why: string) => Type.Array(Type.Unknown(), { maxItems: 0, description: `always empty: ${why}` });


const UserOfferStatus = Type.Integer({ minimum: 1, maximum: 5, description: '1 issued, 2 redeemed, 3 revoked, 4 expired (an issued or locked offer past its redemption end), 5 locked' });
const OfferStatus = Type.Integer({ description: '1 active (can be issued), 0 inactive' });

/** An image or other media of an offer. */
export const ConnectOfferMedia = component(
  'ConnectOfferMedia',
  Obj({ id: Uuid, offer_id: Uuid, uri: Type.String(), category_id: Uuid, category_name: Type.String(), content_type: Type.Integer(), culture: Type.String() }),
);

/** A user offer: an offer issued to a member, in its current state (3.1.3, 3.2.5, 3.3.x). */
export const ConnectUserOffer = component(
  'ConnectUserOffer',
  Obj({
    id: Uuid,
    user_id: Uuid,
    retailer_id: Uuid,
    offer_id: Type.String({ format: 'uuid', description: 'the offer version issued' }),
    root_offer_id: Uuid,
    status: UserOfferStatus,
    status_description: Type.String({ description: 'Issued, Redeemed, Revoked, Expired or Locked' }),
    acquire_date: IsoTime,
    redemption_start_date: At('null: redeemable from acquisition'),
    redemption_end_date: At('null: does not expire'),
    expiration_date: At('the redemption end; null: does not expire'),
    redeemed_by_store_id: Type.String({ description: 'the store of the last redemption; empty when none' }),
    immediate_issue_and_redeem: Type.Boolean(),
    is_redeemable: Type.Boolean({ description: 'issued and inside its redemption window now' }),
    quantity: Type.Integer(),
    remaining_uses: Type.Integer(),
    pending_extended_data: Type.Boolean(),
    custom_data: Nullable(Type.String({ description: 'as last set by update: text, or an object as JSON text' })),
    facebook_shared: Type.Boolean(),
    twitter_shared: Type.Boolean(),
    pos_offer_id: Type.Integer(),
    redeemed_store_id: Type.String({ description: 'the same as redeemed_by_store_id' }),
    redemption_code: Type.String({ description: 'what a cashier types to redeem it' }),
    locked_by_pos_transaction_key: Nullable(Type.String({ description: 'the POS transaction holding the lock; null when not locked' })),
  }),
);

/** An answer about one user offer after a change (update, unlock, reinstate). */
export const ConnectUserOfferResult = component('ConnectUserOfferResult', Obj({ user_id: Uuid, user_offer_id: Uuid, user_offer: ConnectUserOffer }));

/** A user offer the member can use, with its offer's texts in the request's culture (3.2.3, 3.2.4). */
export const ConnectUserOfferItem = component(
  'ConnectUserOfferItem',
  Obj({
    offer_id: Uuid,
    offer_group_id: Type.String({ format: 'uuid', description: 'always the all-zero id: offers have no groups' }),
    offer_type: Type.String(),
    redemption_start_date: At(),
    redemption_end_date: At('null: does not expire'),
    acquire_date: IsoTime,
    is_redeemable: Type.Boolean({ description: 'inside its redemption window now' }),
    check_level: Type.Boolean(),
    pending_extended_data: Type.Boolean(),
    division_id: Type.String(),
    start_date: At('the redemption start'),
    id: Type.String({ format: 'uuid', description: 'the user offer id' }),
    root_offer_id: Uuid,
    pos_discount_id: Opt(Type.String({ description: "the till's own discount id; absent when the offer has none" })),
    redemption_code: Type.String(),
    name: Type.String(),
    description: Type.String(),
    terms: Type.String(),
    culture: Type.String({ description: 'the culture of the texts given' }),
    media: Type.Array(ConnectOfferMedia),
  }),
);

const OfferText = Obj({ id: Uuid, offer_id: Uuid, culture: Type.String(), title: Type.String(), description: Type.String(), terms: Type.String() });
const IdList = Opt(Type.Array(Type.String()));

/** An offer version with its texts, media and, when asked for, its restrictions (3.2.2). */
export const ConnectOffer = component(
  'ConnectOffer',
  Obj({
    offer_type_id: Type.String(),
    amount: Type.Number({ description: 'the discount: currency units, or a percent for percent types' }),
    allow_overage: Type.Boolean(),
    buy_count: Type.Integer(),
    get_count: Type.Integer(),
    max_recurrence: Type.Integer(),
    item_price_affinity: Type.Integer(),
    id: Type.String({ format: 'uuid', description: 'the version' }),
    root_offer_id: Uuid,
    version: Type.Integer(),
    retailer_id: Uuid,
    title: Type.String({ description: "the title in the request's culture" }),
    internal_title: Type.String(),
    status: OfferStatus,
    acquisition_start_date: At('null: since always'),
    acquisition_end_date: At('null: for ever'),
    redemption_start_date: At(),
    redemption_end_date: At(),
    redemption_days: Nullable(Type.Integer({ description: 'the redemption window in days from acquisition; null: fixed dates' })),
    time_zone_settings: Type.String({ description: 'JSON text: AcquisitionTimeZone, RedemptionTimeZone' }),
    division_id: Type.String(),
    points: Type.Number({ description: 'the price in points' }),
    monetary_value: Type.Number(),
    pos_discount_id: Nullable(Type.String()),
    reward_store: Type.Boolean({ description: 'a points exchange offer' }),
    requires_extended_data: Type.Boolean(),
    all_items_eligible: Type.Boolean({ description: 'no catalog restriction names items or categories' }),
    parent_offer_ids: Type.Array(Uuid),
    check_level: Type.Boolean(),
    offer_catalog_restrictions: Type.Array(Obj({ item_ids: IdList, category_ids: IdList, qualifying_item_ids: IdList, qualifying_category_ids: IdList }), { description: 'empty unless restrictions are asked for' }),
    offer_purchase_restrictions: Type.Array(Obj({ max_per_member: Opt(Type.Integer()), tier_level_ids: IdList, tags: IdList }), { description: 'empty unless restrictions are asked for' }),
    offer_redemption_restrictions: Type.Array(Obj({ minimum_subtotal: Opt(Type.String({ description: 'a decimal amount' })) }), { description: 'empty unless restrictions are asked for' }),
    offer_location_restrictions: Type.Array(Obj({ store_id: Uuid }), { description: 'the stores it can be redeemed at; empty unless restrictions are asked for' }),
    offer_location_catalog_restrictions: AlwaysEmpty('not supported'),
    offer_text: Type.Array(OfferText, { description: 'every culture' }),
    offer_media: Type.Array(ConnectOfferMedia),
    start_date: At('the redemption start, else the acquisition start'),
    valid_after_end_date: Type.Boolean({ description: 'does not expire' }),
    total_inventory: Nullable(Type.Integer({ description: 'how many may ever be issued; null: no limit' })),
  }),
);

/** A catalog offer as fetch_offers_overview lists it (3.2.1). */
export const OfferOverview = Obj({
  offer_id: Uuid,
  root_offer_id: Uuid,
  offer_type: Type.String(),
  check_level: Type.Boolean(),
  status: OfferStatus,
  internal_title: Type.String(),
  title: Type.String(),
  description: Type.String(),
  culture: Type.String(),
  division_id: Type.String(),
  acquisition_start_date: At('null: since always'),
  acquisition_end_date: At('null: for ever'),
  does_not_expire: Type.Boolean(),
  points: Type.Number(),
  monetary_value: Type.Number(),
  requires_extended_data: Type.Boolean(),
  purchase_count: Type.Integer({ description: 'user offers issued, every version' }),
  redemption_count: Type.Integer({ description: 'user offers redeemed' }),
  published_parent_offer_ids: Type.Array(Uuid),
  start_date: At('the redemption start, else the acquisition start'),
  valid_after_end_date: Type.Boolean(),
});

/** A catalog offer with counts and inventory as fetch_offers_details lists it (3.2.7). */
export const OfferDetails = Obj({
  offer_id: Uuid,
  root_offer_id: Uuid,
  offer_type: Type.String(),
  status: OfferStatus,
  check_level: Type.Boolean(),
  time_zone_settings: Type.String({ description: 'JSON text: AcquisitionTimeZone, RedemptionTimeZone' }),
  internal_title: Type.String(),
  title: Type.String(),
  description: Type.String(),
  culture: Type.String(),
  acquisition_start_date: At('null: since always'),
  acquisition_end_date: At('null: for ever'),
  points: Type.Number(),
  monetary_value: Type.Number(),
  division_id: Type.String(),
  acquisition_count: Type.Integer(),
  redemption_count: Type.Integer(),
  discount_amount: Type.Number(),
  discount_type: OneOf(['%', '$'], { description: '% for percent types, $ otherwise' }),
  configured_restrictions: Type.Integer({ description: 'how many of location, catalog, purchase and redemption restrictions are set' }),
  parents_count: Type.Integer(),
  children_count: Type.Integer({ description: 'offers that name this one as a parent' }),
  requires_extended_data: Type.Boolean(),
  purchase_count: Type.Integer(),
  total_inventory: Nullable(Type.Integer({ description: 'null: no limit' })),
  available_inventory_remaining: Nullable(Type.Integer({ description: 'null: no limit' })),
});

/** A user offer in any status as user_offer_history lists it (3.2.6). */
export const UserOfferHistoryItem = Obj({
  title: Type.String(),
  description: Type.String(),
  terms: Type.String(),
  user_offer_id: Uuid,
  offer_id: Uuid,
  division_id: Type.String(),
  offer_type: Type.String(),
  user_id: Uuid,
  acquire_date: IsoTime,
  redemption_start_date: At(),
  redemption_end_date: At('null: does not expire'),
  redeemed_date: At('null: not redeemed'),
  revoked_date: At('null: not revoked'),
  status: UserOfferStatus,
  status_description: Type.String(),
  culture: Type.String(),
  media_uri: Nullable(Type.String({ description: "the offer's first media; null without media" })),
  media_culture: Nullable(Type.String()),
  skip: Count,
  take: Count,
});

const PhoneNumber = Obj({ phone_number: Type.String(), phone_type: Type.String(), preference_flags: Type.Array(Type.String()), verified_ownership: Type.Boolean() });

/** The member as get_user answers it: the Core user shape with identifiers and the custom profile twice (3.2.3). */
export const OfferUser = Obj({
  id: Uuid,
  external_id: Nullable(Type.String({ description: 'the first external id; null without one' })),
  opted_in: Type.Boolean(),
  activated: Type.Boolean(),
  proxy_ids: Type.Array(Type.String()),
  identifiers: Type.Array(Obj({ external_id: Type.String(), external_id_type: Type.String() })),
  available_points: Type.Number({ description: "the default point accounts' available balance (every account's when none is default)" }),
  test_points: Type.Integer(),
  unclaimed_achievement_count: Type.Integer(),
  email: Nullable(Type.String()),
  gender: Nullable(Type.String()),
  dob: Nullable(Type.String({ description: 'YYYY-MM-DD' })),
  created_at: CoreTime,
  updated_at: CoreTime,
  address: Nullable(Type.String()),
  address2: Nullable(Type.String()),
  city: Nullable(Type.String()),
  zip: Nullable(Type.String()),
  dma: Type.String(),
  state: Nullable(Type.String()),
  country: Nullable(Type.String()),
  locale: Nullable(Type.String()),
  suspended: Type.Boolean(),
  last_name: Nullable(Type.String()),
  first_name: Nullable(Type.String()),
  registered_at: CoreTime,
  profile_photo_url: Type.String(),
  test_account: Type.Boolean(),
  account_status: Type.String(),
  referrer_code: Type.String(),
  user_profile: FreeForm({ description: 'the custom profile attributes, defaults filled in, and `_version`' }),
  phone_numbers: Opt(Type.Array(PhoneNumber, { description: 'absent when the member has none' })),
  user_custom_profile: FreeForm({ description: 'the same as user_profile' }),
});

export const OfferGroup = Obj({ id: Uuid, name: Type.String(), sort_order: Type.Integer() });
export const NoCategories = AlwaysEmpty('offers have no categories');
export const NoChildOffers = AlwaysEmpty('offers have no child or selected offers');

/** How a user offer applied to the basket, and the user offer after it (3.3.1, 3.3.3, manual redeem). */
export const ConnectRedemption = component(
  'ConnectRedemption',
  Obj({
    message: Type.String({ description: 'a human summary, e.g. "offer redeemed: 6 off 1 line(s)"' }),
    offer_id: Uuid,
    root_offer_id: Uuid,
    user_offer_id: Uuid,
    user_id: Uuid,
    pos_discount_id: Nullable(Type.String()),
    discount_amount: Type.Number({ description: 'the discount on the basket in currency units; 0 without a basket' }),
    discounted_line_ids: Type.Array(Type.String(), { description: 'the basket lines discounted: external_line_item_id, else the line index' }),
    discounted_lines: Type.Array(Obj({ line_id: Type.String(), quantity: Type.Number(), amount: Type.Number({ description: 'the discount on the line' }) })),
    user_offer: ConnectUserOffer,
  }),
);

// --- reward stores (3.4.x)

/** The paging fields of every reward store list. */
export const StorePage = {
  total_rows: Count,
  total_records: Type.Integer({ minimum: 0, description: 'the same as total_rows' }),
  skip: Count,
  take: Count,
};

/** A reward store's fields, its texts in the request's culture. */
export const storeFields = {
  id: Uuid,
  internal_name: Type.String(),
  name: Type.String({ description: 'in the culture asked for, else the first text, else the internal name' }),
  description: Type.String(),
  point_account_id: Type.String({ format: 'uuid', description: 'the account purchases are paid from' }),
  start_date: At('null: open since always'),
  end_date: At('null: open for ever'),
  eligibility: Obj(
    { tier_level_ids: Type.Array(Type.String()), tags: Type.Array(Type.String()) },
    { description: 'a member holding any of these tier levels or tags may use the store; both empty: every member' },
  ),
  is_active: Type.Boolean({ description: 'open now' }),
} satisfies TProperties;

export const ConnectRewardStore = component('ConnectRewardStore', Obj(storeFields));

/** The member's balance in a store's point account (get_user_reward_stores). */
export const StorePointBalance = Obj({
  point_account_id: Uuid,
  account_name: Type.String(),
  user_point_account_id: Type.String({ description: "the member's account id; empty when the member has never used the account" }),
  available_balance: Type.Number(),
  life_time_value: Type.Number(),
});

/** An offer on sale in a reward store (3.4.2). */
export const RewardStoreOffer = Obj({
  id: Type.String({ format: 'uuid', description: 'the store offer id' }),
  root_offer_id: Uuid,
  offer_id: Type.String({ format: 'uuid', description: "the offer's current version" }),
  reward_store_id: Uuid,
  price: Type.Number({ description: "in points of the store's point account" }),
  start_date: At('null: on sale since always'),
  end_date: At('null: on sale for ever'),
  total_limit: Opt(Type.Integer({ description: 'purchases allowed across all members; absent: no limit' })),
  per_member_limit: Opt(Type.Integer({ description: 'purchases allowed per member; absent: no limit' })),
  offer_details: Obj({
    internal_name: Type.String(),
    title: Type.String(),
    description: Type.String(),
    terms: Type.String(),
    media: Type.Array(ConnectOfferMedia),
    points: Type.Number(),
    acquisition_start_date: At('null: since always'),
    acquisition_end_date: At('null: for ever'),
    pos_discount_id: Nullable(Type.String()),
    offer_status: OfferStatus,
  }),
});

/** What purchase_offer bought: the points spent and one user offer per unit (3.4.4). */
export const RewardPurchase = Obj({
  user_id: Uuid,
  user_offer_id: Type.String({ format: 'uuid', description: 'the first user offer issued' }),
  offer_id: Uuid,
  root_offer_id: Uuid,
  reward_store_id: Uuid,
  reward_store_offer_id: Uuid,
  quantity: Type.Integer({ minimum: 1 }),
  point_account_id: Uuid,
  price: Type.Number({ description: 'per unit, in points' }),
  points_spent: Type.Number({ description: 'price times quantity' }),
  remaining_balance: Type.Number({ description: "the member's available balance in the store's point account afterwards" }),
  user_offers: Type.Array(
    Obj({
      user_offer_id: Uuid,
      offer_id: Uuid,
      root_offer_id: Uuid,
      reward_store_id: Uuid,
      reward_store_offer_id: Uuid,
      points_spent: Type.Number({ description: 'the price of this unit' }),
      remaining_balance: Type.Number(),
      status: UserOfferStatus,
      acquire_date: IsoTime,
      redemption_start_date: At(),
      redemption_end_date: At('null: does not expire'),
    }),
  ),
});
