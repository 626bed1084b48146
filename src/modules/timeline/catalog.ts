/**
 * The timeline's event-type catalog: ids, names, slugs and categories as
 * SessionM publishes them (collection 1.4.1). Ids are part of the contract;
 * types Loyalist adds take ids from 1000 on.
 */
export const EVENT_CATEGORIES: Record<number, string> = {
  28: 'POINTS',
  29: 'PURCHASE_TRANSACTION',
  30: 'PURCHASE',
  31: 'NOTES',
  32: 'OFFERS',
  33: 'TIERS',
  34: 'ENGAGEMENT',
  35: 'LOYALTY',
  36: 'PROMO_CODES',
  37: 'ACCOUNT',
  38: 'USER_PROFILE',
  39: 'PRIVACY',
  40: 'STORED_VALUE',
};

const CATALOG = [
  [138, "Points Comped", "POINTS_COMPED", 28],
  [139, "Points Expired", "POINTS_EXPIRED", 28],
  [140, "Points Earned", "POINTS_EARNED", 28],
  [141, "Points Used", "POINTS_USED", 28],
  [142, "Points Awarded", "POINTS_AWARDED", 28],
  [143, "Incentives Point Spend", "INCENTIVES_POINT_SPEND", 28],
  [144, "Incentives Point Deposit", "INCENTIVES_POINT_DEPOSIT", 28],
  [145, "Incentives Point Expiration", "INCENTIVES_POINT_EXPIRATION", 28],
  [146, "Manual Incentives Point Spend", "MANUAL_INCENTIVES_POINT_SPEND", 28],
  [147, "Manual Incentives Point Deposit", "MANUAL_INCENTIVES_POINT_DEPOSIT", 28],
  [148, "Purchase Transaction", "PURCHASE_TRANSACTION", 29],
  [149, "Note Added", "NOTE_ADDED", 31],
  [150, "Offer Redeemed", "OFFER_REDEEMED", 32],
  [151, "Offer Claimed", "OFFER_CLAIMED", 32],
  [152, "Tier Advanced", "TIER_ADVANCED", 33],
  [153, "Tier Reset", "TIER_RESET", 33],
  [154, "Tier Transit", "TIER_TRANSIT", 33],
  [155, "Change Tier Manual", "CHANGE_TIER_MANUAL", 33],
  [156, "Change Tier Promotion", "CHANGE_TIER_PROMOTION", 33],
  [157, "Email Opened", "EMAIL_OPENED", 34],
  [158, "Push Message Opened", "PUSH_MESSAGE_OPENED", 34],
  [159, "Video Watched", "VIDEO_WATCHED", 34],
  [160, "Loyalty Card Linked", "LOYALTY_CARD_LINKED", 35],
  [161, "Loyalty Rule Achieved", "LOYALTY_RULE_ACHIEVED", 35],
  [162, "Registration", "REGISTRATION", 35],
  [163, "Promo Code Received", "PROMO_CODE_RECEIVED", 36],
  [164, "Promo Code Used", "PROMO_CODE_USED", 36],
  [165, "Purchase", "PURCHASE", 30],
  [166, "Keyword Entered", "KEYWORD_ENTERED", 35],
  [167, "Gift Redeemed", "GIFT_REDEEMED", 32],
  [168, "User Tag Dropped", "USER_TAG_DROPPED", 35],
  [169, "Issued Offer", "ISSUED_OFFER", 32],
  [170, "Redeemed Offer", "REDEEMED_OFFER", 32],
  [171, "Revoked Offer", "REVOKED_OFFER", 32],
  [172, "Offer Expires", "OFFER_EXPIRES", 32],
  [173, "Offer Modified", "OFFER_MODIFIED", 32],
  [174, "Offer Purchased", "OFFER_PURCHASED", 32],
  [175, "Account Merged", "ACCOUNT_MERGED", 37],
  [176, "Signed up with Referral", "SIGNED_UP_WITH_REFERRAL", 35],
  [177, "Signed Up without Referral", "SIGNED_UP_WITHOUT_REFERRAL", 35],
  [178, "First Transaction with Referral", "FIRST_TRANSACTION_WITH_REFERRAL", 35],
  [179, "Referred a User to Sign Up", "REFERRED_A_USER_TO_SIGN_UP", 35],
  [180, "Referred a User to Sign Up - Over Limit", "REFERRED_A_USER_TO_SIGN_UP_-_OVER_LIMIT", 35],
  [181, "Referred a User to First Transaction", "REFERRED_A_USER_TO_FIRST_TRANSACTION", 35],
  [182, "User Profile Edited", "USER_PROFILE_EDITED", 38],
  [183, "User Notes Created", "USER_NOTES_CREATED", 31],
  [184, "User Notes Edited", "USER_NOTES_EDITED", 31],
  [185, "User Notes Deleted", "USER_NOTES_DELETED", 31],
  [186, "Customer Data Exported", "CUSTOMER_DATA_EXPORTED", 39],
  [187, "Data Processing Restricted", "DATA_PROCESSING_RESTRICTED", 39],
  [188, "Data Processing Reinstated", "DATA_PROCESSING_REINSTATED", 39],
  [189, "Customer Data Downloaded", "CUSTOMER_DATA_DOWNLOADED", 39],
  [190, "Profile Update", "PROFILE_UPDATE", 38],
  [191, "Profile Attribute Update Manual", "PROFILE_ATTRIBUTE_UPDATE_MANUAL", 38],
  [192, "SVC Card Imported", "SVC_CARD_IMPORTED", 40],
  [193, "SVC Card Activated", "SVC_CARD_ACTIVATED", 40],
  [194, "SVC Bulk Activated", "SVC_BULK_ACTIVATED", 40],
  [195, "SVC Card Reload", "SVC_CARD_RELOAD", 40],
  [196, "SVC Bulk Reload", "SVC_BULK_RELOAD", 40],
  [197, "SVC Card Expired", "SVC_CARD_EXPIRED", 40],
  [198, "SVC Bulk Expired", "SVC_BULK_EXPIRED", 40],
  [199, "SVC Card Added", "SVC_CARD_ADDED", 40],
  [200, "SVC Card Balance Transfered", "SVC_CARD_BALANCE_TRANSFERED", 40],
  [201, "SVC Card Stolen", "SVC_CARD_STOLEN", 40],
  [202, "SVC Card Lost", "SVC_CARD_LOST", 40],
  [203, "SVC Card Found", "SVC_CARD_FOUND", 40],
  [204, "SVC Card Balance Adjusted", "SVC_CARD_BALANCE_ADJUSTED", 40],
  [205, "SVC Card Deactivated", "SVC_CARD_DEACTIVATED", 40],
  [964, "LOYALTY_GOAL_ACHIEVED", "LOYALTY_GOAL_ACHIEVED", 35],
  [1001, 'Account Deleted', 'ACCOUNT_DELETED', 37],
] as const;

export type EventTypeSlug = (typeof CATALOG)[number][2];

export interface EventType {
  id: number;
  name: string;
  slug: EventTypeSlug;
  categoryId: number;
}

export const EVENT_TYPES: readonly EventType[] = CATALOG.map(([id, name, slug, categoryId]) => ({ id, name, slug, categoryId }));
const BY_SLUG = new Map(EVENT_TYPES.map((t) => [t.slug as string, t]));
const BY_ID = new Map(EVENT_TYPES.map((t) => [t.id, t]));

export const eventTypeBySlug = (slug: string): EventType | undefined => BY_SLUG.get(slug.toUpperCase());
export const eventTypeById = (id: number): EventType | undefined => BY_ID.get(id);

/** Timeline views: which event categories each one shows (undefined: all). */
export const TIMELINE_VIEWS: Record<string, readonly number[] | undefined> = {
  END_USER_MEMBER_STATEMENT: undefined,
  // changes to the account itself: profile edits, notes, merges, privacy actions
  ACCOUNT_AUDIT_LOG: [31, 37, 38, 39],
};
