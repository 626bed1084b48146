import { sql, type OrderByItemBuilder, type Selectable } from 'kysely';
import type { Db } from '../../db/index.js';
import type { RewardStoreOffersTable, RewardStoresTable } from '../../db/schema.js';
import { recordDomainEvents } from '../outbox/service.js';
import { DomainError } from '../../errors.js';
import type { Actor, MemberSummary } from '../members/service.js';
import { isUuid } from '../../lib/ids.js';
import { currentOffersQuery, getOffer, OFFER_ACTIVE, offersByIds, type Offer } from '../offers/catalog.js';
import { assertIssuable, issueOffer, offerIssuedCountQuery, storeOfferPurchaseCountQuery, storeOfferPurchases, type UserOffer } from '../offers/user-offers.js';
import { listPointAccounts } from '../points/accounts.js';
import { fromDb, toDecimal, ZERO, type Amount } from '../points/amount.js';
import { applyPointChanges } from '../points/ledger.js';
import { memberBalances } from '../points/queries.js';
import { getTags } from '../tags/service.js';
import { memberTiers } from '../tiers/service.js';

export type RewardStore = Selectable<RewardStoresTable>;
export type StoreOffer = Selectable<RewardStoreOffersTable>;

/** The ledger's reference_type of a reward store purchase (its reference_id is the store offer). */
export const PURCHASE_REFERENCE_TYPE = 'reward_store_purchase';

export type SortColumn = 'internal_name' | 'start_date' | 'end_date';

export interface Paging {
  sort: SortColumn;
  descending: boolean;
  skip: number;
  take: number;
}

/** A time window: no start means since always, no end means for ever. */
export function withinDates(w: { start_date: Date | null; end_date: Date | null }, now = new Date()): boolean {
  return (!w.start_date || w.start_date <= now) && (!w.end_date || w.end_date >= now);
}

/** What a store's eligibility looks at: the member's tier levels and live tags (lower-cased). */
export interface Holdings {
  tierLevelIds: Set<string>;
  tags: Set<string>;
}

export async function memberHoldings(db: Db, retailerId: string, memberId: string, now = new Date()): Promise<Holdings> {
  const tiers = await memberTiers(db, retailerId, memberId);
  const tags = await getTags(db, retailerId, memberId, now);
  return { tierLevelIds: new Set(tiers.map((t) => t.tier_level_id.toLowerCase())), tags: new Set(Object.keys(tags).map((t) => t.toLowerCase())) };
}

/** A member may use a store that lists no tier level and no tag, or one listing any level or tag the member holds. */
export function isEligible(store: Pick<RewardStore, 'eligibility'>, holdings: Holdings): boolean {
  const levels = store.eligibility.tier_level_ids ?? [];
  const tags = store.eligibility.tags ?? [];
  if (!levels.length && !tags.length) return true;
  return levels.some((l) => holdings.tierLevelIds.has(l.toLowerCase())) || tags.some((t) => holdings.tags.has(t.toLowerCase()));
}

const uuids = (ids: string[]) => [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
const likePattern = (text: string) => `%${text.replace(/[%_\\]/g, (c) => `\\${c}`)}%`;

/** Missing start dates sort as the earliest, missing end dates as the latest. */
const order = (column: SortColumn, descending: boolean) => (ob: OrderByItemBuilder) => {
  const directed = descending ? ob.desc() : ob.asc();
  return (column === 'start_date') !== descending ? directed.nullsFirst() : directed.nullsLast();
};

export async function findRewardStore(db: Db, retailerId: string, storeId: string): Promise<RewardStore | undefined> {
  if (!isUuid(storeId)) return undefined;
  return db.selectFrom('reward_stores').selectAll().where('retailer_id', '=', retailerId).where('id', '=', storeId.toLowerCase()).where('retired_at', 'is', null).executeTakeFirst();
}

export async function getRewardStore(db: Db, retailerId: string, storeId: string): Promise<RewardStore> {
  const store = await findRewardStore(db, retailerId, storeId);
  if (!store) throw new DomainError('reward_store_not_found', `reward store ${storeId} not found`, 'reward_store_id');
  return store;
}

export interface StoreQuery extends Paging {
  /** Part of the internal name or of a name in any culture, case-insensitively. */
  name?: string;
  ids?: string[];
  /** Stores whose eligibility lists any of these tier level ids or tags. */
  eligibility?: string[];
  /** Stores active at some time in [activeFrom, activeTo]. */
  activeFrom?: Date;
  activeTo?: Date;
}

/** The retailer's stores (retired ones never), filtered and paged. */
export async function listRewardStores(db: Db, retailerId: string, q: StoreQuery): Promise<{ total: number; stores: RewardStore[] }> {
  let base = db.selectFrom('reward_stores').where('retailer_id', '=', retailerId).where('retired_at', 'is', null);
  if (q.ids?.length) {
    const ids = uuids(q.ids);
    base = ids.length ? base.where('id', 'in', ids) : base.where(sql<boolean>`false`);
  }
  if (q.name) {
    const like = likePattern(q.name);
    base = base.where(sql<boolean>`(internal_name ILIKE ${like} OR EXISTS (SELECT 1 FROM jsonb_array_elements(texts) t WHERE t->>'name' ILIKE ${like}))`);
  }
  if (q.eligibility?.length) {
    const wanted = q.eligibility.map((e) => e.toLowerCase());
    base = base.where(
      sql<boolean>`EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(eligibility->'tier_level_ids', '[]') || coalesce(eligibility->'tags', '[]')) e WHERE lower(e) = ANY(${wanted}::text[]))`,
    );
  }
  if (q.activeFrom) {
    const from = q.activeFrom;
    const to = q.activeTo ?? from;
    base = base.where((eb) => eb.and([eb.or([eb('start_date', 'is', null), eb('start_date', '<=', to)]), eb.or([eb('end_date', 'is', null), eb('end_date', '>=', from)])]));
  }
  const { total } = await base.select(sql<number>`count(*)`.as('total')).executeTakeFirstOrThrow();
  const stores = await base.selectAll().orderBy(q.sort, order(q.sort, q.descending)).orderBy('id').offset(q.skip).limit(q.take).execute();
  return { total: Number(total), stores };
}

/** The stores a member may use now: active, and the member eligible. */
export async function memberRewardStores(db: Db, retailerId: string, memberId: string, paging: Paging, now = new Date()): Promise<{ total: number; stores: RewardStore[] }> {
  const holdings = await memberHoldings(db, retailerId, memberId, now);
  const active = await db
    .selectFrom('reward_stores')
    .selectAll()
    .where('retailer_id', '=', retailerId)
    .where('retired_at', 'is', null)
    .where((eb) => eb.and([eb.or([eb('start_date', 'is', null), eb('start_date', '<=', now)]), eb.or([eb('end_date', 'is', null), eb('end_date', '>=', now)])]))
    .orderBy(paging.sort, order(paging.sort, paging.descending))
    .orderBy('id')
    .execute();
  // a retailer has a handful of stores: eligibility is decided here, by the same rule a purchase uses
  const usable = active.filter((s) => isEligible(s, holdings));
  return { total: usable.length, stores: usable.slice(paging.skip, paging.skip + paging.take) };
}

/** The stores (not retired) selling an offer, named by its root or a version id, with their store offers of it. */
export async function storesContainingOffer(
  db: Db,
  retailerId: string,
  offerId: string,
  paging: Paging,
): Promise<{ offer: Offer; total: number; stores: (RewardStore & { storeOfferIds: string[] })[] }> {
  const offer = await getOffer(db, retailerId, offerId);
  const selling = db
    .selectFrom('reward_store_offers')
    .select('reward_store_id')
    .where('retailer_id', '=', retailerId)
    .where('root_offer_id', '=', offer.root_offer_id)
    .where('retired_at', 'is', null);
  const base = db.selectFrom('reward_stores').where('retailer_id', '=', retailerId).where('retired_at', 'is', null).where('id', 'in', selling);
  const { total } = await base.select(sql<number>`count(*)`.as('total')).executeTakeFirstOrThrow();
  const stores = await base.selectAll().orderBy(paging.sort, order(paging.sort, paging.descending)).orderBy('id').offset(paging.skip).limit(paging.take).execute();
  const storeOffers = stores.length
    ? await db
        .selectFrom('reward_store_offers')
        .select(['id', 'reward_store_id'])
        .where('retailer_id', '=', retailerId)
        .where('root_offer_id', '=', offer.root_offer_id)
        .where('retired_at', 'is', null)
        .where(
          'reward_store_id',
          'in',
          stores.map((s) => s.id),
        )
        .orderBy('id')
        .execute()
    : [];
  return {
    offer,
    total: Number(total),
    stores: stores.map((s) => ({ ...s, storeOfferIds: storeOffers.filter((o) => o.reward_store_id === s.id).map((o) => o.id) })),
  };
}

export interface StoreOfferQuery extends Paging {
  /** At most 100; absent: every store of the retailer. */
  storeIds?: string[];
  /** Only store offers that can be bought now (store, store offer and offer active). */
  onlyActive?: boolean;
  excludeFree?: boolean;
  /** Keep store offers whose store, dates or offer acquisition window have ended. */
  includeExpired?: boolean;
  minPrice?: Amount;
  maxPrice?: Amount;
  /** Only what this member can buy now, `quantity` times: eligible, active, within the limits, and affordable. */
  memberId?: string;
  quantity?: number;
  now?: Date;
}

export interface StoreOfferListing {
  storeOffer: StoreOffer;
  /** The offer's current version. */
  offer: Offer;
}

export const MAX_STORE_IDS = 100;

/** Store offers of the given stores, filtered, sorted (internal_name: the offer's) and paged. */
export async function listStoreOffers(db: Db, retailerId: string, q: StoreOfferQuery): Promise<{ total: number; rows: StoreOfferListing[] }> {
  const now = q.now ?? new Date();
  const quantity = q.quantity ?? 1;
  if (q.storeIds && q.storeIds.length > MAX_STORE_IDS) throw new DomainError('argument_error', `reward_store_ids: at most ${MAX_STORE_IDS} stores`, 'reward_store_ids');

  let stores: RewardStore[];
  if (q.storeIds?.length) {
    const ids = uuids(q.storeIds);
    const rows = ids.length ? await db.selectFrom('reward_stores').selectAll().where('retailer_id', '=', retailerId).where('id', 'in', ids).where('retired_at', 'is', null).execute() : [];
    const missing = q.storeIds.find((id) => !rows.some((s) => s.id === id.toLowerCase()));
    if (missing) throw new DomainError('reward_store_not_found', `reward store ${missing} not found`, 'reward_store_ids');
    stores = rows;
  } else {
    stores = await db.selectFrom('reward_stores').selectAll().where('retailer_id', '=', retailerId).where('retired_at', 'is', null).execute();
  }
  const mustBeActive = q.onlyActive || q.memberId !== undefined;
  if (mustBeActive) stores = stores.filter((s) => withinDates(s, now));
  if (!q.includeExpired) stores = stores.filter((s) => !s.end_date || s.end_date >= now);
  let wallet: { balances: Record<string, string>; overdraft: string[] } | undefined;
  if (q.memberId) {
    const holdings = await memberHoldings(db, retailerId, q.memberId, now);
    stores = stores.filter((s) => isEligible(s, holdings));
    const { details } = await memberBalances(db, retailerId, q.memberId);
    wallet = {
      balances: Object.fromEntries(details.map((d) => [d.point_account_id, toDecimal(d.available_balance)])),
      // an account that may go negative never refuses a price
      overdraft: (await listPointAccounts(db, retailerId)).filter((a) => a.allow_negative).map((a) => a.id),
    };
  }
  if (!stores.length) return { total: 0, rows: [] };

  let base = db
    .selectFrom('reward_store_offers as so')
    .innerJoin('reward_stores as rs', (j) => j.onRef('rs.retailer_id', '=', 'so.retailer_id').onRef('rs.id', '=', 'so.reward_store_id'))
    .innerJoin(currentOffersQuery(db).as('o'), (j) => j.onRef('o.retailer_id', '=', 'so.retailer_id').onRef('o.root_offer_id', '=', 'so.root_offer_id'))
    .where('so.retailer_id', '=', retailerId)
    .where(
      'so.reward_store_id',
      'in',
      stores.map((s) => s.id),
    )
    .where('so.retired_at', 'is', null);
  if (q.excludeFree) base = base.where('so.price', '>', '0');
  if (q.minPrice !== undefined) base = base.where('so.price', '>=', toDecimal(q.minPrice));
  if (q.maxPrice !== undefined) base = base.where('so.price', '<=', toDecimal(q.maxPrice));
  if (mustBeActive) {
    base = base.where((eb) =>
      eb.and([
        eb.or([eb('so.start_date', 'is', null), eb('so.start_date', '<=', now)]),
        eb.or([eb('so.end_date', 'is', null), eb('so.end_date', '>=', now)]),
        eb('o.status', '=', OFFER_ACTIVE),
        eb('o.retired_at', 'is', null),
        eb.or([eb('o.acquisition_start_date', 'is', null), eb('o.acquisition_start_date', '<=', now)]),
        eb.or([eb('o.acquisition_end_date', 'is', null), eb('o.acquisition_end_date', '>=', now)]),
      ]),
    );
  }
  if (!q.includeExpired) {
    base = base.where((eb) => eb.and([eb.or([eb('so.end_date', 'is', null), eb('so.end_date', '>=', now)]), eb.or([eb('o.acquisition_end_date', 'is', null), eb('o.acquisition_end_date', '>=', now)])]));
  }
  if (q.memberId && wallet) {
    const member = q.memberId;
    const { balances, overdraft } = wallet;
    const bought = (memberId?: string) => storeOfferPurchaseCountQuery(sql.ref('so.retailer_id'), sql.ref('so.id'), memberId);
    const issued = (memberId?: string) => offerIssuedCountQuery(sql.ref('o.retailer_id'), sql.ref('o.root_offer_id'), memberId);
    const maxPerMember = sql`nullif((o.restrictions->'purchase'->>'max_per_member')::int, 0)`;
    base = base.where(
      sql<boolean>`(so.total_limit IS NULL OR ${bought()} + ${quantity} <= so.total_limit)
        AND (so.per_member_limit IS NULL OR ${bought(member)} + ${quantity} <= so.per_member_limit)
        AND (o.total_inventory IS NULL OR ${issued()} + ${quantity} <= o.total_inventory)
        AND (${maxPerMember} IS NULL OR ${issued(member)} + ${quantity} <= ${maxPerMember})
        AND (rs.point_account_id = ANY(${overdraft}::uuid[]) OR so.price * ${quantity} <= coalesce((${JSON.stringify(balances)}::jsonb ->> rs.point_account_id::text)::numeric, 0))`,
    );
  }
  const { total } = await base.select(sql<number>`count(*)`.as('total')).executeTakeFirstOrThrow();
  const column = { internal_name: 'o.internal_title', start_date: 'so.start_date', end_date: 'so.end_date' } as const;
  const rows = await base
    .selectAll('so')
    .select('o.id as offer_version_id')
    .orderBy(column[q.sort], order(q.sort, q.descending))
    .orderBy('so.id')
    .offset(q.skip)
    .limit(q.take)
    .execute();
  const offers = await offersByIds(
    db,
    retailerId,
    rows.map((r) => r.offer_version_id),
  );
  return {
    total: Number(total),
    rows: rows.map(({ offer_version_id, ...storeOffer }) => ({ storeOffer, offer: offers.get(offer_version_id)! })),
  };
}

export interface Purchase {
  store: RewardStore;
  storeOffer: StoreOffer;
  /** The version issued: the offer's current one. */
  offer: Offer;
  /** One per unit bought. */
  userOffers: UserOffer[];
  price: Amount;
  pointsSpent: Amount;
  /** The member's balance in the store's point account afterwards. */
  remainingBalance: Amount;
}

/**
 * Buys a store offer `quantity` times for a member, in the caller's
 * transaction (the caller holds the member's lock, which serializes the
 * member's spends): checks the store (active, the member eligible) and the
 * store offer (active, its total and per-member limits), spends the price
 * times the quantity from the store's point account through the ledger, and
 * issues the offer once per unit (OFFER_PURCHASED). Any refusal, too few
 * points included, throws and leaves the transaction to roll back whole.
 */
export async function purchaseStoreOffer(
  tx: Db,
  actor: Actor,
  member: MemberSummary,
  storeId: string,
  storeOfferId: string,
  quantity: number,
  now = new Date(),
): Promise<Purchase> {
  if (!Number.isInteger(quantity) || quantity < 1) throw new DomainError('argument_error', 'quantity: a whole number, 1 or more', 'quantity');
  const retailerId = actor.retailerId;
  const store = await getRewardStore(tx, retailerId, storeId);
  if (!withinDates(store, now)) throw new DomainError('offer_not_available', `reward store ${store.id} is not open (${window(store)})`, 'reward_store_id');
  if (!isEligible(store, await memberHoldings(tx, retailerId, member.id, now))) {
    throw new DomainError('member_not_eligible', `user ${member.id} holds none of the tier levels or tags reward store ${store.id} requires`, 'user_id');
  }

  const findStoreOffer = (lock: boolean) => {
    const q = tx
      .selectFrom('reward_store_offers')
      .selectAll()
      .where('retailer_id', '=', retailerId)
      .where('id', '=', storeOfferId.toLowerCase())
      .where('reward_store_id', '=', store.id)
      .where('retired_at', 'is', null);
    return (lock ? q.forUpdate() : q).executeTakeFirst();
  };
  let storeOffer = isUuid(storeOfferId) ? await findStoreOffer(false) : undefined;
  // a total limit is shared by all members: purchases of this store offer then take turns
  if (storeOffer?.total_limit != null) storeOffer = await findStoreOffer(true);
  if (!storeOffer) throw new DomainError('store_offer_not_found', `reward store offer ${storeOfferId} not found in reward store ${store.id}`, 'reward_store_offer_id');
  if (!withinDates(storeOffer, now)) throw new DomainError('offer_not_available', `reward store offer ${storeOffer.id} is not on sale (${window(storeOffer)})`, 'reward_store_offer_id');

  const bought = await storeOfferPurchases(tx, retailerId, storeOffer.id, member.id);
  if (storeOffer.total_limit !== null && bought.total + quantity > storeOffer.total_limit) {
    throw new DomainError('inventory_exhausted', `reward store offer ${storeOffer.id}: ${Math.max(storeOffer.total_limit - bought.total, 0)} of ${storeOffer.total_limit} left`, 'quantity');
  }
  if (storeOffer.per_member_limit !== null && bought.member + quantity > storeOffer.per_member_limit) {
    throw new DomainError('purchase_limit_reached', `reward store offer ${storeOffer.id}: at most ${storeOffer.per_member_limit} per member, user ${member.id} has ${bought.member}`, 'quantity');
  }

  const offer = await getOffer(tx, retailerId, storeOffer.root_offer_id);
  assertIssuable(offer, now);

  const price = fromDb(storeOffer.price);
  const pointsSpent = price * BigInt(quantity);
  let remainingBalance: Amount;
  if (pointsSpent > ZERO) {
    const outcome = await applyPointChanges(
      tx,
      actor,
      member,
      [{ kind: 'spend', amount: pointsSpent, point_account_ids: [store.point_account_id], reference_type: PURCHASE_REFERENCE_TYPE, reference_id: storeOffer.id }],
      { allowPartialSuccess: false },
    ).catch((err: unknown) => {
      // the ledger names its own request field; this request has none
      if (err instanceof DomainError) throw new DomainError(err.code, `reward store offer ${storeOffer.id} costs ${toDecimal(pointsSpent)} points: ${err.message.replace(/^spend_details\[\d+\]: /, '')}`, 'reward_store_offer_id');
      throw err;
    });
    const lines = outcome.results[0].lines;
    remainingBalance = lines[lines.length - 1].available_balance;
  } else {
    const balances = await memberBalances(tx, retailerId, member.id, [store.point_account_id]);
    remainingBalance = balances.details[0]?.available_balance ?? ZERO;
  }

  const userOffers: UserOffer[] = [];
  for (let i = 0; i < quantity; i++) userOffers.push(await issueOffer(tx, actor, member, offer, { source: 'purchase', rewardStoreOfferId: storeOffer.id, now }));
  recordDomainEvents(
    tx,
    userOffers.map((uo) => ({
      type: 'reward.purchased',
      retailerId,
      memberId: member.id,
      occurredAt: now,
      payload: { user_offer_id: uo.id, offer_id: uo.offer_id, reward_store_id: store.id, store_offer_id: storeOffer.id, price: toDecimal(price), point_account_id: store.point_account_id },
    })),
  );
  return { store, storeOffer, offer, userOffers, price, pointsSpent, remainingBalance };
}

const window = (w: { start_date: Date | null; end_date: Date | null }) => `from ${w.start_date?.toISOString() ?? 'always'} until ${w.end_date?.toISOString() ?? 'further notice'}`;
