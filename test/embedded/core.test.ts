import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { buildApp } from '../../src/app.js';
import { call, createMemberViaApi, createTenant, embeddedApp, embeddedDatabase, memberBody, testConfig, type TestApp, type TestTenant } from '../support/harness.js';

describe('Core API on the embedded database', () => {
  let t: TestApp;
  let tenant: TestTenant;
  before(async () => {
    t = await embeddedApp();
    tenant = await createTenant(t.db);
  });
  const core = (method: 'GET' | 'POST' | 'PUT', path: string, payload?: object) =>
    call(t.app, { method, url: `${tenant.base}${path}`, headers: { authorization: tenant.core }, ...(payload ? { payload } : {}) });

  it('is ready: migrations are applied and the database answers', async () => {
    assert.equal(t.database.kind, 'embedded');
    const res = await call(t.app, { method: 'GET', url: '/readyz' });
    assert.equal(res.status, 200);
    assert.equal((await call(t.app, { method: 'GET', url: '/healthz' })).status, 200);
  });

  it('serves on after a caller failed inside a transaction it began on the one connection', async () => {
    await assert.rejects(
      t.db.connection().execute(async (c) => {
        await sql`BEGIN`.execute(c);
        await sql`SELECT 1 / 0`.execute(c);
      }),
    );
    const created = await core('POST', '/users', memberBody());
    assert.equal(created.status, 200, created.body);
    assert.equal((await core('GET', `/users/${created.json.user.id}`)).status, 200);
  });

  it('creates, reads and updates a member', async () => {
    const body = memberBody({ first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' });
    const created = await core('POST', '/users', body);
    assert.equal(created.status, 200, created.body);
    const user = created.json.user;
    assert.equal(user.email, 'ada@example.com');
    assert.equal(user.first_name, 'Ada');

    const got = await core('GET', `/users/${user.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.json.user.id, user.id);
    assert.equal(got.json.user.last_name, 'Lovelace');
    const byExternal = await core('GET', `/external/users/${body.user.external_id}`);
    assert.equal(byExternal.status, 200);
    assert.equal(byExternal.json.user.id, user.id);

    const updated = await core('PUT', `/users/${user.id}`, { user: { city: 'London', user_profile: { interests: ['math'] } } });
    assert.equal(updated.status, 200, updated.body);
    assert.equal(updated.json.user.city, 'London');
    assert.deepEqual(updated.json.user.user_profile.interests, ['math']);
    const after = await core('GET', `/users/${user.id}`);
    assert.equal(after.json.user.city, 'London');
    assert.equal(after.json.user.first_name, 'Ada', 'fields not sent are kept');

    const duplicate = await core('POST', '/users', memberBody({ email: 'ADA@example.com' }));
    assert.equal(duplicate.status, 409);
    const unknown = await core('GET', '/users/00000000-0000-4000-8000-000000000000');
    assert.equal(unknown.status, 404);
  });

  it('counts tags and lists them', async () => {
    const member = await createMemberViaApi(t.app, tenant);
    assert.equal((await core('POST', `/users/${member.id}/tags`, { tags: ['app_opened', 'vip'] })).status, 200);
    const again = await core('POST', `/users/${member.id}/tags`, { tags: ['app_opened'] });
    assert.equal(again.status, 200);
    assert.deepEqual(again.json.tags, { app_opened: 2, vip: 1 });
    const got = await core('GET', `/users/${member.id}/tags`);
    assert.deepEqual(got.json.tags, { app_opened: 2, vip: 1 });
  });

  it("records the member's sign-up, profile changes and tags on the timeline, newest first", async () => {
    const member = await createMemberViaApi(t.app, tenant);
    await core('PUT', `/users/${member.id}`, { user: { city: 'Paris' } });
    await core('POST', `/users/${member.id}/tags`, { tags: ['newsletter'] });
    const slugsOf = (res: { json: { result: { event_stream_payload: { event_type_slug: string } }[] } }) => res.json.result.map((e) => e.event_stream_payload.event_type_slug);
    const res = await core('GET', `/users/${member.id}/timelines/END_USER_MEMBER_STATEMENT`);
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(slugsOf(res), ['USER_TAG_DROPPED', 'PROFILE_UPDATE', 'SIGNED_UP_WITHOUT_REFERRAL']);
    const audit = await core('GET', `/users/${member.id}/timelines/ACCOUNT_AUDIT_LOG`);
    assert.deepEqual(slugsOf(audit), ['PROFILE_UPDATE'], 'the audit log shows changes to the account only');
    for (const entry of res.json.result) assert.equal(entry.event_stream_payload.user_id, member.id);
    assert.equal(res.json.result[0].event_stream_payload.tag, 'newsletter');
  });
});

describe('readiness of an embedded database with a pending migration', () => {
  it('answers /readyz with 503 until every migration is applied', async () => {
    const database = await embeddedDatabase();
    // as after an upgrade that brings a migration this database has not seen
    await sql`DELETE FROM schema_migrations WHERE name = (SELECT max(name) FROM schema_migrations)`.execute(database.db);
    const app = await buildApp({ config: testConfig(), db: database.db });
    try {
      const res = await call(app, { method: 'GET', url: '/readyz' });
      assert.equal(res.status, 503);
      assert.match(res.json.errors.message, /migrations/);
      assert.equal((await call(app, { method: 'GET', url: '/healthz' })).status, 200, 'alive, though not ready');
    } finally {
      await app.close();
    }
  });
});
