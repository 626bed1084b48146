// Bad input (SPEC §4): malformed JSON, wrong types, missing fields and
// oversized bodies are 400 with a stable code and the field named; bad values
// are 422; nothing is written, and no error body leaks internals.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { call, createMemberViaApi, createTenant, memberBody, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

describe('input validation on PostgreSQL', () => {
  let t: TestApp;
  before(async () => {
    t = await postgresApp();
  });

  /** Rows the tenant owns, table by table: a rejected request must leave them all as they were. */
  async function snapshot(tenant: TestTenant) {
    const count = async (table: 'members' | 'timeline_events' | 'member_tags' | 'member_identifiers' | 'member_phone_numbers' | 'message_replays') =>
      Number((await t.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).where('retailer_id', '=', tenant.retailer_id).executeTakeFirstOrThrow()).n);
    const members = await t.db.selectFrom('members').select(['id', 'updated_at', 'profile_version', 'first_name', 'email']).where('retailer_id', '=', tenant.retailer_id).orderBy('id').execute();
    return {
      members: await count('members'),
      timeline: await count('timeline_events'),
      tags: await count('member_tags'),
      identifiers: await count('member_identifiers'),
      phones: await count('member_phone_numbers'),
      rows: members.map((m) => ({ ...m, updated_at: m.updated_at.toISOString() })),
    };
  }

  /** Nothing internal in an error body: no stack frames, source paths, SQL or driver messages. */
  function assertClean(res: { body: string }, what: string) {
    for (const leak of [/\bat .+:\d+:\d+/, /\.ts\b/, /\.js:\d/, /node_modules/, /\bSELECT\b|\bINSERT\b|\bUPDATE "/i, /violates|constraint|relation "|syntax error at/i, /stack/i, /FST_/, /kysely|postgres|pglite/i]) {
      assert.doesNotMatch(res.body, leak, `${what} leaks internals: ${res.body}`);
    }
  }

  function assertError(res: { status: number; json: any; body: string }, status: number, code: string, field: string, what: string) {
    assert.equal(res.status, status, `${what}: ${res.body}`);
    assert.deepEqual(Object.keys(res.json).sort(), ['errors', 'status'], what);
    assert.equal(res.json.status, 'error', what);
    assert.equal(res.json.errors.code, code, `${what}: ${res.body}`);
    assert.match(res.json.errors.message, new RegExp(`\\b${field}\\b`), `${what}: message should name ${field}: ${res.body}`);
    assertClean(res, what);
  }

  it('answers malformed JSON with 400 invalid_json and creates nothing', async () => {
    const tenant = await createTenant(t.db);
    const before = await snapshot(tenant);
    for (const payload of ['{"user": ', '{"user": {"email": "a@b.com",}}', "{'user': {}}", 'user=1', '{"user": {"email": "a@b.com"}} trailing']) {
      const res = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core, 'content-type': 'application/json' }, payload });
      assertError(res, 400, 'invalid_json', 'body', `POST /users ${payload}`);
    }
    const member = await createMemberViaApi(t.app, tenant);
    const mid = await snapshot(tenant);
    const put = await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core, 'content-type': 'application/json' }, payload: '{"user": {"first_name": "Bob"' });
    assertError(put, 400, 'invalid_json', 'body', 'PUT malformed');
    const tags = await call(t.app, { method: 'POST', url: `${tenant.base}/users/${member.id}/tags`, headers: { authorization: tenant.core, 'content-type': 'application/json' }, payload: '{"tags": ["a"' });
    assertError(tags, 400, 'invalid_json', 'body', 'tags malformed');
    assert.deepEqual(await snapshot(tenant), mid);
    assert.equal(mid.members, before.members + 1);
  });

  it('answers a field of the wrong type with 400 argument_error naming the field, and writes nothing', async () => {
    const tenant = await createTenant(t.db);
    const member = await createMemberViaApi(t.app, tenant);
    const before = await snapshot(tenant);
    const cases: [string, string, string, unknown, string][] = [
      ['POST', '/users', 'user as a string', { user: 'x' }, 'user'],
      ['POST', '/users', 'user as a list', { user: [] }, 'user'],
      ['POST', '/users', 'phone_numbers as a string', memberBody({ phone_numbers: '1112223333' }), 'phone_numbers'],
      ['POST', '/users', 'phone_numbers as an object', memberBody({ phone_numbers: { phone_number: '1112223333' } }), 'phone_numbers'],
      ['POST', '/users', 'opted_in as a word', memberBody({ opted_in: 'maybe' }), 'opted_in'],
      ['POST', '/users', 'email as a number', memberBody({ email: { address: 'a@b.com' } }), 'email'],
      ['POST', '/users', 'user_profile as a string', memberBody({ user_profile: 'partner' }), 'user_profile'],
      ['POST', '/users', 'dob not a date', memberBody({ dob: 'yesterday' }), 'dob'],
      ['POST', '/users', 'dob an impossible date', memberBody({ dob: '1990-02-30' }), 'dob'],
      ['PUT', `/users/${member.id}`, 'user as a string', { user: 'x' }, 'user'],
      ['PUT', `/users/${member.id}`, 'phone_numbers as a string', { user: { phone_numbers: '555' } }, 'phone_numbers'],
      ['PUT', `/users/${member.id}`, 'first_name as an object', { user: { first_name: { a: 1 } } }, 'first_name'],
      ['POST', `/users/${member.id}/tags`, 'ttl "abc"', { tags: ['a'], ttl: 'abc' }, 'ttl'],
      ['POST', `/users/${member.id}/tags`, 'ttl 1.5', { tags: ['a'], ttl: 1.5 }, 'ttl'],
      ['POST', `/users/${member.id}/tags`, 'ttl negative', { tags: ['a'], ttl: -5 }, 'ttl'],
      ['POST', `/users/${member.id}/tags`, 'tags as an object', { tags: { a: 1 } }, 'tags'],
      ['POST', `/users/${member.id}/tags`, 'a tag as an object', { tags: [{ name: 'a' }] }, 'tags'],
    ];
    for (const [method, path, what, payload, field] of cases) {
      const res = await call(t.app, { method: method as 'POST', url: `${tenant.base}${path}`, headers: { authorization: tenant.core }, payload: payload as object });
      assertError(res, 400, 'argument_error', field, `${method} ${path}: ${what}`);
    }
    for (const [query, field] of [['count=abc', 'count'], ['count=0', 'count'], ['count=5000', 'count'], ['since=notatime', 'since'], ['cursor=bm9wZQ', 'cursor'], ['event_types=NOT_A_TYPE', 'event_types']]) {
      const res = await call(t.app, { method: 'GET', url: `${tenant.base}/users/${member.id}/timelines/END_USER_MEMBER_STATEMENT?${query}`, headers: { authorization: tenant.core } });
      assertError(res, 400, 'argument_error', field, `timeline ?${query}`);
    }
    const limit = await call(t.app, { method: 'GET', url: `${tenant.base}/users/search_users?last_name=X&limit=lots`, headers: { authorization: tenant.core } });
    assertError(limit, 400, 'argument_error', 'limit', 'search_users limit=lots');
    assert.deepEqual(await snapshot(tenant), before);
  });

  it('answers a missing required field with 400 missing_data naming it, and writes nothing', async () => {
    const tenant = await createTenant(t.db);
    const member = await createMemberViaApi(t.app, tenant);
    const before = await snapshot(tenant);
    const cases: [string, string, unknown, string][] = [
      ['POST', '/users', {}, 'user'],
      ['POST', '/users', { email: 'flat@example.com', first_name: 'Flat' }, 'user'],
      ['PUT', `/users/${member.id}`, { first_name: 'Flat' }, 'user'],
      ['POST', `/users/${member.id}/tags`, {}, 'tags'],
      ['POST', `/users/${member.id}/tags`, { ttl: 60 }, 'tags'],
      ['POST', `/users/${member.id}/tags`, { tag: 'singular' }, 'tags'],
      ['POST', '/users', memberBody({ phone_numbers: [{ phone_type: 'mobile' }] }), 'phone_number'],
    ];
    for (const [method, path, payload, field] of cases) {
      const res = await call(t.app, { method: method as 'POST', url: `${tenant.base}${path}`, headers: { authorization: tenant.core }, payload: payload as object });
      assertError(res, 400, 'missing_data', field, `${method} ${path} ${JSON.stringify(payload)}`);
    }
    const noBody = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core, 'content-type': 'application/json' }, payload: '' });
    assert.equal(noBody.status, 400, noBody.body);
    assert.equal(noBody.json.errors.code, 'missing_data');
    const emptyTags = await call(t.app, { method: 'POST', url: `${tenant.base}/users/${member.id}/tags`, headers: { authorization: tenant.core }, payload: { tags: [] } });
    assert.equal(emptyTags.status, 400, emptyTags.body);
    assert.match(emptyTags.json.errors.message, /\btags\b/);
    const search = await call(t.app, { method: 'GET', url: `${tenant.base}/users/search`, headers: { authorization: tenant.core } });
    assertError(search, 400, 'missing_data', 'email', 'search without a criterion');
    const searchUsers = await call(t.app, { method: 'GET', url: `${tenant.base}/users/search_users?sort=user_id`, headers: { authorization: tenant.core } });
    assertError(searchUsers, 400, 'missing_data', 'first_name', 'search_users without a criterion');
    assert.deepEqual(await snapshot(tenant), before);
  });

  it('answers a body over 1 MiB with 400 body_too_large and writes nothing', async () => {
    const tenant = await createTenant(t.db);
    const member = await createMemberViaApi(t.app, tenant);
    const before = await snapshot(tenant);
    const big = 'x'.repeat(1024 * 1024);
    const create = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core }, payload: memberBody({ user_profile: { notes: big } }) });
    assertError(create, 400, 'body_too_large', 'body', 'POST /users over 1 MiB');
    const update = await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core }, payload: { user: { user_profile: { notes: big } } } });
    assertError(update, 400, 'body_too_large', 'body', 'PUT over 1 MiB');
    const tags = await call(t.app, { method: 'POST', url: `${tenant.base}/users/${member.id}/tags`, headers: { authorization: tenant.core }, payload: { tags: ['a'], pad: big } });
    assertError(tags, 400, 'body_too_large', 'body', 'tags over 1 MiB');
    assert.deepEqual(await snapshot(tenant), before);
    // just under the limit is accepted
    const fits = await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core }, payload: { user: { user_profile: { notes: 'y'.repeat(1000 * 1000) } } } });
    assert.equal(fits.status, 200, fits.body.slice(0, 300));
  });

  it('answers an email that is not an address with 422 validation naming email, and writes nothing', async () => {
    const tenant = await createTenant(t.db);
    const member = await createMemberViaApi(t.app, tenant);
    const before = await snapshot(tenant);
    for (const email of ['no-at-sign.example.com', 'two words@example.com', '@example.com', 'someone@', 'a@b@c.com', 'tab\t@example.com']) {
      const create = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core }, payload: memberBody({ email }) });
      assertError(create, 422, 'validation', 'email', `create with email ${JSON.stringify(email)}`);
      const update = await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core }, payload: { user: { email } } });
      assertError(update, 422, 'validation', 'email', `update to email ${JSON.stringify(email)}`);
    }
    assert.deepEqual(await snapshot(tenant), before);
  });

  it('answers a dob that makes the member younger than 13 with 422 validation naming dob', async () => {
    const tenant = await createTenant(t.db);
    const member = await createMemberViaApi(t.app, tenant);
    const before = await snapshot(tenant);
    const now = new Date();
    const iso = (d: Date) => d.toISOString().slice(0, 10);
    const twelve = iso(new Date(Date.UTC(now.getUTCFullYear() - 12, now.getUTCMonth(), 1)));
    const almost = iso(new Date(Date.UTC(now.getUTCFullYear() - 13, now.getUTCMonth(), now.getUTCDate() + 2)));
    for (const dob of [twelve, almost, iso(now), `${now.getUTCFullYear() + 1}-01-01`]) {
      const create = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core }, payload: memberBody({ dob }) });
      assertError(create, 422, 'validation', 'dob', `create with dob ${dob}`);
      const update = await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core }, payload: { user: { dob } } });
      assertError(update, 422, 'validation', 'dob', `update to dob ${dob}`);
    }
    assert.deepEqual(await snapshot(tenant), before);
    const thirteen = iso(new Date(Date.UTC(now.getUTCFullYear() - 13, now.getUTCMonth(), now.getUTCDate() - 1)));
    const ok = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core }, payload: memberBody({ dob: thirteen }) });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.json.user.dob, thirteen);
  });

  it('keeps internals out of every error body, including input the database itself would refuse', async () => {
    const tenant = await createTenant(t.db);
    const member = await createMemberViaApi(t.app, tenant);
    const before = await snapshot(tenant);
    // PostgreSQL text cannot hold NUL: a client mistake (400 naming the field), never a 500
    const cases: [string, string, unknown, string][] = [
      ['POST', '/users', memberBody({ first_name: 'Nul\u0000Byte' }), 'first_name'],
      ['PUT', `/users/${member.id}`, { user: { city: 'Nul\u0000Town' } }, 'city'],
      ['PUT', `/users/${member.id}`, { user: { user_profile: { note: 'nul \u0000 inside' } } }, 'note'],
      ['PUT', `/users/${member.id}`, { user: { user_profile: { 'k\u0000ey': 1 } } }, 'user_profile'],
      ['POST', `/users/${member.id}/tags`, { tags: ['nul\u0000tag'] }, 'tags'],
      ['POST', '/users', memberBody({ email: 'nul\u0000@example.com' }), 'email'],
    ];
    for (const [method, path, payload, field] of cases) {
      const res = await call(t.app, { method: method as 'POST', url: `${tenant.base}${path}`, headers: { authorization: tenant.core }, payload: payload as object });
      assertError(res, 400, 'argument_error', field, `${method} ${path} ${JSON.stringify(payload)}`);
    }
    for (const url of [`${tenant.base}/users/not-a-uuid`, `${tenant.base}/users/${member.id}/timelines/NOPE`, `${tenant.base}/nowhere`, `${tenant.base}/external/users/nul%00id`, `${tenant.base}/users/search?email=a%00@b.com`]) {
      const res = await call(t.app, { method: 'GET', url, headers: { authorization: tenant.core } });
      assert.ok(res.status === 400 || res.status === 404, `${url}: ${res.status} ${res.body}`);
      assert.equal(res.json.status, 'error', url);
      assertClean(res, url);
    }
    assert.deepEqual(await snapshot(tenant), before);
  });
});
