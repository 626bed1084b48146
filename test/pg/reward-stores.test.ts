// Reward stores (SPEC §5.7, issue 4 item 5) on PostgreSQL: the program's
// stores and store offers, the 3.4.x Connect endpoints, and purchases that
// spend points through the ledger and issue offers in one transaction.
import { transact } from '../../src/db/unit-of-work.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { pointsProgram, tierProgram, type PointsProgram, type TierProgram } from '../support/factories.js';
import type { Db } from '../../src/db/index.js';
import { applyOfferConfig, type OfferConfig } from '../../src/modules/offers/catalog.js';
import { applyRewardStoreConfig, type RewardStoreConfig } from '../../src/modules/reward-stores/config.js';

const STATEMENT = 'timelines/END_USER_MEMBER_STATEMENT';
const DAY = 86_400_000;
const past = new Date(Date.now() - 10 * DAY).toISOString();
const future = new Date(Date.now() + 10 * DAY).toISOString();

/** The ids of one tenant's program. */
interface Shop {
  tenant: TestTenant;
  p: PointsProgram;
  tiers: TierProgram;
  offers: { a: string; bRoot: string; bVersion: string; cap: string; free: string; off: string };
  stores: { main: string; gold: string; vip: string; closed: string; later: string };
  so: { a: string; b: string; cap: string; free: string; future: string; expired: string; off: string; gold: string; vip: string; closed: string; later: string };
}

function shopOffers(o: Shop['offers']): OfferConfig[] {
  return [
    {
      root_offer_id: o.a,
      offer_type: 'fixed_amount_discount',
      amount: '5',
      internal_title: 'Alpha Coffee',
      points: '100',
      pos_discount_id: 'POS-A',
      texts: [
        { culture: 'en-US', title: 'Free coffee', description: 'A coffee on us', terms: 'One per visit' },
        { culture: 'fr-FR', title: 'Café offert', description: 'Un café offert', terms: 'Un par visite' },
      ],
      media: [{ uri: 'https://example.com/coffee.png' }],
    },
    { root_offer_id: o.bRoot, id: o.bVersion, offer_type: 'fixed_amount_discount', amount: '2', internal_title: 'Bravo Bagel', points: '50' },
    { root_offer_id: o.cap, offer_type: 'percent_discount', amount: '10', internal_title: 'Echo Capped' },
    { root_offer_id: o.free, offer_type: 'fixed_amount_discount', amount: '1', internal_title: 'Charlie Free' },
    { root_offer_id: o.off, offer_type: 'fixed_amount_discount', amount: '1', internal_title: 'Delta Inactive', status: 0 },
  ];
}

function shopStores(s: Shop): RewardStoreConfig[] {
  const { stores, so, offers, p, tiers } = s;
  return [
    {
      id: stores.main,
      internal_name: 'Main',
      texts: [
        { culture: 'en-US', name: 'Main Store', description: 'Everything' },
        { culture: 'fr-FR', name: 'Boutique', description: 'Tout' },
      ],
      point_account_id: p.spendable,
      offers: [
        { id: so.a, offer_id: offers.a, price: 100 },
        { id: so.b, offer_id: offers.bVersion, price: '50', per_member_limit: 2 },
        { id: so.cap, offer_id: offers.cap, price: 10, total_limit: 3 },
        { id: so.free, offer_id: offers.free, price: 0 },
        { id: so.future, offer_id: offers.a, price: 30, start_date: future },
        { id: so.expired, offer_id: offers.a, price: 20, end_date: past },
        { id: so.off, offer_id: offers.off, price: 5 },
      ],
    },
    { id: stores.gold, internal_name: 'Gold Lounge', point_account_id: p.spendable, eligibility: { tier_level_ids: [tiers.levels.gold] }, offers: [{ id: so.gold, offer_id: offers.a, price: 10 }] },
    { id: stores.vip, internal_name: 'VIP Corner', point_account_id: p.spendable, eligibility: { tags: ['VIP'] }, offers: [{ id: so.vip, offer_id: offers.bRoot, price: 10 }] },
    { id: stores.closed, internal_name: 'Closed Shop', point_account_id: p.spendable, start_date: past, end_date: new Date(Date.now() - 5 * DAY).toISOString(), offers: [{ id: so.closed, offer_id: offers.a, price: 1 }] },
    { id: stores.later, internal_name: 'Later Market', point_account_id: p.spendable, start_date: future, offers: [{ id: so.later, offer_id: offers.a, price: 1 }] },
  ];
}

async function buildShop(db: Db, tenant: TestTenant): Promise<Shop> {
  const p = await pointsProgram(db, tenant.retailer_id);
  const tiers = await tierProgram(db, tenant.retailer_id, p.tier);
  const ids = <K extends string>(...keys: K[]) => Object.fromEntries(keys.map((k) => [k, randomUUID()])) as Record<K, string>;
  const shop: Shop = {
    tenant,
    p,
    tiers,
    offers: ids('a', 'bRoot', 'bVersion', 'cap', 'free', 'off'),
    stores: ids('main', 'gold', 'vip', 'closed', 'later'),
    so: ids('a', 'b', 'cap', 'free', 'future', 'expired', 'off', 'gold', 'vip', 'closed', 'later'),
  };
  await transact(db, async (tx) => {
    await applyOfferConfig(tx, tenant.retailer_id, shopOffers(shop.offers));
    await applyRewardStoreConfig(tx, tenant.retailer_id, shopStores(shop));
  });
  return shop;
}

describe('reward stores on PostgreSQL', () => {
  let t: TestApp;
  let shop: Shop;
  let other: TestTenant;
  before(async () => {
    t = await postgresApp();
    shop = await buildShop(t.db, await createTenant(t.db));
    other = await createTenant(t.db);
  });

  const connect = (path: string, body: Record<string, unknown>, tenant: TestTenant = shop.tenant) =>
    call(t.app, {
      method: 'POST',
      url: `/offers/api/2.0/offers/rewardstores/${path}`,
      headers: { authorization: tenant.connect },
      payload: { retailer_id: tenant.retailer_id, culture: 'en-US', ...body },
    });
  const purchase = (userId: string, storeId: string, storeOfferId: string, extra: Record<string, unknown> = {}, tenant: TestTenant = shop.tenant) =>
    connect('purchase_offer', { reward_store_id: storeId, user_id: userId, reward_store_offer_id: storeOfferId, quantity: 1, ...extra }, tenant);
  const storeOffers = (body: Record<string, unknown>) => connect('get_reward_store_offers', { reward_store_ids: [shop.stores.main], skip: 0, take: 100, ...body });

  async function deposit(userId: string, amount: number, account = shop.p.spendable, s: { tenant: TestTenant; p: PointsProgram } = shop) {
    const res = await call(t.app, {
      method: 'POST',
      url: '/incentives/api/2.0/user_points/deposit',
      headers: { authorization: s.tenant.connect },
      payload: { retailer_id: s.tenant.retailer_id, user_id: userId, deposit_details: [{ point_account_id: account, amount, point_source_id: s.p.source }] },
    });
    assert.equal(res.status, 200, res.body);
  }
  async function available(userId: string, s: { tenant: TestTenant; p: PointsProgram } = shop): Promise<number> {
    const res = await call(t.app, {
      method: 'POST',
      url: '/incentives/api/2.0/user_points/balance',
      headers: { authorization: s.tenant.connect },
      payload: { retailer_id: s.tenant.retailer_id, user_id: userId },
    });
    assert.equal(res.status, 200, res.body);
    return res.json.payload.details.find((d: any) => d.point_account_id === s.p.spendable).available_balance;
  }
  /** A member with `points` in the spendable account. */
  async function member(points = 0) {
    const m = await createMemberViaApi(t.app, shop.tenant);
    if (points) await deposit(m.id, points);
    return m;
  }
  const spends = async (memberId: string) =>
    (
      await sql<{ amount: string; reference_id: string | null; reference_type: string | null; modification_type: string; point_account_id: string }>`
        SELECT amount::text, reference_id, reference_type, modification_type, point_account_id FROM point_ledger WHERE member_id = ${memberId} AND amount < 0 ORDER BY id`.execute(t.db)
    ).rows;
  const userOffers = (memberId: string) => t.db.selectFrom('user_offers').selectAll().where('member_id', '=', memberId).orderBy('acquired_at').orderBy('id').execute();
  async function purchasedEntries(memberId: string) {
    const res = await call(t.app, { method: 'GET', url: `${shop.tenant.base}/users/${memberId}/${STATEMENT}?event_types=OFFER_PURCHASED`, headers: { authorization: shop.tenant.core } });
    assert.equal(res.status, 200, res.body);
    return res.json.result as any[];
  }
  const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

  describe('program configuration', () => {
    it('applies idempotently, resolves version ids to the root, and retires what is left out without deleting it', async () => {
      const tenant = await createTenant(t.db);
      const s = await buildShop(t.db, tenant);
      const rows = () => t.db.selectFrom('reward_store_offers').select(['id', 'root_offer_id', 'price', 'retired_at']).where('retailer_id', '=', tenant.retailer_id).orderBy('id').execute();
      const storeRows = () => t.db.selectFrom('reward_stores').select(['id', 'retired_at']).where('retailer_id', '=', tenant.retailer_id).orderBy('id').execute();
      const before = { offers: await rows(), stores: await storeRows() };
      assert.equal(before.offers.find((r) => r.id === s.so.b)!.root_offer_id, s.offers.bRoot, 'a version id names its root');
      await transact(t.db, (tx) => applyRewardStoreConfig(tx, tenant.retailer_id, shopStores(s)));
      assert.deepEqual(await rows(), before.offers, 'applying the same program again changes nothing');
      assert.deepEqual(await storeRows(), before.stores);

      const fewer = shopStores(s).filter((c) => c.id !== s.stores.vip);
      fewer[0].offers = fewer[0].offers.filter((o) => o.id !== s.so.free);
      await transact(t.db, (tx) => applyRewardStoreConfig(tx, tenant.retailer_id, fewer));
      const retired = (await storeRows()).filter((r) => r.retired_at).map((r) => r.id);
      assert.deepEqual(retired, [s.stores.vip]);
      const retiredOffers = (await rows()).filter((r) => r.retired_at).map((r) => r.id).sort();
      assert.deepEqual(retiredOffers, [s.so.free, s.so.vip].sort(), 'a store offer left out, and the offers of a retired store');
      assert.equal((await rows()).length, before.offers.length, 'nothing is deleted');
      const listed = await connect('get_reward_stores', {}, tenant);
      assert.ok(!ids(listed.json.payload.reward_stores).includes(s.stores.vip));

      await transact(t.db, (tx) => applyRewardStoreConfig(tx, tenant.retailer_id, shopStores(s)));
      assert.deepEqual((await rows()).filter((r) => r.retired_at), [], 'listing them again brings them back');

      const unknownOffer = shopStores(s);
      unknownOffer[0].offers[0].offer_id = randomUUID();
      await assert.rejects(
        transact(t.db, (tx) => applyRewardStoreConfig(tx, tenant.retailer_id, unknownOffer)),
        (err: any) => err.code === 'validation' && /offer_id/.test(err.message),
      );
      const unknownAccount = shopStores(s);
      unknownAccount[1].point_account_id = randomUUID();
      await assert.rejects(
        transact(t.db, (tx) => applyRewardStoreConfig(tx, tenant.retailer_id, unknownAccount)),
        (err: any) => err.code === 'validation' && /point_account_id/.test(err.message),
      );
    });
  });

  describe('get_reward_stores (3.4.1)', () => {
    it('lists the stores in the shape the Connect API answers, as the collection asks', async () => {
      const res = await connect('get_reward_stores', {
        search_name: '',
        search_eligibility: [],
        search_active_date: '',
        filters: [],
        search_reward_store_ids: [],
        sort_column: '',
        sort_direction: 'asc',
        skip: 0,
        take: 10,
      });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.status, 'ok');
      const { reward_stores, total_rows, skip, take } = res.json.payload;
      assert.deepEqual([total_rows, skip, take], [5, 0, 10]);
      // start_date ascending: stores without one come first
      assert.deepEqual(ids(reward_stores).slice(-2), [shop.stores.closed, shop.stores.later]);
      const main = reward_stores.find((s: any) => s.id === shop.stores.main);
      assert.deepEqual(main, {
        id: shop.stores.main,
        internal_name: 'Main',
        name: 'Main Store',
        description: 'Everything',
        point_account_id: shop.p.spendable,
        start_date: null,
        end_date: null,
        eligibility: { tier_level_ids: [], tags: [] },
        is_active: true,
      });
      const closed = reward_stores.find((s: any) => s.id === shop.stores.closed);
      assert.match(closed.start_date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(closed.is_active, false);
      assert.deepEqual(reward_stores.find((s: any) => s.id === shop.stores.gold).eligibility, { tier_level_ids: [shop.tiers.levels.gold], tags: [] });
    });

    it('answers names in the culture asked for, with fallback', async () => {
      const name = async (culture: string) => (await connect('get_reward_stores', { culture, search_reward_store_ids: [shop.stores.main] })).json.payload.reward_stores[0].name;
      assert.equal(await name('fr-FR'), 'Boutique');
      assert.equal(await name('fr_FR'), 'Boutique');
      assert.equal(await name('fr'), 'Boutique');
      assert.equal(await name('en_US'), 'Main Store');
      assert.equal(await name('de-DE'), 'Main Store', 'an unknown culture falls back to the first text');
      const gold = await connect('get_reward_stores', { search_reward_store_ids: [shop.stores.gold.toUpperCase()] });
      assert.equal(gold.json.payload.reward_stores[0].name, 'Gold Lounge', 'a store without texts is named by its internal name');
    });

    it('searches by name in any culture, ids, eligibility and active date; sorts and pages', async () => {
      const find = async (body: Record<string, unknown>) => {
        const res = await connect('get_reward_stores', body);
        assert.equal(res.status, 200, res.body);
        return ids(res.json.payload.reward_stores);
      };
      assert.deepEqual(await find({ search_name: 'boutique' }), [shop.stores.main]);
      assert.deepEqual(await find({ search_name: 'LOUNGE' }), [shop.stores.gold]);
      assert.deepEqual(await find({ search_name: '%' }), []);
      assert.deepEqual(await find({ search_reward_store_ids: [shop.stores.vip, shop.stores.gold], sort_column: 'internal_name' }), [shop.stores.gold, shop.stores.vip]);
      assert.deepEqual(await find({ search_eligibility: ['vip'] }), [shop.stores.vip]);
      assert.deepEqual(await find({ search_eligibility: [shop.tiers.levels.gold] }), [shop.stores.gold]);
      const today = new Date().toISOString().slice(0, 10);
      assert.deepEqual((await find({ search_active_date: today, sort_column: 'internal_name' })), [shop.stores.gold, shop.stores.main, shop.stores.vip]);
      const eightDaysAgo = new Date(Date.now() - 8 * DAY).toISOString().slice(0, 10);
      assert.ok((await find({ search_active_date: eightDaysAgo })).includes(shop.stores.closed));
      const byName = [shop.stores.closed, shop.stores.gold, shop.stores.later, shop.stores.main, shop.stores.vip];
      assert.deepEqual(await find({ sort_column: 'internal_name', sort_direction: 'desc' }), [...byName].reverse());
      const second = await connect('get_reward_stores', { sort_column: 'internal_name', skip: 2, take: 2 });
      assert.deepEqual(ids(second.json.payload.reward_stores), byName.slice(2, 4));
      assert.equal(second.json.payload.total_rows, 5);
      assert.deepEqual(await find({ sort_column: 'end_date' }), [shop.stores.closed, ...[shop.stores.gold, shop.stores.later, shop.stores.main, shop.stores.vip].sort()]);
    });

    it('refuses bad paging and sorting with 400', async () => {
      for (const body of [{ take: 1001 }, { take: 0 }, { skip: -1 }, { sort_column: 'price' }, { sort_direction: 'sideways' }]) {
        const res = await connect('get_reward_stores', body);
        assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.body}`);
        assert.equal(res.json.errors.code, 'argument_error');
      }
    });
  });

  describe('get_reward_store_offers (3.4.2)', () => {
    it('lists store offers with their offer details, as the collection asks', async () => {
      const res = await storeOffers({ limit_to_only_active: false, exclude_free_offers: false, include_expired: true, skip: 0, take: 10, sort_column: '', sort_direction: 'asc' });
      assert.equal(res.status, 200, res.body);
      const { reward_store_offers, total_rows, skip, take } = res.json.payload;
      assert.deepEqual([total_rows, skip, take], [7, 0, 10]);
      assert.equal(reward_store_offers.at(-1).id, shop.so.future, 'start_date ascending: the one starting later comes last');
      const a = reward_store_offers.find((o: any) => o.id === shop.so.a);
      const media = a.offer_details.media;
      assert.equal(media.length, 1);
      assert.equal(media[0].uri, 'https://example.com/coffee.png');
      assert.deepEqual(a, {
        id: shop.so.a,
        root_offer_id: shop.offers.a,
        offer_id: shop.offers.a,
        reward_store_id: shop.stores.main,
        price: 100,
        start_date: null,
        end_date: null,
        offer_details: {
          internal_name: 'Alpha Coffee',
          title: 'Free coffee',
          description: 'A coffee on us',
          terms: 'One per visit',
          media,
          points: 100,
          acquisition_start_date: null,
          acquisition_end_date: null,
          pos_discount_id: 'POS-A',
          offer_status: 1,
        },
      });
      const b = reward_store_offers.find((o: any) => o.id === shop.so.b);
      assert.deepEqual([b.root_offer_id, b.offer_id, b.price, b.per_member_limit], [shop.offers.bRoot, shop.offers.bVersion, 50, 2]);
      assert.equal(reward_store_offers.find((o: any) => o.id === shop.so.cap).total_limit, 3);
      const fr = await storeOffers({ culture: 'fr', include_expired: true });
      assert.equal(fr.json.payload.reward_store_offers.find((o: any) => o.id === shop.so.a).offer_details.title, 'Café offert');
    });

    it('filters: expired, only active, free, price range; sorts by internal_name and end_date', async () => {
      const find = async (body: Record<string, unknown>) => {
        const res = await storeOffers(body);
        assert.equal(res.status, 200, res.body);
        assert.equal(res.json.payload.total_rows, res.json.payload.reward_store_offers.length);
        return ids(res.json.payload.reward_store_offers).sort();
      };
      const { so } = shop;
      const all = [so.a, so.b, so.cap, so.free, so.future, so.expired, so.off];
      assert.deepEqual(await find({ include_expired: true }), [...all].sort());
      assert.deepEqual(await find({}), all.filter((id) => id !== so.expired).sort(), 'expired ones are left out unless asked for');
      assert.deepEqual(await find({ limit_to_only_active: true, include_expired: true }), [so.a, so.b, so.cap, so.free].sort(), 'not started, ended, or an inactive offer');
      assert.deepEqual(await find({ limit_to_only_active: 'true', exclude_free_offers: 'true' }), [so.a, so.b, so.cap].sort());
      assert.deepEqual(await find({ include_expired: true, min_price: 10, max_price: '50' }), [so.b, so.cap, so.future, so.expired].sort());
      assert.deepEqual(await find({ include_expired: true, price_range: { min: 20 } }), [so.a, so.b, so.future, so.expired].sort());
      const byName = await storeOffers({ limit_to_only_active: true, sort_column: 'internal_name' });
      assert.deepEqual(ids(byName.json.payload.reward_store_offers), [so.a, so.b, so.free, so.cap], 'Alpha, Bravo, Charlie, Echo');
      const byEnd = await storeOffers({ include_expired: true, sort_column: 'end_date', sort_direction: 'desc' });
      assert.equal(byEnd.json.payload.reward_store_offers.at(-1).id, so.expired, 'no end date sorts as the latest');
      const paged = await storeOffers({ include_expired: true, sort_column: 'internal_name', skip: 1, take: 2 });
      assert.deepEqual([paged.json.payload.total_rows, paged.json.payload.reward_store_offers.length], [7, 2]);
      const two = await connect('get_reward_store_offers', { reward_store_ids: [shop.stores.main, shop.stores.gold], limit_to_only_active: true });
      assert.ok(ids(two.json.payload.reward_store_offers).includes(so.gold));
    });

    it('with user_id: only what the member can buy now (eligible store, limits, balance)', async () => {
      const m = await member(60);
      const res = await connect('get_reward_store_offers', { reward_store_ids: [shop.stores.main, shop.stores.gold, shop.stores.vip], user_id: m.id, include_expired: true });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(ids(res.json.payload.reward_store_offers).sort(), [shop.so.b, shop.so.cap, shop.so.free].sort(), 'not Alpha at 100 points, nothing from the gold or VIP stores');
      const twice = await connect('get_reward_store_offers', { reward_store_ids: [shop.stores.main], user_id: m.external_id, quantity: 2 });
      assert.deepEqual(ids(twice.json.payload.reward_store_offers).sort(), [shop.so.cap, shop.so.free].sort(), 'Bravo twice costs 100');
      assert.equal((await purchase(m.id, shop.stores.main, shop.so.b, { quantity: 1 })).status, 200);
      const after = await connect('get_reward_store_offers', { reward_store_ids: [shop.stores.main], user_id: m.id });
      assert.deepEqual(ids(after.json.payload.reward_store_offers).sort(), [shop.so.cap, shop.so.free].sort(), '10 points left');
    });

    it('refuses more than 100 stores, take over 1000, and unknown stores', async () => {
      const many = await connect('get_reward_store_offers', { reward_store_ids: Array.from({ length: 101 }, () => randomUUID()) });
      assert.equal(many.status, 400, many.body);
      const big = await storeOffers({ take: 1001 });
      assert.equal(big.status, 400, big.body);
      const unknown = await connect('get_reward_store_offers', { reward_store_ids: [shop.stores.main, randomUUID()] });
      assert.equal(unknown.status, 404, unknown.body);
      assert.equal(unknown.json.errors.code, 'reward_store_not_found');
      const notUuid = await connect('get_reward_store_offers', { reward_store_ids: ['store-1'] });
      assert.equal(notUuid.json.errors.code, 'reward_store_not_found');
      const unknownMember = await storeOffers({ user_id: randomUUID() });
      assert.equal(unknownMember.json.errors.code, 'user_not_found');
    });
  });

  describe('get_reward_stores_containing_offer (3.4.3)', () => {
    it('lists the stores selling an offer named by root or version id', async () => {
      const res = await connect('get_reward_stores_containing_offer', { offer_id: shop.offers.a, sort_column: 'internal_name', sort_direction: 'asc', skip: 0, take: 10 });
      assert.equal(res.status, 200, res.body);
      const { reward_stores, total_rows } = res.json.payload;
      assert.equal(total_rows, 4);
      assert.deepEqual(ids(reward_stores), [shop.stores.closed, shop.stores.gold, shop.stores.later, shop.stores.main]);
      assert.deepEqual(reward_stores[3].reward_store_offer_ids, [shop.so.a, shop.so.future, shop.so.expired].sort());
      const byVersion = await connect('get_reward_stores_containing_offer', { offer_id: shop.offers.bVersion.toUpperCase(), sort_column: 'internal_name' });
      assert.deepEqual(ids(byVersion.json.payload.reward_stores), [shop.stores.main, shop.stores.vip]);
      assert.equal(byVersion.json.payload.root_offer_id, shop.offers.bRoot);
      const unknown = await connect('get_reward_stores_containing_offer', { offer_id: randomUUID() });
      assert.equal(unknown.status, 404, unknown.body);
      assert.equal(unknown.json.errors.code, 'offer_not_found');
    });
  });

  describe('eligibility and get_user_reward_stores (3.4.5)', () => {
    const userStores = async (userId: string, extra: Record<string, unknown> = {}) => {
      const res = await connect('get_user_reward_stores', { user_id: userId, sort_column: 'start_date', sort_direction: 'asc', skip: 0, take: 10, include_point_balances: true, ...extra });
      assert.equal(res.status, 200, res.body);
      return res;
    };

    it('a member without levels or tags may use only the open stores that are active', async () => {
      const m = await member(75);
      const res = await userStores(m.id);
      assert.deepEqual(ids(res.json.payload.reward_stores), [shop.stores.main]);
      assert.equal(res.json.payload.total_rows, 1);
      assert.deepEqual(res.json.payload.reward_stores[0].point_balance, {
        point_account_id: shop.p.spendable,
        account_name: 'Spendable',
        user_point_account_id: res.json.payload.reward_stores[0].point_balance.user_point_account_id,
        available_balance: 75,
        life_time_value: 75,
      });
      const without = await userStores(m.external_id, { include_point_balances: false });
      assert.equal(without.json.payload.reward_stores[0].point_balance, undefined);
      assert.equal(without.json.payload.user_id, m.id);
    });

    it('a tag the store lists makes the member eligible (case-insensitively); an expired tag does not', async () => {
      const m = await member(100);
      const tag = await call(t.app, { method: 'POST', url: `${shop.tenant.base}/users/${m.id}/tags`, headers: { authorization: shop.tenant.core }, payload: { tags: ['vip'] } });
      assert.equal(tag.status, 200, tag.body);
      assert.deepEqual(ids((await userStores(m.id, { sort_column: 'internal_name' })).json.payload.reward_stores), [shop.stores.main, shop.stores.vip]);
      assert.equal((await purchase(m.id, shop.stores.vip, shop.so.vip)).status, 200);
      await sql`UPDATE member_tags SET expires_at = now() - interval '1 minute' WHERE member_id = ${m.id}`.execute(t.db);
      assert.deepEqual(ids((await userStores(m.id)).json.payload.reward_stores), [shop.stores.main]);
      const refused = await purchase(m.id, shop.stores.vip, shop.so.vip);
      assert.equal(refused.status, 422, refused.body);
      assert.equal(refused.json.errors.code, 'member_not_eligible');
    });

    it('a tier level the store lists makes the member eligible', async () => {
      const m = await member(100);
      const refused = await purchase(m.id, shop.stores.gold, shop.so.gold);
      assert.equal(refused.status, 422, refused.body);
      assert.equal(refused.json.errors.code, 'member_not_eligible');
      await deposit(m.id, 600, shop.p.tier);
      assert.deepEqual(ids((await userStores(m.id, { sort_column: 'internal_name' })).json.payload.reward_stores), [shop.stores.gold, shop.stores.main]);
      const bought = await purchase(m.id, shop.stores.gold, shop.so.gold);
      assert.equal(bought.status, 200, bought.body);
      assert.equal(bought.json.payload.remaining_balance, 90);
      const silver = await member(0);
      await deposit(silver.id, 150, shop.p.tier);
      assert.deepEqual(ids((await userStores(silver.id)).json.payload.reward_stores), [shop.stores.main], 'silver is not gold');
    });
  });

  describe('purchase_offer (3.4.4)', () => {
    it('spends the price through the ledger and issues the offer, as the collection asks', async () => {
      const m = await member(250);
      const res = await purchase(m.id, shop.stores.main, shop.so.a, { quantity: 1, culture: 'en-US' });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.status, 'ok');
      const payload = res.json.payload;
      const [uo] = await userOffers(m.id);
      assert.deepEqual(
        { ...payload, user_offers: undefined },
        {
          user_id: m.id,
          user_offer_id: uo.id,
          offer_id: shop.offers.a,
          root_offer_id: shop.offers.a,
          reward_store_id: shop.stores.main,
          reward_store_offer_id: shop.so.a,
          quantity: 1,
          point_account_id: shop.p.spendable,
          price: 100,
          points_spent: 100,
          remaining_balance: 150,
          user_offers: undefined,
        },
      );
      assert.equal(payload.user_offers.length, 1);
      assert.deepEqual(
        { ...payload.user_offers[0], acquire_date: undefined, redemption_start_date: undefined },
        {
          user_offer_id: uo.id,
          offer_id: shop.offers.a,
          root_offer_id: shop.offers.a,
          reward_store_id: shop.stores.main,
          reward_store_offer_id: shop.so.a,
          points_spent: 100,
          remaining_balance: 150,
          status: 1,
          acquire_date: undefined,
          redemption_start_date: undefined,
          redemption_end_date: null,
        },
      );
      assert.match(payload.user_offers[0].acquire_date, /Z$/);

      assert.deepEqual([uo.source, uo.reward_store_offer_id, uo.offer_id, uo.status], ['purchase', shop.so.a, shop.offers.a, 1]);
      assert.deepEqual(await spends(m.id), [{ amount: '-100.0000', reference_id: shop.so.a, reference_type: 'reward_store_purchase', modification_type: 'spend', point_account_id: shop.p.spendable }]);
      assert.equal(await available(m.id), 150);
      const entries = await purchasedEntries(m.id);
      assert.equal(entries.length, 1);
      assert.equal(entries[0].event_stream_payload.UserOfferID, uo.id);
      const spendEntries = await call(t.app, { method: 'GET', url: `${shop.tenant.base}/users/${m.id}/${STATEMENT}?event_types=INCENTIVES_POINT_SPEND`, headers: { authorization: shop.tenant.core } });
      assert.equal(spendEntries.json.result.length, 1);
    });

    it('takes an external id, upper-case ids, and quantity as a string', async () => {
      const m = await member(100);
      const res = await purchase(m.external_id, shop.stores.main.toUpperCase(), shop.so.b.toUpperCase(), { quantity: '1' });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual([res.json.payload.user_id, res.json.payload.offer_id, res.json.payload.root_offer_id], [m.id, shop.offers.bVersion, shop.offers.bRoot]);
      const noQuantity = await purchase(m.id, shop.stores.main, shop.so.free, { quantity: undefined });
      assert.equal(noQuantity.status, 200, noQuantity.body);
    });

    it('quantity 2 spends twice the price and issues two user offers', async () => {
      const m = await member(250);
      const res = await purchase(m.id, shop.stores.main, shop.so.a, { quantity: 2 });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual([res.json.payload.quantity, res.json.payload.points_spent, res.json.payload.remaining_balance], [2, 200, 50]);
      const issued = await userOffers(m.id);
      assert.equal(issued.length, 2);
      assert.deepEqual(ids(res.json.payload.user_offers.map((u: any) => ({ id: u.user_offer_id }))).sort(), ids(issued).sort());
      assert.deepEqual((await spends(m.id)).map((s) => s.amount), ['-200.0000']);
      assert.equal((await purchasedEntries(m.id)).length, 2);
      assert.equal(await available(m.id), 50);
    });

    it('a free store offer spends nothing and still issues', async () => {
      const m = await member(5);
      const res = await purchase(m.id, shop.stores.main, shop.so.free);
      assert.equal(res.status, 200, res.body);
      assert.deepEqual([res.json.payload.points_spent, res.json.payload.remaining_balance], [0, 5]);
      assert.deepEqual(await spends(m.id), []);
      assert.equal((await userOffers(m.id)).length, 1);
    });

    it('with too few points fails with insufficient_points and changes nothing', async () => {
      const m = await member(99);
      const res = await purchase(m.id, shop.stores.main, shop.so.a);
      assert.equal(res.status, 422, res.body);
      assert.equal(res.json.status, 'error');
      assert.equal(res.json.errors.code, 'insufficient_points');
      assert.match(res.json.errors.message, /100 points/);
      const twice = await purchase(m.id, shop.stores.main, shop.so.b, { quantity: 2 });
      assert.equal(twice.json.errors.code, 'insufficient_points', 'two at 50 cost 100');
      assert.deepEqual(await userOffers(m.id), []);
      assert.deepEqual(await spends(m.id), []);
      assert.equal(await available(m.id), 99);
      assert.deepEqual(await purchasedEntries(m.id), []);
      const broke = await member(0);
      assert.equal((await purchase(broke.id, shop.stores.main, shop.so.cap)).json.errors.code, 'insufficient_points');
    });

    it('keeps to the per-member limit, not counting revoked user offers', async () => {
      const m = await member(500);
      assert.equal((await purchase(m.id, shop.stores.main, shop.so.b)).status, 200);
      const overByTwo = await purchase(m.id, shop.stores.main, shop.so.b, { quantity: 2 });
      assert.equal(overByTwo.status, 422, overByTwo.body);
      assert.equal(overByTwo.json.errors.code, 'purchase_limit_reached');
      assert.equal((await purchase(m.id, shop.stores.main, shop.so.b)).status, 200);
      const third = await purchase(m.id, shop.stores.main, shop.so.b);
      assert.equal(third.json.errors.code, 'purchase_limit_reached');
      assert.equal(await available(m.id), 400, 'refusals spend nothing');
      assert.equal((await userOffers(m.id)).length, 2);
      await sql`UPDATE user_offers SET status = 3 WHERE id = ${(await userOffers(m.id))[0].id}`.execute(t.db);
      assert.equal((await purchase(m.id, shop.stores.main, shop.so.b)).status, 200, 'a revoked one frees its place');
      const second = await member(100);
      assert.equal((await purchase(second.id, shop.stores.main, shop.so.b, { quantity: 2 })).status, 200, 'the limit is per member');
    });

    it('keeps to the total limit across members', async () => {
      const first = await member(100);
      const second = await member(100);
      assert.equal((await purchase(first.id, shop.stores.main, shop.so.cap, { quantity: 2 })).status, 200);
      const tooMany = await purchase(second.id, shop.stores.main, shop.so.cap, { quantity: 2 });
      assert.equal(tooMany.status, 422, tooMany.body);
      assert.equal(tooMany.json.errors.code, 'inventory_exhausted');
      assert.equal((await purchase(second.id, shop.stores.main, shop.so.cap)).status, 200);
      const gone = await purchase(second.id, shop.stores.main, shop.so.cap);
      assert.equal(gone.json.errors.code, 'inventory_exhausted');
      assert.equal(await available(second.id), 90);
    });

    it('refuses a store or store offer that is not open, and an inactive offer', async () => {
      const m = await member(500);
      for (const [store, storeOffer, what] of [
        [shop.stores.closed, shop.so.closed, 'a store that has closed'],
        [shop.stores.later, shop.so.later, 'a store not open yet'],
        [shop.stores.main, shop.so.future, 'a store offer not on sale yet'],
        [shop.stores.main, shop.so.expired, 'a store offer no longer on sale'],
        [shop.stores.main, shop.so.off, 'an inactive offer'],
      ]) {
        const res = await purchase(m.id, store, storeOffer);
        assert.equal(res.status, 422, `${what}: ${res.body}`);
        assert.equal(res.json.errors.code, 'offer_not_available', what);
      }
      assert.equal(await available(m.id), 500);
      assert.deepEqual(await userOffers(m.id), []);
    });

    it('answers 404 codes for an unknown store, store offer, member, and another retailer', async () => {
      const m = await member(500);
      const unknownStore = await purchase(m.id, randomUUID(), shop.so.a);
      assert.deepEqual([unknownStore.status, unknownStore.json.errors.code], [404, 'reward_store_not_found']);
      const unknownOffer = await purchase(m.id, shop.stores.main, randomUUID());
      assert.deepEqual([unknownOffer.status, unknownOffer.json.errors.code], [404, 'store_offer_not_found']);
      const elsewhere = await purchase(m.id, shop.stores.main, shop.so.gold);
      assert.deepEqual([elsewhere.status, elsewhere.json.errors.code], [404, 'store_offer_not_found'], 'a store offer of another store');
      const notUuid = await purchase(m.id, 'store', 'offer');
      assert.deepEqual([notUuid.status, notUuid.json.errors.code], [404, 'reward_store_not_found']);
      const unknownMember = await purchase(randomUUID(), shop.stores.main, shop.so.a);
      assert.deepEqual([unknownMember.status, unknownMember.json.errors.code], [404, 'user_not_found']);
      // another retailer's credentials do not reach this retailer's stores
      const foreign = await purchase(m.id, shop.stores.main, shop.so.a, {}, other);
      assert.deepEqual([foreign.status, foreign.json.errors.code], [404, 'user_not_found']);
      const foreignStore = await connect('get_reward_store_offers', { reward_store_ids: [shop.stores.main] }, other);
      assert.deepEqual([foreignStore.status, foreignStore.json.errors.code], [404, 'reward_store_not_found']);
      assert.equal(await available(m.id), 500);
    });

    it('refuses a bad quantity with 400', async () => {
      const m = await member(500);
      for (const quantity of [0, -1, 1.5, 'two', 101]) {
        const res = await purchase(m.id, shop.stores.main, shop.so.a, { quantity });
        assert.equal(res.status, 400, `${quantity}: ${res.body}`);
      }
      assert.equal(await available(m.id), 500);
    });

    it('concurrent purchases never overspend the balance', async () => {
      const m = await member(300);
      const results = await Promise.all(Array.from({ length: 10 }, () => purchase(m.id, shop.stores.main, shop.so.a)));
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 200, 200, 422, 422, 422, 422, 422, 422, 422], results.map((r) => r.body).join('\n'));
      assert.ok(results.filter((r) => r.status === 422).every((r) => r.json.errors.code === 'insufficient_points'));
      assert.equal(await available(m.id), 0);
      assert.equal((await userOffers(m.id)).length, 3);
      assert.equal((await spends(m.id)).length, 3);
      const remaining = results.filter((r) => r.status === 200).map((r) => r.json.payload.remaining_balance).sort();
      assert.deepEqual(remaining, [0, 100, 200]);
    });

    it('concurrent purchases by many members never exceed the total limit', async () => {
      const capped = await member(0);
      const members = await Promise.all(Array.from({ length: 6 }, () => member(50)));
      // a fresh store offer limited to 3, in a program that keeps everything else
      const storeOfferId = randomUUID();
      const stores = shopStores(shop);
      stores[0].offers.push({ id: storeOfferId, offer_id: shop.offers.cap, price: 10, total_limit: 3 });
      await transact(t.db, (tx) => applyRewardStoreConfig(tx, shop.tenant.retailer_id, stores));
      const results = await Promise.all(members.map((m) => purchase(m.id, shop.stores.main, storeOfferId)));
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 200, 422, 422, 422], results.map((r) => r.body).join('\n'));
      assert.ok(results.filter((r) => r.status === 422).every((r) => r.json.errors.code === 'inventory_exhausted'));
      const { n } = await t.db.selectFrom('user_offers').select((eb) => eb.fn.countAll<string>().as('n')).where('reward_store_offer_id', '=', storeOfferId).executeTakeFirstOrThrow();
      assert.equal(Number(n), 3);
      assert.equal((await purchase(capped.id, shop.stores.main, storeOfferId)).json.errors.code, 'inventory_exhausted');
    });
  });

  describe('retailer checks', () => {
    it('answers 404 when the body names another retailer, on every route', async () => {
      const m = await member(0);
      for (const [path, body] of [
        ['get_reward_stores', {}],
        ['get_reward_store_offers', { reward_store_ids: [shop.stores.main] }],
        ['get_reward_stores_containing_offer', { offer_id: shop.offers.a }],
        ['get_user_reward_stores', { user_id: m.id }],
        ['purchase_offer', { user_id: m.id, reward_store_id: shop.stores.main, reward_store_offer_id: shop.so.free }],
      ] as const) {
        const res = await connect(path, { ...body, retailer_id: other.retailer_id });
        assert.equal(res.status, 404, `${path}: ${res.body}`);
        assert.equal(res.json.errors.code, 'not_found', path);
      }
      assert.deepEqual(await userOffers(m.id), []);
    });

    it('needs Connect credentials', async () => {
      const res = await call(t.app, { method: 'POST', url: '/offers/api/2.0/offers/rewardstores/get_reward_stores', headers: { authorization: shop.tenant.core }, payload: { retailer_id: shop.tenant.retailer_id } });
      assert.equal(res.status, 401, res.body);
    });
  });
});
