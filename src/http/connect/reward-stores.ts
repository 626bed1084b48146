import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DomainError } from '../../errors.js';
import { purchaseReward } from '../../flows/purchase-reward.js';
import { offerMedia, offerText } from '../../modules/offers/catalog.js';
import { fromDb, parseAmount, toJson, ZERO } from '../../modules/points/amount.js';
import { memberBalances } from '../../modules/points/queries.js';
import {
  listRewardStores,
  listStoreOffers,
  MAX_STORE_IDS,
  memberRewardStores,
  storesContainingOffer,
  withinDates,
  type Paging,
  type Purchase,
  type RewardStore,
  type SortColumn,
  type StoreOfferListing,
} from '../../modules/reward-stores/service.js';
import { fails, Obj, Uuid } from '../contract.js';
import { actorOf, tenantOf } from '../context.js';
import { ConnectBase, isoTime, memberOf, ok, parseTime } from './common.js';
import { connectAnswer } from './schemas.js';
import { ConnectRewardStore, RewardPurchase, RewardStoreOffer, storeFields, StorePage, StorePointBalance } from './offer-schemas.js';
import { AmountInput, Id, Opt } from '../inputs.js';


const PagingFields = {
  sort_column: Opt(Type.String({ maxLength: 40 })),
  sort_direction: Opt(Type.String({ maxLength: 20 })),
  skip: Opt(Type.Integer({ minimum: 0, default: 0 })),
  take: Opt(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
};

const StoresBody = Type.Object({
  ...ConnectBase,
  ...PagingFields,
  search_name: Opt(Type.String({ maxLength: 255 })),
  search_eligibility: Opt(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })),
  search_active_date: Opt(Type.String({ maxLength: 40 })),
  search_reward_store_ids: Opt(Type.Array(Id, { maxItems: MAX_STORE_IDS })),
  /** Sent empty by the collection; no filter is defined for it. */
  filters: Opt(Type.Array(Type.Unknown(), { maxItems: 100 })),
});

const StoreOffersBody = Type.Object({
  ...ConnectBase,
  ...PagingFields,
  reward_store_ids: Opt(Type.Array(Id, { maxItems: MAX_STORE_IDS })),
  user_id: Opt(Id),
  limit_to_only_active: Opt(Type.Boolean()),
  exclude_free_offers: Opt(Type.Boolean()),
  include_expired: Opt(Type.Boolean()),
  min_price: Opt(AmountInput),
  max_price: Opt(AmountInput),
  price_range: Opt(Type.Object({ min: Opt(AmountInput), max: Opt(AmountInput) })),
  /** With user_id: what the member can buy this many of. */
  quantity: Opt(Type.Integer({ minimum: 1, maximum: 100 })),
});

const ContainingBody = Type.Object({ ...ConnectBase, ...PagingFields, offer_id: Id });

const UserStoresBody = Type.Object({ ...ConnectBase, ...PagingFields, user_id: Id, include_point_balances: Opt(Type.Boolean()) });

const PurchaseBody = Type.Object({
  ...ConnectBase,
  user_id: Id,
  reward_store_id: Id,
  reward_store_offer_id: Id,
  quantity: Opt(Type.Integer({ minimum: 1, maximum: 100, default: 1 })),
});

const SORT_COLUMNS: Record<string, SortColumn> = { internal_name: 'internal_name', name: 'internal_name', start_date: 'start_date', end_date: 'end_date' };

function pagingOf(b: { sort_column?: string; sort_direction?: string; skip?: number; take?: number }): Paging {
  const sort = b.sort_column ? SORT_COLUMNS[b.sort_column.trim().toLowerCase()] : 'start_date';
  if (!sort) throw new DomainError('argument_error', 'sort_column: one of internal_name, start_date, end_date', 'sort_column');
  const direction = (b.sort_direction ?? 'asc').trim().toLowerCase();
  if (!['asc', 'desc', 'ascending', 'descending'].includes(direction)) throw new DomainError('argument_error', 'sort_direction: asc or desc', 'sort_direction');
  return { sort, descending: direction.startsWith('desc'), skip: b.skip ?? 0, take: b.take ?? 100 };
}

const iso = (date: Date | null) => (date ? isoTime(date) : null);

/** A store's name and description in the culture asked for, falling back to its first text, then its internal name. */
function storeText(store: RewardStore, culture?: string) {
  const text = offerText(
    {
      texts: store.texts.map((t) => ({ id: '', culture: t.culture, title: t.name, description: t.description ?? '', terms: '' })),
      default_culture: store.texts[0]?.culture ?? 'en',
      internal_title: store.internal_name,
    },
    culture,
  );
  return { name: text.title, description: text.description };
}

function renderStore(store: RewardStore, culture?: string) {
  return {
    id: store.id,
    internal_name: store.internal_name,
    ...storeText(store, culture),
    point_account_id: store.point_account_id,
    start_date: iso(store.start_date),
    end_date: iso(store.end_date),
    eligibility: { tier_level_ids: store.eligibility.tier_level_ids ?? [], tags: store.eligibility.tags ?? [] },
    is_active: withinDates(store),
  };
}

function renderStoreOffer({ storeOffer, offer }: StoreOfferListing, culture?: string) {
  const text = offerText(offer, culture);
  return {
    id: storeOffer.id,
    root_offer_id: storeOffer.root_offer_id,
    offer_id: offer.id,
    reward_store_id: storeOffer.reward_store_id,
    price: toJson(fromDb(storeOffer.price)),
    start_date: iso(storeOffer.start_date),
    end_date: iso(storeOffer.end_date),
    ...(storeOffer.total_limit !== null ? { total_limit: storeOffer.total_limit } : {}),
    ...(storeOffer.per_member_limit !== null ? { per_member_limit: storeOffer.per_member_limit } : {}),
    offer_details: {
      internal_name: offer.internal_title,
      title: text.title,
      description: text.description,
      terms: text.terms,
      media: offerMedia(offer),
      points: toJson(fromDb(offer.points)),
      acquisition_start_date: iso(offer.acquisition_start_date),
      acquisition_end_date: iso(offer.acquisition_end_date),
      pos_discount_id: offer.pos_discount_id,
      offer_status: offer.status,
    },
  };
}

function renderPurchase(p: Purchase & { member: { id: string } }) {
  const common = { offer_id: p.offer.id, root_offer_id: p.offer.root_offer_id, reward_store_id: p.store.id, reward_store_offer_id: p.storeOffer.id };
  const remaining_balance = toJson(p.remainingBalance);
  return {
    user_id: p.member.id,
    user_offer_id: p.userOffers[0].id,
    ...common,
    quantity: p.userOffers.length,
    point_account_id: p.store.point_account_id,
    price: toJson(p.price),
    points_spent: toJson(p.pointsSpent),
    remaining_balance,
    user_offers: p.userOffers.map((uo) => ({
      user_offer_id: uo.id,
      ...common,
      points_spent: toJson(p.price),
      remaining_balance,
      status: uo.status,
      acquire_date: isoTime(uo.acquired_at),
      redemption_start_date: iso(uo.redemption_start_date),
      redemption_end_date: iso(uo.redemption_end_date),
    })),
  };
}

const page = (total: number, paging: Paging) => ({ total_rows: total, total_records: total, skip: paging.skip, take: paging.take });

/** /offers/api/2.0/offers/rewardstores/... (collection 3.4.x): reward stores and buying their offers with points. */
export const rewardStoreRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  const tags = ['Connect: reward stores'];
  const path = (name: string) => `/2.0/offers/rewardstores/${name}`;

  app.post(
    path('get_reward_stores'),
    {
      schema: {
        summary: 'Reward stores, searched and paged (3.4.1)',
        description:
          "The retailer's reward stores (retired ones never), searched by a part of a name, by ids, by the tier level ids or tags their eligibility lists, and by a time they are open at (a date alone: any time that day), sorted by internal_name, start_date or end_date and paged. Changes nothing.",
        tags,
        body: StoresBody,
        response: { 200: connectAnswer(Obj({ reward_stores: Type.Array(ConnectRewardStore), ...StorePage })), ...fails('not_found') },
      },
    },
    async (request) => {
      const b = request.body;
      const paging = pagingOf(b);
      let activeFrom: Date | undefined;
      let activeTo: Date | undefined;
      if (b.search_active_date) {
        activeFrom = parseTime(b.search_active_date, 'search_active_date');
        // a date alone means any time that day
        activeTo = /^\d{4}-\d\d-\d\d$/.test(b.search_active_date.trim()) ? new Date(activeFrom.getTime() + 86_400_000 - 1) : activeFrom;
      }
      const { total, stores } = await listRewardStores(db, tenantOf(request).retailerId, {
        ...paging,
        name: b.search_name,
        ids: b.search_reward_store_ids,
        eligibility: b.search_eligibility,
        activeFrom,
        activeTo,
      });
      return ok({ reward_stores: stores.map((s) => renderStore(s, b.culture)), ...page(total, paging) });
    },
  );

  app.post(
    path('get_reward_store_offers'),
    {
      schema: {
        summary: 'Offers of reward stores, filtered and paged; with user_id, only what the member can buy now (3.4.2)',
        description:
          "The store offers of the stores named (at most 100; absent: every store), filtered by price, free or not, on sale now (limit_to_only_active) and ended ones (kept only with include_expired), sorted and paged, with their offers in the request's culture. " +
          "With user_id, only what the member can buy now `quantity` times: stores it is eligible for, on sale, within the limits and affordable with its balance. Changes nothing.",
        tags,
        body: StoreOffersBody,
        response: {
          200: connectAnswer(Obj({ reward_store_offers: Type.Array(RewardStoreOffer), ...StorePage })),
          ...fails('not_found', 'user_not_found', 'multiple_matches', 'reward_store_not_found'),
        },
      },
    },
    async (request) => {
      const b = request.body;
      const paging = pagingOf(b);
      const member = b.user_id ? await memberOf(db, request, b.user_id) : undefined;
      const min = b.min_price ?? b.price_range?.min;
      const max = b.max_price ?? b.price_range?.max;
      const { total, rows } = await listStoreOffers(db, tenantOf(request).retailerId, {
        ...paging,
        storeIds: b.reward_store_ids,
        onlyActive: b.limit_to_only_active,
        excludeFree: b.exclude_free_offers,
        includeExpired: b.include_expired,
        minPrice: min === undefined ? undefined : parseAmount(min, 'min_price'),
        maxPrice: max === undefined ? undefined : parseAmount(max, 'max_price'),
        memberId: member?.id,
        quantity: b.quantity,
      });
      return ok({ reward_store_offers: rows.map((r) => renderStoreOffer(r, b.culture)), ...page(total, paging) });
    },
  );

  app.post(
    path('get_reward_stores_containing_offer'),
    {
      schema: {
        summary: 'Reward stores selling an offer (3.4.3)',
        description: 'The reward stores (retired ones never) that sell the offer, named by its root or a version id, with the ids of their store offers of it, sorted and paged. Changes nothing.',
        tags,
        body: ContainingBody,
        response: {
          200: connectAnswer(
            Obj({
              offer_id: Type.String({ format: 'uuid', description: "the offer's current version" }),
              root_offer_id: Uuid,
              reward_stores: Type.Array(Obj({ ...storeFields, reward_store_offer_ids: Type.Array(Uuid) })),
              ...StorePage,
            }),
          ),
          ...fails('not_found', 'offer_not_found'),
        },
      },
    },
    async (request) => {
      const b = request.body;
      const paging = pagingOf(b);
      const { offer, total, stores } = await storesContainingOffer(db, tenantOf(request).retailerId, b.offer_id, paging);
      return ok({
        offer_id: offer.id,
        root_offer_id: offer.root_offer_id,
        reward_stores: stores.map((s) => ({ ...renderStore(s, b.culture), reward_store_offer_ids: s.storeOfferIds })),
        ...page(total, paging),
      });
    },
  );

  app.post(
    path('purchase_offer'),
    {
      schema: {
        summary: "Buy a store offer with the member's points; all or nothing (3.4.4)",
        description:
          "Buys the store offer `quantity` times for the member in one transaction: the store must be open and the member eligible, the store offer on sale and within its total and per-member limits, and the offer issuable; " +
          "the price times the quantity is spent from the store's point account and the offer is issued once per unit (OFFER_PURCHASED). Any refusal, too few points included, changes nothing. " +
          'A repeated Message-ID answers the first answer again.',
        tags,
        body: PurchaseBody,
        response: {
          200: connectAnswer(RewardPurchase),
          ...fails(
            'not_found',
            'user_not_found',
            'multiple_matches',
            'reward_store_not_found',
            'store_offer_not_found',
            'offer_not_available',
            'member_not_eligible',
            'inventory_exhausted',
            'purchase_limit_reached',
            'insufficient_points',
            'point_account_not_found',
            'point_account_inactive',
          ),
        },
      },
    },
    async (request) => {
      const b = request.body;
      const purchase = await purchaseReward(db, actorOf(request), b.user_id, b.reward_store_id, b.reward_store_offer_id, b.quantity ?? 1);
      return ok(renderPurchase(purchase));
    },
  );

  app.post(
    path('get_user_reward_stores'),
    {
      schema: {
        summary: 'Reward stores the member may use now, with balances on request (3.4.5)',
        description:
          "The reward stores open now that the member is eligible for (by tier level or tag), sorted and paged; with include_point_balances, each with the member's balance in its point account. Changes nothing.",
        tags,
        body: UserStoresBody,
        response: {
          200: connectAnswer(
            Obj({
              user_id: Uuid,
              reward_stores: Type.Array(Obj({ ...storeFields, point_balance: Type.Optional(StorePointBalance) })),
              ...StorePage,
            }),
          ),
          ...fails('not_found', 'user_not_found', 'multiple_matches'),
        },
      },
    },
    async (request) => {
      const b = request.body;
      const paging = pagingOf(b);
      const member = await memberOf(db, request, b.user_id);
      const { total, stores } = await memberRewardStores(db, member.retailer_id, member.id, paging);
      const balances = b.include_point_balances ? new Map((await memberBalances(db, member.retailer_id, member.id)).details.map((d) => [d.point_account_id, d])) : undefined;
      const reward_stores = stores.map((s) => {
        const rendered = renderStore(s, b.culture);
        if (!balances) return rendered;
        const balance = balances.get(s.point_account_id);
        return {
          ...rendered,
          point_balance: {
            point_account_id: s.point_account_id,
            account_name: balance?.account_name ?? '',
            user_point_account_id: balance?.user_point_account_id ?? '',
            available_balance: toJson(balance?.available_balance ?? ZERO),
            life_time_value: toJson(balance?.life_time_value ?? ZERO),
          },
        };
      });
      return ok({ user_id: member.id, reward_stores, ...page(total, paging) });
    },
  );
};
