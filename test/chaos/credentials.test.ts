// Credentials on every route, from the server's own list of operations (its
// OpenAPI document), so a route is covered the day it is added: without
// credentials, and with another surface's, every route answers 401 in its
// surface's envelope; with another tenant's credentials, tenant A's ids are
// not found (404) and none of A's data is read or changed.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { transact } from '../../src/db/unit-of-work.js';
import { loadDemo } from '../../src/demo.js';
import { createOperatorWithPassword } from '../../src/flows/operators.js';
import { issueToken } from '../../src/modules/operators/service.js';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { fillPath, operationsOf, sampleOf, type Operation, type SurfaceName } from '../support/operations.js';

const ID_PARAMS = new Set(['user_id', 'external_id', 'survivor_external_id', 'request_id', 'merge_id', 'campaign_id', 'retailer_id']);
const ID_FIELDS = ['user_id', 'user_ids', 'identifier', 'user_offer_id', 'offer_id', 'store_offer_id', 'reward_store_id', 'transaction_id', 'offer_lookup_code'];

describe('credentials on every route of the server', () => {
  let t: TestApp;
  let demo: Record<string, string>;
  let a: Record<SurfaceName, string>;
  let b: TestTenant;
  let operations: Operation[];
  let aIds: Record<string, string>;

  before(async () => {
    t = await postgresApp();
    demo = await loadDemo(t.db, 'http://127.0.0.1');
    const basic = (key: string, secret: string) => `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
    a = { core: basic(demo.appkey, demo.secret), connect: basic(demo.appkey_connect, demo.secret_connect), pos: demo.cloudpos_authorization, admin: `Bearer ${t.config.adminToken}` };
    b = await createTenant(t.db);
    await createMemberViaApi(t.app, b);
    operations = await operationsOf(t.app);
    const member = await sql<{ id: string; external_id: string }>`
      SELECT member_id AS id, external_id FROM member_identifiers WHERE retailer_id = ${demo.retailer_id} ORDER BY created_at, position LIMIT 1`.execute(t.db);
    const userOffer = await sql<{ id: string; redemption_code: string }>`SELECT id, redemption_code FROM user_offers WHERE retailer_id = ${demo.retailer_id} LIMIT 1`.execute(t.db);
    const privacy = await call(t.app, { method: 'POST', url: `/priv/v1/apps/${demo.appkey}/users/${member.rows[0].id}/privacy/export`, headers: { authorization: a.core } });
    aIds = {
      user_id: member.rows[0].id,
      external_id: member.rows[0].external_id,
      survivor_external_id: demo.survivor_external_id,
      campaign_id: demo.campaign_id,
      merge_id: demo.merge_account_id,
      request_id: privacy.json.request_id ?? privacy.json.privacy_request?.id,
      retailer_id: demo.retailer_id,
      user_offer_id: userOffer.rows[0].id,
      offer_lookup_code: userOffer.rows[0].redemption_code,
      offer_id: demo.offer_id,
      store_offer_id: demo.store_offer_id,
      reward_store_id: demo.reward_store_id,
      identifier: member.rows[0].id,
      view: 'END_USER_MEMBER_STATEMENT',
    };
    assert.ok(aIds.request_id, `a privacy request of A's: ${privacy.body}`);
  });

  const request = (op: Operation, authorization: string | undefined, path: string, body?: unknown) =>
    call(t.app, { method: op.method as 'GET', url: path, headers: authorization ? { authorization } : {}, ...(op.body ? { payload: (body ?? {}) as object } : {}) });

  /** Credentials of A's that are not for `surface`. */
  const otherSurfaces = (surface: SurfaceName) => (Object.keys(a) as SurfaceName[]).filter((s) => s !== surface).map((s) => [s, a[s]] as const);

  it('lists every surface', () => {
    const surfaces = new Set(operations.map((op) => op.surface));
    assert.deepEqual([...surfaces].sort(), ['admin', 'connect', 'core', 'pos']);
    assert.ok(operations.length >= 90, `${operations.length} operations`);
  });

  it("answers 401 in the surface's envelope without credentials and with another surface's", async () => {
    let checked = 0;
    for (const op of operations) {
      const path = fillPath(op.path, { ...aIds, appkey: demo.appkey });
      const body = op.body ? sampleOf(op.body, { ...aIds, client_id: demo.retailer_id, store_id: demo.store_id }) : undefined;
      for (const [what, authorization] of [['no credentials', undefined], ...otherSurfaces(op.surface)] as const) {
        const res = await request(op, authorization, path, body);
        assert.equal(res.status, 401, `${op.method} ${op.path} with ${what}: ${res.body}`);
        assertEnvelope(op.surface, res.json, `${op.method} ${op.path} with ${what}`);
        checked++;
      }
    }
    assert.ok(checked >= operations.length * 4);
  });

  it("finds none of tenant A's ids with tenant B's credentials, and changes none of A's data", async () => {
    const credentialsOfB: Record<SurfaceName, string | undefined> = { core: b.core, connect: b.connect, pos: b.pos, admin: undefined };
    const snapshot = () => fingerprintOf(t, demo.retailer_id);
    let checked = 0;
    for (const op of operations.filter((o) => o.surface !== 'admin')) {
      const idParams = op.pathParams.filter((p) => ID_PARAMS.has(p));
      const idFields = ID_FIELDS.filter((f) => JSON.stringify(op.body?.properties ?? {}).includes(`"${f}"`));
      if (!idParams.length && !idFields.length) continue;
      // the envelope's own fields (retailer, client, store) are the caller's: only the ids name A's rows
      const as = (tenant: { appkey: string; retailerId: string; storeId: string }) => ({
        path: fillPath(op.path, { ...aIds, appkey: tenant.appkey }),
        body: op.body ? sampleOf(op.body, { ...aIds, user_ids: [aIds.user_id], retailer_id: tenant.retailerId, client_id: tenant.retailerId, store_id: tenant.storeId }) : undefined,
      });
      const what = `${op.method} ${op.path} as B`;
      const before = await snapshot();
      const asB = as({ appkey: b.appkey, retailerId: b.retailer_id, storeId: b.store_id });
      const res = await request(op, credentialsOfB[op.surface], asB.path, asB.body);
      assert.equal(await snapshot(), before, `${what} changed A's rows`);
      if (res.status === 404) assertEnvelope(op.surface, res.json, what);
      else if (res.status < 300) assert.ok(!leaks(res.body, aIds, JSON.stringify(asB)), `${what}: ${res.body.slice(0, 300)}`);
      else {
        // refused for its body, not for whose ids it names: A's own request is refused the same way
        const asA = as({ appkey: demo.appkey, retailerId: demo.retailer_id, storeId: demo.store_id });
        const own = await request(op, a[op.surface], asA.path, asA.body);
        assert.deepEqual([res.status, codeOf(op.surface, res.json)], [own.status, codeOf(op.surface, own.json)], `${what}: ${res.body.slice(0, 300)}`);
      }
      checked++;
    }
    assert.ok(checked >= 60, `${checked} operations name an id`);
  });
});

/** A 2xx answer to B may carry no id of A's that B did not send itself (a batch names the ids it was given). */
function leaks(answer: string, ids: Record<string, string>, sent: string): boolean {
  const [body, given] = [answer.toLowerCase(), sent.toLowerCase()];
  return ['user_id', 'external_id', 'user_offer_id', 'offer_lookup_code', 'request_id'].some((k) => {
    const id = String(ids[k]).toLowerCase();
    return body.includes(id) && !given.includes(id);
  });
}

const codeOf = (surface: SurfaceName, json: any) => (surface === 'pos' ? json?.errors?.[0]?.code : json?.errors?.code);

function assertEnvelope(surface: SurfaceName, json: any, what: string) {
  const error = surface === 'pos' ? (json?.payload === null && Array.isArray(json?.errors) ? json.errors[0] : undefined) : json?.errors;
  assert.equal(json?.status, 'error', what);
  assert.equal(typeof error?.code, 'string', `${what}: ${JSON.stringify(json)}`);
  assert.equal(typeof error?.message, 'string', what);
}

/** Every row of the retailer's, as text: equal fingerprints, unchanged data. */
async function fingerprintOf(t: TestApp, retailerId: string): Promise<string> {
  const tables = await sql<{ name: string }>`
    SELECT table_name AS name FROM information_schema.columns
    WHERE table_schema = 'public' AND column_name = 'retailer_id' AND table_name <> 'message_replays' ORDER BY 1`.execute(t.db);
  const parts: string[] = [];
  for (const { name } of tables.rows) {
    const rows = await sql<{ f: string | null }>`SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) AS f FROM ${sql.table(name)} x WHERE retailer_id = ${retailerId}`.execute(t.db);
    parts.push(`${name}:${rows.rows[0].f}`);
  }
  return parts.join('\n');
}

/**
 * What each role may do, written from the issue's list (not read from the
 * server): owner everything; marketer the program (apply, diff, evaluate,
 * simulate); support members; viewer reads. Operators, credentials and the
 * audit trail are the owner's; creating retailers and the whole audit trail a
 * superadmin's.
 */
const ROLES = ['viewer', 'support', 'marketer', 'owner'] as const;
type Role = (typeof ROLES)[number];
function allowedRoles(method: string, path: string): readonly Role[] {
  if (!path.includes('{retailer_id}')) return (method === 'POST' && path === '/admin/tenants') || path === '/admin/audit' ? [] : ROLES;
  const area = path.split('{retailer_id}')[1];
  if (/^\/(operators|audit|credentials)/.test(area)) return ['owner'];
  if (method === 'GET') return ROLES;
  if (/^\/program/.test(area)) return ['marketer', 'owner'];
  if (/^\/members/.test(area)) return ['support', 'owner'];
  if (/^\/webhooks/.test(area)) return ['owner'];
  throw new Error(`no expectation for ${method} ${path}: add it to the role list`);
}

describe('roles on every admin route', () => {
  let t: TestApp;
  let demo: Record<string, string>;
  let tokens: Record<Role | 'ownerOfB', string>;
  let operations: Operation[];
  let ids: Record<string, string>;

  before(async () => {
    t = await postgresApp();
    demo = await loadDemo(t.db, 'http://127.0.0.1');
    const b = await createTenant(t.db);
    tokens = {} as typeof tokens;
    for (const role of [...ROLES, 'ownerOfB'] as const) {
      const operator = await createOperatorWithPassword(t.db, { email: `${role}@brand.example`, name: role, password: 'a long enough password', role: role === 'ownerOfB' ? 'owner' : role, retailerId: role === 'ownerOfB' ? b.retailer_id : demo.retailer_id });
      tokens[role] = `Bearer ${(await transact(t.db, (tx) => issueToken(tx, operator.id, { name: 'test' }))).value}`;
    }
    operations = (await operationsOf(t.app)).filter((op) => op.surface === 'admin');
    const member = await sql<{ id: string }>`SELECT member_id AS id FROM member_identifiers WHERE retailer_id = ${demo.retailer_id} ORDER BY created_at, position LIMIT 1`.execute(t.db);
    ids = { retailer_id: demo.retailer_id, user_id: member.rows[0].id, tier_system_id: demo.tier_system_id };
  });

  const send = (op: Operation, authorization: string) =>
    call(t.app, { method: op.method as 'GET', url: fillPath(op.path, ids, () => randomUUID()), headers: { authorization }, ...(op.body ? { payload: sampleOf(op.body, ids) as object } : {}) });

  it('lets each role do exactly what its list says, and answers 403 elsewhere', async () => {
    let checked = 0;
    for (const op of operations) {
      const allowed = allowedRoles(op.method, op.path);
      for (const role of ROLES) {
        const res = await send(op, tokens[role]);
        const what = `${op.method} ${op.path} as ${role}`;
        if (allowed.includes(role)) {
          assert.notEqual(res.status, 403, `${what}: ${res.body}`);
          assert.ok(!(res.status === 404 && /retailer not found/.test(res.body)), `${what}: ${res.body}`);
          assert.ok(res.status !== 401 && res.status < 500, `${what}: ${res.body}`);
        } else {
          assert.equal(res.status, 403, `${what}: ${res.body}`);
          assert.equal(res.json.errors.code, 'forbidden', what);
        }
        checked++;
      }
    }
    assert.ok(checked >= 4 * 40, `${checked} checks`);
  });

  it("shows an operator of retailer B none of A's routes (404), and changes none of A's data", async () => {
    const before = await fingerprintOf(t, demo.retailer_id);
    let checked = 0;
    for (const op of operations.filter((o) => o.pathParams.includes('retailer_id'))) {
      const res = await send(op, tokens.ownerOfB);
      assert.equal(res.status, 404, `${op.method} ${op.path}: ${res.body}`);
      assert.match(res.json.errors.message, /retailer not found/);
      checked++;
    }
    assert.ok(checked >= 35, `${checked} operations name a retailer`);
    assert.equal(await fingerprintOf(t, demo.retailer_id), before);
    const listed = await call(t.app, { method: 'GET', url: '/admin/tenants', headers: { authorization: tokens.ownerOfB } });
    assert.ok(!listed.body.includes(demo.retailer_id), 'B lists only its own retailer');
  });
});
