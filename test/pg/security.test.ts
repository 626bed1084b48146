// Authentication and tenant isolation on every surface (SPEC §3): missing or
// wrong credentials are 401 in the surface's own envelope; another tenant's
// member is 404 user_not_found and stays untouched.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

type Surface = 'core' | 'connect' | 'pos' | 'admin';

interface Route {
  surface: Surface;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path for a tenant's base, one of its member ids and that member's external id. */
  path: (ctx: { base: string; id: string; eid: string; email: string }) => string;
  body?: (ctx: { retailerId: string; storeId: string; id: string }) => unknown;
  /** A route about one member (the cross-tenant checks use these). */
  member?: boolean;
}

const TIMELINE = 'timelines/END_USER_MEMBER_STATEMENT';

/** Every route of every surface this foundation serves, plus unknown paths. */
const ROUTES: Route[] = [
  { surface: 'core', method: 'POST', path: (c) => `${c.base}/users`, body: () => ({ user: { email: `x.${Date.now()}@example.com` } }) },
  { surface: 'core', method: 'GET', path: (c) => `${c.base}/users/search?email=${encodeURIComponent(c.email)}`, member: true },
  { surface: 'core', method: 'GET', path: (c) => `${c.base}/users/search?external_id=${c.eid}`, member: true },
  { surface: 'core', method: 'GET', path: (c) => `${c.base}/users/search_users?email=${encodeURIComponent(c.email)}` },
  { surface: 'core', method: 'GET', path: (c) => `${c.base}/users?user_ids[]=${c.id}` },
  { surface: 'core', method: 'GET', path: (c) => `${c.base}/users/${c.id}`, member: true },
  { surface: 'core', method: 'PUT', path: (c) => `${c.base}/users/${c.id}`, body: () => ({ user: { first_name: 'Intruder', user_profile: { hacked: true } } }), member: true },
  { surface: 'core', method: 'GET', path: (c) => `${c.base}/external/users/${c.eid}`, member: true },
  { surface: 'core', method: 'PUT', path: (c) => `${c.base}/external/users/${c.eid}`, body: () => ({ user: { last_name: 'Intruder' } }), member: true },
  { surface: 'core', method: 'GET', path: (c) => `${c.base}/users/${c.id}/tags`, member: true },
  { surface: 'core', method: 'POST', path: (c) => `${c.base}/users/${c.id}/tags`, body: () => ({ tags: ['intruder'] }), member: true },
  { surface: 'core', method: 'GET', path: (c) => `${c.base}/external/users/${c.eid}/tags`, member: true },
  { surface: 'core', method: 'POST', path: (c) => `${c.base}/external/users/${c.eid}/tags`, body: () => ({ tags: ['intruder'], ttl: 600 }), member: true },
  { surface: 'core', method: 'GET', path: (c) => `${c.base}/users/${c.id}/${TIMELINE}`, member: true },
  { surface: 'core', method: 'GET', path: (c) => `${c.base}/external/users/${c.eid}/${TIMELINE}`, member: true },
  // deletes last: the cross-tenant pass runs the table in order
  { surface: 'core', method: 'DELETE', path: (c) => `${c.base}/users/${c.id}`, member: true },
  { surface: 'core', method: 'DELETE', path: (c) => `${c.base}/external/users/${c.eid}`, member: true },
  { surface: 'core', method: 'GET', path: (c) => `${c.base}/no/such/endpoint` },
  { surface: 'core', method: 'POST', path: (c) => `${c.base}/no/such/endpoint`, body: () => ({}) },
  { surface: 'connect', method: 'POST', path: () => '/incentives/api/2.0/user_points/deposit', body: (c) => ({ retailer_id: c.retailerId, user_id: c.id, point_account_name: 'Points', amount: 10 }) },
  { surface: 'connect', method: 'POST', path: () => '/offers/api/2.0/offers/acquisition/issue', body: (c) => ({ retailer_id: c.retailerId, user_id: c.id, offer_id: '00000000-0000-0000-0000-000000000000', culture: 'en-US' }) },
  { surface: 'pos', method: 'POST', path: () => '/api/2.0/lookup', body: (c) => ({ client_id: c.retailerId, store_id: c.storeId, request_id: '1', identifier: c.id }) },
  { surface: 'admin', method: 'POST', path: () => '/admin/tenants', body: () => ({ name: 'Sneaky' }) },
];

const label = (r: Route) => `${r.surface} ${r.method} ${r.path({ base: '/priv/v1/apps/:appkey', id: ':id', eid: ':eid', email: ':email' })}`;

/** Asserts a 401 in the surface's own envelope. */
function assertUnauthorized(surface: Surface, res: { status: number; json: any; body: string }, what: string, code = 'access_denied') {
  assert.equal(res.status, 401, `${what}: ${res.body}`);
  if (surface === 'pos') {
    assert.equal(res.json.status, 'error', what);
    assert.equal(res.json.payload, null, what);
    assert.ok(Array.isArray(res.json.errors) && res.json.errors.length === 1, `${what}: ${res.body}`);
    assert.deepEqual(Object.keys(res.json.errors[0]).sort(), ['code', 'message'], what);
    assert.equal(res.json.errors[0].code, code, what);
    assert.equal(typeof res.json.errors[0].message, 'string', what);
  } else {
    assert.deepEqual(Object.keys(res.json).sort(), ['errors', 'status'], `${what}: ${res.body}`);
    assert.equal(res.json.status, 'error', what);
    assert.deepEqual(Object.keys(res.json.errors).sort(), ['code', 'message'], what);
    assert.equal(res.json.errors.code, code, what);
    assert.ok(res.json.errors.message.length > 0, what);
  }
}

const basic = (key: string, secret: string) => `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;

describe('authentication and tenant isolation on PostgreSQL', () => {
  let t: TestApp;
  let a: TestTenant;
  let b: TestTenant;
  let memberA: Record<string, any>;
  let ctxA: { base: string; id: string; eid: string; email: string };

  before(async () => {
    t = await postgresApp();
    a = await createTenant(t.db);
    b = await createTenant(t.db);
    memberA = await createMemberViaApi(t.app, a);
    ctxA = { base: a.base, id: memberA.id, eid: memberA.external_id, email: memberA.email };
  });

  const countMembers = async () => Number((await t.db.selectFrom('members').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const countRetailers = async () => Number((await t.db.selectFrom('retailers').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  /** Credentials that are wrong for the surface: none of them may get in. */
  function wrongCredentials(surface: Surface): [string, string | undefined][] {
    switch (surface) {
      case 'core':
        return [
          ['no credentials', undefined],
          ['wrong secret', basic(a.appkey, `${a.secret}x`)],
          ['unknown appkey', basic('0123456789abcdef', a.secret)],
          ['the Connect credentials', a.connect],
          ['a bearer token', `Bearer ${a.secret}`],
          ['a malformed Basic header', 'Basic !!!not-base64!!!'],
        ];
      case 'connect':
        return [
          ['no credentials', undefined],
          ['wrong secret', basic(a.appkey_connect, `${a.secret_connect}x`)],
          ['the Core credentials', a.core],
          ['the POS token', a.pos],
        ];
      case 'pos':
        return [
          ['no credentials', undefined],
          ['wrong token', `${a.pos}x`],
          ['a token without its secret', a.pos.split('.')[0]],
          ['the Core credentials', a.core],
        ];
      case 'admin':
        return [
          ['no credentials', undefined],
          ['wrong token', 'Bearer not-the-admin-token-at-all'],
          ['the Core credentials', a.core],
        ];
    }
  }

  it('answers 401 in the surface envelope on every route with no or wrong credentials, and changes nothing', async () => {
    const members = await countMembers();
    const retailers = await countRetailers();
    const before = await call(t.app, { method: 'GET', url: `${a.base}/users/${memberA.id}?show_identifiers=true&user[user_profile]=true`, headers: { authorization: a.core } });
    for (const route of ROUTES) {
      for (const [what, authorization] of wrongCredentials(route.surface)) {
        const res = await call(t.app, {
          method: route.method,
          url: route.path(ctxA),
          headers: authorization === undefined ? {} : { authorization },
          ...(route.body ? { payload: route.body({ retailerId: a.retailer_id, storeId: a.store_id, id: memberA.id }) as object } : {}),
        });
        assertUnauthorized(route.surface, res, `${label(route)} with ${what}`);
      }
    }
    assert.equal(await countMembers(), members, 'no member was created or removed');
    assert.equal(await countRetailers(), retailers, 'no tenant was created');
    const after = await call(t.app, { method: 'GET', url: `${a.base}/users/${memberA.id}?show_identifiers=true&user[user_profile]=true`, headers: { authorization: a.core } });
    assert.deepEqual(after.json, before.json);
    const tags = await call(t.app, { method: 'GET', url: `${a.base}/users/${memberA.id}/tags`, headers: { authorization: a.core } });
    assert.deepEqual(tags.json, { status: 'ok', tags: {} });
  });

  it('checks credentials before the body: a malformed or oversized body without credentials is still 401', async () => {
    const malformed = await call(t.app, { method: 'POST', url: `${a.base}/users`, headers: { 'content-type': 'application/json' }, payload: '{"user": ' });
    assertUnauthorized('core', malformed, 'malformed JSON without credentials');
    const pos = await call(t.app, { method: 'POST', url: '/api/2.0/lookup', headers: { 'content-type': 'application/json' }, payload: '{' });
    assertUnauthorized('pos', pos, 'POS malformed JSON without credentials');
    const huge = JSON.stringify({ user: { email: 'big@example.com', first_name: 'x'.repeat(1024 * 1024 + 10) } });
    const oversized = await call(t.app, { method: 'POST', url: `${a.base}/users`, headers: { 'content-type': 'application/json' }, payload: huge });
    assertUnauthorized('core', oversized, 'oversized body without credentials');
  });

  it('answers 401 when the appkey in the path is not the credential appkey', async () => {
    // B's valid credentials against A's appkey, and A's valid credentials against an unknown appkey
    for (const [what, base, authorization] of [
      ["B's credentials on A's path", a.base, b.core],
      ["A's credentials on B's path", b.base, a.core],
      ["A's credentials on an unknown appkey", '/priv/v1/apps/0123456789abcdef0123', a.core],
    ] as const) {
      for (const route of ROUTES.filter((r) => r.surface === 'core')) {
        const res = await call(t.app, {
          method: route.method,
          url: route.path({ ...ctxA, base }),
          headers: { authorization },
          ...(route.body ? { payload: route.body({ retailerId: a.retailer_id, storeId: a.store_id, id: memberA.id }) as object } : {}),
        });
        assertUnauthorized('core', res, `${label(route)}: ${what}`, 'invalid_api_key');
      }
    }
    const still = await call(t.app, { method: 'GET', url: `${a.base}/users/${memberA.id}`, headers: { authorization: a.core } });
    assert.equal(still.status, 200);
    assert.equal(still.json.user.first_name, memberA.first_name);
  });

  it("gives tenant B 404 user_not_found for tenant A's member on every member route, and A's member stays as it was", async () => {
    const victim = await createMemberViaApi(t.app, a, { phone_numbers: [{ phone_number: '(617) 555-0199', phone_type: 'mobile' }] });
    await call(t.app, { method: 'POST', url: `${a.base}/users/${victim.id}/tags`, headers: { authorization: a.core }, payload: { tags: ['vip'] } });
    const ctx = { base: b.base, id: victim.id, eid: victim.external_id, email: victim.email };
    const read = async () => ({
      user: (await call(t.app, { method: 'GET', url: `${a.base}/users/${victim.id}?show_identifiers=true&user[user_profile]=true`, headers: { authorization: a.core } })).json,
      tags: (await call(t.app, { method: 'GET', url: `${a.base}/users/${victim.id}/tags`, headers: { authorization: a.core } })).json,
      timeline: (await call(t.app, { method: 'GET', url: `${a.base}/users/${victim.id}/${TIMELINE}`, headers: { authorization: a.core } })).json,
    });
    const before = await read();
    assert.equal(before.user.status, 'ok');

    const memberRoutes = ROUTES.filter((r) => r.member);
    assert.ok(memberRoutes.length >= 13);
    const extra: Route[] = [
      { surface: 'core', method: 'GET', path: (c) => `${c.base}/users/search?mobile_number=6175550199` },
      { surface: 'core', method: 'GET', path: (c) => `${c.base}/users/search?email=${encodeURIComponent(c.email.toUpperCase())}` },
      { surface: 'core', method: 'GET', path: (c) => `${c.base}/users/${c.id.toUpperCase()}` },
    ];
    for (const route of [...extra, ...memberRoutes]) {
      const res = await call(t.app, {
        method: route.method,
        url: route.path(ctx),
        headers: { authorization: b.core },
        ...(route.body ? { payload: route.body({ retailerId: b.retailer_id, storeId: b.store_id, id: victim.id }) as object } : {}),
      });
      assert.equal(res.status, 404, `${label(route)}: ${res.body}`);
      assert.deepEqual(res.json, { status: 'error', errors: { code: 'user_not_found', message: res.json.errors.message } }, label(route));
    }

    const byIds = await call(t.app, { method: 'GET', url: `${b.base}/users?user_ids[]=${victim.id}`, headers: { authorization: b.core } });
    assert.equal(byIds.status, 200);
    assert.deepEqual(byIds.json.users, []);
    const own = await createMemberViaApi(t.app, b);
    const mixed = await call(t.app, { method: 'GET', url: `${b.base}/users?user_ids[]=${victim.id}&user_ids[]=${own.id}`, headers: { authorization: b.core } });
    assert.deepEqual(mixed.json.users.map((u: any) => u.id), [own.id]);

    for (const query of [`email=${encodeURIComponent(victim.email)}`, `external_id=${victim.external_id}`, 'phone=6175550199', 'first_name=Marcus&last_name=Mastercardson']) {
      const search = await call(t.app, { method: 'GET', url: `${b.base}/users/search_users?${query}`, headers: { authorization: b.core } });
      assert.equal(search.status, 200, query);
      assert.ok(search.json.players.every((p: any) => p.user_id !== victim.id), `search_users ${query} leaked A's member`);
      if (!query.startsWith('first_name')) assert.equal(search.json.total_count, 0, query);
    }

    assert.deepEqual(await read(), before);
    // B did not get A's member's email or external id blocked or freed: A still owns them
    const dup = await call(t.app, { method: 'POST', url: `${a.base}/users`, headers: { authorization: a.core }, payload: { user: { email: victim.email } } });
    assert.equal(dup.status, 409);
  });

  it("lets tenant B use the email and external id that A's member has, without touching A", async () => {
    const victim = await createMemberViaApi(t.app, a);
    const twin = await createMemberViaApi(t.app, b, { email: victim.email, external_id: victim.external_id });
    assert.notEqual(twin.id, victim.id);
    const foundA = await call(t.app, { method: 'GET', url: `${a.base}/users/search?email=${encodeURIComponent(victim.email)}`, headers: { authorization: a.core } });
    const foundB = await call(t.app, { method: 'GET', url: `${b.base}/users/search?external_id=${victim.external_id}`, headers: { authorization: b.core } });
    assert.equal(foundA.json.user.id, victim.id);
    assert.equal(foundB.json.user.id, twin.id);
  });
});
