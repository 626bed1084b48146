import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { pointsProgram, type PointsProgram } from '../support/factories.js';

describe('points ledger on PostgreSQL', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let p: PointsProgram;
  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    p = await pointsProgram(t.db, tenant.retailer_id);
  });

  const connect = (path: string, body: Record<string, unknown>) =>
    call(t.app, { method: 'POST', url: `/incentives/api/2.0/user_points/${path}`, headers: { authorization: tenant.connect }, payload: { retailer_id: tenant.retailer_id, culture: 'en-US', ...body } });

  it('deposits, spends and reports balances', async () => {
    const member = await createMemberViaApi(t.app, tenant);
    const dep = await connect('deposit', { user_id: member.id, deposit_details: [{ point_source_id: p.source, amount: 100, point_account_id: p.spendable, reference_id: 'R1', reference_type: 'test' }] });
    assert.equal(dep.status, 200, dep.body);
    assert.equal(dep.json.payload.details[0].remaining_balance, 100);
    const spend = await connect('spend_multiple', { user_id: member.id, spend_details: [{ amount: 30, point_account_ids: [p.spendable] }] });
    assert.equal(spend.status, 200, spend.body);
    assert.equal(spend.json.payload.details[0].amount_spent, 30);
    assert.equal(spend.json.payload.details[0].remaining_balance, 70);
    const over = await connect('spend_multiple', { user_id: member.id, spend_details: [{ amount: 71, point_account_ids: [p.spendable] }] });
    assert.equal(over.status, 422);
    assert.equal(over.json.errors.code, 'insufficient_points');
    const balance = await connect('balance', { user_id: member.id, point_account_ids: [] });
    assert.equal(balance.status, 200, balance.body);
    const spendable = balance.json.payload.details.find((d: any) => d.point_account_id === p.spendable);
    assert.equal(spendable.available_balance, 70);
    assert.equal(spendable.life_time_value, 100);
  });

  it('never overdraws under 100 concurrent spends', async () => {
    const member = await createMemberViaApi(t.app, tenant);
    await connect('deposit', { user_id: member.id, deposit_details: [{ amount: 50, point_account_id: p.spendable }] });
    const spends = await Promise.all(Array.from({ length: 100 }, (_, i) => connect('spend_multiple', { user_id: member.id, spend_details: [{ amount: 1, point_account_ids: [p.spendable], reference_id: `S${i}` }] })));
    assert.equal(spends.filter((s) => s.status === 200).length, 50);
    assert.ok(spends.filter((s) => s.status !== 200).every((s) => s.json.errors.code === 'insufficient_points'));
    const balance = await connect('balance', { user_id: member.id, point_account_ids: [p.spendable] });
    assert.equal(balance.json.payload.details[0].available_balance, 0);
  });
});
