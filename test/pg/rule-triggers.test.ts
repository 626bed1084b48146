// Rules triggered by member changes (SPEC 5.8): signup, profile change, tag and
// tier change, applied in the same request as the change.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { pointsProgram, rulesProgram, tierProgram, type PointsProgram } from '../support/factories.js';

describe('rules triggered by member changes', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let p: PointsProgram;
  let silver: string;
  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    p = await pointsProgram(t.db, tenant.retailer_id);
    silver = (await tierProgram(t.db, tenant.retailer_id, p.tier)).levels.silver;
    await rulesProgram(t.db, tenant.retailer_id, [
      { id: randomUUID(), name: 'Welcome', trigger: { type: 'signup' }, outcomes: [{ type: 'points', point_account_id: p.spendable, amount: 50 }] },
      { id: randomUUID(), name: 'Birthday given', trigger: { type: 'profile_change', name: 'dob' }, outcomes: [{ type: 'tag', tag: 'has_birthday' }] },
      { id: randomUUID(), name: 'VIP tag', trigger: { type: 'tag', name: 'vip' }, outcomes: [{ type: 'points', point_account_id: p.bonus, amount: 7 }] },
      { id: randomUUID(), name: 'Silver reached', trigger: { type: 'tier_change', name: silver }, outcomes: [{ type: 'tag', tag: 'silver_welcome' }] },
    ] as never);
  });

  const balance = async (memberId: string, account: string) => {
    const row = await t.db.selectFrom('member_point_accounts').select('available_balance').where('member_id', '=', memberId).where('point_account_id', '=', account).executeTakeFirst();
    return Number(row?.available_balance ?? 0);
  };
  const tags = async (memberId: string) => (await call(t.app, { method: 'GET', url: `${tenant.base}/users/${memberId}/tags`, headers: { authorization: tenant.core } })).json.tags;

  it('a signup rule applies when the member enrolls', async () => {
    const member = await createMemberViaApi(t.app, tenant);
    assert.equal(await balance(member.id, p.spendable), 50);
  });

  it('a profile_change rule applies for the attribute that changed, once', async () => {
    const member = await createMemberViaApi(t.app, tenant, { dob: undefined });
    const update = (body: Record<string, unknown>) => call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core }, payload: { user: body } });
    assert.equal((await update({ city: 'Boston' })).status, 200);
    assert.deepEqual(await tags(member.id), {});
    assert.equal((await update({ dob: '1990-05-05' })).status, 200);
    assert.deepEqual(await tags(member.id), { has_birthday: 1 });
    assert.equal((await update({ dob: '1990-05-05' })).status, 200);
    assert.deepEqual(await tags(member.id), { has_birthday: 1 });
  });

  it('a tag rule applies when the tag is dropped through the API', async () => {
    const member = await createMemberViaApi(t.app, tenant);
    const res = await call(t.app, { method: 'POST', url: `${tenant.base}/users/${member.id}/tags`, headers: { authorization: tenant.core }, payload: { tags: ['vip', 'other'] } });
    assert.equal(res.status, 200, res.body);
    assert.equal(await balance(member.id, p.bonus), 7);
  });

  it('a tier_change rule applies when a deposit promotes the member', async () => {
    const member = await createMemberViaApi(t.app, tenant);
    const res = await call(t.app, {
      method: 'POST',
      url: '/incentives/api/2.0/user_points/deposit',
      headers: { authorization: tenant.connect },
      payload: { retailer_id: tenant.retailer_id, user_id: member.id, deposit_details: [{ point_account_id: p.tier, amount: 150 }] },
    });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(await tags(member.id), { silver_welcome: 1 });
  });
});
