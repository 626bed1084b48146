// The points ledger on the embedded database: the same SQL as on PostgreSQL.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { call, createMemberViaApi, createTenant, embeddedApp, type TestApp, type TestTenant } from '../support/harness.js';
import { pointsProgram, tierProgram, type PointsProgram } from '../support/factories.js';

describe('points and tiers on the embedded database', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let p: PointsProgram;
  before(async () => {
    t = await embeddedApp();
    tenant = await createTenant(t.db);
    p = await pointsProgram(t.db, tenant.retailer_id);
  });

  const connect = (path: string, body: Record<string, unknown>) =>
    call(t.app, { method: 'POST', url: `/incentives/api/${path}`, headers: { authorization: tenant.connect }, payload: { retailer_id: tenant.retailer_id, ...body } });

  it('deposits, spends, promotes and keeps the ledger equal to the balance', async () => {
    const tiers = await tierProgram(t.db, tenant.retailer_id, p.tier);
    const member = await createMemberViaApi(t.app, tenant);
    const deposit = await connect('2.0/user_points/deposit', {
      user_id: member.external_id,
      deposit_details: [
        { point_account_id: p.spendable, amount: '10.25', point_source_id: p.source, reference_id: 'R1' },
        { point_account_id: p.tier, amount: 150 },
      ],
    });
    assert.equal(deposit.status, 200, deposit.body);
    const spend = await connect('2.0/user_points/spend_multiple', { user_id: member.id, spend_details: [{ amount: '0.25' }] });
    assert.equal(spend.status, 200, spend.body);
    assert.equal(spend.json.payload.details[0].remaining_balance, 10);
    const refused = await connect('2.0/user_points/spend_multiple', { user_id: member.id, spend_details: [{ amount: 11, point_account_ids: [p.spendable] }] });
    assert.equal(refused.json.errors.code, 'insufficient_points');

    const status = await connect('1.0/user_tiers/tier_status', { user_id: member.id, include_progress: true });
    assert.equal(status.json.payload.tier_levels[0].tier_level_id, tiers.levels.silver);
    const rows = await t.db.selectFrom('point_ledger').select(['point_account_id', 'amount', 'balance_after']).where('member_id', '=', member.id).orderBy('id').execute();
    assert.deepEqual(
      rows.map((r) => [r.point_account_id, Number(r.amount), Number(r.balance_after)]),
      [
        [p.spendable, 10.25, 10.25],
        [p.tier, 150, 150],
        [p.spendable, -0.25, 10],
      ],
    );
  });
});
