// Offer info endpoints (SPEC §5.6, collection 3.2.x) on PostgreSQL: the
// catalog (fetch_offers_overview, fetch_offers_details, fetch_offer) with its
// filters, paging, counts and texts per culture, and what a member holds
// (get_user, get_user_offers, get_user_offer_details, user_offer_history).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { offersProgram } from '../support/factories.js';

const DAY = 86_400_000;
const inDays = (n: number) => new Date(Date.now() + n * DAY).toISOString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const NO_GROUP = '00000000-0000-0000-0000-000000000000';
const MEDIA = 'http://cdn.loyaltr.ee/mobile/568D75D8-F935-4A91-855B-9AE6952D5127/item_B62CB79F-1CE7-4D80-86EA-F844804803BE.png';

describe('offer info on PostgreSQL', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let other: TestTenant;
  // roots of the catalog's offers
  const o = { alpha: randomUUID(), bravo: randomUUID(), charlie: randomUUID(), delta: randomUUID(), echo: randomUUID(), colour: randomUUID(), foxtrot: randomUUID() };
  const alphaV1 = randomUUID();
  let alpha: string; // alpha's current version id
  const catalog: Record<string, unknown>[] = [];

  const connect = (path: string, body: Record<string, unknown>, tn = tenant) =>
    call(t.app, { method: 'POST', url: `/offers/api/2.0/offers/${path}`, headers: { authorization: tn.connect }, payload: { retailer_id: tn.retailer_id, culture: 'en-US', ...body } });
  const member = () => createMemberViaApi(t.app, tenant);
  async function issueTo(userId: string, offerId: string): Promise<string> {
    const res = await connect('acquisition/issue', { user_id: userId, offer_id: offerId });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.payload.status_list[0].fail_reason, 0, res.body);
    await sleep(3); // distinct acquire dates, for the ordering checks
    return res.json.payload.status_list[0].user_offer_id;
  }
  const ok = async (path: string, body: Record<string, unknown>) => {
    const res = await connect(path, body);
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.status, 'ok');
    return res.json.payload;
  };
  const redeem = (userOfferId: string) => ok('redemption/redeem', { user_offer_id: userOfferId, transaction: { store_id: tenant.store_id, pos_transaction_key: randomUUID(), check_amount: 20, items: [{ pos_item_key: '1', quantity: 1, item_amount: 20, sub_total: 20 }] } });
  const revoke = (userOfferId: string) => ok('acquisition/revoke', { user_offer_id: userOfferId, reason: 'test' });
  const expire = (userOfferId: string) => ok('acquisition/update', { user_offer_id: userOfferId, update_redemption_dates: true, redemption_start_date: inDays(-5), redemption_end_date: inDays(-1) });

  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    other = await createTenant(t.db);
    catalog.push(
      {
        root_offer_id: o.alpha,
        id: alphaV1,
        offer_type: 'fixed_amount_discount',
        amount: 5,
        internal_title: 'Alpha Coffee',
        points: 100,
        monetary_value: 5,
        pos_discount_id: 'POS-A',
        acquisition_start_date: '2020-08-21T18:19:00Z',
        default_culture: 'en-US',
        texts: [
          { culture: 'en-US', title: 'Free coffee', description: 'A coffee on us', terms: 'One per visit' },
          { culture: 'fr-FR', title: 'Café offert', description: 'Un café offert', terms: 'Un par visite' },
        ],
        media: [{ uri: MEDIA }],
        parent_offer_ids: [o.bravo],
        total_inventory: 100,
        restrictions: { location: { store_ids: [tenant.store_id] }, purchase: { max_per_member: 50 } },
      },
      { root_offer_id: o.bravo, offer_type: 'percent_discount', amount: 5, internal_title: 'Bravo 5% Off', default_culture: 'en', texts: [{ culture: 'en', title: 'Five percent off', description: 'Check Discount' }], pos_discount_id: '1111' },
      { root_offer_id: o.charlie, offer_type: 'fixed_amount_discount', amount: 1, internal_title: 'Charlie Inactive', status: 'inactive' },
      { root_offer_id: o.delta, offer_type: 'fixed_amount_discount', amount: 2, internal_title: 'Delta Later', acquisition_start_date: inDays(30) },
      { root_offer_id: o.echo, offer_type: 'fixed_amount_discount', amount: 3, internal_title: 'Echo Extended', requires_extended_data: true },
      {
        root_offer_id: o.colour,
        offer_type: 'fixed_amount_discount',
        amount: 4,
        internal_title: 'Golf Colour',
        default_culture: 'en-US',
        texts: [
          { culture: 'en-GB', title: 'Colour' },
          { culture: 'en-US', title: 'Color' },
        ],
      },
      { root_offer_id: o.foxtrot, offer_type: 'manual_fulfillment', internal_title: 'Foxtrot Gift', points: 20 },
    );
    await offersProgram(t.app, tenant.retailer_id, catalog);
    // a second version of alpha: the catalog lists the current one
    (catalog[0] as any).amount = 6;
    const applied = await offersProgram(t.app, tenant.retailer_id, catalog);
    alpha = applied.find((x) => x.root_offer_id === o.alpha)!.id;
    assert.notEqual(alpha, alphaV1);
    await offersProgram(t.app, other.retailer_id, [{ root_offer_id: randomUUID(), offer_type: 'fixed_amount_discount', amount: 1, internal_title: 'Alpha Elsewhere' }]);
  });

  describe('the catalog', () => {
    it('fetch_offers_overview: offer_ids by version or root, in the shape of 3.2.1, with acquisition and redemption counts', async () => {
      const ms = [await member(), await member(), await member()];
      const uos = [];
      for (const m of ms) uos.push(await issueTo(m.id, o.alpha));
      await redeem(uos[0]);
      await revoke(uos[1]);
      for (const ids of [[alpha], [o.alpha], [alpha.toUpperCase()], [alphaV1]]) {
        const p = await ok('fetch_offers_overview', { search: '', status_flags: 1, offer_ids: ids, sort_column: 2, direction: 0, skip: 0, take: 2 });
        assert.equal(p.total_records, 1, JSON.stringify(ids));
        assert.equal(p.results[0].offer_id, alpha);
      }
      const p = await ok('fetch_offers_overview', { offer_ids: [o.alpha], take: 2 });
      const [r] = p.results;
      assert.deepEqual(
        { ...r, acquisition_end_date: undefined },
        {
          offer_id: alpha,
          root_offer_id: o.alpha,
          offer_type: 'fixed_amount_discount',
          check_level: true,
          status: 1,
          internal_title: 'Alpha Coffee',
          title: 'Free coffee',
          description: 'A coffee on us',
          culture: 'en-US',
          division_id: 'root',
          acquisition_start_date: '2020-08-21T18:19:00.000Z',
          acquisition_end_date: undefined,
          does_not_expire: true,
          points: 100,
          monetary_value: 5,
          requires_extended_data: false,
          purchase_count: 3,
          redemption_count: 1,
          published_parent_offer_ids: [o.bravo],
          start_date: '2020-08-21T18:19:00.000Z',
          valid_after_end_date: true,
        },
      );
      // unknown and malformed ids match nothing
      assert.equal((await ok('fetch_offers_overview', { offer_ids: [randomUUID(), 'nope'] })).total_records, 0);
      // another retailer's offers are not listed
      const titles = (await ok('fetch_offers_overview', { status_flags: 8, take: 100 })).results.map((x: any) => x.internal_title);
      assert.ok(!titles.includes('Alpha Elsewhere'));
    });

    it('status_flags: 1 active, 2 inactive, 4 retired, 8 all', async () => {
      const titles = async (flags: number) => (await ok('fetch_offers_overview', { status_flags: flags, sort_column: 0, direction: 0, take: 100 })).results.map((x: any) => x.internal_title);
      const all = ['Alpha Coffee', 'Bravo 5% Off', 'Charlie Inactive', 'Delta Later', 'Echo Extended', 'Foxtrot Gift', 'Golf Colour'];
      assert.deepEqual(await titles(8), all);
      assert.deepEqual(await titles(1), all.filter((x) => x !== 'Charlie Inactive'));
      assert.deepEqual(await titles(2), ['Charlie Inactive']);
      assert.deepEqual(await titles(3), all);
      assert.deepEqual(await titles(4), []);
    });

    it('search matches the internal title, case-insensitively, with % and _ taken literally', async () => {
      const search = async (s: string) => (await ok('fetch_offers_overview', { search: s, status_flags: 8, take: 100 })).results.map((x: any) => x.internal_title).sort();
      assert.deepEqual(await search('coffee'), ['Alpha Coffee']);
      assert.deepEqual(await search('ALPHA'), ['Alpha Coffee']);
      assert.deepEqual(await search('5%'), ['Bravo 5% Off']);
      assert.deepEqual(await search('%'), ['Bravo 5% Off']);
      assert.deepEqual(await search('_'), []);
      assert.deepEqual(await search('e'), ['Alpha Coffee', 'Charlie Inactive', 'Delta Later', 'Echo Extended']);
    });

    it('sorts and pages: sort_column, direction, skip, take, total_records', async () => {
      const page = (body: Record<string, unknown>) => ok('fetch_offers_overview', { status_flags: 8, ...body });
      let p = await page({ sort_column: 0, direction: 0, skip: 1, take: 2 });
      assert.equal(p.total_records, 7);
      assert.deepEqual(p.results.map((x: any) => x.internal_title), ['Bravo 5% Off', 'Charlie Inactive']);
      p = await page({ sort_column: 0, direction: 1, skip: 0, take: 3 });
      assert.deepEqual(p.results.map((x: any) => x.internal_title), ['Golf Colour', 'Foxtrot Gift', 'Echo Extended']);
      p = await page({ sort_column: 0, direction: 0, skip: 6, take: 5 });
      assert.deepEqual(p.results.map((x: any) => x.internal_title), ['Golf Colour']);
      p = await page({ sort_column: 0, skip: 10, take: 5 });
      assert.equal(p.total_records, 7);
      assert.deepEqual(p.results, []);
      // by points, descending: alpha (100) first
      p = await page({ sort_column: 4, direction: 1, take: 1 });
      assert.equal(p.results[0].internal_title, 'Alpha Coffee');
    });

    it('fetch_offers_details: counts, inventory, discount type, parents and children (3.2.7)', async () => {
      const p = await ok('fetch_offers_details', { search: '', status_flags: 8, offer_ids: [o.alpha, o.bravo], offer_type_ids: [], sort_column: 0, direction: 0, skip: 0, take: 100 });
      assert.equal(p.total_records, 2);
      const [a, b] = p.results;
      assert.equal(a.offer_id, alpha);
      assert.equal(a.root_offer_id, o.alpha);
      assert.equal(a.time_zone_settings, '{"AcquisitionTimeZone":"Etc/UTC","RedemptionTimeZone":"Etc/UTC"}');
      assert.equal(a.title, 'Free coffee');
      assert.equal(a.discount_amount, 6);
      assert.equal(a.discount_type, '$');
      assert.equal(a.acquisition_count, a.purchase_count);
      assert.ok(a.acquisition_count >= 3);
      assert.equal(a.total_inventory, 100);
      assert.equal(a.available_inventory_remaining, 100 - a.acquisition_count);
      assert.equal(a.parents_count, 1);
      assert.equal(a.children_count, 0);
      assert.equal(a.configured_restrictions, 2);
      assert.equal(b.offer_id, o.bravo);
      assert.equal(b.discount_type, '%');
      assert.equal(b.discount_amount, 5);
      assert.equal(b.children_count, 1);
      assert.equal(b.parents_count, 0);
      assert.equal(b.acquisition_count, 0);
      assert.equal(b.redemption_count, 0);
      assert.equal(b.total_inventory, null);
      assert.equal(b.available_inventory_remaining, null);
      // offer_type_ids filters
      const manual = await ok('fetch_offers_details', { status_flags: 8, offer_type_ids: ['manual_fulfillment'] });
      assert.deepEqual(manual.results.map((x: any) => x.offer_id), [o.foxtrot]);
    });

    it('fetch_offers_details counts acquisitions and redemptions of every version of the root', async () => {
      const before = (await ok('fetch_offers_details', { offer_ids: [o.alpha] })).results[0];
      const m = await member();
      const v1 = await ok('acquisition/issue', { user_id: m.id, offer_id: alphaV1, issue_exact_version: true });
      assert.equal(v1.offer_id, alphaV1);
      await redeem(v1.status_list[0].user_offer_id);
      const after = (await ok('fetch_offers_details', { offer_ids: [o.alpha] })).results[0];
      assert.equal(after.acquisition_count, before.acquisition_count + 1);
      assert.equal(after.redemption_count, before.redemption_count + 1);
      assert.equal(after.available_inventory_remaining, before.available_inventory_remaining - 1);
    });

    it('fetch_offer: the current version with its texts, media and restrictions (3.2.2)', async () => {
      const body = {
        offer_id: o.alpha,
        include_purchase_restrictions: true,
        include_redemption_restrictions: true,
        include_location_restrictions: true,
        include_catalog_restrictions: true,
        include_catalog_display_names: true,
        get_active_version: true,
      };
      const { offer } = await ok('fetch_offer', body);
      assert.equal(offer.id, alpha);
      assert.equal(offer.root_offer_id, o.alpha);
      assert.equal(offer.retailer_id, tenant.retailer_id);
      assert.equal(offer.offer_type_id, 'fixed_amount_discount');
      assert.equal(offer.amount, 6);
      assert.equal(offer.allow_overage, false);
      assert.equal(offer.max_recurrence, 1);
      assert.equal(offer.status, 1);
      assert.equal(offer.points, 100);
      assert.equal(offer.monetary_value, 5);
      assert.equal(offer.check_level, true);
      assert.equal(offer.all_items_eligible, true);
      assert.deepEqual(offer.parent_offer_ids, [o.bravo]);
      assert.deepEqual(offer.offer_location_restrictions, [{ store_id: tenant.store_id }]);
      assert.deepEqual(offer.offer_purchase_restrictions, [{ max_per_member: 50 }]);
      assert.deepEqual(offer.offer_catalog_restrictions, []);
      assert.deepEqual(
        offer.offer_text.map((x: any) => [x.offer_id, x.culture, x.title, x.description, x.terms]),
        [
          [alpha, 'en-US', 'Free coffee', 'A coffee on us', 'One per visit'],
          [alpha, 'fr-FR', 'Café offert', 'Un café offert', 'Un par visite'],
        ],
      );
      assert.equal(offer.offer_media.length, 1);
      assert.deepEqual({ ...offer.offer_media[0], id: undefined }, { id: undefined, offer_id: alpha, uri: MEDIA, category_id: NO_GROUP, category_name: 'OffersStore', content_type: 1, culture: 'en-US' });
      assert.equal(offer.time_zone_settings, '{"AcquisitionTimeZone":"Etc/UTC","RedemptionTimeZone":"Etc/UTC"}');
      // restrictions only when asked for
      const bare = (await ok('fetch_offer', { offer_id: o.alpha })).offer;
      assert.deepEqual(bare.offer_location_restrictions, []);
      // an earlier version: the current one unless get_active_version is false
      assert.equal((await ok('fetch_offer', { offer_id: alphaV1, get_active_version: true })).offer.id, alpha);
      const old = (await ok('fetch_offer', { offer_id: alphaV1, get_active_version: false })).offer;
      assert.equal(old.id, alphaV1);
      assert.equal(old.amount, 5);
      const missing = await connect('fetch_offer', { offer_id: randomUUID() });
      assert.equal(missing.status, 404, missing.body);
      assert.equal(missing.json.errors.code, 'offer_not_found');
      const foreign = await connect('fetch_offer', { offer_id: o.alpha }, other);
      assert.equal(foreign.status, 404, foreign.body);
    });

    it('texts per culture: en-US, en_US, en and other cultures fall back correctly', async () => {
      const title = async (offerId: string, culture?: string) => (await ok('fetch_offer', { offer_id: offerId, ...(culture === undefined ? {} : { culture }) })).offer.title;
      assert.equal(await title(o.alpha, 'en-US'), 'Free coffee');
      assert.equal(await title(o.alpha, 'en_US'), 'Free coffee');
      assert.equal(await title(o.alpha, 'EN-us'), 'Free coffee');
      assert.equal(await title(o.alpha, 'en'), 'Free coffee');
      assert.equal(await title(o.alpha, 'fr-FR'), 'Café offert');
      assert.equal(await title(o.alpha, 'fr'), 'Café offert');
      assert.equal(await title(o.alpha, 'fr_CA'), 'Café offert');
      assert.equal(await title(o.alpha, 'de-DE'), 'Free coffee');
      assert.equal(await title(o.alpha, ''), 'Free coffee');
      // a text in `en` serves en-US and en_US
      assert.equal(await title(o.bravo, 'en-US'), 'Five percent off');
      assert.equal(await title(o.bravo, 'en_US'), 'Five percent off');
      assert.equal(await title(o.bravo, 'fr'), 'Five percent off');
      // two English texts: an exact culture wins, `en` alone takes the default culture's
      assert.equal(await title(o.colour, 'en-GB'), 'Colour');
      assert.equal(await title(o.colour, 'en_gb'), 'Colour');
      assert.equal(await title(o.colour, 'en-US'), 'Color');
      assert.equal(await title(o.colour, 'en'), 'Color');
      assert.equal(await title(o.colour, 'en-AU'), 'Color');
      // no texts: the internal title
      assert.equal(await title(o.charlie, 'en-US'), 'Charlie Inactive');
      // the overview and details follow the culture too
      const overview = await ok('fetch_offers_overview', { offer_ids: [o.alpha], culture: 'fr_FR' });
      assert.deepEqual([overview.results[0].title, overview.results[0].culture], ['Café offert', 'fr-FR']);
      const detailed = await ok('fetch_offers_details', { offer_ids: [o.alpha], culture: 'fr' });
      assert.equal(detailed.results[0].title, 'Café offert');
    });
  });

  describe("a member's offers", () => {
    /** A member holding: alpha issued, alpha redeemed, alpha revoked, bravo expired, echo (pending extended data), alpha locked, bravo issued. */
    async function holder() {
      const m = await member();
      const h = {
        m,
        issued: await issueTo(m.id, o.alpha),
        redeemed: await issueTo(m.id, o.alpha),
        revoked: await issueTo(m.id, o.alpha),
        expired: await issueTo(m.id, o.bravo),
        pending: await issueTo(m.id, o.echo),
        locked: await issueTo(m.id, o.alpha),
        bravo: await issueTo(m.id, o.bravo),
      };
      await redeem(h.redeemed);
      await revoke(h.revoked);
      await expire(h.expired);
      await ok('redemption/lock', { user_offer_id: h.locked, store_id: tenant.store_id, pos_transaction_key: 'T1' });
      return h;
    }

    it('get_user_offers lists issued, unexpired offers in the shape of 3.2.4, with total_records and paging', async () => {
      const h = await holder();
      let p = await ok('get_user_offers', { user_id: h.m.id, skip: 0, take: 1000, include_pending_extended_data: false });
      assert.equal(p.user_id, h.m.id);
      assert.deepEqual(p.user_offers.map((u: any) => u.id), [h.bravo, h.issued]);
      assert.equal(p.total_records, 2);
      assert.deepEqual(p.offer_categories, []);
      const a = p.user_offers[1];
      assert.deepEqual(
        { ...a, acquire_date: undefined, redemption_start_date: undefined, start_date: undefined, redemption_code: undefined, media: undefined },
        {
          offer_id: alpha,
          offer_group_id: NO_GROUP,
          offer_type: 'fixed_amount_discount',
          redemption_start_date: undefined,
          redemption_end_date: null,
          acquire_date: undefined,
          is_redeemable: true,
          check_level: true,
          pending_extended_data: false,
          division_id: 'root',
          start_date: undefined,
          id: h.issued,
          root_offer_id: o.alpha,
          pos_discount_id: 'POS-A',
          redemption_code: undefined,
          name: 'Free coffee',
          description: 'A coffee on us',
          terms: 'One per visit',
          culture: 'en-US',
          media: undefined,
        },
      );
      assert.equal(a.redemption_start_date, a.acquire_date);
      assert.deepEqual(a.media.map((x: any) => [x.offer_id, x.uri, x.category_name, x.content_type, x.culture]), [[alpha, MEDIA, 'OffersStore', 1, 'en-US']]);

      // pending extended data only when asked for
      p = await ok('get_user_offers', { user_id: h.m.id, take: 1000, include_pending_extended_data: true });
      assert.deepEqual(p.user_offers.map((u: any) => u.id), [h.bravo, h.pending, h.issued]);
      assert.equal(p.user_offers[1].pending_extended_data, true);
      assert.equal(p.total_records, 3);
      // paging
      p = await ok('get_user_offers', { user_id: h.m.id, skip: 1, take: 1, include_pending_extended_data: true });
      assert.deepEqual(p.user_offers.map((u: any) => u.id), [h.pending]);
      assert.equal(p.total_records, 3);
      // by external id, with texts in the request's culture
      p = await ok('get_user_offers', { user_id: h.m.external_id, culture: 'fr_FR' });
      assert.equal(p.user_id, h.m.id);
      assert.equal(p.user_offers.find((u: any) => u.id === h.issued).name, 'Café offert');
      const unknown = await connect('get_user_offers', { user_id: randomUUID() });
      assert.equal(unknown.status, 404, unknown.body);
      assert.equal(unknown.json.errors.code, 'user_not_found');
    });

    it('get_user: the profile and the available offers (3.2.3)', async () => {
      const h = await holder();
      let p = await ok('get_user', { values: { member_id: h.m.id }, include_offers: true, skip: 0, take: 10, include_pending_extended_data: true, culture: 'en' });
      assert.equal(p.user.id, h.m.id);
      assert.equal(p.user.external_id, h.m.external_id);
      assert.equal(p.user.email, h.m.email);
      assert.equal(p.user.first_name, 'Marcus');
      assert.equal(typeof p.user.available_points, 'number');
      assert.deepEqual(p.user.user_custom_profile, p.user.user_profile);
      assert.deepEqual(p.available_offers.map((u: any) => u.id), [h.bravo, h.pending, h.issued]);
      assert.equal(p.available_offers[2].name, 'Free coffee');
      p = await ok('get_user', { values: { member_id: h.m.id }, include_pending_extended_data: false });
      assert.deepEqual(p.available_offers.map((u: any) => u.id), [h.bravo, h.issued]);
      p = await ok('get_user', { values: { member_id: h.m.id }, skip: 1, take: 1 });
      assert.deepEqual(p.available_offers.map((u: any) => u.id), [h.pending]);
      p = await ok('get_user', { values: { external_id: h.m.external_id }, include_offers: false });
      assert.equal(p.user.id, h.m.id);
      assert.deepEqual(p.available_offers, []);
      const unknown = await connect('get_user', { values: { member_id: randomUUID() } });
      assert.equal(unknown.status, 404, unknown.body);
      assert.equal(unknown.json.errors.code, 'user_not_found');
    });

    it('get_user_offer_details: one user offer with its offer (3.2.5)', async () => {
      const h = await holder();
      const p = await ok('get_user_offer_details', { user_id: h.m.id, user_offer_id: h.bravo.toUpperCase() });
      assert.equal(p.user_id, h.m.id);
      assert.equal(p.name, 'Five percent off');
      assert.equal(p.description, 'Check Discount');
      assert.equal(p.offer_type, 'percent_discount');
      assert.equal(p.division_id, 'root');
      assert.equal(p.check_level, true);
      assert.deepEqual(p.media, []);
      assert.deepEqual(p.child_offers, []);
      assert.deepEqual(p.selected_offers, []);
      const u = p.user_offer;
      assert.equal(u.id, h.bravo);
      assert.equal(u.user_id, h.m.id);
      assert.equal(u.retailer_id, tenant.retailer_id);
      assert.equal(u.offer_id, o.bravo);
      assert.equal(u.root_offer_id, o.bravo);
      assert.equal(u.status, 1);
      assert.equal(u.redeemed_by_store_id, '');
      assert.equal(u.immediate_issue_and_redeem, false);
      assert.equal(u.is_redeemable, true);
      assert.equal(u.quantity, 1);
      assert.equal(u.pending_extended_data, false);
      assert.equal(u.facebook_shared, false);
      assert.equal(u.twitter_shared, false);
      assert.equal(u.pos_offer_id, 0);
      assert.equal(u.redeemed_store_id, '');
      // a redeemed one says where
      const r = (await ok('get_user_offer_details', { user_offer_id: h.redeemed })).user_offer;
      assert.equal(r.status, 2);
      assert.equal(r.is_redeemable, false);
      assert.equal(r.redeemed_store_id, tenant.store_id);
      // another member's user offer
      const n = await member();
      const res = await connect('get_user_offer_details', { user_id: n.id, user_offer_id: h.bravo });
      assert.equal(res.status, 404, res.body);
      assert.equal(res.json.errors.code, 'user_offer_not_found');
    });

    it('user_offer_history lists every status with status_description, newest first (3.2.6)', async () => {
      const h = await holder();
      const p = await ok('user_offer_history', { user_ids: [h.m.id], sort_column: 3, direction: 1, skip: 0, take: 10 });
      assert.equal(p.total_records, 7);
      assert.deepEqual(
        p.results.map((r: any) => [r.user_offer_id, r.status, r.status_description]),
        [
          [h.bravo, 1, 'Issued'],
          [h.locked, 5, 'Locked'],
          [h.pending, 1, 'Issued'],
          [h.expired, 4, 'Expired'],
          [h.revoked, 3, 'Revoked'],
          [h.redeemed, 2, 'Redeemed'],
          [h.issued, 1, 'Issued'],
        ],
      );
      const first = p.results[6];
      assert.equal(first.title, 'Free coffee');
      assert.equal(first.description, 'A coffee on us');
      assert.equal(first.terms, 'One per visit');
      assert.equal(first.offer_id, alpha);
      assert.equal(first.division_id, 'root');
      assert.equal(first.offer_type, 'fixed_amount_discount');
      assert.equal(first.user_id, h.m.id);
      assert.equal(first.culture, 'en-US');
      assert.equal(first.media_uri, MEDIA);
      assert.equal(first.media_culture, 'en-US');
      assert.equal(first.skip, 0);
      assert.equal(first.take, 10);
      assert.ok(p.results[5].redeemed_date);
      assert.ok(p.results[4].revoked_date);

      // oldest first, a status filter, paging
      const asc = await ok('user_offer_history', { user_ids: [h.m.id], direction: 0, take: 10 });
      assert.deepEqual(asc.results.map((r: any) => r.user_offer_id), p.results.map((r: any) => r.user_offer_id).reverse());
      const redeemed = await ok('user_offer_history', { user_ids: [h.m.id], status: 2 });
      assert.deepEqual(redeemed.results.map((r: any) => r.user_offer_id), [h.redeemed]);
      const revoked = await ok('user_offer_history', { user_ids: [h.m.id], status: 3 });
      assert.deepEqual(revoked.results.map((r: any) => r.user_offer_id), [h.revoked]);
      const expired = await ok('user_offer_history', { user_ids: [h.m.id], status: 4 });
      assert.deepEqual(expired.results.map((r: any) => r.user_offer_id), [h.expired]);
      const issued = await ok('user_offer_history', { user_ids: [h.m.id], status: 1 });
      assert.deepEqual(issued.results.map((r: any) => r.user_offer_id), [h.bravo, h.pending, h.issued]);
      const page = await ok('user_offer_history', { user_ids: [h.m.id], skip: 2, take: 2 });
      assert.equal(page.total_records, 7);
      assert.deepEqual(page.results.map((r: any) => [r.user_offer_id, r.skip, r.take]), [
        [h.pending, 2, 2],
        [h.expired, 2, 2],
      ]);
      // several members (an unknown one is left out), texts in the request's culture
      const n = await member();
      const mine = await issueTo(n.id, o.alpha);
      const both = await ok('user_offer_history', { user_ids: [h.m.id, n.external_id, randomUUID()], take: 100, culture: 'fr' });
      assert.equal(both.total_records, 8);
      assert.equal(both.results[0].user_offer_id, mine);
      assert.equal(both.results[0].title, 'Café offert');
    });

    it("accepts the collection's 3.2.6 body, with its // comment", async () => {
      const h = await holder();
      const payload = `{
  "retailer_id": "${tenant.retailer_id}",
  "user_ids": [
    "${h.m.id}"
  ],
  "sort_column": 3,
  "direction": 1,
  "skip": 0,
  "take": 10,
  //"status": 1,
  "culture": "en-US"
}`;
      const res = await call(t.app, { method: 'POST', url: '/offers/api/2.0/offers/user_offer_history', headers: { authorization: tenant.connect, 'content-type': 'application/json' }, payload });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.total_records, 7);
    });
  });
});
