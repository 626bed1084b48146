// Point accounts, point sources and tier systems in program files (SPEC §6):
// applied idempotently through the admin API, validated with the field named,
// retired (not deleted) when left out, and used by the ledger and tiers.
import { transact } from '../../src/db/unit-of-work.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp } from '../support/harness.js';
import { runTierMaintenance } from '../../src/flows/tier-maintenance.js';

describe('points and tiers in program files', () => {
  let t: TestApp;
  const admin = { authorization: 'Bearer test-admin-token-0123456789' };
  before(async () => {
    t = await postgresApp();
  });

  const put = (retailerId: string, program: unknown) => call(t.app, { method: 'PUT', url: `/admin/tenants/${retailerId}/program`, headers: admin, payload: program as object });
  const get = (retailerId: string) => call(t.app, { method: 'GET', url: `/admin/tenants/${retailerId}/program`, headers: admin });

  function program() {
    const spend = randomUUID();
    const tier = randomUUID();
    const source = randomUUID();
    const system = randomUUID();
    const levels = [randomUUID(), randomUUID(), randomUUID()];
    return {
      ids: { spend, tier, source, system, levels },
      document: {
        point_accounts: [
          { id: spend, name: 'Spendable', grouping_label: 'spend', default: true },
          { id: tier, name: 'Tier Points', grouping_label: 'Tier', counts_toward_tiers: true, maximum_balance: '1000000.5' },
        ],
        point_sources: [{ id: source, name: 'Purchases', point_account_ids: [spend, tier] }],
        tier_systems: [
          {
            id: system,
            name: 'Status',
            period_days: 365,
            levels: [
              { id: levels[0], name: 'Member', rank: 0 },
              { id: levels[1], name: 'Silver', rank: 1, thresholds: [{ point_account_id: tier, points: 100 }] },
              { id: levels[2], name: 'Gold', rank: 2, thresholds: [{ point_account_id: tier, points: '500' }] },
            ],
          },
        ],
      },
    };
  }

  it('applies point accounts, sources and tier systems, and applying again changes nothing', async () => {
    const tenant = await createTenant(t.db);
    const { ids, document } = program();
    assert.equal((await put(tenant.retailer_id, document)).status, 200);
    const first = await get(tenant.retailer_id);
    assert.deepEqual(first.json.point_accounts, [
      { id: ids.spend, name: 'Spendable', grouping_label: 'spend', default: true, allow_negative: false, counts_toward_tiers: false, active: true },
      { id: ids.tier, name: 'Tier Points', grouping_label: 'Tier', default: false, allow_negative: false, maximum_balance: 1000000.5, counts_toward_tiers: true, active: true },
    ]);
    assert.deepEqual(first.json.point_sources, [{ id: ids.source, name: 'Purchases', point_account_ids: [ids.spend, ids.tier] }]);
    assert.deepEqual(first.json.tier_systems[0].levels.map((l: any) => [l.name, l.rank, l.thresholds]), [
      ['Member', 0, []],
      ['Silver', 1, [{ point_account_id: ids.tier, points: 100 }]],
      ['Gold', 2, [{ point_account_id: ids.tier, points: 500 }]],
    ]);
    assert.equal((await put(tenant.retailer_id, document)).status, 200);
    assert.deepEqual((await get(tenant.retailer_id)).json, first.json);
  });

  it('retires accounts and levels left out, keeping members balances and history', async () => {
    const tenant = await createTenant(t.db);
    const { ids, document } = program();
    await put(tenant.retailer_id, document);
    const member = await createMemberViaApi(t.app, tenant);
    const deposit = await call(t.app, {
      method: 'POST',
      url: '/incentives/api/2.0/user_points/deposit',
      headers: { authorization: tenant.connect },
      payload: { retailer_id: tenant.retailer_id, user_id: member.id, deposit_details: [{ point_account_id: ids.tier, amount: 150, point_source_id: ids.source }] },
    });
    assert.equal(deposit.status, 200, deposit.body);
    const next = { ...document, point_accounts: [document.point_accounts[0]], point_sources: [], tier_systems: [] };
    assert.equal((await put(tenant.retailer_id, next)).status, 200);
    const after = await get(tenant.retailer_id);
    assert.deepEqual(after.json.point_accounts.map((a: any) => a.id), [ids.spend]);
    assert.deepEqual(after.json.tier_systems, []);
    const ledger = await t.db.selectFrom('point_ledger').select('amount').where('retailer_id', '=', tenant.retailer_id).execute();
    assert.deepEqual(ledger.map((l) => Number(l.amount)), [150]);
    const retired = await t.db.selectFrom('point_accounts').select(['id', 'retired_at']).where('retailer_id', '=', tenant.retailer_id).where('id', '=', ids.tier).executeTakeFirstOrThrow();
    assert.ok(retired.retired_at instanceof Date);
  });

  for (const [what, change, field] of [
    ['a threshold on an account not in the program', (d: any) => (d.tier_systems[0].levels[1].thresholds[0].point_account_id = randomUUID()), /tier_systems\.0\.levels\.1\.thresholds\.0\.point_account_id/],
    ['two levels with one rank', (d: any) => (d.tier_systems[0].levels[2].rank = 1), /tier_systems\.0\.levels/],
    ['a negative threshold', (d: any) => (d.tier_systems[0].levels[1].thresholds[0].points = -5), /thresholds\.0\.points/],
    ['a maximum balance that is not a number', (d: any) => (d.point_accounts[1].maximum_balance = 'lots'), /point_accounts\.1\.maximum_balance/],
    ['an account listed twice', (d: any) => d.point_accounts.push({ ...d.point_accounts[0] }), /point_accounts/],
    ['a source naming an unknown account', (d: any) => d.point_sources[0].point_account_ids.push(randomUUID()), /point_sources\.0\.point_account_ids\.2/],
    ['a misspelled section', (d: any) => (d.tier_system = d.tier_systems), /tier_system/],
    ['a threshold on an account that does not count toward tiers', (d: any) => (d.tier_systems[0].levels[1].thresholds[0].point_account_id = d.point_accounts[0].id), /does not count toward tiers/],
  ] as const) {
    it(`refuses ${what}, naming the field, and changes nothing`, async () => {
      const tenant = await createTenant(t.db);
      const { document } = program();
      (change as (d: unknown) => void)(document);
      const res = await put(tenant.retailer_id, document);
      assert.ok(res.status === 400 || res.status === 422, res.body);
      assert.match(res.json.errors.message, field as RegExp);
      const accounts = await t.db.selectFrom('point_accounts').select('id').where('retailer_id', '=', tenant.retailer_id).execute();
      assert.equal(accounts.length, 0);
    });
  }

  it('maintenance run by the worker drops a member whose period ended below its level', async () => {
    const tenant = await createTenant(t.db);
    const { ids, document } = program();
    await put(tenant.retailer_id, document);
    const member = await createMemberViaApi(t.app, tenant);
    const deposit = await call(t.app, {
      method: 'POST',
      url: '/incentives/api/2.0/user_points/deposit',
      headers: { authorization: tenant.connect },
      payload: { retailer_id: tenant.retailer_id, user_id: member.id, deposit_details: [{ point_account_id: ids.tier, amount: 600 }] },
    });
    assert.equal(deposit.status, 200, deposit.body);
    const level = () => t.db.selectFrom('member_tiers').select(['tier_level_id', 'next_maintenance_eval_date']).where('member_id', '=', member.id).executeTakeFirstOrThrow();
    assert.equal((await level()).tier_level_id, ids.levels[2]);

    // nothing is due yet: the worker leaves the member at Gold
    await transact(t.db, (tx) => runTierMaintenance(tx));
    assert.equal((await level()).tier_level_id, ids.levels[2]);

    // a year later, with only 120 points earned in the period
    await t.db.updateTable('point_ledger').set({ effective_at: new Date(Date.now() - 400 * 86_400_000) }).where('member_id', '=', member.id).execute();
    await call(t.app, {
      method: 'POST',
      url: '/incentives/api/2.0/user_points/deposit',
      headers: { authorization: tenant.connect },
      payload: { retailer_id: tenant.retailer_id, user_id: member.id, deposit_details: [{ point_account_id: ids.tier, amount: 120 }] },
    });
    await t.db.updateTable('member_tiers').set({ next_maintenance_eval_date: new Date(Date.now() - 1000) }).where('member_id', '=', member.id).execute();
    const handled = await transact(t.db, (tx) => runTierMaintenance(tx));
    assert.ok(handled >= 1);
    const after = await level();
    assert.equal(after.tier_level_id, ids.levels[1]);
    assert.ok(after.next_maintenance_eval_date!.getTime() > Date.now() + 300 * 86_400_000);
    const reset = await t.db.selectFrom('timeline_events').select('payload').where('member_id', '=', member.id).where('event_type_id', '=', 153).execute();
    assert.equal(reset.length, 1);
  });
});
