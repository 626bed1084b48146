// The admin API the console is built on, beyond search and the member view:
// a member's ledger and timeline a page at a time, the retailer's dashboard,
// the privacy request queue, and the progress toward the next tier level.
// Points are applied at chosen instants (the ledger's injected time) so that
// the dashboard's days, in the retailer's time zone, can be checked exactly.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { tierProgram } from '../support/factories.js';
import { transact } from '../../src/db/unit-of-work.js';
import { lockMemberRef } from '../../src/modules/members/service.js';
import { parseAmount } from '../../src/modules/points/amount.js';
import { applyPointChanges, type PointDetail } from '../../src/modules/points/ledger.js';

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };

describe('admin API for the console', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let other: TestTenant;
  const get = (url: string) => call(t.app, { method: 'GET', url, headers: ADMIN });
  const admin = (path: string, tn: TestTenant = tenant) => `/admin/tenants/${tn.retailer_id}${path}`;

  /** Applies point details to a member at `at` (its lock held), as the surfaces do. */
  async function points(memberId: string, details: PointDetail[], at?: Date, tn: TestTenant = tenant) {
    await transact(t.db, async (tx) => {
      const member = await lockMemberRef(tx, tn.retailer_id, memberId);
      await applyPointChanges(tx, tn.actor, member, details, { allowPartialSuccess: false, effectiveAt: at });
    });
  }
  const deposit = (point_account_id: string, amount: string): PointDetail => ({ kind: 'deposit', point_account_id, amount: parseAmount(amount) });
  const spend = (point_account_id: string, amount: string, is_return = false): PointDetail => ({ kind: 'spend', point_account_ids: [point_account_id], amount: parseAmount(amount), is_return });

  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    other = await createTenant(t.db);
  });

  describe('a member’s ledger, a page at a time', () => {
    const acc = { main: randomUUID(), bonus: randomUUID() };
    let member: Record<string, any>;
    let twin: Record<string, any>;

    before(async () => {
      const program = await call(t.app, {
        method: 'PUT',
        url: admin('/program'),
        headers: ADMIN,
        payload: { point_accounts: [{ id: acc.main, name: 'Main', default: true }, { id: acc.bonus, name: 'Bonus' }] },
      });
      assert.equal(program.status, 200, program.body);
      member = await createMemberViaApi(t.app, tenant);
      twin = await createMemberViaApi(t.app, other);
      const day = (n: number) => new Date(Date.UTC(2024, 0, n, 12));
      await points(member.id, [deposit(acc.main, '100'), deposit(acc.bonus, '5')], day(1)); // one instant, two entries
      await points(member.id, [spend(acc.main, '30')], day(2));
      await points(member.id, [spend(acc.main, '10', true)], day(3));
      await points(member.id, [deposit(acc.bonus, '2.5')], day(4));
      await points(member.id, [spend(acc.main, '1')], day(5));
      await points(member.id, [deposit(acc.main, '0.0001')], day(6));
    });

    const page = (query: string, user = member.id) => get(admin(`/members/${user}/ledger${query}`));

    it('walks every entry newest first, in pages that neither repeat nor skip one, as the member view orders them', async () => {
      const view = await get(admin(`/members/${member.id}`));
      assert.equal(view.status, 200, view.body);
      const seen: any[] = [];
      let before: number | null = null;
      let pages = 0;
      do {
        const res = await page(`?limit=3${before ? `&before=${before}` : ''}`);
        assert.equal(res.status, 200, res.body);
        assert.ok(res.json.entries.length <= 3);
        seen.push(...res.json.entries);
        before = res.json.next_before;
        if (before !== null) assert.equal(before, res.json.entries.at(-1).id);
        pages++;
      } while (before !== null);
      assert.equal(pages, 3);
      assert.equal(seen.length, 7);
      assert.equal(new Set(seen.map((e) => e.id)).size, 7);
      assert.deepEqual(seen, view.json.ledger.entries);
      // the two entries of one instant: the later written first
      assert.deepEqual(
        seen.map((e) => [e.modification_type, e.account_name, e.amount]),
        [['deposit', 'Main', '0.0001'], ['spend', 'Main', '-1'], ['deposit', 'Bonus', '2.5'], ['return', 'Main', '10'], ['spend', 'Main', '-30'], ['deposit', 'Bonus', '5'], ['deposit', 'Main', '100']],
      );
      // the default page holds them all, the last page says so
      const all = await page('');
      assert.equal(all.json.entries.length, 7);
      assert.equal(all.json.next_before, null);
    });

    it('filters by kind and by point account (each may repeat)', async () => {
      const spends = await page('?modification_type=spend');
      assert.deepEqual(spends.json.entries.map((e: any) => e.amount), ['-1', '-30']);
      const spendsAndReturns = await page('?modification_type=spend&modification_type=return');
      assert.deepEqual(spendsAndReturns.json.entries.map((e: any) => e.modification_type), ['spend', 'return', 'spend']);
      const bonus = await page(`?point_account_id=${acc.bonus.toUpperCase()}`);
      assert.deepEqual(bonus.json.entries.map((e: any) => [e.account_name, e.amount]), [['Bonus', '2.5'], ['Bonus', '5']]);
      const mainDeposits = await page(`?point_account_id=${acc.main}&modification_type=deposit&limit=1`);
      assert.deepEqual(mainDeposits.json.entries.map((e: any) => e.amount), ['0.0001']);
      const next = await page(`?point_account_id=${acc.main}&modification_type=deposit&limit=1&before=${mainDeposits.json.next_before}`);
      assert.deepEqual([next.json.entries.map((e: any) => e.amount), next.json.next_before], [['100'], null]);
      assert.deepEqual((await page(`?point_account_id=${randomUUID()}`)).json, { entries: [], next_before: null });
    });

    it('refuses a bad cursor, limit or kind with 400 naming the field', async () => {
      // an entry of another member is no cursor of this one's ledger
      const neighbour = await createMemberViaApi(t.app, tenant);
      await points(neighbour.id, [deposit(acc.main, '1')]);
      const theirs = (await page('', neighbour.id)).json.entries[0].id;
      for (const [query, field] of [
        [`?before=${theirs}`, 'before'],
        ['?before=999999999', 'before'],
        ['?before=abc', 'before'],
        ['?limit=201', 'limit'],
        ['?limit=0', 'limit'],
        ['?modification_type=gift', 'modification_type'],
        ['?point_account_id=nope', 'point_account_id'],
      ]) {
        const res = await page(query);
        assert.equal(res.status, 400, `${query}: ${res.body}`);
        assert.equal(res.json.status, 'error');
        assert.match(res.json.errors.message, new RegExp(field), `${query}: ${res.body}`);
      }
    });

    it("answers 404 for an unknown retailer and for another retailer's member", async () => {
      const unknown = await get(`/admin/tenants/${randomUUID()}/members/${member.id}/ledger`);
      assert.deepEqual([unknown.status, unknown.json.errors.code], [404, 'not_found']);
      const foreign = await page('', twin.id);
      assert.deepEqual([foreign.status, foreign.json.errors.code], [404, 'user_not_found']);
    });
  });

  describe('a member’s timeline, a page at a time', () => {
    let member: Record<string, any>;
    before(async () => {
      member = await createMemberViaApi(t.app, tenant);
      for (const tag of ['a', 'b', 'c', 'd', 'e']) {
        const res = await call(t.app, { method: 'POST', url: `${tenant.base}/users/${member.id}/tags`, headers: { authorization: tenant.core }, payload: { tags: [tag] } });
        assert.equal(res.status, 200, res.body);
      }
    });

    it('walks every entry newest first with the opaque cursor, as the member view shows them', async () => {
      const view = await get(admin(`/members/${member.id}`));
      const seen: any[] = [];
      let before: string | null = null;
      do {
        const res = await get(admin(`/members/${member.id}/timeline?limit=2${before ? `&before=${encodeURIComponent(before)}` : ''}`));
        assert.equal(res.status, 200, res.body);
        assert.ok(res.json.entries.length <= 2 && res.json.entries.length > 0);
        seen.push(...res.json.entries);
        before = res.json.next_before;
      } while (before !== null);
      assert.ok(seen.length >= 6, `${seen.length} entries`);
      assert.deepEqual(seen, view.json.timeline.entries);
      assert.equal(seen.at(-1).event_type, 'SIGNED_UP_WITHOUT_REFERRAL');
      assert.equal(seen.filter((e) => e.event_type === 'USER_TAG_DROPPED').length, 5);
    });

    it('refuses a cursor it did not issue, naming `before`, and answers 404 for an unknown member', async () => {
      const bad = await get(admin(`/members/${member.id}/timeline?before=not-a-cursor`));
      assert.equal(bad.status, 400, bad.body);
      assert.match(bad.json.errors.message, /^before:/);
      const unknown = await get(admin(`/members/${randomUUID()}/timeline`));
      assert.deepEqual([unknown.status, unknown.json.errors.code], [404, 'user_not_found']);
      const foreign = await get(`/admin/tenants/${randomUUID()}/members/${member.id}/timeline`);
      assert.deepEqual([foreign.status, foreign.json.errors.code], [404, 'not_found']);
    });
  });

  describe('the dashboard', () => {
    let shop: TestTenant;
    const acc = { main: randomUUID(), hourly: randomUUID(), later: randomUUID(), unused: randomUUID() };
    const offer = randomUUID();
    const campaigns = [5101, 5102, 5103, 5104];
    let a: Record<string, any>;
    let b: Record<string, any>;
    let c: Record<string, any>;
    const dashboard = (query = '', tn?: TestTenant) => get(`/admin/tenants/${(tn ?? shop).retailer_id}/dashboard${query}`);
    // 1–8 March 2024 in New York (standard time, UTC-5; summer time begins on the 10th)
    const WINDOW = '?from=2024-03-01&to=2024-03-08';

    before(async () => {
      shop = await createTenant(t.db);
      const start = new Date(Date.now() - 86_400_000).toISOString();
      const program = await call(t.app, {
        method: 'PUT',
        url: admin('/program', shop),
        headers: ADMIN,
        payload: {
          retailer: { name: 'Shop', time_zone: 'America/New_York' },
          point_accounts: [
            { id: acc.main, name: 'Main', default: true },
            { id: acc.hourly, name: 'Hourly', expiry: { policy: 'after', after: 'PT1H' } },
            { id: acc.later, name: 'Later', pending_for: 'P30D' },
            { id: acc.unused, name: 'Unused' },
          ],
          offers: [{ root_offer_id: offer, offer_type: 'fixed_amount_discount', amount: 5, internal_title: '$5 off' }],
          campaigns: campaigns.map((id) => ({ id, name: `Campaign ${id}`, start_date: start, behaviors: [{ id: id * 10, name: 'visit', external_behavior_id: randomUUID(), type: 'count', count_event: 'visit', earn_count: 1 }] })),
        },
      });
      assert.equal(program.status, 200, program.body);
      a = await createMemberViaApi(t.app, shop);
      b = await createMemberViaApi(t.app, shop);
      c = await createMemberViaApi(t.app, shop);

      // 21:00 in New York on 1 March is 2 March in UTC: the day is New York's
      await points(a.id, [deposit(acc.main, '100')], new Date('2024-03-02T02:00:00Z'), shop);
      await points(a.id, [spend(acc.main, '30')], new Date('2024-03-03T15:00:00Z'), shop);
      await points(a.id, [spend(acc.main, '10', true)], new Date('2024-03-03T16:00:00Z'), shop);
      await points(a.id, [deposit(acc.main, '0.0001')], new Date('2024-03-07T12:00:00Z'), shop);
      // before the window, and its last instant (8 March 00:00 in New York) is outside it
      await points(a.id, [deposit(acc.main, '7')], new Date('2024-02-20T12:00:00Z'), shop);
      await points(a.id, [deposit(acc.main, '3')], new Date('2024-03-08T05:00:00Z'), shop);
      // 50 expire an hour on: written off when the next change comes, at 14:00
      await points(b.id, [deposit(acc.hourly, '50')], new Date('2024-03-05T12:00:00Z'), shop);
      await points(b.id, [deposit(acc.hourly, '5')], new Date('2024-03-05T14:00:00Z'), shop);
      // pending now (no ledger entry until available): outstanding all the same
      await points(b.id, [deposit(acc.later, '12.5')], undefined, shop);

      const issue = await call(t.app, {
        method: 'POST',
        url: '/offers/api/2.0/offers/acquisition/issue',
        headers: { authorization: shop.connect },
        payload: { retailer_id: shop.retailer_id, culture: 'en-US', user_id: c.id, offer_id: offer, quantity: 2 },
      });
      assert.equal(issue.status, 200, issue.body);
      assert.equal(issue.json.payload.status_list[0].fail_reason, 0, issue.body);
      const redeem = await call(t.app, {
        method: 'POST',
        url: '/offers/api/2.0/offers/redemption/redeem',
        headers: { authorization: shop.connect },
        payload: {
          retailer_id: shop.retailer_id,
          culture: 'en-US',
          user_offer_id: issue.json.payload.status_list[0].user_offer_id,
          transaction: { store_id: shop.store_id, pos_transaction_key: 'K1', check_amount: 11, items: [{ pos_item_key: '1', quantity: 1, item_amount: 11, sub_total: 11 }] },
        },
      });
      assert.equal(redeem.status, 200, redeem.body);

      // completions: 5101 by three members, 5102 by two, 5103 by one (and one more before the window), 5104 by none
      const completed = async (memberId: string, campaign: number, at: string) =>
        sql`INSERT INTO member_campaigns (retailer_id, member_id, campaign_id, state, updated_at) VALUES (${shop.retailer_id}, ${memberId}, ${campaign}, 'completed', ${new Date(at)})`.execute(t.db);
      for (const m of [a, b, c]) await completed(m.id, 5101, '2024-03-04T12:00:00Z');
      for (const m of [a, b]) await completed(m.id, 5102, '2024-03-06T12:00:00Z');
      await completed(a.id, 5103, '2024-03-06T12:00:00Z');
      await completed(b.id, 5103, '2024-02-01T12:00:00Z');
      await sql`INSERT INTO member_campaigns (retailer_id, member_id, campaign_id, state, updated_at) VALUES (${shop.retailer_id}, ${c.id}, 5104, 'in_progress', ${new Date('2024-03-05T12:00:00Z')})`.execute(t.db);
    });

    it('sums the points issued, spent net of returns, and expired per day of the retailer’s time zone, every day of the window', async () => {
      const res = await dashboard(WINDOW);
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.time_zone, 'America/New_York');
      assert.deepEqual([res.json.from, res.json.to], ['2024-03-01T05:00:00.000Z', '2024-03-08T05:00:00.000Z']);
      assert.deepEqual(res.json.points_per_day, [
        { day: '2024-03-01', issued: '100', spent: '0', expired: '0' },
        { day: '2024-03-02', issued: '0', spent: '0', expired: '0' },
        { day: '2024-03-03', issued: '0', spent: '20', expired: '0' },
        { day: '2024-03-04', issued: '0', spent: '0', expired: '0' },
        { day: '2024-03-05', issued: '55', spent: '0', expired: '50' },
        { day: '2024-03-06', issued: '0', spent: '0', expired: '0' },
        { day: '2024-03-07', issued: '0.0001', spent: '0', expired: '0' },
      ]);
      // the same window in UTC days: the first deposit falls on 2 March, and the window touches 8 March
      const utc = await dashboard('?from=2024-03-01T05:00:00Z&to=2024-03-08T05:00:00.000%2B00:00');
      assert.deepEqual(utc.json.points_per_day.map((d: any) => d.day), ['2024-03-01', '2024-03-02', '2024-03-03', '2024-03-04', '2024-03-05', '2024-03-06', '2024-03-07']);
      const instants = await dashboard('?from=2024-03-02T00:00:00-05:00&to=2024-03-02T12:00:00-05:00');
      assert.deepEqual(instants.json.points_per_day, [{ day: '2024-03-02', issued: '0', spent: '0', expired: '0' }]);
    });

    it('counts what is outstanding in each account now, available and pending, as the members’ balances are', async () => {
      const res = await dashboard(WINDOW);
      assert.deepEqual(res.json.liability, [
        { point_account_id: acc.main, name: 'Main', outstanding: '90.0001', members_holding: 1 },
        // the 5 expired at 15:00 on 5 March: not owed, though not written off yet
        { point_account_id: acc.hourly, name: 'Hourly', outstanding: '0', members_holding: 0 },
        { point_account_id: acc.later, name: 'Later', outstanding: '12.5', members_holding: 1 },
        { point_account_id: acc.unused, name: 'Unused', outstanding: '0', members_holding: 0 },
      ]);
      // what the member views show, account by account
      const held = new Map<string, bigint>();
      for (const m of [a, b, c]) {
        const view = await get(admin(`/members/${m.id}`, shop));
        for (const p of view.json.point_accounts) held.set(p.point_account_id, (held.get(p.point_account_id) ?? 0n) + parseAmount(p.available_balance) + parseAmount(p.pending_balance));
      }
      for (const l of res.json.liability) assert.equal(parseAmount(l.outstanding), held.get(l.point_account_id), l.name);
    });

    it('counts members, offers and the most completed campaigns of the window', async () => {
      const res = await dashboard(WINDOW);
      // a and b had entries in the 30 days before 8 March; c did not; all three enrolled now, after the window
      assert.deepEqual(res.json.members, { total: 3, new_in_period: 0, active_last_30_days: 2 });
      assert.deepEqual(res.json.offers, { issued: 0, redeemed: 0 });
      assert.deepEqual(res.json.top_campaigns, [
        { campaign_id: 5101, name: 'Campaign 5101', completions: 3 },
        { campaign_id: 5102, name: 'Campaign 5102', completions: 2 },
        { campaign_id: 5103, name: 'Campaign 5103', completions: 1 },
      ]);
    });

    it('covers the last 30 days up to now by default', async () => {
      const res = await dashboard();
      assert.equal(res.status, 200, res.body);
      const span = Date.parse(res.json.to) - Date.parse(res.json.from);
      assert.equal(span, 30 * 86_400_000);
      assert.ok(Math.abs(Date.parse(res.json.to) - Date.now()) < 60_000);
      // 30 days touch 31 calendar days unless the window starts at midnight
      assert.ok([30, 31].includes(res.json.points_per_day.length), String(res.json.points_per_day.length));
      const days = res.json.points_per_day.map((d: any) => d.day);
      assert.deepEqual(days, [...new Set(days)].sort());
      assert.deepEqual(res.json.members, { total: 3, new_in_period: 3, active_last_30_days: 3 });
      // the acquisition issued, one of them redeemed
      assert.equal(res.json.offers.redeemed, 1);
      assert.ok(res.json.offers.issued >= 1);
      assert.deepEqual(res.json.top_campaigns, []);
      assert.ok(res.json.points_per_day.every((d: any) => d.issued === '0' && d.spent === '0' && d.expired === '0'));
    });

    it('refuses an empty or reversed window, one over 366 days and a malformed date, naming the field', async () => {
      for (const [query, field] of [
        ['?from=2024-03-08&to=2024-03-01', 'to'],
        ['?from=2024-03-08&to=2024-03-08', 'to'],
        ['?from=2023-01-01&to=2024-03-01', 'from'],
        ['?from=yesterday', 'from'],
        ['?to=2024-13-45', 'to'],
        ['?from=2024-03-01T25:00:00Z', 'from'],
      ]) {
        const res = await dashboard(query);
        assert.equal(res.status, 400, `${query}: ${res.body}`);
        assert.equal(res.json.errors.code, 'argument_error');
        assert.match(res.json.errors.message, new RegExp(`^${field}:`), query);
      }
      // 366 days is allowed
      assert.equal((await dashboard('?from=2023-03-01T00:00:00Z&to=2024-03-01T00:00:00Z')).status, 200);
    });

    it('answers in UTC for a retailer without a time zone, and 404 for an unknown retailer', async () => {
      const res = await dashboard('?from=2024-03-01&to=2024-03-03', other);
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.time_zone, 'UTC');
      assert.deepEqual([res.json.from, res.json.points_per_day.length], ['2024-03-01T00:00:00.000Z', 2]);
      const unknown = await get(`/admin/tenants/${randomUUID()}/dashboard`);
      assert.deepEqual([unknown.status, unknown.json.errors.code], [404, 'not_found']);
    });

    it('keeps the time zone in the exported program', async () => {
      const res = await get(admin('/program', shop));
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(res.json.retailer, { name: 'Shop', time_zone: 'America/New_York' });
    });
  });

  describe('the privacy request queue', () => {
    let shop: TestTenant;
    const members: Record<string, any>[] = [];
    const queue = (query = '', tn?: TestTenant) => get(`/admin/tenants/${(tn ?? shop).retailer_id}/privacy-requests${query}`);
    const core = (path: string) => call(t.app, { method: 'POST', url: `${shop.base}${path}`, headers: { authorization: shop.core } });

    before(async () => {
      shop = await createTenant(t.db);
      for (let i = 0; i < 4; i++) members.push(await createMemberViaApi(t.app, shop, { first_name: `Person${i}`, last_name: 'Queue', email: `person${i}@example.com` }));
      // filed in this order: due in this order (the same grace period)
      for (const [i, action] of [[2, 'forget'], [0, 'export'], [1, 'forget'], [3, 'restrict']] as const) {
        const res = await core(`/users/${members[i].id}/privacy/${action}`);
        assert.equal(res.status, 200, res.body);
      }
    });

    it('lists the pending requests soonest due first, with whom each is about, in pages without repeats', async () => {
      const all = await queue('?status=pending');
      assert.equal(all.status, 200, all.body);
      assert.deepEqual(
        all.json.requests.map((r: any) => [r.user_id, r.type, r.status, r.email, r.first_name]),
        [
          [members[2].id, 'forget', 'pending', 'person2@example.com', 'Person2'],
          [members[0].id, 'export', 'pending', 'person0@example.com', 'Person0'],
          [members[1].id, 'forget', 'pending', 'person1@example.com', 'Person1'],
        ],
      );
      const due = all.json.requests.map((r: any) => Date.parse(r.due_at));
      assert.deepEqual(due, [...due].sort((x, y) => x - y));
      assert.ok(all.json.requests.every((r: any) => r.completed_at === null && r.cancelled_at === null && Date.parse(r.due_at) > Date.parse(r.created_at)));
      assert.equal(all.json.next_before, null);

      const seen: any[] = [];
      let before: string | null = null;
      do {
        const res = await queue(`?status=pending&limit=1${before ? `&before=${before}` : ''}`);
        assert.equal(res.status, 200, res.body);
        seen.push(...res.json.requests);
        before = res.json.next_before;
      } while (before !== null);
      assert.deepEqual(seen, all.json.requests);
    });

    it('lists every request newest first without a status, and only those of a status with one', async () => {
      const all = await queue();
      assert.deepEqual(all.json.requests.map((r: any) => [r.user_id, r.type]), [[members[3].id, 'restrict'], [members[1].id, 'forget'], [members[0].id, 'export'], [members[2].id, 'forget']]);
      const first = await queue('?limit=2');
      const second = await queue(`?limit=2&before=${first.json.next_before}`);
      assert.deepEqual([...first.json.requests, ...second.json.requests], all.json.requests);
      assert.equal(second.json.next_before, null);
      const completed = await queue('?status=completed');
      assert.deepEqual(completed.json.requests.map((r: any) => [r.user_id, r.type, r.status, r.completed_at !== null]), [[members[3].id, 'restrict', 'completed', true]]);
      assert.deepEqual((await queue('?status=pending', other)).json, { requests: [], next_before: null });
    });

    it('refuses a bad status or cursor (also one of another order) with 400, and answers 404 for an unknown retailer', async () => {
      const firstAll = await queue('?limit=1');
      for (const [query, field] of [
        ['?status=done', 'status'],
        ['?before=zzz', 'before'],
        [`?status=pending&before=${firstAll.json.next_before}`, 'before'],
        ['?limit=500', 'limit'],
      ]) {
        const res = await queue(query);
        assert.equal(res.status, 400, `${query}: ${res.body}`);
        assert.match(res.json.errors.message, new RegExp(field), query);
      }
      const unknown = await get(`/admin/tenants/${randomUUID()}/privacy-requests`);
      assert.deepEqual([unknown.status, unknown.json.errors.code], [404, 'not_found']);
    });
  });

  describe('tier progress in the member view', () => {
    let shop: TestTenant;
    const tierAccount = randomUUID();
    let lifetime: Awaited<ReturnType<typeof tierProgram>>;
    let period: Awaited<ReturnType<typeof tierProgram>>;

    before(async () => {
      shop = await createTenant(t.db);
      const program = await call(t.app, { method: 'PUT', url: admin('/program', shop), headers: ADMIN, payload: { point_accounts: [{ id: tierAccount, name: 'Tier Points', counts_toward_tiers: true }] } });
      assert.equal(program.status, 200, program.body);
      lifetime = await tierProgram(t.db, shop.retailer_id, tierAccount);
      // points count for 30 days in the second system
      period = await tierProgram(t.db, shop.retailer_id, tierAccount, 30, [lifetime]);
    });

    const depositNow = async (userId: string, amount: number) => {
      const res = await call(t.app, {
        method: 'POST',
        url: '/incentives/api/2.0/user_points/deposit',
        headers: { authorization: shop.connect },
        payload: { retailer_id: shop.retailer_id, culture: 'en-US', user_id: userId, deposit_details: [{ point_account_id: tierAccount, amount }] },
      });
      assert.equal(res.status, 200, res.body);
    };
    const tiersOf = async (userId: string) => {
      const view = await get(admin(`/members/${userId}`, shop));
      assert.equal(view.status, 200, view.body);
      return new Map<string, any>(view.json.tiers.map((x: any) => [x.tier_system_id, x]));
    };

    it('shows the level above and the qualifying points toward it: lifetime points, or those of the period', async () => {
      const m = await createMemberViaApi(t.app, shop);
      // 700 two months ago count for life, not in the 30-day period
      await points(m.id, [deposit(tierAccount, '700')], new Date(Date.now() - 60 * 86_400_000), shop);
      await depositNow(m.id, 150.5);
      const tiers = await tiersOf(m.id);
      const life = tiers.get(lifetime.system)!;
      assert.equal(life.tier_level_id, lifetime.levels.gold);
      assert.deepEqual(life.next_level, { tier_level_id: lifetime.levels.platinum, name: 'Platinum', point_account_id: tierAccount, threshold: '1000', current: '850.5' });
      const recent = tiers.get(period.system)!;
      assert.equal(recent.tier_level_id, period.levels.silver);
      assert.deepEqual(recent.next_level, { tier_level_id: period.levels.gold, name: 'Gold', point_account_id: tierAccount, threshold: '500', current: '150.5' });
    });

    it('shows no next level at the top', async () => {
      const m = await createMemberViaApi(t.app, shop);
      await depositNow(m.id, 1200);
      const tiers = await tiersOf(m.id);
      assert.equal(tiers.get(lifetime.system)!.tier_level_id, lifetime.levels.platinum);
      assert.equal(tiers.get(lifetime.system)!.next_level, null);
      assert.equal(tiers.get(period.system)!.next_level, null);
    });
  });
});
