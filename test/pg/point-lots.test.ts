// Points as lots (issue 19) on PostgreSQL, through the Connect API: expiry
// counts at once and is written by the settler, spends draw soonest-expiring
// first and returns put points back, pending points, debts, inactivity,
// concurrency with an expiry run, two settlers, and policies in the program.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pino from 'pino';
import { transact } from '../../src/db/unit-of-work.js';
import { startSettler } from '../../src/jobs/points.js';
import type { PollLoop } from '../../src/jobs/poll.js';
import { applyPointConfig, type PointAccountConfig } from '../../src/modules/points/accounts.js';
import { applyPointChanges } from '../../src/modules/points/ledger.js';
import { lockMemberRef } from '../../src/modules/members/service.js';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const silent = pino({ level: 'silent' });

interface Accounts {
  never: string;
  threeSeconds: string;
  pending: string;
  inactivity: string;
  noticed: string;
  source: string;
}

describe('point lots on PostgreSQL', () => {
  let t: TestApp;
  const settlers: PollLoop[] = [];
  before(async () => {
    // 120 spends on one member queue for its lock holding pooled connections; what is under
    // test is that none overdraws, not how long a request may wait for a connection on a
    // loaded CI machine (2 s, then 503, in production)
    t = await postgresApp({ dbConnectTimeoutMs: 60_000 });
  });
  after(async () => {
    for (const s of settlers.splice(0)) await s.stop();
  });
  const settle = () => {
    const s = startSettler(t.db, silent, { pollMs: 20 });
    settlers.push(s);
    return s;
  };

  async function program(): Promise<{ tenant: TestTenant; a: Accounts }> {
    const tenant = await createTenant(t.db);
    const a: Accounts = { never: randomUUID(), threeSeconds: randomUUID(), pending: randomUUID(), inactivity: randomUUID(), noticed: randomUUID(), source: randomUUID() };
    const accounts: PointAccountConfig[] = [
      { id: a.never, name: 'Spendable', default: true },
      { id: a.threeSeconds, name: 'Fleeting', expiry: { policy: 'after', after: 'PT3S', time_zone: 'UTC' } },
      { id: a.pending, name: 'Pending', pending_for: 'PT2S' },
      { id: a.inactivity, name: 'Dormant', expiry: { policy: 'inactivity', after: 'PT3S', time_zone: 'UTC' } },
      { id: a.noticed, name: 'Noticed', expiry: { policy: 'after', after: 'PT4S', time_zone: 'UTC' }, expiry_notice: 'PT3S' },
    ];
    await transact(t.db, (tx) => applyPointConfig(tx, tenant.retailer_id, accounts, [{ id: a.source, name: 'API', account_ids: [] }]));
    return { tenant, a };
  }

  const connect = (tenant: TestTenant, path: string, body: Record<string, unknown>) =>
    call(t.app, { method: 'POST', url: `/incentives/api/2.0/user_points/${path}`, headers: { authorization: tenant.connect }, payload: { retailer_id: tenant.retailer_id, culture: 'en-US', ...body } });
  const deposit = (tenant: TestTenant, userId: string, account: string, amount: number, extra: Record<string, unknown> = {}) =>
    connect(tenant, 'deposit', { user_id: userId, deposit_details: [{ point_account_id: account, amount, ...extra }] });
  const spend = (tenant: TestTenant, userId: string, account: string, amount: number, extra: Record<string, unknown> = {}) =>
    connect(tenant, 'spend_multiple', { user_id: userId, spend_details: [{ point_account_ids: [account], amount, ...extra }] });
  const ok = async (res: Promise<{ status: number; body: string; json: any }>) => {
    const r = await res;
    assert.equal(r.status, 200, r.body);
    return r.json;
  };
  /** The balance endpoint's detail of one account. */
  async function balance(tenant: TestTenant, userId: string, account: string) {
    const res = await ok(connect(tenant, 'balance', { user_id: userId, point_account_ids: [account] }));
    return res.payload.details[0];
  }
  const available = async (tenant: TestTenant, userId: string, account: string) => (await balance(tenant, userId, account)).available_balance;
  const ledger = async (memberId: string, account: string) =>
    (await sql<{ amount: string; balance_after: string; modification_type: string }>`SELECT amount::text, balance_after::text, modification_type FROM point_ledger WHERE member_id = ${memberId} AND point_account_id = ${account} ORDER BY id`.execute(t.db)).rows;
  const lots = async (memberId: string, account: string) =>
    (await sql<{ state: string; amount: string; remaining: string; expires_at: Date | null }>`SELECT state, amount::text, remaining::text, expires_at FROM point_lots WHERE member_id = ${memberId} AND point_account_id = ${account} ORDER BY id`.execute(t.db)).rows;
  const stored = async (memberId: string, account: string) =>
    (await sql<{ balance: string; pending: string; ledger: string; lots: string }>`
      SELECT a.available_balance::text AS balance, a.pending_balance::text AS pending,
             (SELECT coalesce(sum(amount), 0)::numeric(19, 4)::text FROM point_ledger l WHERE l.member_id = a.member_id AND l.point_account_id = a.point_account_id) AS ledger,
             (SELECT coalesce(sum(remaining), 0)::numeric(19, 4)::text FROM point_lots l WHERE l.member_id = a.member_id AND l.point_account_id = a.point_account_id AND l.state = 'open') AS lots
        FROM member_point_accounts a WHERE a.member_id = ${memberId} AND a.point_account_id = ${account}`.execute(t.db)).rows[0];
  const events = async (memberId: string, type: string) => (await sql<{ payload: any }>`SELECT payload FROM domain_events WHERE member_id = ${memberId} AND type = ${type} ORDER BY position`.execute(t.db)).rows.map((r) => r.payload);
  async function until<T>(what: string, check: () => Promise<T>, ms = 10_000): Promise<NonNullable<T>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await check();
      if (value) return value;
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await sleep(25);
    }
  }

  it('counts points as expired from their instant (after: PT3S), before the settler writes the expiry entry within moments', async () => {
    const { tenant, a } = await program();
    const m = await createMemberViaApi(t.app, tenant);
    await ok(deposit(tenant, m.id, a.threeSeconds, 100));
    const shown = await balance(tenant, m.id, a.threeSeconds);
    assert.equal(shown.available_balance, 100);
    assert.equal(shown.expiring_points.length, 1);
    assert.equal(shown.expiring_points[0].amount, 100);
    const expiresAt = Date.parse(shown.expiring_points[0].expires_at);
    assert.ok(Math.abs(expiresAt - (Date.now() + 3000)) < 1500, `expires at ${shown.expiring_points[0].expires_at}`);
    await sleep(Math.max(0, expiresAt - Date.now()) + 100);
    assert.equal(await available(tenant, m.id, a.threeSeconds), 0, 'unavailable at once');
    const refused = await spend(tenant, m.id, a.threeSeconds, 1);
    assert.equal(refused.status, 422, refused.body);
    assert.equal(refused.json.errors.code, 'insufficient_points');
    assert.deepEqual((await ledger(m.id, a.threeSeconds)).map((e) => e.modification_type), ['deposit'], 'not written yet: no settler ran');

    const started = Date.now();
    settle();
    const entries = await until('the expiry entry', async () => ((await ledger(m.id, a.threeSeconds)).length === 2 ? ledger(m.id, a.threeSeconds) : undefined));
    assert.ok(Date.now() - started < 60_000);
    assert.deepEqual(entries[1], { amount: '-100.0000', balance_after: '0.0000', modification_type: 'expiry' });
    assert.deepEqual((await lots(m.id, a.threeSeconds)).map((l) => [l.state, l.remaining]), [['expired', '0.0000']]);
    const audit = await ok(connect(tenant, 'fetch_point_audit_logs', { user_id: m.id, modification_types: ['expiry'] }));
    assert.deepEqual(audit.payload.results.map((r: any) => [r.modification_type, r.amount_expired]), [['expiry', 100]]);
    const expired = await events(m.id, 'points.expired');
    assert.deepEqual(expired.map((p) => [p.amount, p.balance_after, p.modification_type]), [['100', '0', 'expiry']]);
    const timeline = await call(t.app, { method: 'GET', url: `${tenant.base}/users/${m.id}/timelines/END_USER_MEMBER_STATEMENT?event_types=POINTS_EXPIRED`, headers: { authorization: tenant.core } });
    assert.equal(timeline.status, 200, timeline.body);
    assert.equal(JSON.stringify(timeline.json).includes('POINTS_EXPIRED'), true, timeline.body);
    await sleep(200);
    assert.equal((await ledger(m.id, a.threeSeconds)).length, 2, 'written once');
  });

  it('spends soonest-expiring first (never-expiring last), records its draws, and a return puts points back with their expiry', async () => {
    const { tenant, a } = await program();
    const m = await createMemberViaApi(t.app, tenant);
    const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString();
    await ok(deposit(tenant, m.id, a.never, 50));
    await ok(deposit(tenant, m.id, a.never, 30, { expiration_date: inDays(10) }));
    await ok(deposit(tenant, m.id, a.never, 20, { expiration_date: inDays(5) }));
    const before = await balance(tenant, m.id, a.never);
    assert.deepEqual(before.expiring_points.map((x: any) => x.amount), [20, 30], 'soonest first');
    await ok(spend(tenant, m.id, a.never, 40, { transaction_id: 'T-1' }));
    // the 50 that never expire are the balance beyond the lots (no row of their own)
    assert.deepEqual((await lots(m.id, a.never)).map((l) => l.remaining), ['10.0000', '0.0000'], 'the 5-day lot, then the 10-day one; the never-expiring points untouched');
    assert.equal(await available(tenant, m.id, a.never), 60);
    const [spent] = (await sql<{ lots: [string, string][] }>`SELECT lots FROM point_ledger WHERE member_id = ${m.id} AND modification_type = 'spend'`.execute(t.db)).rows;
    assert.deepEqual(spent.lots.map(([, amount]) => amount), ['-20', '-20']);
    await ok(spend(tenant, m.id, a.never, 25, { transaction_id: 'T-1', is_return: true }));
    assert.deepEqual((await lots(m.id, a.never)).map((l) => l.remaining), ['15.0000', '20.0000'], 'back into the lots it came from, soonest-expiring first');
    assert.deepEqual((await balance(tenant, m.id, a.never)).expiring_points.map((x: any) => x.amount), [20, 15]);
    const s = await stored(m.id, a.never);
    assert.deepEqual([s.balance, s.ledger, s.lots], ['85.0000', '85.0000', '35.0000'], '50 never expire');
  });

  it('leaves a debt after a forced spend below zero, which later deposits pay off first', async () => {
    const { tenant, a } = await program();
    const m = await createMemberViaApi(t.app, tenant);
    const soon = () => ({ expiration_date: new Date(Date.now() + 86_400_000).toISOString() });
    await ok(deposit(tenant, m.id, a.never, 10, soon()));
    await ok(spend(tenant, m.id, a.never, 40, { force_spend: true }));
    assert.equal(await available(tenant, m.id, a.never), -30);
    assert.deepEqual((await lots(m.id, a.never)).map((l) => l.remaining), ['0.0000'], 'a debt: every lot empty');
    await ok(deposit(tenant, m.id, a.never, 50, soon()));
    assert.equal(await available(tenant, m.id, a.never), 20);
    const s = await stored(m.id, a.never);
    assert.deepEqual([s.balance, s.ledger, s.lots], ['20.0000', '20.0000', '20.0000'], 'the debt took 30 of the 50');
  });

  it('holds pending points back until their instant; a take-back of their transaction while pending cancels them', async () => {
    const { tenant, a } = await program();
    const m = await createMemberViaApi(t.app, tenant);
    await ok(deposit(tenant, m.id, a.pending, 40, { transaction_id: 'P-1' }));
    await ok(deposit(tenant, m.id, a.pending, 60, { transaction_id: 'P-2' }));
    const held = await balance(tenant, m.id, a.pending);
    assert.deepEqual([held.available_balance, held.pending_balance], [0, 100]);
    const refused = await spend(tenant, m.id, a.pending, 10);
    assert.equal(refused.json.errors?.code, 'insufficient_points', refused.body);
    // the purchase P-1 is returned while its points are pending: they never become available
    await ok(spend(tenant, m.id, a.pending, 40, { force_spend: true, transaction_id: 'P-1' }));
    const after = await balance(tenant, m.id, a.pending);
    assert.deepEqual([after.available_balance, after.pending_balance], [0, 60]);
    assert.deepEqual(await ledger(m.id, a.pending), [], 'pending points have no ledger entry');
    await sleep(2200);
    const released = await balance(tenant, m.id, a.pending);
    assert.deepEqual([released.available_balance, released.pending_balance ?? 0], [60, 0], 'available at their instant');
    await ok(spend(tenant, m.id, a.pending, 60));
    assert.deepEqual((await ledger(m.id, a.pending)).map((e) => [e.modification_type, e.amount]), [['deposit', '60.0000'], ['spend', '-60.0000']]);
    assert.deepEqual((await events(m.id, 'points.pending')).map((p) => p.amount), ['40', '60']);
    assert.deepEqual((await events(m.id, 'points.available')).map((p) => p.amount), ['60']);
    const s = await stored(m.id, a.pending);
    assert.deepEqual([s.balance, s.pending, s.ledger, s.lots], ['0.0000', '0.0000', '0.0000', '0.0000']);
  });

  it('tells the member once, expiry_notice before, which points expire when (points.expiring)', async () => {
    const { tenant, a } = await program();
    const m = await createMemberViaApi(t.app, tenant);
    // both expire at one instant (one lot): one notice
    const when = { expiration_date: new Date(Date.now() + 4000).toISOString() };
    await ok(deposit(tenant, m.id, a.noticed, 10, when));
    await ok(deposit(tenant, m.id, a.noticed, 5, when));
    const { expiring_points: [{ expires_at: expiresAt }] } = await balance(tenant, m.id, a.noticed);
    assert.deepEqual(await events(m.id, 'points.expiring'), [], 'not before its instant');
    settle();
    const told = await until('the notice', async () => {
      const e = await events(m.id, 'points.expiring');
      return e.length ? e : undefined;
    });
    assert.ok(Date.now() < Date.parse(expiresAt), 'told before the points expire');
    assert.deepEqual(told, [{ point_account_id: a.noticed, account_name: 'Noticed', amount: '15', expires_at: expiresAt }]);
    await until('the expiry', async () => (await events(m.id, 'points.expired')).length > 0);
    assert.equal((await events(m.id, 'points.expiring')).length, 1, 'told once');
  });

  it('moves an inactivity account’s expiry with each earn and spend, and expires all of it once the member is idle', async () => {
    const { tenant, a } = await program();
    const m = await createMemberViaApi(t.app, tenant);
    await ok(deposit(tenant, m.id, a.inactivity, 10));
    await sleep(2000);
    await ok(deposit(tenant, m.id, a.inactivity, 5));
    await sleep(2000);
    assert.equal(await available(tenant, m.id, a.inactivity), 15, 'four seconds after the first earn, two after the last');
    await ok(spend(tenant, m.id, a.inactivity, 1));
    await sleep(2000);
    assert.equal(await available(tenant, m.id, a.inactivity), 14, 'the spend moved it again');
    await sleep(1300);
    assert.equal(await available(tenant, m.id, a.inactivity), 0, 'idle for three seconds: all of it');
  });

  it('never overdraws or counts twice with 120 concurrent spends and an expiry run on one member', async () => {
    const { tenant, a } = await program();
    const m = await createMemberViaApi(t.app, tenant);
    await ok(deposit(tenant, m.id, a.never, 100));
    await ok(deposit(tenant, m.id, a.never, 60, { expiration_date: new Date(Date.now() + 800).toISOString() }));
    await sleep(900);
    settle();
    const answers = await Promise.all(Array.from({ length: 120 }, (_, i) => spend(tenant, m.id, a.never, 1, { reference_id: `C-${i}` })));
    const spentOk = answers.filter((r) => r.status === 200).length;
    const refused = answers.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.json?.errors?.code}`);
    assert.equal(spentOk, 100, `${spentOk} spends succeeded (the others: ${[...new Set(refused)].join(', ')}): the 60 expired points are not spendable`);
    assert.ok(answers.every((r) => r.status === 200 || r.json.errors.code === 'insufficient_points'));
    await until('the expiry written', async () => (await ledger(m.id, a.never)).some((e) => e.modification_type === 'expiry'));
    const entries = await ledger(m.id, a.never);
    assert.deepEqual(entries.filter((e) => e.modification_type === 'expiry').map((e) => e.amount), ['-60.0000']);
    assert.ok(entries.every((e) => Number(e.balance_after) >= 0), 'never below zero');
    const s = await stored(m.id, a.never);
    assert.deepEqual([s.balance, s.ledger, s.lots], ['0.0000', '0.0000', '0.0000']);
  });

  it('expires each lot once with two settlers at work', async () => {
    const { tenant, a } = await program();
    const members = [];
    for (let i = 0; i < 40; i++) {
      const m = await createMemberViaApi(t.app, tenant);
      await ok(deposit(tenant, m.id, a.never, 10 + i, { expiration_date: new Date(Date.now() + 300).toISOString() }));
      members.push(m.id);
    }
    await sleep(400);
    settle();
    settle();
    const expiries = async () =>
      (await sql<{ member_id: string; amount: string }>`SELECT member_id, amount::text FROM point_ledger WHERE retailer_id = ${tenant.retailer_id} AND modification_type = 'expiry' ORDER BY member_id`.execute(t.db)).rows;
    await until('every member’s expiry', async () => (await expiries()).length >= 40);
    await sleep(300);
    const rows = await expiries();
    assert.equal(rows.length, 40);
    assert.equal(new Set(rows.map((r) => r.member_id)).size, 40, 'one each');
    for (const [i, id] of members.entries()) assert.equal(rows.find((r) => r.member_id === id)!.amount, `-${10 + i}.0000`);
  });

  it('gives deposits the program’s policies: round_to in the retailer’s time zone, fixed_date', async () => {
    const tenant = await createTenant(t.db);
    const [monthly, yearEnd] = [randomUUID(), randomUUID()];
    const applied = await call(t.app, {
      method: 'PUT',
      url: `/admin/tenants/${tenant.retailer_id}/program`,
      headers: { authorization: `Bearer ${t.config.adminToken}` },
      payload: {
        retailer: { name: 'Zones', time_zone: 'America/New_York' },
        point_accounts: [
          { id: monthly, name: 'Monthly', default: true, expiry: { policy: 'after', after: 'P1M', round_to: 'month' } },
          { id: yearEnd, name: 'Year end', expiry: { policy: 'fixed_date', month: 12, day: 31, time_zone: 'UTC' } },
        ],
      },
    });
    assert.equal(applied.status, 200, applied.body);
    const m = await createMemberViaApi(t.app, tenant);
    const now = new Date();
    await ok(deposit(tenant, m.id, monthly, 10));
    await ok(deposit(tenant, m.id, yearEnd, 10));
    // a month on, to the end of that month, in New York: the local midnight starting the month after next
    const at = new Date((await balance(tenant, m.id, monthly)).expiring_points[0].expires_at);
    const local = (d: Date) => Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' }).formatToParts(d).map((p) => [p.type, p.value]));
    const [then, today] = [local(at), local(now)];
    assert.deepEqual([then.day, then.hour, then.minute], ['1', '00', '00'], `${at.toISOString()} is a local midnight starting a month`);
    assert.equal(Number(then.month), ((Number(today.month) + 1) % 12) + 1);
    // every 31 December (UTC), for what was earned before it: the next 1 January's midnight
    const year = now.getUTCFullYear() + (now.getUTCMonth() === 11 && now.getUTCDate() === 31 ? 2 : 1);
    assert.equal((await balance(tenant, m.id, yearEnd)).expiring_points[0].expires_at, `${year}-01-01T00:00:00.000Z`);
  });

  it('stores the expiry instants of the edge cases: month ends, a leap day, DST days, fixed dates', async () => {
    const tenant = await createTenant(t.db);
    const ids = { month: randomUUID(), leap: randomUUID(), berlinDay: randomUUID(), feb29: randomUUID(), la: randomUUID() };
    const accounts: PointAccountConfig[] = [
      { id: ids.month, name: 'Month end NY', expiry: { policy: 'after', after: 'P1M', round_to: 'month', time_zone: 'America/New_York' } },
      { id: ids.leap, name: 'One month', expiry: { policy: 'after', after: 'P1M', time_zone: 'UTC' } },
      { id: ids.berlinDay, name: 'Berlin day', expiry: { policy: 'after', after: 'P1D', round_to: 'day', time_zone: 'Europe/Berlin' } },
      { id: ids.feb29, name: '29 February', expiry: { policy: 'fixed_date', month: 2, day: 29, time_zone: 'UTC' } },
      { id: ids.la, name: 'New Year LA', expiry: { policy: 'fixed_date', month: 12, day: 31, time_zone: 'America/Los_Angeles' } },
    ];
    await transact(t.db, (tx) => applyPointConfig(tx, tenant.retailer_id, accounts, []));
    const m = await createMemberViaApi(t.app, tenant);
    const actor = { retailerId: tenant.retailer_id, retailerNumber: 0 };
    // deposits at chosen instants (the ledger's injected time), each into its account
    const at = async (account: string, when: string) => {
      await transact(t.db, async (tx) => {
        const member = await lockMemberRef(tx, tenant.retailer_id, m.id);
        await applyPointChanges(tx, actor, member, [{ kind: 'deposit', point_account_id: account, amount: 10_0000n }], { allowPartialSuccess: false, effectiveAt: new Date(when) });
      });
      const rows = (await sql<{ expires_at: Date }>`SELECT expires_at FROM point_lots WHERE member_id = ${m.id} AND point_account_id = ${account} ORDER BY id DESC LIMIT 1`.execute(t.db)).rows;
      return rows[0].expires_at.toISOString();
    };
    assert.equal(await at(ids.month, '2031-01-31T20:00:00.000Z'), '2031-03-01T05:00:00.000Z', '31 Jan + 1 month = 28 Feb, to the end of February in New York');
    assert.equal(await at(ids.leap, '2032-01-31T10:00:00.000Z'), '2032-02-29T10:00:00.000Z', 'a leap year');
    assert.equal(await at(ids.berlinDay, '2031-03-29T12:00:00.000Z'), '2031-03-30T22:00:00.000Z', 'the day Berlin moves to summer time has 23 hours');
    assert.equal(await at(ids.feb29, '2031-01-10T00:00:00.000Z'), '2031-03-01T00:00:00.000Z', 'no 29 February in 2031: the 28th');
    assert.equal(await at(ids.feb29, '2031-03-01T00:00:00.000Z'), '2032-03-01T00:00:00.000Z', '2032 has one');
    assert.equal(await at(ids.la, '2031-12-31T05:00:00.000Z'), '2032-01-01T08:00:00.000Z', '30 Dec in Los Angeles: the end of 31 Dec there');
  });

  it('takes a policy from the program file, shows it in the export, and refuses an invalid one naming its field', async () => {
    const tenant = await createTenant(t.db);
    const admin = { authorization: `Bearer ${t.config.adminToken}` };
    const account = randomUUID();
    const put = (expiry: unknown, extra: Record<string, unknown> = {}) =>
      call(t.app, { method: 'PUT', url: `/admin/tenants/${tenant.retailer_id}/program`, headers: admin, payload: { retailer: { name: 'Lots', time_zone: 'Europe/Paris' }, point_accounts: [{ id: account, name: 'Spendable', expiry, ...extra }] } });
    const applied = await put({ policy: 'after', after: 'P12M', round_to: 'month' }, { pending_for: 'P14D', expiry_notice: 'P30D' });
    assert.equal(applied.status, 200, applied.body);
    assert.deepEqual(applied.json.program.point_accounts[0].expiry, { policy: 'after', after: 'P12M', round_to: 'month', time_zone: 'Europe/Paris' });
    assert.deepEqual([applied.json.program.point_accounts[0].pending_for, applied.json.program.point_accounts[0].expiry_notice], ['P14D', 'P30D']);
    for (const [expiry, extra, field] of [
      [{ policy: 'after', after: 'a year' }, {}, 'point_accounts.0.expiry.after'],
      [{ policy: 'fixed_date', month: 2, day: 30 }, {}, 'point_accounts.0.expiry.day'],
      [{ policy: 'after', after: 'P1M', time_zone: 'Nowhere/Special' }, {}, 'point_accounts.0.expiry.time_zone'],
      [{ policy: 'never' }, { pending_for: 'two weeks' }, 'point_accounts.0.pending_for'],
    ] as const) {
      const refused = await put(expiry, extra);
      assert.equal(refused.status, 422, refused.body);
      assert.equal(refused.json.errors.code, 'validation');
      assert.match(refused.body, new RegExp(field.replace(/\./g, '\\.')));
    }
    const refused = await put({ policy: 'sometimes' });
    assert.equal(refused.status, 400, refused.body);
  });
});
