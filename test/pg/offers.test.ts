// Offers (SPEC §5.6, issue 4) on PostgreSQL: issuing, revoking, updating and
// moving user offers, and redeeming them, through the Connect API
// (/offers/api/2.0/offers/..., collection 3.1.x and 3.3.x), with the catalog
// configured through the admin program API.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { offersProgram } from '../support/factories.js';
import { transact } from '../../src/db/unit-of-work.js';
import { expireUserOffers } from '../../src/modules/offers/user-offers.js';

const DAY = 86_400_000;
const inDays = (n: number) => new Date(Date.now() + n * DAY).toISOString();
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const STATEMENT = 'timelines/END_USER_MEMBER_STATEMENT';

describe('offers on PostgreSQL', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let other: TestTenant;
  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    other = await createTenant(t.db);
  });

  // --- the catalog: every offer a test defines stays in its tenant's program
  const catalogs = new Map<string, Map<string, Record<string, unknown>>>();
  async function define(tn: TestTenant, ...configs: Record<string, unknown>[]) {
    const catalog = catalogs.get(tn.retailer_id) ?? new Map<string, Record<string, unknown>>();
    catalogs.set(tn.retailer_id, catalog);
    for (const c of configs) catalog.set(c.root_offer_id as string, c);
    return offersProgram(t.app, tn.retailer_id, [...catalog.values()]);
  }
  /** A $5 check-level offer (with `overrides`) in the tenant's catalog; answers its root id. */
  async function offer(overrides: Record<string, unknown> = {}, tn = tenant): Promise<string> {
    const root = (overrides.root_offer_id as string) ?? randomUUID();
    await define(tn, { root_offer_id: root, offer_type: 'fixed_amount_discount', amount: 5, internal_title: `$5 Reward ${root.slice(0, 8)}`, points: 100, monetary_value: 5, ...overrides });
    return root;
  }

  const connect = (path: string, body: Record<string, unknown>, tn = tenant) =>
    call(t.app, { method: 'POST', url: `/offers/api/2.0/offers/${path}`, headers: { authorization: tn.connect }, payload: { retailer_id: tn.retailer_id, culture: 'en-US', ...body } });
  const member = (tn = tenant) => createMemberViaApi(t.app, tn);
  const timeline = (memberId: string, types: string) =>
    call(t.app, { method: 'GET', url: `${tenant.base}/users/${memberId}/${STATEMENT}?event_types=${types}`, headers: { authorization: tenant.core } });

  /** Issues an offer to one member and answers the user offer id. */
  async function issueTo(userId: string, offerId: string, tn = tenant): Promise<string> {
    const res = await connect('acquisition/issue', { user_id: userId, offer_id: offerId, quantity: 1, issue_exact_version: false, rollback_option: 0 }, tn);
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.payload.status_list[0].fail_reason, 0, res.body);
    return res.json.payload.status_list[0].user_offer_id;
  }
  const details = async (userOfferId: string, tn = tenant) => {
    const res = await connect('get_user_offer_details', { user_offer_id: userOfferId }, tn);
    assert.equal(res.status, 200, res.body);
    return res.json.payload.user_offer;
  };
  const userOfferIds = async (userId: string) => {
    const res = await connect('get_user_offers', { user_id: userId, skip: 0, take: 1000 });
    assert.equal(res.status, 200, res.body);
    return (res.json.payload.user_offers as any[]).map((u) => u.id).sort();
  };

  /** A Connect transaction (3.3.1) with one line per amount. */
  function transaction(amounts: (number | string)[], extra: Record<string, unknown> = {}) {
    const total = amounts.reduce<number>((a, v) => a + Number(v), 0);
    return {
      retailer_id: tenant.retailer_id,
      store_id: tenant.store_id,
      pos_transaction_key: randomUUID(),
      guest_count: 0,
      check_amount: Number(total.toFixed(2)),
      check_discount: 0,
      check_open_date: '2019-12-16T11:44:19.6246281Z',
      status: 0,
      items: amounts.map((amount, i) => ({
        pos_item_key: String(i + 1),
        pos_cat_key: 'ALL',
        quantity: 1,
        item_amount: amount,
        modifier_amount: 0,
        discount_amount: 0,
        tax_included_amount: 0,
        order_date: '2019-12-16T11:44:19.6246281Z',
        is_void: false,
        is_bx_gy_consumed: false,
        sub_total: amount,
        external_line_item_id: String(i),
      })),
      ...extra,
    };
  }
  /** Redeems on `tx` (default: the collection's 11.00 basket); null: no transaction. */
  const redeem = (userOfferId: string, tx: Record<string, unknown> | null = transaction([10, 1]), extra: Record<string, unknown> = {}, tn = tenant) =>
    connect('redemption/redeem', { user_offer_id: userOfferId, ...(tx ? { transaction: tx } : {}), apply_lock_only: false, force_redeem: false, ...extra }, tn);
  const lock = (userOfferId: string, key: string) => connect('redemption/lock', { store_id: tenant.store_id, user_offer_id: userOfferId, pos_transaction_key: key });
  const unlock = (userOfferId: string, extra: Record<string, unknown> = {}) => connect('redemption/unlock', { store_id: tenant.store_id, user_offer_id: userOfferId, ...extra });
  const reinstate = (userOfferId: string) => connect('redemption/reinstate', { store_id: tenant.store_id, user_offer_id: userOfferId });
  const revoke = (userOfferId: string, extra: Record<string, unknown> = {}, tn = tenant) => connect('acquisition/revoke', { user_offer_id: userOfferId, ...extra }, tn);
  const update = (userOfferId: string, body: Record<string, unknown>) => connect('acquisition/update', { user_offer_id: userOfferId, ...body });
  const refused = (res: { status: number; json: any; body: string }, status: number, code: string) => {
    assert.equal(res.status, status, res.body);
    assert.equal(res.json.status, 'error', res.body);
    assert.equal(res.json.errors.code, code, res.body);
  };
  const userOffersOf = async (memberId: string) =>
    (await sql<{ id: string; status: number }>`SELECT id, status FROM user_offers WHERE member_id = ${memberId} ORDER BY id`.execute(t.db)).rows;

  describe('issue (3.1.1)', () => {
    it('issues to one member: a status_list entry with fail_reason 0 and the new user offer id', async () => {
      const root = await offer({ pos_discount_id: 'POS-5' });
      const m = await member();
      const res = await connect('acquisition/issue', { user_id: m.id, offer_id: root, quantity: 1, issue_exact_version: false, rollback_option: 0 });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.status, 'ok');
      const p = res.json.payload;
      assert.equal(p.offer_id, root);
      assert.equal(p.root_offer_id, root);
      assert.equal(p.division_id, 'root');
      assert.equal(p.status_summary, 'Issuance to all (1) users was successful.');
      assert.match(p.acquire_date, ISO);
      assert.equal(p.status_list.length, 1);
      const [s] = p.status_list;
      assert.equal(s.user_id, m.id);
      assert.match(s.user_offer_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.equal(s.offer_id, root);
      assert.equal(s.root_offer_id, root);
      assert.equal(s.pending_extended_data, false);
      assert.equal(s.fail_reason, 0);
      const uo = await details(s.user_offer_id);
      assert.equal(uo.status, 1);
      assert.equal(uo.status_description, 'Issued');
      assert.equal(uo.user_id, m.id);
      assert.equal(uo.quantity, 1);
      assert.equal(uo.acquire_date, p.acquire_date);
    });

    it('issues by external id and upper-case ids, answering the member id', async () => {
      const root = await offer();
      const m = await member();
      const res = await connect('acquisition/issue', { user_id: m.external_id, offer_id: root.toUpperCase() });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.status_list[0].fail_reason, 0);
      assert.equal(res.json.payload.status_list[0].user_id, m.id);
      assert.equal(res.json.payload.offer_id, root);
    });

    it('several user_ids: an unknown member fails alone (fail_reason 1), the others are issued', async () => {
      const root = await offer();
      const [a, b] = [await member(), await member()];
      const unknown = randomUUID();
      const res = await connect('acquisition/issue', { user_ids: [a.id, unknown, b.id], offer_id: root });
      assert.equal(res.status, 200, res.body);
      const list = res.json.payload.status_list;
      assert.deepEqual(list.map((s: any) => [s.user_id, s.fail_reason]), [[a.id, 0], [unknown, 1], [b.id, 0]]);
      assert.equal(list[1].user_offer_id, null);
      assert.equal(list[1].fail_code, 'user_not_found');
      assert.equal(res.json.payload.status_summary, 'Issuance to 2 of 3 users was successful.');
      assert.deepEqual(await userOfferIds(a.id), [list[0].user_offer_id]);
      assert.deepEqual(await userOfferIds(b.id), [list[2].user_offer_id]);
    });

    it('an unknown offer is 404 offer_not_found', async () => {
      const m = await member();
      refused(await connect('acquisition/issue', { user_id: m.id, offer_id: randomUUID() }), 404, 'offer_not_found');
      refused(await connect('acquisition/issue', { user_id: m.id, offer_id: 'not-an-id' }), 404, 'offer_not_found');
    });

    it('an inactive, retired or out-of-window offer is refused per member (fail_reason 5) and nothing is issued', async () => {
      const inactive = await offer({ status: 'inactive' });
      const later = await offer({ acquisition_start_date: inDays(3) });
      const over = await offer({ acquisition_start_date: inDays(-10), acquisition_end_date: inDays(-1) });
      const open = await offer({ acquisition_start_date: inDays(-10), acquisition_end_date: inDays(10) });
      const retired = await offer();
      const catalog = catalogs.get(tenant.retailer_id)!;
      catalog.delete(retired);
      await offersProgram(t.app, tenant.retailer_id, [...catalog.values()]);
      const [a, b] = [await member(), await member()];
      for (const root of [inactive, later, over, retired]) {
        const res = await connect('acquisition/issue', { user_ids: [a.id, b.id], offer_id: root });
        assert.equal(res.status, 200, res.body);
        assert.deepEqual(res.json.payload.status_list.map((s: any) => s.fail_reason), [5, 5], res.body);
        assert.equal(res.json.payload.status_list[0].fail_code, 'offer_not_available');
      }
      assert.deepEqual(await userOffersOf(a.id), []);
      assert.deepEqual(await userOffersOf(b.id), []);
      await issueTo(a.id, open);
    });

    it('max_per_member: the member over the limit gets fail_reason 2; a revoked one does not count', async () => {
      const root = await offer({ restrictions: { purchase: { max_per_member: 2 } } });
      const [a, b] = [await member(), await member()];
      const first = await issueTo(a.id, root);
      await issueTo(a.id, root);
      const res = await connect('acquisition/issue', { user_ids: [a.id, b.id], offer_id: root });
      assert.deepEqual(res.json.payload.status_list.map((s: any) => s.fail_reason), [2, 0], res.body);
      assert.equal(res.json.payload.status_list[0].fail_code, 'purchase_limit_reached');
      assert.equal((await revoke(first)).status, 200);
      await issueTo(a.id, root);
      assert.equal((await userOfferIds(a.id)).length, 2);
    });

    it('total_inventory: issuance beyond the inventory gets fail_reason 4', async () => {
      const root = await offer({ total_inventory: 2 });
      const ms = [await member(), await member(), await member()];
      const res = await connect('acquisition/issue', { user_ids: ms.map((m) => m.id), offer_id: root });
      assert.deepEqual(res.json.payload.status_list.map((s: any) => s.fail_reason), [0, 0, 4], res.body);
      assert.equal(res.json.payload.status_list[2].fail_code, 'inventory_exhausted');
    });

    it('total_inventory holds under concurrent issuance', async () => {
      const root = await offer({ total_inventory: 3 });
      const ms = await Promise.all(Array.from({ length: 8 }, () => member()));
      const answers = await Promise.all(ms.map((m) => connect('acquisition/issue', { user_id: m.id, offer_id: root })));
      const reasons = answers.map((r) => r.json.payload.status_list[0].fail_reason).sort();
      assert.deepEqual(reasons, [0, 0, 0, 4, 4, 4, 4, 4]);
      const { rows } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM user_offers WHERE root_offer_id = ${root}`.execute(t.db);
      assert.equal(rows[0].n, '3');
    });

    it('versions: a changed offer gets a new id with the same root; the root id issues the current version; earlier user offers keep theirs', async () => {
      const root = randomUUID();
      const v1 = randomUUID();
      const base = { root_offer_id: root, id: v1, offer_type: 'fixed_amount_discount', amount: 5, internal_title: 'Versioned', texts: [{ culture: 'en-US', title: 'Five off' }] };
      let applied = await define(tenant, base);
      assert.equal(applied.find((o) => o.root_offer_id === root)!.id, v1);
      const m = await member();
      const old = await issueTo(m.id, root);
      assert.equal((await details(old)).offer_id, v1);

      // the same configuration again: no new version
      applied = await define(tenant, base);
      assert.equal(applied.find((o) => o.root_offer_id === root)!.id, v1);

      applied = await define(tenant, { ...base, amount: 7, texts: [{ culture: 'en-US', title: 'Seven off' }] });
      const v2 = applied.find((o) => o.root_offer_id === root)!.id;
      assert.notEqual(v2, v1);
      const { rows } = await sql<{ id: string; version: number; is_current: boolean }>`SELECT id, version, is_current FROM offers WHERE root_offer_id = ${root} ORDER BY version`.execute(t.db);
      assert.deepEqual(rows, [
        { id: v1, version: 1, is_current: false },
        { id: v2, version: 2, is_current: true },
      ]);

      for (const id of [root, v1]) {
        const res = await connect('acquisition/issue', { user_id: m.id, offer_id: id, issue_exact_version: false });
        assert.equal(res.json.payload.offer_id, v2, res.body);
        assert.equal(res.json.payload.root_offer_id, root);
        assert.equal(res.json.payload.status_list[0].offer_id, v2);
      }
      const exact = await connect('acquisition/issue', { user_id: m.id, offer_id: v1, issue_exact_version: true });
      assert.equal(exact.json.payload.offer_id, v1, exact.body);

      // the first user offer still names version 1, its amount and its title
      const uo = await details(old);
      assert.equal(uo.offer_id, v1);
      assert.equal(uo.root_offer_id, root);
      const listed = await connect('get_user_offers', { user_id: m.id, take: 100 });
      const byId = new Map((listed.json.payload.user_offers as any[]).map((u) => [u.id, u]));
      assert.equal(byId.get(old).offer_id, v1);
      assert.equal(byId.get(old).name, 'Five off');
      const redeemed = await redeem(old, transaction([20]));
      assert.equal(redeemed.status, 200, redeemed.body);
      assert.equal(redeemed.json.payload.discount_amount, 5);
      assert.equal(redeemed.json.payload.offer_id, v1);
      const current = (listed.json.payload.user_offers as any[]).find((u) => u.id !== old && u.offer_id === v2);
      assert.equal(current.name, 'Seven off');
      assert.equal((await redeem(current.id, transaction([20]))).json.payload.discount_amount, 7);
    });

    it('applying an unchanged program adds no version, whatever the order of its restrictions', async () => {
      const root = await offer({
        restrictions: { purchase: { max_per_member: 5 }, location: { store_ids: [tenant.store_id] }, redemption: { minimum_subtotal: 1 }, catalog: { item_ids: ['1', '2'], category_ids: ['ALL'] } },
        parent_offer_ids: [randomUUID()],
        texts: [{ culture: 'en-US', title: 'Hello', description: 'd', terms: 't' }],
        media: [{ uri: 'https://example.com/a.png' }],
        redemption_days: 10,
        acquisition_start_date: '2020-08-21T18:19:00Z',
        total_inventory: 100,
      });
      const before = await sql<{ id: string }>`SELECT id FROM offers WHERE root_offer_id = ${root}`.execute(t.db);
      await define(tenant);
      await define(tenant);
      const after = await sql<{ id: string }>`SELECT id FROM offers WHERE root_offer_id = ${root}`.execute(t.db);
      assert.deepEqual(after.rows, before.rows);
    });

    it('records ISSUED_OFFER on the member timeline', async () => {
      const root = await offer();
      const m = await member();
      const uo = await issueTo(m.id, root);
      const res = await timeline(m.id, 'ISSUED_OFFER');
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.count, 1);
      const [entry] = res.json.result;
      assert.equal(entry.event_stream_event_type_id, 169);
      assert.equal(entry.event_stream_payload.UserOfferID, uo);
      assert.equal(entry.event_stream_payload.OfferID, root);
      assert.equal(entry.event_stream_payload.RootOfferID, root);
      assert.equal(entry.event_stream_payload.UserID, m.id);
    });

    it('redemption window: days after acquisition, fixed dates, or no end (does_not_expire)', async () => {
      const days = await offer({ redemption_days: 30 });
      const fixedStart = inDays(-2);
      const fixedEnd = inDays(20);
      const fixed = await offer({ redemption_start_date: fixedStart, redemption_end_date: fixedEnd });
      const forever = await offer({ does_not_expire: true });
      const implicit = await offer();
      const m = await member();

      const a = await details(await issueTo(m.id, days));
      assert.equal(a.redemption_start_date, a.acquire_date);
      assert.equal(Date.parse(a.redemption_end_date) - Date.parse(a.acquire_date), 30 * DAY);
      assert.equal(a.expiration_date, a.redemption_end_date);

      const b = await details(await issueTo(m.id, fixed));
      assert.equal(b.redemption_start_date, new Date(fixedStart).toISOString());
      assert.equal(b.redemption_end_date, new Date(fixedEnd).toISOString());

      for (const root of [forever, implicit]) {
        const c = await details(await issueTo(m.id, root));
        assert.equal(c.redemption_end_date, null);
        assert.equal(c.expiration_date, null);
        assert.equal(c.is_redeemable, true);
      }
      const overview = await connect('fetch_offers_overview', { offer_ids: [forever, days], take: 10 });
      const flags = Object.fromEntries((overview.json.payload.results as any[]).map((o) => [o.root_offer_id, o.does_not_expire]));
      assert.deepEqual(flags, { [forever]: true, [days]: false });
    });
  });

  describe('revoke, update, move (3.1.2–3.1.4)', () => {
    it('revokes with a reason; revoking again is 422 offer_revoked', async () => {
      const root = await offer({ pos_discount_id: '1111' });
      const m = await member();
      const uo = await issueTo(m.id, root);
      const res = await revoke(uo, { reason: 'customer complaint' });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(res.json.payload, { user_id: m.id, user_offer_id: uo, offer_id: root, root_offer_id: root, pos_discount_id: '1111' });
      const { rows } = await sql<{ status: number; revoke_reason: string }>`SELECT status, revoke_reason FROM user_offers WHERE id = ${uo}`.execute(t.db);
      assert.deepEqual(rows, [{ status: 3, revoke_reason: 'customer complaint' }]);
      assert.equal((await details(uo)).status_description, 'Revoked');
      refused(await revoke(uo), 422, 'offer_revoked');
      refused(await revoke(randomUUID()), 404, 'user_offer_not_found');
      const tl = await timeline(m.id, 'REVOKED_OFFER');
      assert.equal(tl.json.count, 1);
      assert.equal(tl.json.result[0].event_stream_payload.reason, 'customer complaint');
      // a redeemed offer cannot be revoked
      const used = await issueTo(m.id, root);
      assert.equal((await redeem(used)).status, 200);
      refused(await revoke(used), 409, 'already_redeemed');
    });

    it('updates custom data (a JSON string or an object), redemption dates and remaining uses', async () => {
      const root = await offer();
      const m = await member();
      const uo = await issueTo(m.id, root);
      const custom = '{"ReservationConfirmationCode":"TEST099","SoftRedeemed":"true"}';
      let res = await update(uo, {
        user_id: m.id,
        custom_data: custom,
        remain_pending_extended_data: false,
        update_redemption_dates: true,
        redemption_start_date: '2019-12-10T08:00:01',
        redemption_end_date: '2099-12-13T07:59:00',
        update_remaining_uses: false,
      });
      assert.equal(res.status, 200, res.body);
      let p = res.json.payload;
      assert.equal(p.user_id, m.id);
      assert.equal(p.user_offer_id, uo);
      assert.equal(p.user_offer.id, uo);
      assert.equal(p.user_offer.custom_data, custom);
      assert.equal(p.user_offer.redemption_start_date, '2019-12-10T08:00:01.000Z');
      assert.equal(p.user_offer.redemption_end_date, '2099-12-13T07:59:00.000Z');
      assert.equal(p.user_offer.expiration_date, '2099-12-13T07:59:00.000Z');
      assert.equal(p.user_offer.status, 1);
      assert.equal(p.user_offer.quantity, 1);

      // an object is kept as its JSON text; dates are left alone without update_redemption_dates
      res = await update(uo, { custom_data: { a: 1, b: 'two' }, update_redemption_dates: false, redemption_end_date: '2001-01-01T00:00:00Z' });
      assert.equal(res.status, 200, res.body);
      p = res.json.payload;
      assert.deepEqual(JSON.parse(p.user_offer.custom_data), { a: 1, b: 'two' });
      assert.equal(p.user_offer.redemption_end_date, '2099-12-13T07:59:00.000Z');

      res = await update(uo, { update_remaining_uses: true, remaining_uses: 3 });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.user_offer.remaining_uses, 3);
      assert.equal(res.json.payload.user_offer.quantity, 3);
      assert.deepEqual(JSON.parse(res.json.payload.user_offer.custom_data), { a: 1, b: 'two' });
      // three uses: redeemed twice it is still issued, the third use redeems it
      assert.equal((await redeem(uo)).status, 200);
      assert.equal((await redeem(uo)).status, 200);
      assert.equal((await details(uo)).status, 1);
      assert.equal((await redeem(uo)).status, 200);
      assert.equal((await details(uo)).status, 2);

      const tl = await timeline(m.id, 'OFFER_MODIFIED');
      assert.equal(tl.json.count, 3);
    });

    it('refuses to update a revoked offer, another member\'s offer, or an end before the start', async () => {
      const root = await offer();
      const [m, n] = [await member(), await member()];
      const uo = await issueTo(m.id, root);
      refused(await update(uo, { user_id: n.id, custom_data: 'x' }), 404, 'user_offer_not_found');
      refused(await update(uo, { update_redemption_dates: true, redemption_start_date: '2030-01-02T00:00:00Z', redemption_end_date: '2030-01-01T00:00:00Z' }), 422, 'validation');
      refused(await update(uo, { update_redemption_dates: true, redemption_end_date: 'tomorrow' }), 400, 'argument_error');
      assert.equal((await revoke(uo)).status, 200);
      refused(await update(uo, { custom_data: 'late' }), 422, 'offer_revoked');
      const { rows } = await sql<{ custom_data: string | null }>`SELECT custom_data FROM user_offers WHERE id = ${uo}`.execute(t.db);
      assert.equal(rows[0].custom_data, null);
    });

    it('move_user_offers answers per offer: a foreign or revoked offer fails alone, the issued one moves', async () => {
      const root = await offer();
      const [a, b, c] = [await member(), await member(), await member()];
      const issued = await issueTo(a.id, root);
      const revoked = await issueTo(a.id, root);
      const kept = await issueTo(a.id, root);
      assert.equal((await revoke(revoked)).status, 200);
      const foreign = await issueTo(c.id, root);
      const res = await connect('acquisition/move_user_offers', { source_user_id: a.id, destination_user_id: b.id, user_offers_id_list: [issued, revoked, foreign, 'not-an-id'] });
      assert.equal(res.status, 200, res.body);
      const p = res.json.payload;
      assert.equal(p.source_user_id, a.id);
      assert.equal(p.destination_user_id, b.id);
      assert.equal(p.moved_count, 1);
      assert.deepEqual(
        p.results.map((r: any) => [r.user_offer_id, r.success, r.error_code]),
        [
          [issued, true, null],
          [revoked, false, 'offer_revoked'],
          [foreign, false, 'user_offer_not_found'],
          ['not-an-id', false, 'user_offer_not_found'],
        ],
      );
      assert.deepEqual(await userOfferIds(a.id), [kept]);
      assert.deepEqual(await userOfferIds(b.id), [issued]);
      assert.deepEqual(await userOfferIds(c.id), [foreign]);
      assert.equal((await details(issued)).user_id, b.id);
      // the revoked one stays with its member, in its history
      const history = await connect('user_offer_history', { user_ids: [a.id], take: 10 });
      assert.deepEqual((history.json.payload.results as any[]).map((r) => r.user_offer_id).sort(), [kept, revoked].sort());
    });

    it('move: same source and destination is refused; an unknown member is 404', async () => {
      const a = await member();
      refused(await connect('acquisition/move_user_offers', { source_user_id: a.id, destination_user_id: a.external_id, user_offers_id_list: [randomUUID()] }), 422, 'validation');
      refused(await connect('acquisition/move_user_offers', { source_user_id: a.id, destination_user_id: randomUUID(), user_offers_id_list: [randomUUID()] }), 404, 'user_not_found');
    });

    it('concurrent moves of one offer to two members: it ends with exactly one of them', async () => {
      const root = await offer();
      for (let round = 0; round < 5; round++) {
        const [a, b, c] = [await member(), await member(), await member()];
        const uo = await issueTo(a.id, root);
        const answers = await Promise.all([b, c].map((to) => connect('acquisition/move_user_offers', { source_user_id: a.id, destination_user_id: to.id, user_offers_id_list: [uo] })));
        for (const r of answers) assert.equal(r.status, 200, r.body);
        assert.deepEqual(answers.map((r) => r.json.payload.moved_count).sort(), [0, 1]);
        const owners = [];
        for (const m of [a, b, c]) if ((await userOfferIds(m.id)).includes(uo)) owners.push(m.id);
        assert.equal(owners.length, 1);
        const winner = answers.find((r) => r.json.payload.moved_count === 1)!.json.payload.destination_user_id;
        assert.deepEqual(owners, [winner]);
      }
    });

    it('opposite concurrent moves between two members (named by id or external id) neither deadlock nor duplicate', async () => {
      const root = await offer();
      for (let round = 0; round < 8; round++) {
        const [a, b] = [await member(), await member()];
        const fromA = await issueTo(a.id, root);
        const fromB = await issueTo(b.id, root);
        const [ab, ba] = await Promise.all([
          connect('acquisition/move_user_offers', { source_user_id: a.id, destination_user_id: b.external_id, user_offers_id_list: [fromA] }),
          connect('acquisition/move_user_offers', { source_user_id: b.id, destination_user_id: a.external_id, user_offers_id_list: [fromB] }),
        ]);
        assert.equal(ab.status, 200, ab.body);
        assert.equal(ba.status, 200, ba.body);
        assert.deepEqual(await userOfferIds(a.id), [fromB]);
        assert.deepEqual(await userOfferIds(b.id), [fromA]);
      }
    });
  });

  describe('offer expiry (the worker)', () => {
    // past its redemption end an issued offer is expired for good: stored, on the timeline, as an event, once
    it('expires an issued offer past its redemption end: stored, OFFER_EXPIRES, offer.expired once; redemption says offer_expired', async () => {
      const root = await offer();
      const m = await member();
      const [ending, lasting] = [await issueTo(m.id, root), await issueTo(m.id, root)];
      await sql`UPDATE user_offers SET redemption_end_date = now() - interval '1 second' WHERE id = ${ending}`.execute(t.db);
      assert.ok((await transact(t.db, (tx) => expireUserOffers(tx, new Date(), 1000))) >= 1);
      assert.equal(await transact(t.db, (tx) => expireUserOffers(tx, new Date(), 1000)), 0, 'nothing left to expire');
      const rows = (await sql<{ id: string; status: number }>`SELECT id, status FROM user_offers WHERE member_id = ${m.id} ORDER BY acquired_at, id`.execute(t.db)).rows;
      assert.deepEqual(new Map(rows.map((r) => [r.id, r.status])), new Map([[ending, 4], [lasting, 1]]));
      assert.equal((await details(ending)).status, 4, 'Expired');
      const events = (await sql<{ payload: any }>`SELECT payload FROM domain_events WHERE member_id = ${m.id} AND type = 'offer.expired'`.execute(t.db)).rows;
      assert.deepEqual(events.map((e) => e.payload.user_offer_id), [ending]);
      const entries = await timeline(m.id, 'OFFER_EXPIRES');
      assert.equal(entries.status, 200, entries.body);
      assert.equal(entries.body.split(ending).length - 1 >= 1, true, entries.body);
      const refused = await redeem(ending);
      assert.equal(refused.status, 422, refused.body);
      assert.equal(refused.json.errors.code, 'offer_expired');
    });
  });

  describe('redemption (3.3.x)', () => {
    it('two concurrent redeems of one user offer: exactly one succeeds', async () => {
      const root = await offer();
      for (let round = 0; round < 5; round++) {
        const m = await member();
        const uo = await issueTo(m.id, root);
        const answers = await Promise.all([redeem(uo), redeem(uo)]);
        const statuses = answers.map((r) => r.status).sort();
        assert.deepEqual(statuses, [200, 409], answers.map((r) => r.body).join('\n'));
        refused(answers.find((r) => r.status === 409)!, 409, 'already_redeemed');
        const { rows } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM offer_redemptions WHERE user_offer_id = ${uo}`.execute(t.db);
        assert.equal(rows[0].n, '1');
      }
    });

    it('redeems on the collection\'s transaction: the $5 check-level offer gives 5 on 11.00', async () => {
      const root = await offer({ pos_discount_id: 'POS-5' });
      const m = await member();
      const uo = await issueTo(m.id, root);
      const res = await redeem(uo, transaction([10, 1], { pos_transaction_key: '5528b048-33bf-4d6b-8b23-e4b5b9a8bb60' }), { culture: 'en-US' });
      assert.equal(res.status, 200, res.body);
      const p = res.json.payload;
      assert.equal(p.offer_id, root);
      assert.equal(p.user_offer_id, uo);
      assert.equal(p.user_id, m.id);
      assert.equal(p.pos_discount_id, 'POS-5');
      assert.equal(p.discount_amount, 5);
      assert.equal(typeof p.message, 'string');
      assert.ok(p.message.length > 0);
      assert.equal(p.user_offer.status, 2);
      assert.equal(p.user_offer.status_description, 'Redeemed');
      assert.equal(p.user_offer.redeemed_store_id, tenant.store_id);
      assert.deepEqual(await userOfferIds(m.id), []);
      refused(await redeem(uo), 409, 'already_redeemed');
    });

    it('computes the discount on the basket: 5% of 9.00 is 0.45; $5 on 3.00 is 3 (no overage)', async () => {
      const percent = await offer({ offer_type: 'percent_discount', amount: 5, check_level: true, pos_discount_id: '1111', internal_title: '5% Off Your Entire Purchase' });
      const fixed = await offer();
      const overage = await offer({ allow_overage: true });
      const m = await member();
      let res = await redeem(await issueTo(m.id, percent), transaction(['9.00']));
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.discount_amount, 0.45);
      res = await redeem(await issueTo(m.id, percent), transaction(['4.00', '5.00']));
      assert.equal(res.json.payload.discount_amount, 0.45);
      res = await redeem(await issueTo(m.id, fixed), transaction(['3.00']));
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.discount_amount, 3);
      assert.deepEqual(res.json.payload.discounted_line_ids, ['0']);
      res = await redeem(await issueTo(m.id, overage), transaction(['3.00']));
      assert.equal(res.json.payload.discount_amount, 5);
      // numbers sent as strings, as the collection does elsewhere
      const tx = transaction([]);
      res = await redeem(await issueTo(m.id, fixed), { ...tx, check_amount: '12.50', items: [{ pos_item_key: '1', quantity: '1', item_amount: '12.50', sub_total: '12.50' }] });
      assert.equal(res.json.payload.discount_amount, 5, res.body);
    });

    it('manual_redeem marks the offer redeemed without a basket', async () => {
      const root = await offer();
      const [m, n] = [await member(), await member()];
      const uo = await issueTo(m.id, root);
      refused(await connect('redemption/manual_redeem', { user_offer_id: uo, user_id: n.id }), 404, 'user_offer_not_found');
      const res = await connect('redemption/manual_redeem', { user_offer_id: uo, user_id: m.id, store_id: tenant.store_id });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.user_offer_id, uo);
      assert.equal(res.json.payload.discount_amount, 0);
      assert.equal((await details(uo)).status, 2);
      const { rows } = await sql<{ manual: boolean }>`SELECT manual FROM offer_redemptions WHERE user_offer_id = ${uo}`.execute(t.db);
      assert.deepEqual(rows, [{ manual: true }]);
      refused(await connect('redemption/manual_redeem', { user_offer_id: uo }), 409, 'already_redeemed');
    });

    it('records REDEEMED_OFFER on the member timeline', async () => {
      const root = await offer();
      const m = await member();
      const uo = await issueTo(m.id, root);
      const key = randomUUID();
      assert.equal((await redeem(uo, transaction(['20.00'], { pos_transaction_key: key }))).status, 200);
      const res = await timeline(m.id, 'REDEEMED_OFFER');
      assert.equal(res.json.count, 1, res.body);
      const payload = res.json.result[0].event_stream_payload;
      assert.equal(res.json.result[0].event_stream_event_type_id, 170);
      assert.equal(payload.UserOfferID, uo);
      assert.equal(payload.OfferID, root);
      assert.equal(payload.pos_transaction_key, key);
      assert.equal(payload.discount_amount, 5);
      assert.match(payload.OfferRedeemDate, ISO);
    });

    it('a locked offer cannot be redeemed by another transaction, but can by the locking one', async () => {
      const root = await offer();
      const m = await member();
      const uo = await issueTo(m.id, root);
      const res = await lock(uo, 'T1');
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.user_offer.status, 5);
      assert.equal(res.json.payload.user_offer.locked_by_pos_transaction_key, 'T1');
      assert.equal(res.json.payload.user_offer.is_redeemable, false);
      // locking again by the same transaction is allowed, by another is not
      assert.equal((await lock(uo, 'T1')).status, 200);
      refused(await lock(uo, 'T2'), 409, 'offer_locked');
      refused(await redeem(uo, transaction([10], { pos_transaction_key: 'T2' })), 409, 'offer_locked');
      refused(await redeem(uo, null), 409, 'offer_locked');
      refused(await connect('redemption/manual_redeem', { user_offer_id: uo }), 409, 'offer_locked');
      const ok = await redeem(uo, transaction([10], { pos_transaction_key: 'T1' }));
      assert.equal(ok.status, 200, ok.body);
      assert.equal(ok.json.payload.user_offer.status, 2);
      assert.equal(ok.json.payload.user_offer.locked_by_pos_transaction_key, null);
    });

    it('apply_lock_only locks with the transaction key and answers the discount', async () => {
      const root = await offer();
      const m = await member();
      const uo = await issueTo(m.id, root);
      const res = await redeem(uo, transaction([2], { pos_transaction_key: 'T-LOCK' }), { apply_lock_only: true });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.discount_amount, 2);
      assert.equal(res.json.payload.user_offer.status, 5);
      refused(await redeem(uo, transaction([2], { pos_transaction_key: 'T-OTHER' })), 409, 'offer_locked');
      assert.equal((await redeem(uo, transaction([2], { pos_transaction_key: 'T-LOCK' }))).status, 200);
    });

    it('lock → unlock → redeem → reinstate → redeem', async () => {
      const root = await offer();
      const m = await member();
      const uo = await issueTo(m.id, root);
      assert.equal((await lock(uo, 'T1')).status, 200);
      let res = await unlock(uo, { pos_transaction_key: 'T1' });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.user_offer.status, 1);
      refused(await reinstate(uo), 409, 'offer_not_redeemed');
      res = await redeem(uo, transaction([10], { pos_transaction_key: 'T2' }));
      assert.equal(res.status, 200, res.body);
      res = await reinstate(uo);
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.user_offer_id, uo);
      assert.equal(res.json.payload.user_offer.status, 1);
      assert.equal(res.json.payload.user_offer.is_redeemable, true);
      assert.deepEqual(await userOfferIds(m.id), [uo]);
      res = await redeem(uo, transaction([10]));
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.user_offer.status, 2);
      const { rows } = await sql<{ reinstated: boolean }>`SELECT reinstated_at IS NOT NULL AS reinstated FROM offer_redemptions WHERE user_offer_id = ${uo} ORDER BY id`.execute(t.db);
      assert.deepEqual(rows, [{ reinstated: true }, { reinstated: false }]);
    });

    it('unlock by another transaction needs force_unlock; an offer that is not locked cannot be unlocked', async () => {
      const root = await offer();
      const m = await member();
      const uo = await issueTo(m.id, root);
      refused(await unlock(uo, { force_unlock: true }), 409, 'offer_not_locked');
      assert.equal((await lock(uo, 'T1')).status, 200);
      refused(await unlock(uo, { pos_transaction_key: 'T2', force_unlock: false }), 409, 'offer_locked');
      assert.equal((await details(uo)).status, 5);
      const res = await unlock(uo, { pos_transaction_key: 'T2', force_unlock: true });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.user_offer.status, 1);
      // the collection's 3.3.4: force_unlock and no key
      assert.equal((await lock(uo, 'T3')).status, 200);
      assert.equal((await unlock(uo, { force_unlock: true })).status, 200);
      assert.equal((await redeem(uo, transaction([10], { pos_transaction_key: 'T4' }))).status, 200);
    });

    it('revoked and expired offers are refused', async () => {
      const root = await offer();
      const m = await member();
      const revoked = await issueTo(m.id, root);
      assert.equal((await revoke(revoked)).status, 200);
      refused(await redeem(revoked), 422, 'offer_revoked');
      refused(await lock(revoked, 'T1'), 422, 'offer_revoked');
      refused(await connect('redemption/manual_redeem', { user_offer_id: revoked }), 422, 'offer_revoked');
      refused(await reinstate(revoked), 422, 'offer_revoked');

      const expired = await issueTo(m.id, root);
      const res = await update(expired, { update_redemption_dates: true, redemption_start_date: inDays(-10), redemption_end_date: inDays(-1) });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.user_offer.status, 4);
      assert.equal(res.json.payload.user_offer.status_description, 'Expired');
      refused(await redeem(expired), 422, 'offer_expired');
      refused(await lock(expired, 'T1'), 422, 'offer_expired');
      refused(await connect('redemption/manual_redeem', { user_offer_id: expired }), 422, 'offer_expired');
      assert.deepEqual(await userOfferIds(m.id), []);

      // an offer whose window (days after acquisition) is over
      const short = await offer({ redemption_days: 1 });
      const old = await issueTo(m.id, short);
      await sql`UPDATE user_offers SET acquired_at = acquired_at - interval '3 days', redemption_start_date = redemption_start_date - interval '3 days', redemption_end_date = redemption_end_date - interval '3 days' WHERE id = ${old}`.execute(t.db);
      refused(await redeem(old), 422, 'offer_expired');
    });

    it('an offer not yet valid is refused (offer_not_yet_valid)', async () => {
      const later = await offer({ redemption_start_date: inDays(2), redemption_end_date: inDays(20) });
      const m = await member();
      const uo = await issueTo(m.id, later);
      refused(await redeem(uo), 422, 'offer_not_yet_valid');
      refused(await lock(uo, 'T1'), 422, 'offer_not_yet_valid');
      // moved into its window, it redeems
      const res = await update(uo, { update_redemption_dates: true, redemption_start_date: inDays(-1), redemption_end_date: inDays(20) });
      assert.equal(res.status, 200, res.body);
      assert.equal((await redeem(uo)).status, 200);
    });

    it('a location restriction refuses another store (store_not_allowed)', async () => {
      const root = await offer({ restrictions: { location: { store_ids: [tenant.store_id.toUpperCase()] } } });
      const m = await member();
      const uo = await issueTo(m.id, root);
      refused(await redeem(uo, transaction([10], { store_id: randomUUID() })), 422, 'store_not_allowed');
      refused(await redeem(uo, null), 422, 'store_not_allowed');
      refused(await connect('redemption/lock', { store_id: randomUUID(), user_offer_id: uo, pos_transaction_key: 'T1' }), 422, 'store_not_allowed');
      assert.equal((await details(uo)).status, 1);
      const res = await redeem(uo, transaction([10], { store_id: tenant.store_id.toUpperCase() }));
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.user_offer.redeemed_store_id, tenant.store_id);
    });

    it("another retailer's user offer is 404 user_offer_not_found", async () => {
      const root = await offer();
      await offer({}, other);
      const m = await member();
      const uo = await issueTo(m.id, root);
      const otherMember = await member(other);
      refused(await redeem(uo, null, {}, other), 404, 'user_offer_not_found');
      refused(await connect('redemption/lock', { user_offer_id: uo, pos_transaction_key: 'T1' }, other), 404, 'user_offer_not_found');
      refused(await connect('redemption/unlock', { user_offer_id: uo, force_unlock: true }, other), 404, 'user_offer_not_found');
      refused(await connect('redemption/reinstate', { user_offer_id: uo }, other), 404, 'user_offer_not_found');
      refused(await connect('redemption/manual_redeem', { user_offer_id: uo }, other), 404, 'user_offer_not_found');
      refused(await revoke(uo, {}, other), 404, 'user_offer_not_found');
      refused(await connect('acquisition/update', { user_offer_id: uo, custom_data: 'x' }, other), 404, 'user_offer_not_found');
      refused(await connect('get_user_offer_details', { user_offer_id: uo }, other), 404, 'user_offer_not_found');
      const moved = await connect('acquisition/move_user_offers', { source_user_id: otherMember.id, destination_user_id: (await member(other)).id, user_offers_id_list: [uo] }, other);
      assert.equal(moved.json.payload.results[0].error_code, 'user_offer_not_found', moved.body);
      // the offer of another retailer cannot be issued either, nor a member of another retailer
      refused(await connect('acquisition/issue', { user_id: otherMember.id, offer_id: root }, other), 404, 'offer_not_found');
      const cross = await connect('acquisition/issue', { user_id: otherMember.id, offer_id: root });
      assert.equal(cross.json.payload.status_list[0].fail_reason, 1, cross.body);
      // a body naming another retailer than the credentials
      refused(await connect('redemption/redeem', { retailer_id: other.retailer_id, user_offer_id: uo }), 404, 'not_found');
      assert.equal((await details(uo)).status, 1);
    });

    it('accepts a body with // comments (like the collection\'s 3.2.6)', async () => {
      const root = await offer();
      const m = await member();
      const uo = await issueTo(m.id, root);
      const payload = `{
  "retailer_id": "${tenant.retailer_id}",
  "user_offer_id": "${uo}",
  // "force_redeem": true,
  /* a block comment */
  "transaction": { "store_id": "${tenant.store_id}", "pos_transaction_key": "K//1", "check_amount": 11, "items": [{ "pos_item_key": "1", "quantity": 1, "item_amount": 11, "sub_total": 11 }] },
  "culture": "en-US"
}`;
      const res = await call(t.app, { method: 'POST', url: '/offers/api/2.0/offers/redemption/redeem', headers: { authorization: tenant.connect, 'content-type': 'application/json' }, payload });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.discount_amount, 5);
      const { rows } = await sql<{ transaction_key: string }>`SELECT transaction_key FROM offer_redemptions WHERE user_offer_id = ${uo}`.execute(t.db);
      assert.deepEqual(rows, [{ transaction_key: 'K//1' }]);
    });
  });
});
