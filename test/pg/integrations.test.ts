// Requests as integrations written against SessionM send them, answers read as
// they read them (API-NOTES, "Real integrations"; issue 15, items 1-5).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { call, createMemberViaApi, createTenant, memberBody, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { pointsProgram, type PointsProgram } from '../support/factories.js';

describe('integrations written against SessionM', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let p: PointsProgram;

  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    p = await pointsProgram(t.db, tenant.retailer_id);
  });

  const core = (method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, payload?: object, headers: Record<string, string> = {}) =>
    call(t.app, { method, url: `${tenant.base}${path}`, headers: { authorization: tenant.core, ...headers }, ...(payload ? { payload } : {}) });
  const connect = (path: string, payload: object) => call(t.app, { method: 'POST', url: `/incentives/api/${path}`, headers: { authorization: tenant.connect }, payload });

  it("reads the point audit log from payload.results, each create_date a date and modification a signed number (both forms)", async () => {
    const member = await createMemberViaApi(t.app, tenant);
    await connect('2.0/user_points/deposit', { retailer_id: tenant.retailer_id, user_id: member.id, deposit_details: [{ point_account_id: p.spendable, amount: 50 }] });
    await connect('2.0/user_points/spend_multiple', { retailer_id: tenant.retailer_id, user_id: member.id, spend_details: [{ point_account_ids: [p.spendable], amount: 12.5 }] });
    for (const path of ['2.0/user_points/fetch_point_audit_logs', '1.0/point_audit_logs/fetch_point_audit_logs']) {
      const res = await connect(path, { retailer_id: tenant.retailer_id, user_id: member.id, skip: 0, take: 10 });
      assert.equal(res.status, 200, res.body);
      const { results, total_records, skip, take } = res.json.payload;
      assert.deepEqual([total_records, skip, take], [2, 0, 10], path);
      // what a TypeScript history page does with each row
      const rows = results.map((r: any) => ({ at: new Date(r.create_date), change: Number(r.modification) }));
      assert.ok(rows.every((r: any) => !Number.isNaN(r.at.getTime())), path);
      assert.deepEqual(rows.map((r: any) => r.change), [-12.5, 50], path);
      // a Python service does float(row['modification'])
      assert.deepEqual(results.map((r: any) => r.modification[0]), ['-', '+'], 'the sign comes first');
    }
  });

  it('moves a car plate to the next owner with clear_identifiers: the plate no longer resolves, the kept ids still do', async () => {
    const first = await createMemberViaApi(t.app, tenant, { identifiers: [{ external_id: 'PLATE-123', external_id_type: 'CAR_PLATE' }] });
    assert.equal((await core('GET', '/external/users/PLATE-123')).json.user.id, first.id);
    const cleared = await core('PUT', '/external/users/PLATE-123', {
      user: { identifiers: [{ external_id: first.external_id, external_id_type: 'merchant_identifier' }], clear_identifiers: true, user_profile: { car_detail: [] } },
    });
    assert.equal(cleared.status, 200, cleared.body);
    const gone = await core('GET', '/external/users/PLATE-123');
    assert.equal(gone.status, 404, gone.body);
    assert.equal(gone.json.errors.code, 'user_not_found');
    const kept = await core('GET', `/external/users/${first.external_id}?show_identifiers=true`);
    assert.equal(kept.json.user.id, first.id);
    assert.deepEqual(kept.json.user.identifiers.map((i: any) => i.external_id), [first.external_id]);
    const next = await createMemberViaApi(t.app, tenant, { identifiers: [{ external_id: 'PLATE-123', external_id_type: 'CAR_PLATE' }] });
    assert.equal((await core('GET', '/external/users/PLATE-123')).json.user.id, next.id);
    // without clear_identifiers, ids are only added
    await core('PUT', `/users/${next.id}`, { user: { identifiers: [{ external_id: 'PLATE-456', external_id_type: 'CAR_PLATE' }] } });
    assert.equal((await core('GET', '/external/users/PLATE-123')).json.user.id, next.id);
  });

  it('answers 200 to a query string sent twice over on external/users/:id', async () => {
    const member = await createMemberViaApi(t.app, tenant);
    const q = 'user[user_profile]=true&expand_incentives=true&show_identifiers=true';
    const res = await core('GET', `/external/users/${member.external_id}?${q}?${q}`);
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.user.id, member.id);
    assert.ok(res.json.user.identifiers, 'show_identifiers applied');
    assert.ok(res.json.user.user_profile, 'the profile is shown');
  });

  it('closes a member with DELETE and no body, with or without a JSON content type; it is gone from every lookup', async () => {
    for (const headers of [{}, { 'content-type': 'application/json' }]) {
      const member = await createMemberViaApi(t.app, tenant);
      const res = await call(t.app, { method: 'DELETE', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core, ...headers } });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(res.json, { status: 'ok' });
      assert.equal((await core('GET', `/users/${member.id}`)).status, 404);
      assert.equal((await core('GET', `/external/users/${member.external_id}`)).status, 404);
      assert.equal((await core('GET', `/users/search?email=${encodeURIComponent(member.email)}`)).status, 404);
    }
  });

  it('leaves phone_numbers out of every profile of a member without phone numbers', async () => {
    const created = await core('POST', '/users', memberBody({ phone_numbers: undefined }));
    assert.equal(created.status, 200, created.body);
    const user = created.json.user;
    const answers = [
      created.json.user,
      (await core('GET', `/users/${user.id}`)).json.user,
      (await core('GET', `/users/search?email=${encodeURIComponent(user.email)}`)).json.user,
      (await core('PUT', `/users/${user.id}`, { user: { first_name: 'Ana' } })).json.user,
    ];
    // what a Python operations script does: user['phone_numbers'][0] whenever the key is there
    for (const answer of answers) assert.ok(!('phone_numbers' in answer) || answer.phone_numbers[0].phone_number, JSON.stringify(answer));
    assert.ok(answers.every((a) => !('phone_numbers' in a)));
    const withPhone = await createMemberViaApi(t.app, tenant);
    assert.equal((await core('GET', `/users/${withPhone.id}`)).json.user.phone_numbers[0].phone_number, '1112223333');
  });

  it('refuses a program id that is not a UUID, naming the field, and changes nothing', async () => {
    const admin = { authorization: `Bearer ${t.config.adminToken}` };
    const before = await call(t.app, { method: 'GET', url: `/admin/tenants/${tenant.retailer_id}/program`, headers: admin });
    const res = await call(t.app, {
      method: 'PUT',
      url: `/admin/tenants/${tenant.retailer_id}/program`,
      headers: { ...admin, 'content-type': 'application/yaml' },
      payload: 'point_accounts:\n  - { id: points, name: Points, default: true }\n',
    });
    assert.equal(res.status, 400, res.body);
    assert.deepEqual(res.json.errors, { code: 'argument_error', message: 'point_accounts.0.id: is not a UUID' });
    const after = await call(t.app, { method: 'GET', url: `/admin/tenants/${tenant.retailer_id}/program`, headers: admin });
    assert.deepEqual(after.json, before.json);
  });
});
