// Points (SPEC §5.4, issue 3) on PostgreSQL: deposits and spends through the
// Connect API, checked against what a member and an integration can see (the
// answers, balances, audit log, timeline) and against the ledger itself.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { pointsProgram, type PointsProgram } from '../support/factories.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const STATEMENT = 'timelines/END_USER_MEMBER_STATEMENT';

interface LedgerRow {
  id: number;
  point_account_id: string;
  amount: string;
  balance_after: string;
  modification_type: string;
  point_source_id: string | null;
  reference_id: string | null;
  reference_type: string | null;
  idempotency_id: string | null;
}

describe('points ledger on PostgreSQL', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let p: PointsProgram;
  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    p = await pointsProgram(t.db, tenant.retailer_id);
  });

  const connect = (path: string, body: Record<string, unknown>, options: { version?: string; headers?: Record<string, string>; retailer?: string } = {}) =>
    call(t.app, {
      method: 'POST',
      url: `/incentives/api/${options.version ?? '2.0'}/user_points/${path}`,
      headers: { authorization: tenant.connect, ...options.headers },
      payload: { retailer_id: options.retailer ?? tenant.retailer_id, culture: 'en-US', ...body },
    });
  const deposit = (userId: string, details: Record<string, unknown>[], extra: Record<string, unknown> = {}) => connect('deposit', { user_id: userId, deposit_details: details, ...extra });
  const spend = (userId: string, details: Record<string, unknown>[], extra: Record<string, unknown> = {}) => connect('spend_multiple', { user_id: userId, spend_details: details, ...extra });
  const audit = (userId: string, filters: Record<string, unknown> = {}) => connect('fetch_point_audit_logs', { user_id: userId, ...filters });
  const timeline = (memberId: string, types: string) =>
    call(t.app, { method: 'GET', url: `${tenant.base}/users/${memberId}/${STATEMENT}?event_types=${types}`, headers: { authorization: tenant.core } });

  /** available_balance and life_time_value per account, as the balance endpoint answers them. */
  async function balances(userId: string): Promise<Record<string, { available: number; lifetime: number }>> {
    const res = await connect('balance', { user_id: userId, point_account_ids: [] });
    assert.equal(res.status, 200, res.body);
    return Object.fromEntries(res.json.payload.details.map((d: any) => [d.point_account_id, { available: d.available_balance, lifetime: d.life_time_value }]));
  }
  const available = async (userId: string, account: string) => (await balances(userId))[account].available;

  async function ledger(memberId: string): Promise<LedgerRow[]> {
    const res = await sql<LedgerRow>`
      SELECT id, point_account_id, amount::text, balance_after::text, modification_type, point_source_id, reference_id, reference_type, idempotency_id
      FROM point_ledger WHERE member_id = ${memberId} ORDER BY id`.execute(t.db);
    return res.rows;
  }

  /** Everything a refused request must leave alone: ledger, balances, idempotency rows, timeline. */
  async function snapshot(memberId: string) {
    const accounts = await sql`SELECT point_account_id, available_balance::text, life_time_value::text FROM member_point_accounts WHERE member_id = ${memberId} ORDER BY point_account_id`.execute(t.db);
    const idem = await sql`SELECT idempotency_id FROM point_idempotency WHERE member_id = ${memberId} ORDER BY idempotency_id`.execute(t.db);
    const events = await sql`SELECT id, event_type_id FROM timeline_events WHERE member_id = ${memberId} ORDER BY id`.execute(t.db);
    return { ledger: await ledger(memberId), accounts: accounts.rows, idempotency: idem.rows, timeline: events.rows };
  }

  async function funded(amounts: Partial<Record<keyof PointsProgram, number>> = {}) {
    const member = await createMemberViaApi(t.app, tenant);
    const details = Object.entries(amounts).map(([account, amount]) => ({ point_account_id: p[account as keyof PointsProgram], amount }));
    if (details.length) {
      const res = await deposit(member.id, details);
      assert.equal(res.status, 200, res.body);
    }
    return member;
  }

  describe('deposit', () => {
    it('deposits into the given account with its source and reference, answered and recorded', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      const res = await deposit(member.id, [{ point_source_id: p.source, amount: 100, point_account_id: p.spendable, reference_id: 'REF-1234', reference_type: 'API-TEST', rank: 0 }], {
        allow_partial_success: false,
        disable_event_publishing: false,
      });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.status, 'ok');
      const payload = res.json.payload;
      assert.equal(payload.user_id, member.id);
      assert.equal(payload.retailer_id, tenant.retailer_id);
      assert.match(payload.time_of_occurrence, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(payload.details.length, 1);
      const [detail] = payload.details;
      assert.equal(detail.account_name, 'Spendable');
      assert.equal(detail.point_account_id, p.spendable);
      assert.equal(detail.amount_deposited, 100);
      assert.equal(detail.remaining_balance, 100);
      assert.equal(detail.reference_id, 'REF-1234');
      assert.equal(detail.reference_type, 'API-TEST');
      assert.equal(detail.error_status, null);
      assert.match(detail.user_point_account_id, /^[0-9a-f-]{36}$/);
      assert.equal(payload.summary.amount_deposited, 100);

      const rows = await ledger(member.id);
      assert.equal(rows.length, 1);
      assert.deepEqual(
        { ...rows[0], id: undefined },
        { id: undefined, point_account_id: p.spendable, amount: '100.0000', balance_after: '100.0000', modification_type: 'deposit', point_source_id: p.source, reference_id: 'REF-1234', reference_type: 'API-TEST', idempotency_id: null },
      );
      const bal = await balances(member.id);
      assert.deepEqual(bal[p.spendable], { available: 100, lifetime: 100 });
      assert.deepEqual(bal[p.bonus], { available: 0, lifetime: 0 });
      // the user point account id the deposit answered is the one the balance shows
      const res2 = await connect('balance', { user_id: member.id, point_account_ids: [p.spendable] });
      assert.deepEqual(res2.json.payload.details.map((d: any) => d.user_point_account_id), [detail.user_point_account_id]);
    });

    it('applies two deposits with the same reference ("Adjusted Points Deposit") both', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      for (let i = 0; i < 2; i++) {
        const res = await deposit(member.id, [{ point_account_id: p.spendable, amount: 10, reference_id: 'Adjusted Points Deposit', reference_type: 'Adjustment' }]);
        assert.equal(res.status, 200, res.body);
        assert.equal(res.json.payload.details[0].remaining_balance, 10 * (i + 1));
      }
      assert.deepEqual((await balances(member.id))[p.spendable], { available: 20, lifetime: 20 });
      assert.deepEqual((await ledger(member.id)).map((r) => r.reference_id), ['Adjusted Points Deposit', 'Adjusted Points Deposit']);
    });

    it('refuses a deposit over the maximum balance (maximum_balance_exceeded) and accepts one up to it', async () => {
      const member = await funded({ capped: 90 });
      const before = await snapshot(member.id);
      const over = await deposit(member.id, [{ point_account_id: p.capped, amount: 20 }]);
      assert.equal(over.status, 422, over.body);
      assert.equal(over.json.errors.code, 'maximum_balance_exceeded');
      assert.deepEqual(await snapshot(member.id), before);
      const upTo = await deposit(member.id, [{ point_account_id: p.capped, amount: 10 }]);
      assert.equal(upTo.status, 200, upTo.body);
      assert.equal(await available(member.id, p.capped), 100);
      // a return into a full account is refused the same way
      const back = await spend(member.id, [{ amount: 1, point_account_ids: [p.capped], is_return: true }]);
      assert.equal(back.status, 422, back.body);
      assert.equal(back.json.errors.code, 'maximum_balance_exceeded');
      assert.equal(await available(member.id, p.capped), 100);
    });

    it('answers an unknown account with point_account_not_found and an unknown source with point_source_not_found, writing nothing', async () => {
      const member = await funded({ spendable: 10 });
      const before = await snapshot(member.id);
      const account = await deposit(member.id, [{ point_account_id: randomUUID(), amount: 5 }]);
      assert.equal(account.status, 404, account.body);
      assert.equal(account.json.errors.code, 'point_account_not_found');
      const source = await deposit(member.id, [{ point_account_id: p.spendable, amount: 5, point_source_id: randomUUID() }]);
      assert.equal(source.status, 404, source.body);
      assert.equal(source.json.errors.code, 'point_source_not_found');
      const spendUnknown = await spend(member.id, [{ amount: 1, point_account_ids: [randomUUID()] }]);
      assert.equal(spendUnknown.status, 404, spendUnknown.body);
      assert.equal(spendUnknown.json.errors.code, 'point_account_not_found');
      // a source limited to other accounts
      const notAllowed = await deposit(member.id, [{ point_account_id: p.bonus, amount: 5, point_source_id: p.storeSource }]);
      assert.equal(notAllowed.status, 422, notAllowed.body);
      assert.equal(notAllowed.json.errors.code, 'point_source_not_allowed');
      assert.deepEqual(await snapshot(member.id), before);
      // ids compare case-insensitively
      const upper = await deposit(member.id, [{ point_account_id: p.spendable.toUpperCase(), amount: 5, point_source_id: p.storeSource.toUpperCase() }]);
      assert.equal(upper.status, 200, upper.body);
      assert.equal(await available(member.id, p.spendable), 15);
    });

    for (const [label, amount] of [['zero', 0], ['negative', -5], ['"abc"', 'abc'], ['"-1"', '-1'], ['five decimals', '1.00001'], ['empty', ''], ['true', true], ['null', null]] as const) {
      it(`refuses amount ${label} with 400/422 naming the field, writing nothing`, async () => {
        const member = await funded({ spendable: 10 });
        const before = await snapshot(member.id);
        for (const res of [
          await deposit(member.id, [{ point_account_id: p.spendable, amount }]),
          await spend(member.id, [{ point_account_ids: [p.spendable], amount }]),
        ]) {
          assert.ok(res.status === 400 || res.status === 422, `${res.status} ${res.body}`);
          assert.equal(res.json.status, 'error');
          assert.match(res.json.errors.message, /amount/);
        }
        assert.deepEqual(await snapshot(member.id), before);
      });
    }

    it('keeps amounts exact: strings and decimals, 0.1 + 0.2 is 0.3', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      const first = await deposit(member.id, [{ point_account_id: p.spendable, amount: 0.1 }]);
      assert.equal(first.status, 200, first.body);
      const second = await deposit(member.id, [{ point_account_id: p.spendable, amount: 0.2 }]);
      assert.equal(second.json.payload.details[0].remaining_balance, 0.3);
      assert.equal(await available(member.id, p.spendable), 0.3);
      const strings = await deposit(member.id, [{ point_account_id: p.bonus, amount: '10.5' }, { point_account_id: p.bonus, amount: '0.1' }, { point_account_id: p.bonus, amount: '0.2' }]);
      assert.equal(strings.status, 200, strings.body);
      assert.deepEqual(strings.json.payload.details.map((d: any) => d.amount_deposited), [10.5, 0.1, 0.2]);
      assert.equal((await balances(member.id))[p.bonus].available, 10.8);
      const rest = await spend(member.id, [{ point_account_ids: [p.spendable], amount: '0.3' }]);
      assert.equal(rest.status, 200, rest.body);
      assert.equal(rest.json.payload.details[0].remaining_balance, 0);
      const rows = await ledger(member.id);
      assert.deepEqual(
        rows.filter((r) => r.point_account_id === p.spendable).map((r) => r.balance_after),
        ['0.1000', '0.3000', '0.0000'],
      );
      // whole amounts are integer literals on the wire
      const res = await connect('balance', { user_id: member.id, point_account_ids: [p.spendable] });
      assert.match(res.body, /"available_balance":0[,}]/);
      assert.match(res.body, /"life_time_value":0\.3[,}]/);
    });

    it('refuses another retailer\'s retailer_id with 404 and a member of another retailer with user_not_found, writing nothing', async () => {
      const member = await funded({ spendable: 10 });
      const other = await createTenant(t.db);
      const before = await snapshot(member.id);
      const wrongRetailer = await connect('deposit', { user_id: member.id, deposit_details: [{ point_account_id: p.spendable, amount: 5 }] }, { retailer: other.retailer_id });
      assert.equal(wrongRetailer.status, 404, wrongRetailer.body);
      assert.equal(wrongRetailer.json.status, 'error');
      const wrongSpend = await connect('spend_multiple', { user_id: member.id, spend_details: [{ point_account_ids: [p.spendable], amount: 5 }] }, { retailer: other.retailer_id });
      assert.equal(wrongSpend.status, 404, wrongSpend.body);
      const wrongBalance = await connect('balance', { user_id: member.id }, { retailer: other.retailer_id });
      assert.equal(wrongBalance.status, 404, wrongBalance.body);
      assert.deepEqual(await snapshot(member.id), before);
      // the other retailer's own credentials do not reach this member
      await pointsProgram(t.db, other.retailer_id);
      const foreign = await call(t.app, {
        method: 'POST',
        url: '/incentives/api/2.0/user_points/deposit',
        headers: { authorization: other.connect },
        payload: { retailer_id: other.retailer_id, user_id: member.id, deposit_details: [{ point_account_id: p.spendable, amount: 5 }] },
      });
      assert.equal(foreign.status, 404, foreign.body);
      assert.equal(foreign.json.errors.code, 'user_not_found');
      assert.deepEqual(await snapshot(member.id), before);
    });

    it('reads null fields as absent, as strictly typed clients send them', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      const nulls = { point_source_id: null, reference_id: null, reference_type: null, transaction_id: null, idempotency_id: null, rank: null };
      const dep = await deposit(member.id, [{ ...nulls, point_account_id: p.spendable, amount: 30 }], { allow_partial_success: null, disable_event_publishing: null, culture: null });
      assert.equal(dep.status, 200, dep.body);
      const out = await spend(member.id, [{ ...nulls, amount: 10, point_account_ids: null, force_spend: null, is_return: null }], { allow_partial_success: null });
      assert.equal(out.status, 200, out.body);
      assert.equal(await available(member.id, p.spendable), 20);
      assert.deepEqual((await ledger(member.id)).map((r) => [r.modification_type, r.point_source_id, r.reference_id, r.idempotency_id]), [
        ['deposit', null, null, null],
        ['spend', null, null, null],
      ]);
    });

    it('takes the member\'s external id as user_id', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      const res = await deposit(member.external_id, [{ point_account_id: p.spendable, amount: 40 }]);
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.user_id, member.id);
      const out = await spend(member.external_id.toLowerCase(), [{ point_account_ids: [p.spendable], amount: 15 }]);
      assert.equal(out.status, 200, out.body);
      assert.equal(await available(member.id, p.spendable), 25);
      assert.equal(await available(member.external_id, p.spendable), 25);
      const unknown = await deposit('NO-SUCH-MEMBER', [{ point_account_id: p.spendable, amount: 1 }]);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.errors.code, 'user_not_found');
    });
  });

  describe('spend', () => {
    it('spends from the given accounts in the order given', async () => {
      const member = await funded({ spendable: 30, bonus: 30 });
      const res = await spend(member.id, [{ amount: 40, point_account_ids: [p.bonus, p.spendable], reference_id: 'order-1', reference_type: 'api-test', force_spend: false, rank: 0, is_return: false }]);
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(
        res.json.payload.details.map((d: any) => [d.account_name, d.amount_spent, d.remaining_balance, d.reference_id]),
        [
          ['Bonus', 30, 0, 'order-1'],
          ['Spendable', 10, 20, 'order-1'],
        ],
      );
      assert.equal(res.json.payload.summary.amount_spent, 40);
      assert.equal(res.json.payload.summary.remaining_balance, 20);
      const bal = await balances(member.id);
      assert.deepEqual([bal[p.bonus], bal[p.spendable]], [{ available: 0, lifetime: 30 }, { available: 20, lifetime: 30 }]);
    });

    it('spends from the default accounts oldest first across several when no account is given', async () => {
      const member = await funded({ spendable: 30, bonus: 50, tier: 100 });
      const res = await spend(member.id, [{ amount: 50 }]);
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(
        res.json.payload.details.map((d: any) => [d.point_account_id, d.amount_spent, d.remaining_balance]),
        [
          [p.spendable, 30, 0],
          [p.bonus, 20, 30],
        ],
      );
      // an empty list is no list: the defaults again, the first one now empty
      const next = await spend(member.id, [{ amount: 10, point_account_ids: [] }]);
      assert.equal(next.status, 200, next.body);
      assert.deepEqual(next.json.payload.details.map((d: any) => [d.point_account_id, d.amount_spent]), [[p.bonus, 10]]);
      const bal = await balances(member.id);
      assert.deepEqual([bal[p.spendable].available, bal[p.bonus].available, bal[p.tier].available], [0, 20, 100]);
      // more than the defaults hold is refused even though the tier account has points
      const over = await spend(member.id, [{ amount: 21 }]);
      assert.equal(over.status, 422);
      assert.equal(over.json.errors.code, 'insufficient_points');
    });

    it('applies details in rank order and answers them in request order', async () => {
      const member = await funded({ spendable: 10 });
      const res = await spend(
        member.id,
        [
          { amount: 8, point_account_ids: [p.spendable], rank: 2, reference_id: 'second' },
          { amount: 8, point_account_ids: [p.spendable], rank: 1, reference_id: 'first' },
        ],
        { allow_partial_success: true },
      );
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(
        res.json.payload.details.map((d: any) => [d.reference_id, d.error_status]),
        [
          ['second', 'insufficient_points'],
          ['first', null],
        ],
      );
      assert.equal(await available(member.id, p.spendable), 2);

      const ordered = await funded({ spendable: 10 });
      const three = await spend(ordered.id, [
        { amount: 1, point_account_ids: [p.spendable], rank: 3, reference_id: 'A' },
        { amount: 2, point_account_ids: [p.spendable], rank: 1, reference_id: 'B' },
        { amount: 3, point_account_ids: [p.spendable], rank: 2, reference_id: 'C' },
      ]);
      assert.equal(three.status, 200, three.body);
      assert.deepEqual(three.json.payload.details.map((d: any) => [d.reference_id, d.remaining_balance]), [['A', 4], ['B', 8], ['C', 5]]);
      const rows = (await ledger(ordered.id)).filter((r) => r.modification_type === 'spend');
      assert.deepEqual(rows.map((r) => [r.reference_id, r.balance_after]), [['B', '8.0000'], ['C', '5.0000'], ['A', '4.0000']]);
    });

    it('refuses a spend over the balance with 422 insufficient_points and writes nothing', async () => {
      const member = await funded({ spendable: 70, bonus: 5 });
      const before = await snapshot(member.id);
      for (const details of [[{ amount: 71, point_account_ids: [p.spendable] }], [{ amount: 76 }], [{ amount: 70, point_account_ids: [p.spendable] }, { amount: 6, point_account_ids: [p.bonus] }]]) {
        const res = await spend(member.id, details);
        assert.equal(res.status, 422, res.body);
        assert.deepEqual(res.json, { status: 'error', errors: { code: 'insufficient_points', message: res.json.errors.message } });
        assert.deepEqual(await snapshot(member.id), before);
      }
    });

    it('force_spend takes the balance below zero with a forced_spend entry', async () => {
      const member = await funded({ spendable: 10 });
      const res = await spend(member.id, [{ amount: 25, point_account_ids: [p.spendable], force_spend: true, reference_id: 'forced' }]);
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.summary.amount_spent, 25);
      assert.equal(res.json.payload.summary.remaining_balance, -15);
      assert.deepEqual((await balances(member.id))[p.spendable], { available: -15, lifetime: 10 });
      const rows = await ledger(member.id);
      const forced = rows.filter((r) => r.modification_type === 'forced_spend');
      assert.equal(forced.length, 1);
      assert.equal(rows.at(-1)!.balance_after, '-15.0000');
      assert.equal(rows.filter((r) => r.reference_id === 'forced').reduce((s, r) => s + Number(r.amount), 0), -25);
      // a negative balance spends nothing further without force, and refills from below
      const more = await spend(member.id, [{ amount: 1, point_account_ids: [p.spendable] }]);
      assert.equal(more.json.errors.code, 'insufficient_points');
      await deposit(member.id, [{ point_account_id: p.spendable, amount: 20 }]);
      assert.equal(await available(member.id, p.spendable), 5);
    });

    it('lets an allow_negative account go below zero without force', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      const res = await spend(member.id, [{ amount: 40, point_account_ids: [p.overdraft] }]);
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.details[0].remaining_balance, -40);
      assert.equal(await available(member.id, p.overdraft), -40);
      assert.deepEqual((await ledger(member.id)).map((r) => [r.modification_type, r.amount]), [['spend', '-40.0000']]);
    });

    it('is_return puts points back without raising life_time_value', async () => {
      const member = await funded({ spendable: 100 });
      await spend(member.id, [{ amount: 60, point_account_ids: [p.spendable] }]);
      const back = await spend(member.id, [{ amount: 25, point_account_ids: [p.spendable], is_return: true, reference_id: 'refund-1' }]);
      assert.equal(back.status, 200, back.body);
      assert.equal(back.json.payload.details[0].remaining_balance, 65);
      assert.deepEqual((await balances(member.id))[p.spendable], { available: 65, lifetime: 100 });
      assert.deepEqual((await ledger(member.id)).map((r) => [r.modification_type, r.amount, r.balance_after]), [
        ['deposit', '100.0000', '100.0000'],
        ['spend', '-60.0000', '40.0000'],
        ['return', '25.0000', '65.0000'],
      ]);
      // a return without accounts goes to the first default account
      const toDefault = await spend(member.id, [{ amount: 5, is_return: true }]);
      assert.equal(toDefault.status, 200, toDefault.body);
      assert.deepEqual((await balances(member.id))[p.spendable], { available: 70, lifetime: 100 });
    });

    it('allow_partial_success false: one bad detail fails them all and writes nothing', async () => {
      const member = await funded({ spendable: 20, bonus: 20 });
      const before = await snapshot(member.id);
      const bad = await spend(member.id, [{ amount: 5, point_account_ids: [p.spendable] }, { amount: 500, point_account_ids: [p.bonus] }, { amount: 5, point_account_ids: [p.bonus] }], { allow_partial_success: false });
      assert.equal(bad.status, 422, bad.body);
      assert.equal(bad.json.errors.code, 'insufficient_points');
      assert.match(bad.json.errors.message, /spend_details\[1\]/);
      const badDeposit = await deposit(member.id, [{ point_account_id: p.spendable, amount: 5 }, { point_account_id: randomUUID(), amount: 5 }]);
      assert.equal(badDeposit.status, 404, badDeposit.body);
      assert.equal(badDeposit.json.errors.code, 'point_account_not_found');
      assert.deepEqual(await snapshot(member.id), before);
    });

    it('allow_partial_success true: the good details apply, the bad one answers error_status with its code', async () => {
      const member = await funded({ spendable: 20, bonus: 20 });
      const res = await spend(member.id, [{ amount: 5, point_account_ids: [p.spendable] }, { amount: 500, point_account_ids: [p.bonus], reference_id: 'too-much' }, { amount: 5, point_account_ids: [p.bonus] }], { allow_partial_success: true });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(
        res.json.payload.details.map((d: any) => [d.amount_spent, d.error_status]),
        [
          [5, null],
          [0, 'insufficient_points'],
          [5, null],
        ],
      );
      assert.equal(res.json.payload.details[1].reference_id, 'too-much');
      assert.equal(typeof res.json.payload.details[1].message, 'string');
      assert.equal(res.json.payload.summary.amount_spent, 10);
      const bal = await balances(member.id);
      assert.deepEqual([bal[p.spendable].available, bal[p.bonus].available], [15, 15]);
      assert.equal((await ledger(member.id)).filter((r) => r.modification_type === 'spend').length, 2);

      const dep = await deposit(member.id, [{ point_account_id: p.capped, amount: 500 }, { point_account_id: randomUUID(), amount: 1 }, { point_account_id: p.capped, amount: 50 }], { allow_partial_success: true });
      assert.equal(dep.status, 200, dep.body);
      assert.deepEqual(dep.json.payload.details.map((d: any) => d.error_status), ['maximum_balance_exceeded', 'point_account_not_found', null]);
      assert.equal(await available(member.id, p.capped), 50);
    });
  });

  describe('idempotency', () => {
    it('applies a retry with the same idempotency_id once and answers the first balances', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      const key = randomUUID();
      const first = await deposit(member.id, [{ point_account_id: p.spendable, amount: 50, idempotency_id: key }]);
      assert.equal(first.status, 200, first.body);
      const retry = await deposit(member.id, [{ point_account_id: p.spendable, amount: 50, idempotency_id: key }]);
      assert.equal(retry.status, 200, retry.body);
      assert.equal(retry.json.payload.details[0].remaining_balance, 50);
      assert.equal(retry.json.payload.details[0].idempotency_id, key);
      assert.equal(retry.json.payload.details[0].user_point_account_id, first.json.payload.details[0].user_point_account_id);
      assert.equal(await available(member.id, p.spendable), 50);

      // a spend retried after the balance moved on still answers its first answer and applies once
      const spendKey = randomUUID();
      const s1 = await spend(member.id, [{ amount: 20, point_account_ids: [p.spendable], idempotency_id: spendKey }]);
      assert.equal(s1.json.payload.details[0].remaining_balance, 30);
      await deposit(member.id, [{ point_account_id: p.spendable, amount: 1 }]);
      const s2 = await spend(member.id, [{ amount: 20, point_account_ids: [p.spendable], idempotency_id: spendKey }]);
      assert.equal(s2.status, 200, s2.body);
      assert.equal(s2.json.payload.details[0].amount_spent, 20);
      assert.equal(s2.json.payload.details[0].remaining_balance, 30);
      assert.equal(await available(member.id, p.spendable), 31);
      const rows = await ledger(member.id);
      assert.equal(rows.filter((r) => r.idempotency_id === key).length, 1);
      assert.equal(rows.filter((r) => r.idempotency_id === spendKey).length, 1);
      assert.equal(rows.length, 3);
    });

    it('applies two concurrent requests with the same idempotency_id once', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      const key = randomUUID();
      const answers = await Promise.all(Array.from({ length: 2 }, () => deposit(member.id, [{ point_account_id: p.spendable, amount: 30, idempotency_id: key }])));
      for (const a of answers) {
        assert.equal(a.status, 200, a.body);
        assert.equal(a.json.payload.details[0].remaining_balance, 30);
      }
      assert.equal(await available(member.id, p.spendable), 30);
      assert.equal((await ledger(member.id)).length, 1);
      const spendKey = randomUUID();
      const spends = await Promise.all(Array.from({ length: 5 }, () => spend(member.id, [{ amount: 10, point_account_ids: [p.spendable], idempotency_id: spendKey }])));
      assert.ok(spends.every((s) => s.status === 200 && s.json.payload.details[0].remaining_balance === 20), spends.map((s) => s.body).join('\n'));
      assert.equal(await available(member.id, p.spendable), 20);
    });

    it('applies the same idempotency_id twice in one request once', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      const key = randomUUID();
      const res = await deposit(member.id, [
        { point_account_id: p.spendable, amount: 10, idempotency_id: key },
        { point_account_id: p.spendable, amount: 10, idempotency_id: key },
      ]);
      assert.equal(res.status, 200, res.body);
      assert.equal(await available(member.id, p.spendable), 10);
      assert.equal((await ledger(member.id)).length, 1);
    });

    it('answers an idempotency_id reused for a different amount, account or operation with idempotency_conflict, writing nothing', async () => {
      const member = await funded({ spendable: 100 });
      const key = randomUUID();
      assert.equal((await deposit(member.id, [{ point_account_id: p.spendable, amount: 10, idempotency_id: key }])).status, 200);
      const before = await snapshot(member.id);
      for (const res of [
        await deposit(member.id, [{ point_account_id: p.spendable, amount: 11, idempotency_id: key }]),
        await deposit(member.id, [{ point_account_id: p.bonus, amount: 10, idempotency_id: key }]),
        await spend(member.id, [{ amount: 10, point_account_ids: [p.spendable], idempotency_id: key }]),
        await deposit(member.id, [
          { point_account_id: p.spendable, amount: 1, idempotency_id: 'twice' },
          { point_account_id: p.spendable, amount: 2, idempotency_id: 'twice' },
        ]),
      ]) {
        assert.equal(res.status, 409, res.body);
        assert.equal(res.json.errors.code, 'idempotency_conflict');
      }
      assert.deepEqual(await snapshot(member.id), before);
    });

    it('answers the same idempotency_id for another member with idempotency_conflict, writing nothing', async () => {
      const first = await createMemberViaApi(t.app, tenant);
      const second = await funded({ spendable: 5 });
      const key = randomUUID();
      assert.equal((await deposit(first.id, [{ point_account_id: p.spendable, amount: 10, idempotency_id: key }])).status, 200);
      const before = await snapshot(second.id);
      const res = await deposit(second.id, [{ point_account_id: p.spendable, amount: 10, idempotency_id: key }]);
      assert.equal(res.status, 409, res.body);
      assert.equal(res.json.errors.code, 'idempotency_conflict');
      assert.deepEqual(await snapshot(second.id), before);
      assert.equal(await available(first.id, p.spendable), 10);
    });

    it('applies one of two concurrent deposits for two members with the same idempotency_id and answers the other idempotency_conflict', async () => {
      for (let round = 0; round < 3; round++) {
        const members = [await createMemberViaApi(t.app, tenant), await createMemberViaApi(t.app, tenant)];
        const key = randomUUID();
        const answers = await Promise.all(members.map((m) => deposit(m.id, [{ point_account_id: p.spendable, amount: 10, idempotency_id: key }])));
        assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409], answers.map((a) => a.body).join('\n'));
        const refused = answers.find((a) => a.status === 409)!;
        assert.equal(refused.json.errors.code, 'idempotency_conflict');
        const loser = members[answers.indexOf(refused)];
        assert.deepEqual(await ledger(loser.id), []);
        assert.equal(await available(members[1 - answers.indexOf(refused)].id, p.spendable), 10);
      }
    });

    it('replays a deposit repeated with the same Message-ID: the first answer, cached-message: true, applied once', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      const key = randomUUID();
      const body = { user_id: member.id, deposit_details: [{ point_account_id: p.spendable, amount: 12, reference_id: 'msg' }] };
      const first = await connect('deposit', body, { headers: { 'Message-ID': key } });
      assert.equal(first.status, 200, first.body);
      assert.equal(first.headers['cached-message'], undefined);
      const again = await connect('deposit', body, { headers: { 'Message-ID': key } });
      assert.equal(again.status, 200, again.body);
      assert.equal(again.headers['cached-message'], 'true');
      assert.deepEqual(again.json, first.json);
      assert.equal(await available(member.id, p.spendable), 12);
      assert.equal((await ledger(member.id)).length, 1);
      // the same key with another body is a conflict and applies nothing
      const other = await connect('deposit', { ...body, deposit_details: [{ point_account_id: p.spendable, amount: 13 }] }, { headers: { 'Message-ID': key } });
      assert.equal(other.status, 409, other.body);
      assert.equal(await available(member.id, p.spendable), 12);
    });
  });

  describe('concurrency', () => {
    it('never overdraws under 100 concurrent spends, and every acknowledged spend is in the ledger', async () => {
      const member = await funded({ spendable: 50 });
      const spends = await Promise.all(
        Array.from({ length: 100 }, (_, i) => spend(member.id, [{ amount: 1, point_account_ids: [p.spendable], reference_id: `S${i}` }])),
      );
      const ok = spends.filter((s) => s.status === 200);
      assert.equal(ok.length, 50);
      const refused = spends.filter((s) => s.status !== 200);
      assert.ok(refused.every((s) => s.status === 422 && s.json.errors.code === 'insufficient_points'), refused.map((s) => s.body).join('\n'));
      assert.equal(await available(member.id, p.spendable), 0);

      const rows = await ledger(member.id);
      const spent = rows.filter((r) => r.modification_type === 'spend');
      assert.equal(spent.length, ok.length);
      const acknowledged = ok.map((s) => s.json.payload.details[0].reference_id).sort();
      assert.deepEqual(spent.map((r) => r.reference_id).sort(), acknowledged);
      // every acknowledged remaining balance is a distinct step of the way down
      assert.deepEqual(ok.map((s) => s.json.payload.details[0].remaining_balance).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
      // the audit log, newest first, is a consistent chain of balances
      const log = await audit(member.id, { take: 1000 });
      assert.equal(log.json.payload.total_records, 51);
      const entries = [...log.json.payload.results].reverse();
      let running = 0;
      for (const e of entries) {
        running += Number(e.modification);
        assert.equal(e.balance_after, running, `entry ${e.id}`);
      }
    });

    it('never overdraws with concurrent spends from the default accounts and deposits mixed in', async () => {
      const member = await funded({ spendable: 20, bonus: 20 });
      const ops = Array.from({ length: 60 }, (_, i) =>
        i % 6 === 0 ? deposit(member.id, [{ point_account_id: i % 12 === 0 ? p.spendable : p.bonus, amount: 2 }]) : spend(member.id, [{ amount: 1.5 }]),
      );
      const answers = await Promise.all(ops);
      assert.ok(answers.every((a) => a.status === 200 || a.json.errors.code === 'insufficient_points'));
      const bal = await balances(member.id);
      assert.ok(bal[p.spendable].available >= 0 && bal[p.bonus].available >= 0);
      const rows = await ledger(member.id);
      const spentUnits = rows.filter((r) => r.modification_type === 'spend').reduce((s, r) => s - Math.round(Number(r.amount) * 10), 0);
      const acknowledgedUnits = answers.filter((a, i) => i % 6 !== 0 && a.status === 200).length * 15;
      assert.equal(spentUnits, acknowledgedUnits);
      assert.equal(Math.round((bal[p.spendable].available + bal[p.bonus].available) * 10), 400 + 10 * 20 - acknowledgedUnits);
    });
  });

  describe('spend_multiple_batch', () => {
    it('answers each member: the good ones apply, an unknown member and an insufficient spend fail only themselves', async () => {
      const a = await funded({ spendable: 50 });
      const b = await funded({ spendable: 50, bonus: 10 });
      const poor = await funded({ spendable: 5 });
      const unknown = randomUUID();
      const before = await snapshot(poor.id);
      const res = await connect('spend_multiple_batch', {
        spend_requests: [
          { user_id: a.id, spend_details: [{ amount: 10, point_account_ids: [p.spendable] }], allow_partial_success: false },
          { user_id: unknown, spend_details: [{ amount: 10 }], allow_partial_success: false },
          { user_id: poor.id, spend_details: [{ amount: 10, point_account_ids: [p.spendable] }], allow_partial_success: false },
          { user_id: b.external_id, spend_details: [{ amount: 55 }], allow_partial_success: false },
        ],
      });
      assert.equal(res.status, 200, res.body);
      const results = res.json.payload.results;
      assert.deepEqual(
        results.map((r: any) => [r.user_id, r.status, r.errors?.code ?? null]),
        [
          [a.id, 'ok', null],
          [unknown, 'error', 'user_not_found'],
          [poor.id, 'error', 'insufficient_points'],
          [b.external_id, 'ok', null],
        ],
      );
      assert.equal(results[0].payload.details[0].remaining_balance, 40);
      assert.deepEqual(results[3].payload.details.map((d: any) => [d.point_account_id, d.amount_spent]), [[p.spendable, 50], [p.bonus, 5]]);
      assert.equal(await available(a.id, p.spendable), 40);
      const bb = await balances(b.id);
      assert.deepEqual([bb[p.spendable].available, bb[p.bonus].available], [0, 5]);
      assert.deepEqual(await snapshot(poor.id), before);
    });

    it('answers a batch without a body or with an empty list with 400', async () => {
      const none = await call(t.app, { method: 'POST', url: '/incentives/api/2.0/user_points/spend_multiple_batch', headers: { authorization: tenant.connect } });
      assert.equal(none.status, 400, none.body);
      assert.equal(none.json.status, 'error');
      const empty = await connect('spend_multiple_batch', { spend_requests: [] });
      assert.equal(empty.status, 400, empty.body);
      assert.match(empty.json.errors.message, /spend_requests/);
    });
  });

  describe('1.0 forms', () => {
    it('serve deposit, spend_multiple, balance, all_balances and the audit log with the same operations', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      const dep = await connect('deposit', { user_id: member.id, deposit_details: [{ point_account_id: p.spendable, amount: 80, point_source_id: p.source }] }, { version: '1.0' });
      assert.equal(dep.status, 200, dep.body);
      assert.equal(dep.json.payload.details[0].remaining_balance, 80);
      const out = await connect('spend_multiple', { user_id: member.id, spend_details: [{ amount: 30, point_account_ids: [p.spendable] }] }, { version: '1.0' });
      assert.equal(out.status, 200, out.body);
      assert.equal(out.json.payload.details[0].remaining_balance, 50);
      const bal = await connect('balance', { user_id: member.id, point_account_ids: [p.spendable] }, { version: '1.0' });
      assert.equal(bal.status, 200, bal.body);
      const bal2 = await connect('balance', { user_id: member.id, point_account_ids: [p.spendable] });
      assert.deepEqual(bal.json, bal2.json);
      assert.deepEqual(bal.json.payload.details.map((d: any) => [d.available_balance, d.life_time_value]), [[50, 80]]);

      const all = await connect('all_balances', { user_id: member.id }, { version: '1.0' });
      assert.equal(all.status, 200, all.body);
      const block = all.json.payload.point_account_balances;
      assert.equal(block.user_id, member.id);
      assert.equal(block.summary.total_points, 50);
      assert.equal(block.summary.life_time_points, 80);
      assert.equal(block.details.length, 5);
      const unused = block.details.find((d: any) => d.point_account_id === p.bonus);
      assert.deepEqual(unused, { account_name: 'Bonus', user_point_account_id: '', point_account_id: p.bonus, grouping_label: '', available_balance: 0, life_time_value: 0 });

      const log1 = await call(t.app, {
        method: 'POST',
        url: '/incentives/api/1.0/point_audit_logs/fetch_point_audit_logs',
        headers: { authorization: tenant.connect },
        payload: { retailer_id: tenant.retailer_id, user_id: member.id, skip: 0, take: 10 },
      });
      assert.equal(log1.status, 200, log1.body);
      const log2 = await audit(member.id, { skip: 0, take: 10 });
      assert.deepEqual(log1.json, log2.json);
      assert.deepEqual(log1.json.payload.results.map((e: any) => e.modification_type), ['spend', 'deposit']);
      assert.equal(await available(member.id, p.spendable), 50);
    });
  });

  describe('audit log', () => {
    it('lists every change newest first with its fields, filters by source, account and modification types, dates, and pages', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      const step = async (res: Promise<{ status: number; body: string }>) => {
        const r = await res;
        assert.equal(r.status, 200, r.body);
        await sleep(3);
      };
      await step(deposit(member.id, [{ point_account_id: p.spendable, amount: 100, point_source_id: p.source, reference_id: 'D1', reference_type: 'T' }]));
      await step(deposit(member.id, [{ point_account_id: p.spendable, amount: 20, point_source_id: p.storeSource, reference_id: 'D2' }]));
      const middle = new Date();
      await sleep(3);
      await step(deposit(member.id, [{ point_account_id: p.bonus, amount: 50, point_source_id: p.source, reference_id: 'D3' }]));
      await step(spend(member.id, [{ amount: 30, point_account_ids: [p.spendable], reference_id: 'S1', transaction_id: 'TX-1' }]));
      await step(spend(member.id, [{ amount: 5, point_account_ids: [p.spendable], is_return: true, reference_id: 'R1' }]));
      const end = new Date();
      await sleep(3);
      await step(spend(member.id, [{ amount: 60, point_account_ids: [p.bonus], force_spend: true, reference_id: 'F1' }]));

      const all = await audit(member.id);
      assert.equal(all.status, 200, all.body);
      const logs = all.json.payload.results;
      assert.equal(all.json.payload.total_records, 7);
      const refs = (res: any) => res.json.payload.results.map((e: any) => e.reference_id);
      assert.deepEqual(refs(all), ['F1', 'F1', 'R1', 'S1', 'D3', 'D2', 'D1']);
      const s1 = logs.find((e: any) => e.reference_id === 'S1');
      assert.equal(s1.modification, '-30');
      assert.equal(s1.amount_spent, 30);
      assert.equal(s1.modification_type, 'spend');
      assert.equal(s1.account_name, 'Spendable');
      assert.equal(s1.transaction_id, 'TX-1');
      assert.equal(s1.balance_after, 90);
      assert.equal(s1.user_id, member.id);
      assert.equal(s1.retailer_id, tenant.retailer_id);
      assert.match(s1.time_of_occurrence, /Z$/);
      const d1 = logs.find((e: any) => e.reference_id === 'D1');
      assert.deepEqual([d1.modification, d1.amount_spent, d1.point_source_id, d1.point_source_name, d1.reference_type], ['+100', 0, p.source, 'API', 'T']);
      assert.deepEqual(logs.filter((e: any) => e.reference_id === 'F1').map((e: any) => [e.modification_type, e.balance_after]), [['forced_spend', -10], ['spend', 0]]);

      assert.deepEqual(refs(await audit(member.id, { point_source_ids: [p.storeSource] })), ['D2']);
      assert.deepEqual(refs(await audit(member.id, { point_source_ids: [p.source] })), ['D3', 'D1']);
      assert.deepEqual(refs(await audit(member.id, { point_account_ids: [p.bonus] })), ['F1', 'F1', 'D3']);
      assert.deepEqual(refs(await audit(member.id, { point_account_ids: [p.bonus], point_source_ids: [p.source] })), ['D3']);
      assert.deepEqual(refs(await audit(member.id, { modification_types: ['spend', 'forced_spend'] })), ['F1', 'F1', 'S1']);
      assert.deepEqual(refs(await audit(member.id, { modification_types: ['spend', 'forced_spend'], exclude_specified_modification_types: true })), ['R1', 'D3', 'D2', 'D1']);
      assert.deepEqual(refs(await audit(member.id, { modification_types: ['deposit'], exclude_specified_modification_types: false })), ['D3', 'D2', 'D1']);
      // the collection's form: exclude with no types listed excludes nothing
      const collection = await audit(member.id, { point_source_ids: [p.source], point_account_ids: [p.spendable], exclude_specified_modification_types: true, skip: 0, take: 10 });
      assert.deepEqual(refs(collection), ['D1']);

      assert.deepEqual(refs(await audit(member.id, { start_date: middle.toISOString() })), ['F1', 'F1', 'R1', 'S1', 'D3']);
      assert.deepEqual(refs(await audit(member.id, { end_date: middle.toISOString() })), ['D2', 'D1']);
      assert.deepEqual(refs(await audit(member.id, { start_date: middle.toISOString(), end_date: end.toISOString() })), ['R1', 'S1', 'D3']);
      // SPEC §4: `YYYY-MM-DD HH:MM:SS[.fff]` (UTC) is accepted on input too
      const coreForm = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');
      const spaced = await audit(member.id, { start_date: coreForm(middle), end_date: coreForm(end) });
      assert.equal(spaced.status, 200, spaced.body);
      assert.deepEqual(refs(spaced), ['R1', 'S1', 'D3']);

      const page = await audit(member.id, { skip: 2, take: 3 });
      assert.deepEqual(refs(page), ['R1', 'S1', 'D3']);
      assert.equal(page.json.payload.total_records, 7);
      const filteredPage = await audit(member.id, { point_account_ids: [p.spendable], skip: 1, take: 2 });
      assert.deepEqual(refs(filteredPage), ['S1', 'D2']);
      assert.equal(filteredPage.json.payload.total_records, 4);
      const past = await audit(member.id, { skip: 50, take: 10 });
      assert.deepEqual(past.json.payload.results, []);
      assert.equal(past.json.payload.total_records, 7);
      // ids that name nothing, UUIDs or not, find nothing
      for (const filter of [{ point_source_ids: ['not-a-uuid'] }, { point_account_ids: ['abc', randomUUID()] }]) {
        const none = await audit(member.id, filter);
        assert.equal(none.status, 200, none.body);
        assert.deepEqual([none.json.payload.results, none.json.payload.total_records], [[], 0]);
      }
      assert.deepEqual(refs(await audit(member.id, { point_source_ids: ['not-a-uuid', p.storeSource.toUpperCase()] })), ['D2']);
      const tooMany = await audit(member.id, { take: 1001 });
      assert.equal(tooMany.status, 400, tooMany.body);
      assert.match(tooMany.json.errors.message, /take/);
    });
  });

  describe('timeline', () => {
    it('records INCENTIVES_POINT_DEPOSIT and INCENTIVES_POINT_SPEND entries, none for a refused request', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      await deposit(member.id, [{ point_account_id: p.spendable, amount: 40, point_source_id: p.source, reference_id: 'TL-D' }]);
      await sleep(3);
      await spend(member.id, [{ amount: 15, point_account_ids: [p.spendable], reference_id: 'TL-S' }]);
      const refused = await spend(member.id, [{ amount: 100, point_account_ids: [p.spendable] }]);
      assert.equal(refused.status, 422);
      const res = await timeline(member.id, 'INCENTIVES_POINT_DEPOSIT,INCENTIVES_POINT_SPEND');
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.count, 2);
      const [spent, deposited] = res.json.result;
      assert.equal(spent.event_stream_payload.event_type_slug, 'INCENTIVES_POINT_SPEND');
      assert.equal(spent.event_stream_event_type_id, 143);
      assert.equal(spent.event_stream_payload.amount, 15);
      assert.equal(spent.event_stream_payload.reference_id, 'TL-S');
      assert.equal(deposited.event_stream_payload.event_type_slug, 'INCENTIVES_POINT_DEPOSIT');
      assert.equal(deposited.event_stream_event_type_id, 144);
      assert.equal(deposited.event_stream_payload.amount, 40);
      assert.equal(deposited.event_stream_payload.point_account_id, p.spendable);
      assert.equal(deposited.event_stream_payload.point_source_id, p.source);
      assert.equal(deposited.event_stream_payload.user_id, member.id);
    });
  });
});
