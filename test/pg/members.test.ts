import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { call, createMemberViaApi, createTenant, memberBody, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

describe('members on PostgreSQL', () => {
  let t: TestApp;
  let tenant: TestTenant;
  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
  });

  it('creates a member with 200 and the Core shape of 1.1.1', async () => {
    const res = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core }, payload: memberBody({ email: 'Marcus@Example.com' }) });
    assert.equal(res.status, 200);
    assert.equal(res.json.status, 'ok');
    const user = res.json.user;
    assert.equal(user.opted_in, true);
    assert.equal(user.email, 'Marcus@Example.com');
    assert.match(user.created_at, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    assert.equal(user.dob, '1991-01-01');
    assert.deepEqual(user.identifiers, [{ external_id: user.external_id, external_id_type: 'merchant_identifier' }]);
    assert.deepEqual(user.user_profile, { _version: 1, partner: ['root'] });
    assert.equal(user.phone_numbers[0].verified_ownership, false);
    assert.match(user.referrer_code, /^MARCUSM-[0-9A-F]{6}-[0-9A-F]{6}$/);
  });

  it('refuses a second member with the same email, in any case', async () => {
    await createMemberViaApi(t.app, tenant, { email: 'dup@example.com' });
    const res = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core }, payload: memberBody({ email: 'DUP@example.com' }) });
    assert.equal(res.status, 409);
    assert.deepEqual(res.json, { status: 'error', errors: { code: 'duplicate_email', message: 'email: a member with this email already exists' } });
  });

  it('leaves exactly one member when two creates with one external id race', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 8 }, () => call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core }, payload: memberBody({ external_id: 'RACE-1' }) })),
    );
    assert.equal(attempts.filter((r) => r.status === 200).length, 1);
    assert.ok(attempts.filter((r) => r.status !== 200).every((r) => r.status === 409 && r.json.errors.code === 'duplicate_external_id'));
    const found = await call(t.app, { method: 'GET', url: `${tenant.base}/users/search?external_id=race-1`, headers: { authorization: tenant.core } });
    assert.equal(found.status, 200);
  });
});
