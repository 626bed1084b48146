// What a client sees when the database is away, while the server shuts down,
// and when it sends input no pass or column could take: a 4xx or 503 in the
// surface's own envelope, with the field named, and nothing written.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { buildApp } from '../../src/app.js';
import { connectPostgres } from '../../src/db/connection.js';
import { call, createMemberViaApi, createTenant, postgresApp, testConfig, type TestApp, type TestTenant } from '../support/harness.js';
import { pointsProgram, type PointsProgram } from '../support/factories.js';
import { freePort } from '../support/processes.js';

const coreError = (json: any) => [json?.status, json?.errors?.code];
const posError = (json: any) => [json?.status, json?.payload, json?.errors?.[0]?.code];

describe('hardening', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let p: PointsProgram;
  let member: Record<string, any>;

  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    p = await pointsProgram(t.db, tenant.retailer_id);
    member = await createMemberViaApi(t.app, tenant);
  });

  const balance = async () => (await t.db.selectFrom('member_point_accounts').select('available_balance').where('member_id', '=', member.id).executeTakeFirst())?.available_balance ?? '0';

  describe('a database that does not answer', () => {
    it('gets 503 service_unavailable with Retry-After on every surface, in its envelope, and /readyz 503', async () => {
      const nowhere = connectPostgres(`postgres://postgres@127.0.0.1:${await freePort()}/none`, 2, { connectMs: 500, statementMs: 1000 });
      const app = await buildApp({ config: testConfig(), db: nowhere.db });
      try {
        const core = await call(app, { method: 'GET', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core } });
        const connect = await call(app, { method: 'POST', url: '/incentives/api/2.0/user_points/balance', headers: { authorization: tenant.connect }, payload: { retailer_id: tenant.retailer_id, user_id: member.id } });
        const pos = await call(app, { method: 'POST', url: '/api/2.0/lookup', headers: { authorization: tenant.pos }, payload: { client_id: tenant.retailer_id, store_id: tenant.store_id, request_payload: { identifier: member.id } } });
        const admin = await call(app, { method: 'GET', url: `/admin/tenants/${tenant.retailer_id}`, headers: { authorization: `Bearer ${testConfig().adminToken}` } });
        for (const [what, res, shape] of [['core', core, coreError], ['connect', connect, coreError], ['admin', admin, coreError], ['pos', pos, posError]] as const) {
          assert.equal(res.status, 503, `${what}: ${res.body}`);
          assert.equal(res.headers['retry-after'], '2', what);
          assert.deepEqual(shape(res.json).at(-1), 'service_unavailable', `${what}: ${res.body}`);
        }
        assert.deepEqual(posError(pos.json), ['error', null, 'service_unavailable']);
        const ready = await call(app, { method: 'GET', url: '/readyz' });
        assert.equal(ready.status, 503);
      } finally {
        await app.close();
        await nowhere.close();
      }
    });
  });

  describe('shutting down', () => {
    it('answers requests that arrive while closing with 503 in the surface envelope, not the framework body', async () => {
      const app = await buildApp({ config: testConfig(), db: t.db });
      let answered: Response | undefined;
      // runs once the server is closing and before it stops listening: a client arriving now
      app.addHook('preClose', async () => {
        const body = JSON.stringify({ client_id: tenant.retailer_id, store_id: tenant.store_id, request_payload: { identifier: member.id } });
        answered = await fetch(`http://127.0.0.1:${port}/api/2.0/lookup`, { method: 'POST', headers: { authorization: tenant.pos, 'content-type': 'application/json' }, body });
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as { port: number };
      await app.close();
      assert.equal(answered?.status, 503);
      assert.equal(answered!.headers.get('retry-after'), '2');
      assert.deepEqual(posError(await answered!.json()), ['error', null, 'service_unavailable']);
    });
  });

  describe('framework errors and unknown paths', () => {
    it('answers them in the surface envelope', async () => {
      const unknown = await call(t.app, { method: 'GET', url: '/no/such/thing' });
      assert.equal(unknown.status, 404);
      assert.deepEqual(coreError(unknown.json), ['error', 'not_found']);
      const lookup = (payload: string, type = 'application/json') => call(t.app, { method: 'POST', url: '/api/2.0/lookup', headers: { authorization: tenant.pos, 'content-type': type }, payload });
      assert.deepEqual(posError((await lookup('{"client_id":')).json), ['error', null, 'invalid_json']);
      assert.deepEqual(posError((await lookup('<xml/>', 'application/xml')).json), ['error', null, 'unsupported_media_type']);
      assert.deepEqual(posError((await lookup(JSON.stringify({ x: 'y'.repeat(1024 * 1024 + 1) }))).json), ['error', null, 'body_too_large']);
      const badUrl = await call(t.app, { method: 'POST', url: '/api/2.0/lookup%E0%A4%A', headers: { authorization: tenant.pos } });
      assert.equal(badUrl.status, 400);
      assert.deepEqual(posError(badUrl.json), ['error', null, 'argument_error']);
    });
  });

  describe('input no pass or column could take', () => {
    const deposit = (body: string) =>
      call(t.app, { method: 'POST', url: '/incentives/api/2.0/user_points/deposit', headers: { authorization: tenant.connect, 'content-type': 'application/json' }, payload: body });
    const details = (amountText: string, extra = '') =>
      `{"retailer_id":"${tenant.retailer_id}","user_id":"${member.id}"${extra},"deposit_details":[{"point_account_id":"${p.spendable}","amount":${amountText}}]}`;

    it('refuses nesting deeper than 64 levels with the field named, before any recursive pass', async () => {
      const before = await balance();
      const deep = '['.repeat(5000) + ']'.repeat(5000);
      const res = await deposit(details('10', `,"note":${deep}`));
      assert.equal(res.status, 400, res.body);
      assert.match(res.json.errors.message, /^note\.0(\.0)*: nested deeper than 64 levels$/);
      assert.equal(await balance(), before);
      // 60 levels are fine where a field is free-form
      const fine = await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core, 'content-type': 'application/json' }, payload: `{"user":{"user_profile":{"nest":${'['.repeat(60)}1${']'.repeat(60)}}}}` });
      assert.equal(fine.status, 200, fine.body);
    });

    it('refuses a lone surrogate or NUL in a string or key, naming the field', async () => {
      for (const [body, field] of [
        [`{"user":{"first_name":"\\ud800x"}}`, 'user.first_name'],
        [`{"user":{"user_profile":{"\\udfff":1}}}`, 'user.user_profile.\udfff'],
        [`{"user":{"last_name":"a\\u0000b"}}`, 'user.last_name'],
      ]) {
        const res = await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core, 'content-type': 'application/json' }, payload: body });
        assert.equal(res.status, 400, res.body);
        assert.equal(res.json.errors.code, 'argument_error');
        assert.ok(res.json.errors.message.startsWith(`${field}:`), res.json.errors.message);
      }
      const external = await call(t.app, { method: 'PUT', url: `${tenant.base}/external/users/${encodeURIComponent(member.external_id)}`, headers: { authorization: tenant.core, 'content-type': 'application/json' }, payload: '{"user":{"external_id":"\\ud800"}}' });
      assert.equal(external.status, 400, external.body);
      const after = await call(t.app, { method: 'GET', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core } });
      assert.equal(after.json.user.first_name, member.first_name);
    });

    it('refuses numbers that are not finite or out of range, and never reads true as 1', async () => {
      const before = await balance();
      for (const amount of ['1e400', '"1e400"', 'true']) {
        const res = await deposit(details(amount));
        assert.equal(res.status, 400, `${amount}: ${res.body}`);
        assert.match(res.json.errors.message, /^deposit_details(\.0|\[0\])\.amount: /, amount);
      }
      const issue = (quantity: string) =>
        call(t.app, { method: 'POST', url: '/offers/api/2.0/offers/acquisition/issue', headers: { authorization: tenant.connect, 'content-type': 'application/json' }, payload: `{"retailer_id":"${tenant.retailer_id}","user_id":"${member.id}","offer_id":"00000000-0000-4000-8000-000000000000","quantity":${quantity}}` });
      for (const quantity of ['"1e400"', 'true', '99999999999']) {
        const res = await issue(quantity);
        assert.equal(res.status, 400, `${quantity}: ${res.body}`);
        assert.match(res.json.errors.message, /^quantity: /);
      }
      assert.equal(await balance(), before);
      // numeric strings stay accepted (SPEC section 4)
      const ok = await deposit(details('"10"'));
      assert.equal(ok.status, 200, ok.body);
    });

    it('never reads a number or a boolean as a store id: the store is not found', async () => {
      for (const storeId of ['5', 'true', '"\\ud800x"', '"not-a-uuid"']) {
        const res = await call(t.app, {
          method: 'POST',
          url: '/api/2.0/lookup',
          headers: { authorization: tenant.pos, 'content-type': 'application/json' },
          payload: `{"client_id":"${tenant.retailer_id}","store_id":${storeId},"request_payload":{"identifier":"${member.id}"}}`,
        });
        assert.ok(res.status === 400 || res.status === 404, `${storeId}: ${res.body}`);
        assert.equal(res.json.status, 'error');
        assert.ok(['store_not_found', 'argument_error'].includes(res.json.errors[0].code), res.body);
      }
    });
  });
});
