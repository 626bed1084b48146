import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { call, memberBody, postgresApp, type TestApp } from '../support/harness.js';

const basic = (key: string, secret: string) => `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;

interface Created {
  retailer_id: string;
  appkey: string;
  secret: string;
  appkey_connect: string;
  secret_connect: string;
  cloudpos_authorization: string;
  store_id: string;
}

describe('admin API on PostgreSQL', () => {
  let t: TestApp;
  let admin: string;
  before(async () => {
    t = await postgresApp();
    admin = `Bearer ${t.config.adminToken}`;
  });

  const createTenant = async (name = 'Brand Y'): Promise<Created> => {
    const res = await call(t.app, { method: 'POST', url: '/admin/tenants', headers: { authorization: admin }, payload: { name } });
    assert.equal(res.status, 201, res.body);
    return res.json;
  };
  const createUser = (c: { appkey: string; secret: string }, overrides: Record<string, unknown> = {}) =>
    call(t.app, { method: 'POST', url: `/priv/v1/apps/${c.appkey}/users`, headers: { authorization: basic(c.appkey, c.secret) }, payload: memberBody(overrides) });
  const getProgram = (retailerId: string) => call(t.app, { method: 'GET', url: `/admin/tenants/${retailerId}/program`, headers: { authorization: admin } });
  const putProgram = (retailerId: string, program: unknown) =>
    call(t.app, { method: 'PUT', url: `/admin/tenants/${retailerId}/program`, headers: { authorization: admin }, payload: program as object });
  const storeRows = (retailerId: string) =>
    t.db.selectFrom('stores').select(['id', 'name', 'retired_at']).where('retailer_id', '=', retailerId).orderBy('created_at').orderBy('id').execute();

  describe('POST /admin/tenants', () => {
    it('answers 201 with the retailer, its store and credentials for every surface', async () => {
      const res = await call(t.app, { method: 'POST', url: '/admin/tenants', headers: { authorization: admin }, payload: { name: 'Brand Y' } });
      assert.equal(res.status, 201);
      const body = res.json;
      assert.deepEqual(Object.keys(body).sort(), ['appkey', 'appkey_connect', 'client_id', 'cloudpos_authorization', 'retailer_id', 'secret', 'secret_connect', 'store_id']);
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
      assert.match(body.retailer_id, uuid);
      assert.match(body.store_id, uuid);
      for (const key of ['appkey', 'secret', 'appkey_connect', 'secret_connect', 'cloudpos_authorization']) {
        assert.equal(typeof body[key], 'string');
        assert.ok(body[key].length >= 32, `${key} is a long random token`);
      }
      assert.equal(new Set([body.appkey, body.secret, body.appkey_connect, body.secret_connect]).size, 4);

      const retailer = await call(t.app, { method: 'GET', url: `/admin/tenants/${body.retailer_id}`, headers: { authorization: admin } });
      assert.equal(retailer.status, 200);
      assert.equal(retailer.json.name, 'Brand Y');
      assert.deepEqual(
        retailer.json.program.stores.map((s: { id: string }) => s.id),
        [body.store_id],
      );
    });

    it('issues credentials that work on the Core API right away', async () => {
      const c = await createTenant();
      const created = await createUser(c);
      assert.equal(created.status, 200, created.body);
      const got = await call(t.app, { method: 'GET', url: `/priv/v1/apps/${c.appkey}/users/${created.json.user.id}`, headers: { authorization: basic(c.appkey, c.secret) } });
      assert.equal(got.status, 200);
      assert.equal(got.json.user.id, created.json.user.id);
      // the Core secret is not the Connect one
      assert.equal((await createUser({ appkey: c.appkey, secret: c.secret_connect })).status, 401);
    });

    it('issues Connect and POS credentials that the surfaces accept', async () => {
      const c = await createTenant();
      // no such endpoint: accepted credentials reach the 404, refused ones stop at 401
      const probe = (url: string, authorization: string) => call(t.app, { method: 'GET', url, headers: { authorization } });
      assert.equal((await probe('/offers/api/2.0/no-such-endpoint', basic(c.appkey_connect, c.secret_connect))).status, 404);
      assert.equal((await probe('/offers/api/2.0/no-such-endpoint', basic(c.appkey_connect, c.secret))).status, 401);
      assert.equal((await probe('/api/2.0/no-such-endpoint', c.cloudpos_authorization)).status, 404);
      assert.equal((await probe('/api/2.0/no-such-endpoint', `${c.cloudpos_authorization}x`)).status, 401);
    });

    it('keeps one retailer from seeing another one’s members', async () => {
      const a = await createTenant('A');
      const b = await createTenant('B');
      const member = await createUser(a);
      assert.equal(member.status, 200);
      const fromB = await call(t.app, { method: 'GET', url: `/priv/v1/apps/${b.appkey}/users/${member.json.user.id}`, headers: { authorization: basic(b.appkey, b.secret) } });
      assert.equal(fromB.status, 404);
    });

    it('refuses a missing or wrong admin token with 401', async () => {
      const attempts = [
        {},
        { authorization: 'Bearer wrong-token-0123456789' },
        { authorization: `Bearer ${t.config.adminToken}x` },
        { authorization: `Basic ${Buffer.from(`admin:${t.config.adminToken}`).toString('base64')}` },
        { authorization: String(t.config.adminToken) },
      ];
      const before = await t.db.selectFrom('retailers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      for (const headers of attempts) {
        const res = await call(t.app, { method: 'POST', url: '/admin/tenants', headers, payload: { name: 'Intruder' } });
        assert.equal(res.status, 401, JSON.stringify(headers));
        assert.equal(res.json.status, 'error');
        assert.equal(res.json.errors.code, 'access_denied');
        assert.ok(!res.body.includes(String(t.config.adminToken)));
      }
      const after = await t.db.selectFrom('retailers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(after.n, before.n, 'no retailer was created');
      const read = await call(t.app, { method: 'GET', url: `/admin/tenants/${randomUUID()}/program` });
      assert.equal(read.status, 401);
    });

    it('takes the admin token in any case of "Bearer"', async () => {
      const res = await call(t.app, { method: 'POST', url: '/admin/tenants', headers: { authorization: `bearer ${t.config.adminToken}` }, payload: { name: 'Lower' } });
      assert.equal(res.status, 201);
    });

    it('refuses a tenant without a name with a 4xx naming the field', async () => {
      for (const payload of [{}, { name: '' }]) {
        const res = await call(t.app, { method: 'POST', url: '/admin/tenants', headers: { authorization: admin }, payload });
        assert.ok(res.status === 400 || res.status === 422, `${res.status} ${res.body}`);
        assert.match(res.json.errors.message, /name/);
      }
    });

    it('stores no secret in clear anywhere in the database', async () => {
      const c = await createTenant('Secrets');
      const extra = await call(t.app, { method: 'POST', url: `/admin/tenants/${c.retailer_id}/credentials`, headers: { authorization: admin } });
      assert.equal(extra.status, 201);
      const secrets = [c.secret, c.secret_connect, c.cloudpos_authorization.split('.').pop()!, extra.json.secret, extra.json.secret_connect, extra.json.cloudpos_authorization.split('.').pop()!];
      assert.ok(secrets.every((s) => s.length >= 32));

      // the credentials table, column by column
      const rows = await sql<Record<string, unknown>>`SELECT * FROM credentials WHERE retailer_id = ${c.retailer_id}`.execute(t.db);
      assert.equal(rows.rows.length, 6);
      for (const row of rows.rows) {
        for (const [column, value] of Object.entries(row)) {
          const text = Buffer.isBuffer(value) ? [value.toString('utf8'), value.toString('hex'), value.toString('base64')] : [String(value)];
          for (const secret of secrets) assert.ok(!text.some((v) => v.includes(secret)), `credentials.${column} holds a secret in clear`);
        }
      }
      // and every other table
      const tables = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`.execute(t.db);
      for (const { table_name } of tables.rows) {
        const dump = await sql<{ row: string }>`SELECT t::text AS row FROM ${sql.table(table_name)} t`.execute(t.db);
        for (const { row } of dump.rows) {
          for (const secret of secrets) {
            assert.ok(!row.includes(secret) && !row.includes(Buffer.from(secret).toString('hex')), `${table_name} holds a secret in clear`);
          }
        }
      }
    });
  });

  describe('POST /admin/tenants/:id/credentials', () => {
    it('issues a second working set; the first keeps working', async () => {
      const c = await createTenant();
      const res = await call(t.app, { method: 'POST', url: `/admin/tenants/${c.retailer_id}/credentials`, headers: { authorization: admin } });
      assert.equal(res.status, 201);
      const second = res.json;
      assert.equal(second.retailer_id, c.retailer_id);
      assert.notEqual(second.appkey, c.appkey);
      assert.notEqual(second.secret, c.secret);
      const viaSecond = await createUser(second);
      assert.equal(viaSecond.status, 200, viaSecond.body);
      const viaFirst = await call(t.app, { method: 'GET', url: `/priv/v1/apps/${c.appkey}/users/${viaSecond.json.user.id}`, headers: { authorization: basic(c.appkey, c.secret) } });
      assert.equal(viaFirst.status, 200, 'both sets act for the same retailer');
      // a secret of one set does not open the other
      assert.equal((await createUser({ appkey: second.appkey, secret: c.secret })).status, 401);
    });

    it('answers 404 for an unknown retailer and 4xx for a malformed id', async () => {
      const unknown = await call(t.app, { method: 'POST', url: `/admin/tenants/${randomUUID()}/credentials`, headers: { authorization: admin } });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.errors.code, 'not_found');
      const malformed = await call(t.app, { method: 'POST', url: '/admin/tenants/not-a-uuid/credentials', headers: { authorization: admin } });
      assert.equal(malformed.status, 400);
      assert.match(malformed.json.errors.message, /retailer_id/);
    });
  });

  describe('PUT /admin/tenants/:id/program', () => {
    const storeA = '11111111-1111-4111-8111-111111111111';
    const storeB = '22222222-2222-4222-8222-222222222222';
    const program = {
      retailer: { name: 'Brand Z' },
      stores: [
        { id: storeA, name: 'Downtown', external_id: 'DT-1', time_zone: 'America/New_York' },
        { id: storeB, name: 'Airport' },
      ],
      custom_attributes: [
        { name: 'interests', type: 'list' },
        { name: 'nickname', type: 'string', default: 'friend' },
        { name: 'vip', type: 'boolean', default: false },
      ],
    };

    it('applies stores and custom attributes; applying the same program again changes nothing', async () => {
      const c = await createTenant('Before Z');
      const first = await putProgram(c.retailer_id, program);
      assert.equal(first.status, 200, first.body);
      assert.equal(first.json.created_retailer, false);

      const got = await getProgram(c.retailer_id);
      assert.equal(got.status, 200);
      assert.deepEqual(got.json, {
        retailer: { name: 'Brand Z' },
        stores: [
          { id: storeA, name: 'Downtown', external_id: 'DT-1', time_zone: 'America/New_York' },
          { id: storeB, name: 'Airport' },
        ],
        custom_attributes: [
          { name: 'interests', type: 'list' },
          { name: 'nickname', type: 'string', default: 'friend' },
          { name: 'vip', type: 'boolean', default: false },
        ],
        point_accounts: [],
        point_sources: [],
        offers: [],
        reward_stores: [],
        campaigns: [],
        rules: [],
        tier_systems: [],
      });
      const storesBefore = await storeRows(c.retailer_id);

      const second = await putProgram(c.retailer_id, program);
      assert.equal(second.status, 200);
      assert.deepEqual((await getProgram(c.retailer_id)).json, got.json);
      const storesAfter = await storeRows(c.retailer_id);
      assert.equal(storesAfter.length, 3, 'the two program stores plus the retired original one, none duplicated');
      assert.deepEqual(storesAfter, storesBefore);
      const attributes = await t.db.selectFrom('custom_attributes').select('name').where('retailer_id', '=', c.retailer_id).execute();
      assert.equal(attributes.length, 3);
    });

    it('retires a store left out of the program instead of deleting it', async () => {
      const c = await createTenant('Retiring');
      const res = await putProgram(c.retailer_id, { stores: [{ id: storeA, name: 'Only store' }] });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(
        (await getProgram(c.retailer_id)).json.stores.map((s: { id: string }) => s.id),
        [storeA],
      );
      const original = (await storeRows(c.retailer_id)).find((s) => s.id === c.store_id);
      assert.ok(original, 'the store left out still exists');
      assert.ok(original.retired_at instanceof Date, 'and is retired');

      // listing it again brings it back
      await putProgram(c.retailer_id, { stores: [{ id: storeA, name: 'Only store' }, { id: c.store_id, name: 'Back again' }] });
      const back = (await storeRows(c.retailer_id)).find((s) => s.id === c.store_id);
      assert.equal(back?.retired_at, null);
      assert.equal(back?.name, 'Back again');
    });

    it('retires custom attributes left out; a program without a section leaves that section alone', async () => {
      const c = await createTenant('Attributes');
      await putProgram(c.retailer_id, program);
      await putProgram(c.retailer_id, { custom_attributes: [{ name: 'interests', type: 'list' }] });
      const got = (await getProgram(c.retailer_id)).json;
      assert.deepEqual(got.custom_attributes, [{ name: 'interests', type: 'list' }]);
      assert.equal(got.stores.length, 2, 'stores were not part of this program and stay as they were');
      const rows = await t.db.selectFrom('custom_attributes').select(['name', 'retired_at']).where('retailer_id', '=', c.retailer_id).orderBy('name').execute();
      assert.deepEqual(
        rows.map((r) => [r.name, r.retired_at === null]),
        [
          ['interests', true],
          ['nickname', false],
          ['vip', false],
        ],
      );
    });

    it('creates the retailer when the program names a new one', async () => {
      const id = randomUUID();
      const res = await putProgram(id, program);
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.created_retailer, true);
      assert.equal(res.json.program.retailer.name, 'Brand Z');
      assert.equal((await call(t.app, { method: 'GET', url: `/admin/tenants/${id}`, headers: { authorization: admin } })).status, 200);
    });

    const badPrograms: [string, unknown, RegExp][] = [
      ['a store id that is not a uuid', { stores: [{ id: 'store-1', name: 'Downtown' }] }, /stores\.0\.id/],
      ['a custom attribute of type "date"', { custom_attributes: [{ name: 'birthday', type: 'date' }] }, /custom_attributes\.0\.type/],
      ['the same store twice', { stores: [{ id: storeA, name: 'One' }, { id: storeA.toUpperCase(), name: 'Two' }] }, /stores/],
      ['the same attribute twice', { custom_attributes: [{ name: 'x', type: 'list' }, { name: 'x', type: 'string' }] }, /custom_attributes/],
      ['a store without a name', { stores: [{ id: storeA }] }, /stores\.0\.name/],
      ['stores that are not a list', { stores: 'everywhere' }, /stores/],
      ['a store in a time zone that does not exist', { stores: [{ id: storeA, name: 'One', time_zone: 'Mars/Olympus' }] }, /stores\.0\.time_zone/],
      ['a list attribute whose default is not a list', { custom_attributes: [{ name: 'tags', type: 'list', default: 'abc' }] }, /custom_attributes\.0\.default/],
      ['a number attribute whose default is text', { custom_attributes: [{ name: 'x', type: 'list' }, { name: 'n', type: 'number', default: 'ten' }] }, /custom_attributes\.1\.default/],
    ];
    for (const [what, bad, field] of badPrograms) {
      it(`refuses ${what} with a 4xx naming the field, and changes nothing`, async () => {
        const c = await createTenant('Strict');
        await putProgram(c.retailer_id, program);
        const before = (await getProgram(c.retailer_id)).json;
        const storesBefore = await storeRows(c.retailer_id);
        const res = await putProgram(c.retailer_id, { retailer: { name: 'Changed' }, ...(bad as object) });
        assert.ok(res.status === 400 || res.status === 422, `${res.status} ${res.body}`);
        assert.equal(res.json.status, 'error');
        assert.match(res.json.errors.message, field);
        assert.deepEqual((await getProgram(c.retailer_id)).json, before);
        assert.deepEqual(await storeRows(c.retailer_id), storesBefore);
      });
    }

    it('refuses a bad program for a new retailer without creating it', async () => {
      const id = randomUUID();
      const res = await putProgram(id, { stores: [{ id: storeA, name: 'One' }, { id: storeA, name: 'Two' }] });
      assert.equal(res.status, 422);
      assert.equal((await call(t.app, { method: 'GET', url: `/admin/tenants/${id}`, headers: { authorization: admin } })).status, 404);
    });

    it("puts custom attribute defaults (list -> []) in a new member's user_profile", async () => {
      const c = await createTenant('Defaults');
      await putProgram(c.retailer_id, program);
      const created = await createUser(c, { user_profile: { partner: ['root'] } });
      assert.equal(created.status, 200, created.body);
      assert.deepEqual(created.json.user.user_profile, { _version: 1, interests: [], nickname: 'friend', vip: false, partner: ['root'] });

      // a value the member has wins over the default
      const own = await createUser(c, { user_profile: { nickname: 'Marc', interests: ['golf'] } });
      assert.deepEqual(own.json.user.user_profile, { _version: 1, interests: ['golf'], nickname: 'Marc', vip: false });

      const got = await call(t.app, {
        method: 'GET',
        url: `/priv/v1/apps/${c.appkey}/users/${created.json.user.id}?user[user_profile]=true`,
        headers: { authorization: basic(c.appkey, c.secret) },
      });
      assert.equal(got.status, 200);
      assert.deepEqual(got.json.user.user_profile, { _version: 1, interests: [], nickname: 'friend', vip: false, partner: ['root'] });
    });
  });
});

describe('admin API without ADMIN_TOKEN', () => {
  let t: TestApp;
  before(async () => {
    t = await postgresApp({ adminToken: undefined });
  });

  it('answers 401 naming ADMIN_TOKEN, whatever token is sent', async () => {
    assert.equal(t.config.adminToken, undefined);
    for (const headers of [{}, { authorization: 'Bearer test-admin-token-0123456789' }]) {
      const res = await call(t.app, { method: 'POST', url: '/admin/tenants', headers, payload: { name: 'Nobody' } });
      assert.equal(res.status, 401);
      assert.equal(res.json.errors.code, 'access_denied');
      assert.match(res.json.errors.message, /ADMIN_TOKEN/);
    }
    const retailers = await t.db.selectFrom('retailers').select('id').execute();
    assert.deepEqual(retailers, []);
  });
});
