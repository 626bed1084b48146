import { Type, type FastifyPluginAsyncTypebox, type Static } from '@fastify/type-provider-typebox';
import { DomainError } from '../../errors.js';
import { issueToMembers, moveOffers } from '../../flows/offers.js';
import { changeUserOffer, lockOffer, redeemMemberOffer, redeemOffer, reinstateOffer, revokeOffer, unlockOffer } from '../../flows/redemptions.js';
import { getMember, resolveMemberRef } from '../../modules/members/service.js';
import { getOffer, listOffers, offerCounts, offersByIds, type Offer } from '../../modules/offers/catalog.js';
import type { Basket } from '../../modules/offers/discount.js';
import {
  findUserOffer,
  listUserOffers,
  STATUS,
  type Redemption,
  type UserOffer,
} from '../../modules/offers/user-offers.js';
import { usableOffers } from '../../modules/offers/usable.js';
import { parseAmount, toJson } from '../../modules/points/amount.js';
import { availablePoints, memberBalances } from '../../modules/points/queries.js';
import { customProfileDefaults } from '../../modules/program/custom-attributes.js';
import { fails, IsoTime, Nullable, Obj, Uuid } from '../contract.js';
import { actorOf, tenantOf } from '../context.js';
import { dbOf } from '../surface.js';
import type { Db } from '../../db/index.js';
import { noteMemberRead } from '../../db/replica.js';
import { renderUser } from '../core/render.js';
import { ConnectBase, isoTime, memberOf, ok, parseTime } from './common.js';
import {
  ConnectOffer,
  ConnectOfferMedia,
  ConnectRedemption,
  ConnectUserOffer,
  ConnectUserOfferItem,
  ConnectUserOfferResult,
  NoCategories,
  NoChildOffers,
  OfferDetails,
  OfferGroup,
  OfferOverview,
  OfferUser,
  UserOfferHistoryItem,
} from './offer-schemas.js';
import { connectAnswer } from './schemas.js';
import { historyItem, NO_GROUP, offerDetails, offerOverview, offerRecord, userOfferItem, userOfferRecord } from './offer-views.js';
import { AmountInput, Id, Opt } from '../inputs.js';

const Page = { skip: Opt(Type.Integer({ minimum: 0, default: 0 })), take: Opt(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) };

const TransactionItem = Type.Object({
  pos_item_key: Opt(Type.String({ maxLength: 200 })),
  item_id: Opt(Type.String({ maxLength: 200 })),
  pos_cat_key: Opt(Type.String({ maxLength: 200 })),
  quantity: Opt(AmountInput),
  item_amount: Opt(AmountInput),
  sub_total: Opt(AmountInput),
  is_void: Opt(Type.Boolean()),
  external_line_item_id: Opt(Type.String({ maxLength: 200 })),
});
const Transaction = Type.Object({
  store_id: Opt(Id),
  pos_transaction_key: Opt(Type.String({ maxLength: 200 })),
  check_amount: Opt(AmountInput),
  items: Opt(Type.Array(TransactionItem, { maxItems: 1000 })),
});

/** A Connect transaction (3.3.1) as a basket for the discount engine. */
export function basketOf(transaction: Static<typeof Transaction>): Basket {
  const amount = (v: number | string | undefined, field: string, fallback = '0') => parseAmount(v ?? fallback, field);
  return {
    lines: (transaction.items ?? []).map((item, i) => ({
      line_id: item.external_line_item_id ?? String(i),
      item_id: item.pos_item_key ?? item.item_id ?? String(i),
      category_id: item.pos_cat_key,
      quantity: amount(item.quantity, `transaction.items[${i}].quantity`, '1'),
      unit_price: amount(item.item_amount, `transaction.items[${i}].item_amount`),
      subtotal: item.sub_total === undefined ? undefined : amount(item.sub_total, `transaction.items[${i}].sub_total`),
      voided: item.is_void ?? false,
    })),
    subtotal: transaction.check_amount === undefined ? undefined : amount(transaction.check_amount, 'transaction.check_amount'),
  };
}

/** The redemption answer: how the offer applied to the basket. */
function redemptionAnswer(r: Redemption, action: 'redeemed' | 'locked') {
  const amount = toJson(r.discount.amount);
  return {
    message: `offer ${action}: ${r.discount.lines.length ? `${amount} off ${r.discount.lines.length} line(s)` : `${amount} off`}`,
    offer_id: r.offer.id,
    root_offer_id: r.offer.root_offer_id,
    user_offer_id: r.userOffer.id,
    user_id: r.userOffer.member_id,
    pos_discount_id: r.offer.pos_discount_id,
    discount_amount: amount,
    discounted_line_ids: r.discount.lines.map((l) => l.line_id),
    discounted_lines: r.discount.lines.map((l) => ({ line_id: l.line_id, quantity: toJson(l.quantity), amount: toJson(l.amount) })),
    user_offer: userOfferRecord(r.userOffer),
  };
}

/** The offers of the user offers, by version id. */
async function offersOf(db: Parameters<typeof offersByIds>[0], retailerId: string, rows: UserOffer[]): Promise<Map<string, Offer>> {
  return offersByIds(db, retailerId, rows.map((r) => r.offer_id));
}

const OFFER_SORT = ['title', 'type', 'start_date', 'created', 'points'] as const;

/** /offers/api/2.0/offers/... (collection 3.1.x acquisition, 3.2.x info, 3.3.x redemption). */
export const offerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  const tags = ['Connect: offers'];

  // --- acquisition (3.1.x)
  app.post(
    '/2.0/offers/acquisition/issue',
    {
      schema: {
        summary: 'Issue an offer to one or several members (3.1.1)',
        description:
          'Issues the offer (its current version, or the version named with issue_exact_version) to each member, `quantity` uses each, each member in its own transaction: ' +
          'a member refused (unknown, over the per-member limit, no inventory left, outside the acquisition window) is answered in status_list with its fail_reason and the others are issued. ' +
          'An offer that does not exist is refused for all. A repeated Message-ID answers the first answer again.',
        tags,
        response: {
          200: connectAnswer(
            Obj({
              offer_id: Uuid,
              root_offer_id: Uuid,
              division_id: Type.String(),
              status_summary: Type.String({ description: 'e.g. "Issuance to all (2) users was successful."' }),
              acquire_date: IsoTime,
              status_list: Type.Array(
                Obj({
                  user_id: Type.String({ description: 'the member id; the user id as given when no member was found' }),
                  user_offer_id: Nullable(Type.String({ format: 'uuid', description: 'null when refused' })),
                  offer_id: Uuid,
                  root_offer_id: Uuid,
                  division_id: Type.String(),
                  pending_extended_data: Type.Boolean(),
                  fail_reason: Type.Integer({ description: '0 issued, 1 no single member found, 2 purchase limit reached, 3 not eligible, 4 no inventory left, 5 offer not available now' }),
                  fail_code: Opt(Type.String({ description: 'the error code of a refusal; absent when issued' })),
                  fail_message: Opt(Type.String({ description: 'absent when issued' })),
                }),
              ),
            }),
          ),
          ...fails('not_found', 'offer_not_found'),
        },
        body: Type.Object({ ...ConnectBase, user_id: Opt(Id), user_ids: Opt(Type.Array(Id, { minItems: 1, maxItems: 1000 })), offer_id: Id, quantity: Opt(Type.Integer({ minimum: 1, maximum: 1000 })), issue_exact_version: Opt(Type.Boolean()) }),
      },
    },
    async (request) => {
      const b = request.body;
      const users = b.user_ids ?? (b.user_id ? [b.user_id] : []);
      if (!users.length) throw new DomainError('missing_data', 'user_id: give user_id or user_ids', 'user_id');
      const { offer, issued } = await issueToMembers(db, actorOf(request), b.offer_id, users, { quantity: b.quantity ?? 1, exactVersion: b.issue_exact_version ?? false });
      const issuedCount = issued.filter((i) => i.failReason === 0).length;
      return ok({
        offer_id: offer.id,
        root_offer_id: offer.root_offer_id,
        division_id: offer.division_id,
        status_summary: issuedCount === issued.length ? `Issuance to all (${issuedCount}) users was successful.` : `Issuance to ${issuedCount} of ${issued.length} users was successful.`,
        acquire_date: isoTime(issued.find((i) => i.userOffer)?.userOffer?.acquired_at ?? new Date()),
        status_list: issued.map((i) => ({
          user_id: i.member?.id ?? i.userRef,
          user_offer_id: i.userOffer?.id ?? null,
          offer_id: offer.id,
          root_offer_id: offer.root_offer_id,
          division_id: offer.division_id,
          pending_extended_data: i.userOffer?.pending_extended_data ?? false,
          fail_reason: i.failReason,
          ...(i.error ? { fail_code: i.error.code, fail_message: i.error.message } : {}),
        })),
      });
    },
  );

  app.post(
    '/2.0/offers/acquisition/revoke',
    {
      schema: {
        summary: 'Revoke an issued user offer (3.1.2)',
        description:
          'Revokes an issued or locked user offer (the lock is dropped) with an optional reason, recorded on its timeline (REVOKED_OFFER); it can no longer be redeemed. ' +
          'A redeemed, revoked or expired one is refused. A repeated Message-ID answers the first answer again.',
        tags,
        body: Type.Object({ ...ConnectBase, user_offer_id: Id, reason: Opt(Type.String({ maxLength: 500 })) }),
        response: {
          200: connectAnswer(Obj({ user_id: Uuid, user_offer_id: Uuid, offer_id: Uuid, root_offer_id: Uuid, pos_discount_id: Type.String({ description: 'empty when the offer has none' }) })),
          ...fails('not_found', 'user_offer_not_found', 'already_redeemed', 'offer_revoked', 'offer_expired'),
        },
      },
    },
    async (request) => {
      const b = request.body;
      const { userOffer, offer } = await revokeOffer(db, actorOf(request), b.user_offer_id, b.reason);
      return ok({ user_id: userOffer.member_id, user_offer_id: userOffer.id, offer_id: offer.id, root_offer_id: offer.root_offer_id, pos_discount_id: offer.pos_discount_id ?? '' });
    },
  );

  app.post(
    '/2.0/offers/acquisition/update',
    {
      schema: {
        summary: 'Update custom data, redemption dates or remaining uses of a user offer (3.1.3)',
        description:
          'Changes what the request sets on an issued or locked user offer (OFFER_MODIFIED): custom data, pending_extended_data, the redemption dates with update_redemption_dates ' +
          '(an absent date clears it; new dates also extend an expired offer), the remaining uses with update_remaining_uses. ' +
          "With user_id the offer must be that member's. An end before the start is refused. A repeated Message-ID answers the first answer again.",
        tags,
        response: {
          200: connectAnswer(ConnectUserOfferResult),
          ...fails('not_found', 'user_not_found', 'multiple_matches', 'user_offer_not_found', 'already_redeemed', 'offer_revoked', 'offer_expired', 'validation'),
        },
        body: Type.Object({
          ...ConnectBase,
          user_id: Opt(Id),
          user_offer_id: Id,
          custom_data: Opt(Type.Union([Type.String({ maxLength: 65536 }), Type.Object({}, { additionalProperties: true })])),
          remain_pending_extended_data: Opt(Type.Boolean()),
          update_redemption_dates: Opt(Type.Boolean()),
          redemption_start_date: Opt(Type.String({ maxLength: 40 })),
          redemption_end_date: Opt(Type.String({ maxLength: 40 })),
          update_remaining_uses: Opt(Type.Boolean()),
          remaining_uses: Opt(Type.Integer({ minimum: 0, maximum: 100000 })),
        }),
      },
    },
    async (request) => {
      const b = request.body;
      const member = b.user_id ? await memberOf(db, request, b.user_id) : undefined;
      const updated = await changeUserOffer(
          db,
          actorOf(request),
          b.user_offer_id,
          {
            custom_data: b.custom_data === undefined ? undefined : typeof b.custom_data === 'string' ? b.custom_data : JSON.stringify(b.custom_data),
            pending_extended_data: b.remain_pending_extended_data,
            ...(b.update_redemption_dates
              ? {
                  redemption_start_date: b.redemption_start_date ? parseTime(b.redemption_start_date, 'redemption_start_date') : null,
                  redemption_end_date: b.redemption_end_date ? parseTime(b.redemption_end_date, 'redemption_end_date') : null,
                }
              : {}),
            ...(b.update_remaining_uses && b.remaining_uses !== undefined ? { remaining_uses: b.remaining_uses } : {}),
          },
          member?.id,
      );
      return ok({ user_id: updated.member_id, user_offer_id: updated.id, user_offer: userOfferRecord(updated) });
    },
  );

  app.post(
    '/2.0/offers/acquisition/move_user_offers',
    {
      schema: {
        summary: 'Move user offers to another member (3.1.4); answered per offer',
        description:
          "Moves the listed issued user offers of the source member to the destination member of the same retailer, in one transaction, recorded on both members' timelines. " +
          "Each offer is answered on its own: one that is not the source's, or not issued, stays where it is with its error code. Moving to the same member is refused. " +
          'A repeated Message-ID answers the first answer again.',
        tags,
        response: {
          200: connectAnswer(
            Obj({
              source_user_id: Uuid,
              destination_user_id: Uuid,
              moved_count: Type.Integer({ minimum: 0 }),
              results: Type.Array(
                Obj({
                  user_offer_id: Type.String({ description: 'as given' }),
                  success: Type.Boolean(),
                  error_code: Nullable(Type.String({ description: 'why it was not moved (user_offer_not_found, already_redeemed, offer_revoked, offer_expired, offer_locked); null when moved' })),
                  message: Type.String({ description: '"moved", or why not' }),
                }),
              ),
            }),
          ),
          ...fails('not_found', 'user_not_found', 'multiple_matches', 'validation'),
        },
        body: Type.Object({ ...ConnectBase, source_user_id: Id, destination_user_id: Id, user_offers_id_list: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 500 }) }),
      },
    },
    async (request) => {
      const b = request.body;
      const { from, to, results } = await moveOffers(db, actorOf(request), b.source_user_id, b.destination_user_id, b.user_offers_id_list);
      return ok({
        source_user_id: from.id,
        destination_user_id: to.id,
        moved_count: results.filter((r) => r.moved).length,
        results: results.map((r) => ({ user_offer_id: r.user_offer_id, success: r.moved, error_code: r.error?.code ?? null, message: r.error?.message ?? 'moved' })),
      });
    },
  );

  // --- info (3.2.x)
  const CatalogQuery = Type.Object({
    ...ConnectBase,
    search: Opt(Type.String({ maxLength: 200 })),
    status_flags: Opt(Type.Integer({ minimum: 0, maximum: 15 })),
    offer_ids: Opt(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 })),
    offer_type_ids: Opt(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50 })),
    sort_column: Opt(Type.Integer({ minimum: 0, maximum: 4, description: '0 title, 1 type, 2 start date, 3 created, 4 points' })),
    direction: Opt(Type.Integer({ minimum: 0, maximum: 1, description: '0 ascending, 1 descending' })),
    ...Page,
  });
  const catalogPage = async (db: Db, retailerId: string, b: Static<typeof CatalogQuery>) => {
    const page = await listOffers(db, retailerId, {
      offerIds: b.offer_ids,
      offerTypes: b.offer_type_ids,
      search: b.search,
      statusFlags: b.status_flags,
      sort: OFFER_SORT[b.sort_column ?? 2],
      descending: b.direction === 1,
      skip: b.skip ?? 0,
      take: b.take ?? 100,
    });
    const counts = await offerCounts(db, retailerId, page.offers.map((o) => o.root_offer_id));
    return { ...page, counts: (o: Offer) => counts.get(o.root_offer_id) ?? { acquired: 0, redeemed: 0 } };
  };

  const catalogDescription =
    "The catalog's current offer versions, filtered by ids (any version's id names its offer), types, a part of the internal title and status flags (1 active, 2 inactive, 4 retired, 8 every status; they add up), sorted and paged; texts in the request's culture. Changes nothing.";

  app.post(
    '/2.0/offers/fetch_offers_overview',
    {
      config: { replica: true },
      schema: {
        summary: 'The offer catalog, overview (3.2.1)',
        description: catalogDescription,
        tags,
        body: CatalogQuery,
        response: { 200: connectAnswer(Obj({ total_records: Type.Integer({ minimum: 0 }), results: Type.Array(OfferOverview) })), ...fails('not_found') },
      },
    },
    async (request) => {
      const b = request.body;
      const page = await catalogPage(dbOf(request), tenantOf(request).retailerId, b);
      return ok({ total_records: page.total, results: page.offers.map((o) => offerOverview(o, page.counts(o), b.culture)) });
    },
  );

  app.post(
    '/2.0/offers/fetch_offers_details',
    {
      config: { replica: true },
      schema: {
        summary: 'The offer catalog with counts and inventory (3.2.7)',
        description: `${catalogDescription} Each offer comes with its acquisition and redemption counts, restriction, parent and child counts and the inventory left.`,
        tags,
        body: CatalogQuery,
        response: { 200: connectAnswer(Obj({ total_records: Type.Integer({ minimum: 0 }), results: Type.Array(OfferDetails) })), ...fails('not_found') },
      },
    },
    async (request) => {
      const b = request.body;
      const retailerId = tenantOf(request).retailerId;
      const db = dbOf(request);
      const page = await catalogPage(db, retailerId, b);
      const all = (await listOffers(db, retailerId, { sort: 'created', descending: false, skip: 0, take: 10000 })).offers;
      const children = (o: Offer) => all.filter((c) => c.parent_offer_ids.includes(o.root_offer_id) || c.parent_offer_ids.includes(o.id)).length;
      return ok({ total_records: page.total, results: page.offers.map((o) => offerDetails(o, page.counts(o), children(o), b.culture)) });
    },
  );

  app.post(
    '/2.0/offers/fetch_offer',
    {
      config: { replica: true },
      schema: {
        summary: 'One offer with its texts, media and restrictions (3.2.2)',
        description:
          "An offer by a version id or its root id: the current version, or with get_active_version false the version named; its restrictions when any include_…_restrictions is true. Changes nothing.",
        tags,
        response: { 200: connectAnswer(Obj({ offer: ConnectOffer })), ...fails('not_found', 'offer_not_found') },
        body: Type.Object({
          ...ConnectBase,
          offer_id: Id,
          include_purchase_restrictions: Opt(Type.Boolean()),
          include_redemption_restrictions: Opt(Type.Boolean()),
          include_location_restrictions: Opt(Type.Boolean()),
          include_catalog_restrictions: Opt(Type.Boolean()),
          get_active_version: Opt(Type.Boolean()),
        }),
      },
    },
    async (request) => {
      const b = request.body;
      const offer = await getOffer(dbOf(request), tenantOf(request).retailerId, b.offer_id, { exactVersion: b.get_active_version === false });
      const restrictions = !!(b.include_purchase_restrictions || b.include_redemption_restrictions || b.include_location_restrictions || b.include_catalog_restrictions);
      return ok({ offer: offerRecord(offer, { restrictions, culture: b.culture }) });
    },
  );

  app.post(
    '/2.0/offers/get_user',
    {
      config: { replica: true },
      schema: {
        summary: "A member's profile and usable offers (3.2.3)",
        description:
          "The active member named by values.member_id, user_id or external_id, in the Core user shape, and (unless include_offers is false) its issued, unexpired user offers, paged, those pending extended data included unless include_pending_extended_data is false. Changes nothing.",
        tags,
        response: { 200: connectAnswer(Obj({ user: OfferUser, available_offers: Type.Array(ConnectUserOfferItem) })), ...fails('not_found', 'user_not_found', 'multiple_matches') },
        body: Type.Object({
          ...ConnectBase,
          values: Type.Object({ member_id: Opt(Id), user_id: Opt(Id), external_id: Opt(Id), email: Opt(Type.String({ maxLength: 254 })) }),
          include_offers: Opt(Type.Boolean()),
          include_pending_extended_data: Opt(Type.Boolean()),
          ...Page,
        }),
      },
    },
    async (request) => {
      const b = request.body;
      const retailerId = tenantOf(request).retailerId;
      const ref = b.values.member_id ?? b.values.user_id ?? b.values.external_id;
      const db = dbOf(request);
      const found = ref ? await resolveMemberRef(db, retailerId, ref) : undefined;
      if (!found) throw new DomainError('user_not_found', 'user not found', 'values');
      const member = (await getMember(db, retailerId, found.id))!;
      const defaults = await customProfileDefaults(db, retailerId);
      const user = renderUser(member, { identifiers: true, profileDefaults: defaults, availablePoints: toJson(await availablePoints(db, retailerId, member.id)) });
      const offers = b.include_offers === false ? [] : (await memberUsableOffers(db, retailerId, member.id, b.include_pending_extended_data ?? true, b.skip ?? 0, b.take ?? 100, b.culture)).items;
      // rendered with identifiers and the profile, which renderUser's type leaves optional
      return ok({ user: { ...user, user_custom_profile: user.user_profile } as Static<typeof OfferUser>, available_offers: offers });
    },
  );

  /** The offers a member can use now (usableOffers), a page of them. */
  const memberUsableOffers = async (db: Db, retailerId: string, memberId: string, includePending: boolean, skip: number, take: number, culture?: string) => {
    const page = await listUserOffers(db, retailerId, [memberId], { statuses: [STATUS.issued], skip: 0, take: 10000 });
    const usable = usableOffers(page.rows, await offersOf(db, retailerId, page.rows), { includePending });
    return { total: usable.length, items: usable.slice(skip, skip + take).map((u) => userOfferItem(u.userOffer, u.offer, culture)) };
  };

  app.post(
    '/2.0/offers/get_user_offers',
    {
      config: { replica: true },
      schema: {
        summary: "A member's issued offers (3.2.4)",
        description:
          "The member's issued, unexpired user offers, paged, with its point totals; those pending extended data only with include_pending_extended_data. Changes nothing.",
        tags,
        body: Type.Object({ ...ConnectBase, user_id: Id, include_pending_extended_data: Opt(Type.Boolean()), ...Page }),
        response: {
          200: connectAnswer(
            Obj({
              user_id: Uuid,
              user_offers: Type.Array(ConnectUserOfferItem),
              total_records: Type.Integer({ minimum: 0 }),
              offer_groups: Type.Array(OfferGroup, { description: 'one group, All Offers, with the all-zero id' }),
              offer_categories: NoCategories,
              total_points: Type.Number({ description: "the member's available balance over every point account" }),
              available_points: Type.Number({ description: "the default point accounts' available balance (every account's when none is default)" }),
            }),
          ),
          ...fails('not_found', 'user_not_found', 'multiple_matches'),
        },
      },
    },
    async (request) => {
      const b = request.body;
      const db = dbOf(request);
      const member = await memberOf(db, request, b.user_id);
      const offers = await memberUsableOffers(db, member.retailer_id, member.id, b.include_pending_extended_data ?? false, b.skip ?? 0, b.take ?? 100, b.culture);
      const balances = await memberBalances(db, member.retailer_id, member.id);
      return ok({
        user_id: member.id,
        user_offers: offers.items,
        total_records: offers.total,
        offer_groups: [{ id: NO_GROUP, name: 'All Offers', sort_order: 0 }],
        offer_categories: [],
        total_points: toJson(balances.total_points),
        available_points: toJson(await availablePoints(db, member.retailer_id, member.id)),
      });
    },
  );

  app.post(
    '/2.0/offers/get_user_offer_details',
    {
      config: { replica: true },
      schema: {
        summary: 'One user offer with its offer (3.2.5)',
        description: "A user offer in any status with the texts and media of the offer version issued, in the request's culture; with user_id it must be that member's. Changes nothing.",
        tags,
        body: Type.Object({ ...ConnectBase, user_id: Opt(Id), user_offer_id: Id }),
        response: {
          200: connectAnswer(
            Obj({
              user_id: Uuid,
              name: Type.String(),
              description: Type.String(),
              terms: Type.String(),
              media: Type.Array(ConnectOfferMedia),
              offer_type: Type.String(),
              division_id: Type.String(),
              check_level: Type.Boolean(),
              user_offer: ConnectUserOffer,
              child_offers: NoChildOffers,
              selected_offers: NoChildOffers,
            }),
          ),
          ...fails('not_found', 'user_not_found', 'multiple_matches', 'user_offer_not_found'),
        },
      },
    },
    async (request) => {
      const b = request.body;
      const retailerId = tenantOf(request).retailerId;
      const db = dbOf(request);
      const member = b.user_id ? await memberOf(db, request, b.user_id) : undefined;
      const uo = await findUserOffer(db, retailerId, b.user_offer_id);
      // found without its member: a user offer this process has just changed is read on the primary
      if (uo) noteMemberRead(db, uo.member_id);
      if (!uo || (member && uo.member_id !== member.id)) throw new DomainError('user_offer_not_found', `user offer ${b.user_offer_id} not found`, 'user_offer_id');
      const offer = await getOffer(db, retailerId, uo.offer_id, { exactVersion: true });
      const item = userOfferItem(uo, offer, b.culture);
      return ok({ user_id: uo.member_id, name: item.name, description: item.description, terms: item.terms, media: item.media, offer_type: offer.offer_type, division_id: offer.division_id, check_level: offer.check_level, user_offer: userOfferRecord(uo), child_offers: [], selected_offers: [] });
    },
  );

  app.post(
    '/2.0/offers/user_offer_history',
    {
      schema: {
        summary: 'User offers of members in every status, newest first (3.2.6)',
        description:
          'The user offers of the members named (member ids or external ids; unknown ones are skipped) in every status, or in the one asked for (4 expired includes issued offers past their end), newest first unless direction is 0, paged. Changes nothing.',
        tags,
        response: { 200: connectAnswer(Obj({ total_records: Type.Integer({ minimum: 0 }), results: Type.Array(UserOfferHistoryItem) })), ...fails('not_found', 'multiple_matches') },
        body: Type.Object({ ...ConnectBase, user_ids: Type.Array(Id, { minItems: 1, maxItems: 100 }), status: Opt(Type.Integer({ minimum: 1, maximum: 5 })), sort_column: Opt(Type.Integer()), direction: Opt(Type.Integer({ minimum: 0, maximum: 1 })), ...Page }),
      },
    },
    async (request) => {
      const b = request.body;
      const retailerId = tenantOf(request).retailerId;
      const ids: string[] = [];
      for (const ref of b.user_ids) {
        const m = await resolveMemberRef(db, retailerId, ref);
        if (m) ids.push(m.id);
      }
      const skip = b.skip ?? 0;
      const take = b.take ?? 100;
      const page = await listUserOffers(db, retailerId, ids, { statuses: b.status ? [b.status] : undefined, skip, take, descending: b.direction !== 0 });
      const offers = await offersOf(db, retailerId, page.rows);
      return ok({ total_records: page.total, results: page.rows.map((uo) => historyItem(uo, offers.get(uo.offer_id)!, { skip, take }, b.culture)) });
    },
  );

  // --- redemption (3.3.x)
  app.post(
    '/2.0/offers/redemption/redeem',
    {
      schema: {
        summary: 'Redeem a user offer on a transaction, computing its discount (3.3.1)',
        description:
          "Uses one use of the user offer on the transaction: computes the offer's discount on its basket (0 without one) and records the redemption; the offer is redeemed when no use is left. " +
          'It must be issued (or locked to this pos_transaction_key, or force_redeem), inside its redemption window and at a store its location restriction allows. ' +
          'With apply_lock_only it is locked to the transaction instead (pos_transaction_key required). A repeated Message-ID answers the first answer again.',
        tags,
        response: { 200: connectAnswer(ConnectRedemption), ...fails('not_found', 'user_offer_not_found', 'offer_locked', 'already_redeemed', 'offer_revoked', 'offer_expired', 'offer_not_yet_valid', 'store_not_allowed') },
        body: Type.Object({ ...ConnectBase, user_offer_id: Id, store_id: Opt(Id), transaction: Opt(Transaction), apply_lock_only: Opt(Type.Boolean()), force_redeem: Opt(Type.Boolean()) }),
      },
    },
    async (request) => {
      const b = request.body;
      const ctx = { storeId: b.transaction?.store_id ?? b.store_id, transactionKey: b.transaction?.pos_transaction_key, basket: b.transaction ? basketOf(b.transaction) : undefined, force: b.force_redeem };
      const result = await redeemOffer(db, actorOf(request), b.user_offer_id, ctx, { lockOnly: b.apply_lock_only });
      return ok(redemptionAnswer(result, b.apply_lock_only ? 'locked' : 'redeemed'));
    },
  );

  app.post(
    '/2.0/offers/redemption/manual_redeem',
    {
      schema: {
        summary: 'Mark a user offer used without a basket',
        description:
          "Records one use of the user offer with no discount computed (for integrations that apply it themselves), under the same rules as redeem; with user_id it must be that member's. " +
          'A repeated Message-ID answers the first answer again.',
        tags,
        body: Type.Object({ ...ConnectBase, user_offer_id: Id, user_id: Opt(Id), store_id: Opt(Id) }),
        response: { 200: connectAnswer(ConnectRedemption), ...fails('not_found', 'user_not_found', 'multiple_matches', 'user_offer_not_found', 'offer_locked', 'already_redeemed', 'offer_revoked', 'offer_expired', 'offer_not_yet_valid', 'store_not_allowed') },
      },
    },
    async (request) => {
      const b = request.body;
      const member = b.user_id ? await memberOf(db, request, b.user_id) : undefined;
      const result = await redeemMemberOffer(db, actorOf(request), b.user_offer_id, member?.id, { storeId: b.store_id, manual: true });
      return ok(redemptionAnswer(result, 'redeemed'));
    },
  );

  app.post(
    '/2.0/offers/redemption/lock',
    {
      schema: {
        summary: 'Reserve a user offer for one POS transaction (3.3.3)',
        description:
          'Locks the user offer to pos_transaction_key, under the same rules as redeem: no other transaction can redeem it until it is redeemed or unlocked. ' +
          'Locking again with the same key is allowed (the basket changed); the answer gives the discount on the basket. A repeated Message-ID answers the first answer again.',
        tags,
        body: Type.Object({ ...ConnectBase, user_offer_id: Id, user_id: Opt(Id), store_id: Opt(Id), pos_transaction_key: Type.String({ minLength: 1, maxLength: 200 }), transaction: Opt(Transaction) }),
        response: { 200: connectAnswer(ConnectRedemption), ...fails('not_found', 'user_offer_not_found', 'offer_locked', 'already_redeemed', 'offer_revoked', 'offer_expired', 'offer_not_yet_valid', 'store_not_allowed') },
      },
    },
    async (request) => {
      const b = request.body;
      const ctx = { storeId: b.store_id ?? b.transaction?.store_id, transactionKey: b.pos_transaction_key, basket: b.transaction ? basketOf(b.transaction) : undefined };
      const result = await lockOffer(db, actorOf(request), b.user_offer_id, ctx);
      return ok(redemptionAnswer(result, 'locked'));
    },
  );

  app.post(
    '/2.0/offers/redemption/unlock',
    {
      schema: {
        summary: 'Release a lock (3.3.4)',
        description:
          'Releases the lock on the user offer, which is issued again: by the pos_transaction_key that holds it, or by anyone with force_unlock. An offer that is not locked is refused. ' +
          'A repeated Message-ID answers the first answer again.',
        tags,
        body: Type.Object({ ...ConnectBase, user_offer_id: Id, store_id: Opt(Id), pos_transaction_key: Opt(Type.String({ maxLength: 200 })), force_unlock: Opt(Type.Boolean()) }),
        response: { 200: connectAnswer(ConnectUserOfferResult), ...fails('not_found', 'user_offer_not_found', 'offer_not_locked', 'offer_locked', 'already_redeemed', 'offer_revoked', 'offer_expired') },
      },
    },
    async (request) => {
      const b = request.body;
      const uo = await unlockOffer(db, actorOf(request), b.user_offer_id, { force: b.force_unlock, transactionKey: b.pos_transaction_key });
      return ok({ user_offer_id: uo.id, user_id: uo.member_id, user_offer: userOfferRecord(uo) });
    },
  );

  app.post(
    '/2.0/offers/redemption/reinstate',
    {
      schema: {
        summary: 'Return a redeemed user offer to issued (3.3.2)',
        description:
          "Reverts the user offer's latest redemption: the use is given back and the offer is issued again. An offer with no redemption left to revert, or revoked, is refused. " +
          'A repeated Message-ID answers the first answer again.',
        tags,
        body: Type.Object({ ...ConnectBase, user_offer_id: Id, store_id: Opt(Id) }),
        response: { 200: connectAnswer(ConnectUserOfferResult), ...fails('not_found', 'user_offer_not_found', 'offer_not_redeemed', 'offer_revoked') },
      },
    },
    async (request) => {
      const b = request.body;
      const uo = await reinstateOffer(db, actorOf(request), b.user_offer_id);
      return ok({ user_offer_id: uo.id, user_id: uo.member_id, user_offer: userOfferRecord(uo) });
    },
  );
};
