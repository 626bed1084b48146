// The admin API's tenants and credentials: listing retailers, listing, revoking and
// rotating credentials (a revoked or replaced secret stops at once on every surface),
// YAML program bodies, and a program export that applies back as a no-op.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { buildApp } from '../../src/app.js';
import { DEMO, loadDemo } from '../../src/demo.js';
import { call, memberBody, postgresApp, testConfig, type TestApp } from '../support/harness.js';

const basic = (key: string, secret: string) => `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;

interface Created {
  retailer_id: string;
  client_id: string;
  store_id: string;
  appkey: string;
  secret: string;
  appkey_connect: string;
  secret_connect: string;
  cloudpos_authorization: string;
}

interface Credential {
  credential_id: string;
  retailer_id: string;
  surface: 'core' | 'connect' | 'pos';
  key: string;
  created_at: string;
  revoked_at: string | null;
  expires_at: string | null;
}

describe('admin API: tenants, credentials, YAML programs', () => {
  let t: TestApp;
  let admin: string;
  before(async () => {
    t = await postgresApp();
    admin = `Bearer ${t.config.adminToken}`;
  });

  const adminCall = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, extra: { payload?: unknown; headers?: Record<string, string> } = {}) =>
    call(t.app, { method, url, headers: { authorization: admin, ...extra.headers }, ...(extra.payload === undefined ? {} : { payload: extra.payload as string }) });
  const createTenant = async (name = `Brand ${randomUUID().slice(0, 6)}`): Promise<Created> => {
    const res = await adminCall('POST', '/admin/tenants', { payload: { name } });
    assert.equal(res.status, 201, res.body);
    return res.json;
  };
  const credentialsOf = async (retailerId: string): Promise<Credential[]> => {
    const res = await adminCall('GET', `/admin/tenants/${retailerId}/credentials`);
    assert.equal(res.status, 200, res.body);
    return res.json.credentials;
  };
  const credentialOf = async (retailerId: string, surface: Credential['surface']) => (await credentialsOf(retailerId)).find((c) => c.surface === surface && !c.revoked_at && !c.expires_at)!;

  /** The status each surface answers these credentials with: 404 (no such endpoint) once accepted, 401 when refused. */
  const core = async (appkey: string, secret: string) =>
    (await call(t.app, { method: 'POST', url: `/priv/v1/apps/${appkey}/users`, headers: { authorization: basic(appkey, secret) }, payload: memberBody() })).status;
  const connect = async (key: string, secret: string) => (await call(t.app, { method: 'GET', url: '/offers/api/2.0/no-such-endpoint', headers: { authorization: basic(key, secret) } })).status;
  const pos = async (token: string) => (await call(t.app, { method: 'GET', url: '/api/2.0/no-such-endpoint', headers: { authorization: token } })).status;

  describe('POST /admin/tenants and GET /admin/tenants', () => {
    it("answers the retailer id also as the POS client_id", async () => {
      const c = await createTenant();
      assert.equal(c.client_id, c.retailer_id);
    });

    it('lists the retailers oldest first, a page at a time', async () => {
      const made = [await createTenant('List A'), await createTenant('List B'), await createTenant('List C')];
      const all = await adminCall('GET', '/admin/tenants?take=1000');
      assert.equal(all.status, 200, all.body);
      assert.equal(all.json.total, all.json.retailers.length);
      const ids = all.json.retailers.map((r: { retailer_id: string }) => r.retailer_id);
      const at = ids.indexOf(made[0].retailer_id);
      assert.deepEqual(ids.slice(at, at + 3), made.map((m) => m.retailer_id));
      assert.deepEqual(Object.keys(all.json.retailers[at]).sort(), ['created_at', 'name', 'retailer_id']);
      assert.equal(all.json.retailers[at].name, 'List A');
      assert.ok(!Number.isNaN(Date.parse(all.json.retailers[at].created_at)));

      const page = await adminCall('GET', `/admin/tenants?skip=${at + 1}&take=1`);
      assert.equal(page.status, 200);
      assert.deepEqual(page.json.retailers.map((r: { retailer_id: string }) => r.retailer_id), [made[1].retailer_id]);
      assert.deepEqual([page.json.skip, page.json.take, page.json.total], [at + 1, 1, all.json.total]);

      for (const query of ['take=1001', 'take=0', 'skip=-1', 'take=ten']) {
        const refused = await adminCall('GET', `/admin/tenants?${query}`);
        assert.equal(refused.status, 400, query);
        assert.equal(refused.json.status, 'error');
        assert.equal(refused.json.errors.code, 'argument_error');
      }
    });
  });

  describe('GET /admin/tenants/:id/credentials', () => {
    it('lists keys and dates, never a secret or a hash', async () => {
      const c = await createTenant();
      const res = await adminCall('GET', `/admin/tenants/${c.retailer_id}/credentials`);
      assert.equal(res.status, 200);
      assert.equal(res.json.retailer_id, c.retailer_id);
      const list: Credential[] = res.json.credentials;
      assert.deepEqual(list.map((x) => x.surface).sort(), ['connect', 'core', 'pos']);
      for (const x of list) {
        assert.deepEqual(Object.keys(x).sort(), ['created_at', 'credential_id', 'expires_at', 'key', 'retailer_id', 'revoked_at', 'surface']);
        assert.equal(x.retailer_id, c.retailer_id);
        assert.equal(x.revoked_at, null);
        assert.equal(x.expires_at, null);
      }
      assert.deepEqual(list.map((x) => x.key).sort(), [c.appkey, c.appkey_connect, c.cloudpos_authorization.split('.')[0]].sort());
      for (const secret of [c.secret, c.secret_connect, c.cloudpos_authorization.split('.')[1]]) assert.ok(!res.body.includes(secret));
      assert.doesNotMatch(res.body, /salt|hash/);
    });

    it("answers 404 for an unknown retailer and 400 for a malformed id", async () => {
      assert.equal((await adminCall('GET', `/admin/tenants/${randomUUID()}/credentials`)).status, 404);
      const malformed = await adminCall('GET', '/admin/tenants/brand-x/credentials');
      assert.equal(malformed.status, 400);
      assert.match(malformed.json.errors.message, /retailer_id/);
    });
  });

  describe('DELETE /admin/tenants/:id/credentials/:credential_id', () => {
    it('revokes at once on every surface, even a secret just used (and cached)', async () => {
      const c = await createTenant();
      // used first, so the verifier holds them
      assert.equal(await core(c.appkey, c.secret), 200);
      assert.equal(await connect(c.appkey_connect, c.secret_connect), 404);
      assert.equal(await pos(c.cloudpos_authorization), 404);
      const list = await credentialsOf(c.retailer_id);
      for (const surface of ['core', 'connect', 'pos'] as const) {
        const credential = list.find((x) => x.surface === surface)!;
        const res = await adminCall('DELETE', `/admin/tenants/${c.retailer_id}/credentials/${credential.credential_id.toUpperCase()}`);
        assert.equal(res.status, 200, res.body);
        assert.equal(res.json.credential_id, credential.credential_id);
        assert.ok(!Number.isNaN(Date.parse(res.json.revoked_at)));
      }
      assert.equal(await core(c.appkey, c.secret), 401);
      assert.equal(await connect(c.appkey_connect, c.secret_connect), 401);
      assert.equal(await pos(c.cloudpos_authorization), 401);
      assert.ok((await credentialsOf(c.retailer_id)).every((x) => x.revoked_at !== null));
    });

    it('is idempotent, and leaves the other credentials working', async () => {
      const c = await createTenant();
      const second = (await adminCall('POST', `/admin/tenants/${c.retailer_id}/credentials`)).json;
      const credential = (await credentialsOf(c.retailer_id)).find((x) => x.key === c.appkey)!;
      const first = await adminCall('DELETE', `/admin/tenants/${c.retailer_id}/credentials/${credential.credential_id}`);
      const again = await adminCall('DELETE', `/admin/tenants/${c.retailer_id}/credentials/${credential.credential_id}`);
      assert.equal(again.status, 200);
      assert.equal(again.json.revoked_at, first.json.revoked_at, 'the first revocation time stays');
      assert.equal(await core(c.appkey, c.secret), 401);
      assert.equal(await core(second.appkey, second.secret), 200);
      assert.equal(await connect(c.appkey_connect, c.secret_connect), 404);
    });

    it("answers 404 for an unknown credential or another retailer's, and 400 for a malformed id", async () => {
      const a = await createTenant();
      const b = await createTenant();
      const ofB = await credentialOf(b.retailer_id, 'core');
      const unknown = await adminCall('DELETE', `/admin/tenants/${a.retailer_id}/credentials/${randomUUID()}`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.errors.code, 'not_found');
      const foreign = await adminCall('DELETE', `/admin/tenants/${a.retailer_id}/credentials/${ofB.credential_id}`);
      assert.equal(foreign.status, 404);
      assert.equal(await core(b.appkey, b.secret), 200, "B's credential still works");
      const malformed = await adminCall('DELETE', `/admin/tenants/${a.retailer_id}/credentials/not-a-uuid`);
      assert.equal(malformed.status, 400);
      assert.match(malformed.json.errors.message, /credential_id/);
    });

    it('reaches another server process on the same database within 5 seconds', async () => {
      const other = await buildApp({ config: testConfig(), db: t.db });
      try {
        const c = await createTenant();
        const probe = async () => (await call(other, { method: 'GET', url: '/offers/api/2.0/no-such-endpoint', headers: { authorization: basic(c.appkey_connect, c.secret_connect) } })).status;
        assert.equal(await probe(), 404);
        const credential = await credentialOf(c.retailer_id, 'connect');
        await adminCall('DELETE', `/admin/tenants/${c.retailer_id}/credentials/${credential.credential_id}`);
        const revokedAt = Date.now();
        while ((await probe()) === 404) {
          assert.ok(Date.now() - revokedAt < 6000, 'the other process still accepts the secret after 6 s');
          await new Promise((r) => setTimeout(r, 250));
        }
        assert.equal(await probe(), 401);
      } finally {
        await other.close();
      }
    });
  });

  describe('POST /admin/tenants/:id/credentials/:credential_id/rotate', () => {
    it('issues a new secret for the same key, shown once; the old one stops at once by default', async () => {
      const c = await createTenant();
      assert.equal(await core(c.appkey, c.secret), 200);
      const credential = await credentialOf(c.retailer_id, 'core');
      const res = await adminCall('POST', `/admin/tenants/${c.retailer_id}/credentials/${credential.credential_id}/rotate`);
      assert.equal(res.status, 201, res.body);
      const rotated = res.json;
      assert.equal(rotated.surface, 'core');
      assert.equal(rotated.key, c.appkey);
      assert.equal(rotated.appkey, c.appkey);
      assert.notEqual(rotated.credential_id, credential.credential_id);
      assert.ok(rotated.secret.length >= 32 && rotated.secret !== c.secret);
      assert.equal(rotated.replaced.credential_id, credential.credential_id);
      assert.ok(Date.parse(rotated.replaced.expires_at) <= Date.now());

      assert.equal(await core(c.appkey, c.secret), 401, 'the old secret stopped at once');
      assert.equal(await core(c.appkey, rotated.secret), 200);
      const list = await credentialsOf(c.retailer_id);
      assert.equal(list.length, 4);
      assert.ok(!JSON.stringify(list).includes(rotated.secret));
      const rows = await sql<{ n: number }>`SELECT count(*)::int AS n FROM credentials WHERE secret_hash::text LIKE ${`%${Buffer.from(rotated.secret).toString('hex')}%`}`.execute(t.db);
      assert.equal(rows.rows[0].n, 0, 'the secret is stored hashed');
    });

    it('keeps the old secret working for overlap_seconds beside the new one', async () => {
      const c = await createTenant();
      assert.equal(await connect(c.appkey_connect, c.secret_connect), 404);
      const credential = await credentialOf(c.retailer_id, 'connect');
      const res = await adminCall('POST', `/admin/tenants/${c.retailer_id}/credentials/${credential.credential_id}/rotate`, { payload: { overlap_seconds: 1 } });
      assert.equal(res.status, 201, res.body);
      assert.equal(res.json.appkey_connect, c.appkey_connect);
      const expiresAt = Date.parse(res.json.replaced.expires_at);
      assert.ok(expiresAt > Date.now() && expiresAt <= Date.now() + 1000);
      assert.equal(await connect(c.appkey_connect, c.secret_connect), 404, 'the old secret works during the overlap');
      assert.equal(await connect(c.appkey_connect, res.json.secret_connect), 404);
      await new Promise((r) => setTimeout(r, expiresAt - Date.now() + 50));
      assert.equal(await connect(c.appkey_connect, c.secret_connect), 401, 'and stops when it ends');
      assert.equal(await connect(c.appkey_connect, res.json.secret_connect), 404);
    });

    it('rotates a POS token', async () => {
      const c = await createTenant();
      assert.equal(await pos(c.cloudpos_authorization), 404);
      const credential = await credentialOf(c.retailer_id, 'pos');
      const res = await adminCall('POST', `/admin/tenants/${c.retailer_id}/credentials/${credential.credential_id}/rotate`, { payload: {} });
      assert.equal(res.status, 201, res.body);
      assert.equal(res.json.cloudpos_authorization.split('.')[0], c.cloudpos_authorization.split('.')[0]);
      assert.equal(await pos(c.cloudpos_authorization), 401);
      assert.equal(await pos(res.json.cloudpos_authorization), 404);
    });

    it('refuses a revoked or already replaced credential, and a bad overlap', async () => {
      const c = await createTenant();
      const credential = await credentialOf(c.retailer_id, 'core');
      const path = `/admin/tenants/${c.retailer_id}/credentials/${credential.credential_id}/rotate`;
      for (const payload of [{ overlap_seconds: -1 }, { overlap_seconds: 'soon' }, { overlap_seconds: 1e9 }]) {
        const bad = await adminCall('POST', path, { payload });
        assert.equal(bad.status, 400, JSON.stringify(payload));
        assert.match(bad.json.errors.message, /overlap_seconds/);
      }
      assert.equal((await adminCall('POST', path, { payload: { overlap_seconds: 60 } })).status, 201);
      const replaced = await adminCall('POST', path);
      assert.equal(replaced.status, 422);
      assert.match(replaced.json.errors.message, /already rotated/);
      const pos = await credentialOf(c.retailer_id, 'pos');
      await adminCall('DELETE', `/admin/tenants/${c.retailer_id}/credentials/${pos.credential_id}`);
      const revoked = await adminCall('POST', `/admin/tenants/${c.retailer_id}/credentials/${pos.credential_id}/rotate`);
      assert.equal(revoked.status, 422);
      assert.match(revoked.json.errors.message, /revoked/);
      assert.equal((await adminCall('POST', `/admin/tenants/${c.retailer_id}/credentials/${randomUUID()}/rotate`)).status, 404);
    });
  });

  describe('PUT /admin/tenants/:id/program with a YAML body', () => {
    it('applies a YAML program, as application/yaml or text/yaml', async () => {
      const c = await createTenant();
      const store = randomUUID();
      const text = `retailer:\n  name: Brand Y\nstores:\n  - id: ${store}\n    name: Y store # a comment\n`;
      for (const type of ['application/yaml', 'text/yaml; charset=utf-8']) {
        const res = await adminCall('PUT', `/admin/tenants/${c.retailer_id}/program`, yaml(text, type));
        assert.equal(res.status, 200, `${type}: ${res.body}`);
        assert.equal(res.json.program.retailer.name, 'Brand Y');
        assert.deepEqual(res.json.program.stores, [{ id: store, name: 'Y store' }]);
      }
    });

    it('applies the Brand X program file as it is', async () => {
      const id = randomUUID();
      const res = await adminCall('PUT', `/admin/tenants/${id}/program`, yaml(readFileSync('examples/brand-x/program.yaml', 'utf8')));
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.created_retailer, true);
      assert.equal(res.json.program.retailer.name, 'Brand X');
    });

    it('answers a YAML syntax error 400 in the admin envelope, and changes nothing', async () => {
      const c = await createTenant();
      const before = (await adminCall('GET', `/admin/tenants/${c.retailer_id}/program`)).json;
      for (const text of ['stores: [unclosed\n', 'retailer:\n  name: A\nretailer:\n  name: B\n', 'a: "x\n']) {
        const res = await adminCall('PUT', `/admin/tenants/${c.retailer_id}/program`, yaml(text));
        assert.equal(res.status, 400, text);
        assert.deepEqual(Object.keys(res.json), ['status', 'errors']);
        assert.equal(res.json.status, 'error');
        assert.equal(res.json.errors.code, 'argument_error');
        assert.match(res.json.errors.message, /^body: not valid YAML \(.+\)$/);
      }
      assert.deepEqual((await adminCall('GET', `/admin/tenants/${c.retailer_id}/program`)).json, before);
    });

    it('refuses a YAML document that is not a program, and one over 1 MiB', async () => {
      const c = await createTenant();
      const scalar = await adminCall('PUT', `/admin/tenants/${c.retailer_id}/program`, yaml('just text\n'));
      assert.equal(scalar.status, 400, scalar.body);
      const wrong = await adminCall('PUT', `/admin/tenants/${c.retailer_id}/program`, yaml('stores:\n  - id: store-one\n    name: Downtown\n'));
      assert.equal(wrong.status, 400, wrong.body);
      assert.match(wrong.json.errors.message, /stores\.0\.id/);
      const big = await adminCall('PUT', `/admin/tenants/${c.retailer_id}/program`, yaml(`retailer:\n  name: ${'x'.repeat(1024 * 1024)}\n`));
      assert.equal(big.status, 400);
      assert.equal(big.json.errors.code, 'body_too_large');
    });

    it('needs the admin token before the body is read', async () => {
      const res = await call(t.app, { method: 'PUT', url: `/admin/tenants/${randomUUID()}/program`, headers: { 'content-type': 'application/yaml' }, payload: 'stores: [unclosed' });
      assert.equal(res.status, 401);
    });

    it('is the admin API’s alone: other surfaces still take JSON only', async () => {
      const c = await createTenant();
      const res = await call(t.app, {
        method: 'POST',
        url: `/priv/v1/apps/${c.appkey}/users`,
        headers: { authorization: basic(c.appkey, c.secret), 'content-type': 'application/yaml' },
        payload: toYaml(memberBody()),
      });
      assert.equal(res.status, 415, res.body);
    });
  });

  describe('GET /admin/tenants/:id/program: an export applies back as a no-op', () => {
    /** Every row of the retailer's (the time of its last write aside, and the audit trail, which records every apply), as one text. */
    const fingerprint = async (retailerId: string) => {
      const tables = await sql<{ name: string }>`
        SELECT table_name AS name FROM information_schema.columns
        WHERE table_schema = 'public' AND column_name = 'retailer_id' AND table_name NOT IN ('message_replays', 'audit_log') ORDER BY 1`.execute(t.db);
      const parts = [`retailers:${JSON.stringify(await t.db.selectFrom('retailers').selectAll().where('id', '=', retailerId).execute())}`];
      for (const { name } of tables.rows) {
        const rows = await sql<{ n: number; f: string | null }>`
          SELECT count(*)::int AS n, md5(string_agg((to_jsonb(x) - 'updated_at')::text, '|' ORDER BY (to_jsonb(x) - 'updated_at')::text)) AS f
          FROM ${sql.table(name)} x WHERE retailer_id = ${retailerId}`.execute(t.db);
        parts.push(`${name}:${rows.rows[0].n}:${rows.rows[0].f}`);
      }
      return parts.join('\n');
    };

    it('exports every section of the Brand X demo program; applying the export (JSON or YAML) changes nothing', async () => {
      await loadDemo(t.db, 'http://127.0.0.1');
      const exported = await adminCall('GET', `/admin/tenants/${DEMO.retailerId}/program`);
      assert.equal(exported.status, 200);
      const file = parseYaml(readFileSync('examples/brand-x/program.yaml', 'utf8')) as Record<string, unknown>;
      for (const section of Object.keys(file)) assert.ok(section in exported.json, `the export has ${section}`);
      assert.deepEqual(exported.json.reward_stores, [
        {
          id: DEMO.storeId,
          internal_name: 'Brand X Rewards',
          texts: [{ culture: 'en', name: 'Brand X Rewards', description: 'Spend your points on rewards' }],
          point_account_id: DEMO.awardPointsId,
          start_date: '2020-01-01T00:00:00.000Z',
          eligibility: { tier_level_ids: [], tags: [] },
          offers: [
            { id: '0c2ee80a-fa6a-49c8-9469-201e20b7d987', offer_id: 'd2a1e416-ffe6-42a3-90dd-1ed2dfe568d9', price: 1000, per_member_limit: 5 },
            { id: DEMO.storeOfferId, offer_id: '54aa8d62-3713-489b-b38d-df696cd611b9', price: 100 },
          ],
        },
      ]);

      const before = await fingerprint(DEMO.retailerId);
      const asJson = await adminCall('PUT', `/admin/tenants/${DEMO.retailerId}/program`, { payload: exported.json });
      assert.equal(asJson.status, 200, asJson.body);
      assert.equal(asJson.json.created_retailer, false);
      assert.equal(await fingerprint(DEMO.retailerId), before, 'applying the export changed a row');
      assert.deepEqual(asJson.json.program, exported.json, 'a second export equals the first');

      const asYaml = await adminCall('PUT', `/admin/tenants/${DEMO.retailerId}/program`, yaml(toYaml(exported.json)));
      assert.equal(asYaml.status, 200, asYaml.body);
      assert.equal(await fingerprint(DEMO.retailerId), before);
      assert.deepEqual((await adminCall('GET', `/admin/tenants/${DEMO.retailerId}/program`)).json, exported.json);
    });
  });
});

const yaml = (text: string, type = 'application/yaml') => ({ payload: text, headers: { 'content-type': type } });
