// The `loyalist` command end to end, as a user runs it: bin/loyalist (which runs the
// compiled dist/, so the suite builds it first) against a PostgreSQL database.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { connectPostgres } from '../../src/db/connection.js';
import type { Db } from '../../src/db/index.js';
import { call, memberBody, postgresDatabase, testConfig } from '../support/harness.js';
import { buildDist } from './cli-build.js';

const BIN = join(process.cwd(), 'bin', 'loyalist');
const work = mkdtempSync(join(tmpdir(), 'loyalist-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs bin/loyalist with DATABASE_URL set and no other loyalist settings from the caller's environment. */
function loyalist(args: string[], env: Record<string, string>): Promise<Run> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !['PORT', 'HOST', 'DATA_DIR', 'ADMIN_TOKEN', 'DATABASE_URL', 'LOG_LEVEL'].includes(k)),
  ) as Record<string, string>;
  return new Promise((resolve) => {
    execFile(BIN, args, { env: { ...clean, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const basic = (key: string, secret: string) => `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;

describe('the loyalist CLI against PostgreSQL', () => {
  let url: string;
  let db: Db;
  let app: FastifyInstance;
  const env = () => ({ DATABASE_URL: url });

  before(async () => {
    await buildDist();
    const database = await postgresDatabase();
    url = database.url;
    db = database.db;
    // the server on the same database, to check that printed credentials work
    app = await buildApp({ config: testConfig(), db });
  });
  after(() => app?.close());

  /** Creates a member through the Core API with these credentials; answers the status. */
  const coreCreate = async (appkey: string, secret: string) =>
    (await call(app, { method: 'POST', url: `/priv/v1/apps/${appkey}/users`, headers: { authorization: basic(appkey, secret) }, payload: memberBody() })).status;

  it('prints its usage for help', async () => {
    const [run, unknown] = await Promise.all([loyalist(['--help'], env()), loyalist(['frobnicate'], env())]);
    assert.equal(run.code, 0);
    for (const command of ['serve', 'migrate', 'demo --postman-env', 'program apply FILE --retailer ID']) assert.ok(run.stdout.includes(command), command);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown command frobnicate/);
  });

  describe('migrate', () => {
    it('reports a migrated database as up to date', async () => {
      const run = await loyalist(['migrate'], env());
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /the database is up to date/);
    });

    it('applies the migrations to an empty database, then reports it up to date', async () => {
      const adminUrl = process.env.LOYALIST_TEST_ADMIN_URL!;
      const name = `loyalist_t_${process.env.LOYALIST_TEST_RUN}_empty_${randomBytes(3).toString('hex')}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      try {
        const emptyUrl = new URL(adminUrl);
        emptyUrl.pathname = `/${name}`;
        const first = await loyalist(['migrate'], { DATABASE_URL: emptyUrl.toString() });
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stdout, /^applied 0001_foundation\.sql/);
        const second = await loyalist(['migrate'], { DATABASE_URL: emptyUrl.toString() });
        assert.match(second.stdout, /the database is up to date/);
        const handle = connectPostgres(emptyUrl.toString(), 1);
        const tables = await handle.db.selectFrom('retailers').select('id').execute().finally(() => handle.close());
        assert.deepEqual(tables, []);
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      }
    });

    it('refuses a DATABASE_URL that is not a postgres:// URL, naming the variable', async () => {
      const run = await loyalist(['migrate'], { DATABASE_URL: 'mysql://localhost/db' });
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /DATABASE_URL/);
    });
  });

  describe('program apply', () => {
    const retailer = randomUUID();

    it('creates the retailer from the Brand X program file and prints working credentials', async () => {
      const run = await loyalist(['program', 'apply', 'examples/brand-x/program.yaml', '--retailer', retailer], env());
      assert.equal(run.code, 0, run.stderr);
      const printed = JSON.parse(run.stdout);
      assert.equal(printed.retailer_id, retailer);
      assert.equal(printed.created_retailer, true);
      for (const key of ['appkey', 'secret', 'appkey_connect', 'secret_connect', 'cloudpos_authorization']) assert.equal(typeof printed[key], 'string', key);

      const row = await db.selectFrom('retailers').select('name').where('id', '=', retailer).executeTakeFirst();
      assert.equal(row?.name, 'Brand X');
      const stores = await db.selectFrom('stores').select(['id', 'name']).where('retailer_id', '=', retailer).execute();
      assert.deepEqual(stores, [{ id: '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01', name: 'Brand X Boston Seaport' }]);
      assert.equal(await coreCreate(printed.appkey, printed.secret), 200);
    });

    it('is idempotent: applying the file again changes nothing and issues no credentials', async () => {
      const snapshot = async () => ({
        stores: await db.selectFrom('stores').select(['id', 'name', 'external_id', 'time_zone', 'retired_at']).where('retailer_id', '=', retailer).orderBy('id').execute(),
        attributes: await db.selectFrom('custom_attributes').select(['name', 'type', 'default_value', 'retired_at']).where('retailer_id', '=', retailer).orderBy('name').execute(),
        retailers: await db.selectFrom('retailers').select(['id', 'name']).where('id', '=', retailer).execute(),
        credentials: await db.selectFrom('credentials').select('id').where('retailer_id', '=', retailer).orderBy('id').execute(),
      });
      const before = await snapshot();
      assert.ok(before.attributes.length > 0);
      const run = await loyalist(['program', 'apply', 'examples/brand-x/program.yaml', '--retailer', retailer.toUpperCase()], env());
      assert.equal(run.code, 0, run.stderr);
      const printed = JSON.parse(run.stdout);
      assert.equal(printed.retailer_id, retailer);
      assert.equal(printed.created_retailer, false);
      assert.equal(printed.secret, undefined);
      assert.deepEqual(await snapshot(), before);
    });

    it('refuses a program file with an error, naming the field, and changes nothing', async () => {
      const file = join(work, 'bad-program.yaml');
      writeFileSync(file, 'retailer:\n  name: Broken\nstores:\n  - id: store-one\n    name: Downtown\n');
      const attribute = join(work, 'bad-attribute.json');
      writeFileSync(attribute, JSON.stringify({ custom_attributes: [{ name: 'birthday', type: 'date' }] }));
      const yaml = join(work, 'not-yaml.yaml');
      writeFileSync(yaml, 'stores: [unclosed\n');
      const fresh = randomUUID();
      const [run, second, third] = await Promise.all([
        loyalist(['program', 'apply', file, '--retailer', fresh], env()),
        loyalist(['program', 'apply', attribute, '--retailer', retailer], env()),
        loyalist(['program', 'apply', yaml, '--retailer', retailer], env()),
      ]);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /stores\.0\.id/);
      assert.doesNotMatch(run.stderr, /^\s+at /m, 'a message, not a stack trace');
      assert.equal(await db.selectFrom('retailers').select('id').where('id', '=', fresh).executeTakeFirst(), undefined);

      assert.notEqual(second.code, 0);
      assert.match(second.stderr, /custom_attributes\.0\.type/);

      assert.notEqual(third.code, 0);
      assert.match(third.stderr, /program: not valid YAML or JSON/);
    });

    it('refuses a missing file or a retailer id that is not a uuid', async () => {
      const [missing, badId] = await Promise.all([
        loyalist(['program', 'apply', join(work, 'nope.yaml'), '--retailer', retailer], env()),
        loyalist(['program', 'apply', 'examples/brand-x/program.yaml', '--retailer', 'brand-x'], env()),
      ]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /nope\.yaml/);
      assert.notEqual(badId.code, 0);
      assert.match(badId.stderr, /--retailer/);
    });
  });

  describe('demo', () => {
    const FROM_SPEC = [
      'endpoint', 'endpoint_connect', 'endpoint_cloudpos', 'appkey', 'secret', 'apikey', 'appkey_connect', 'secret_connect',
      'cloudpos_authorization', 'retailer_id', 'store_id', 'reward_store_id', 'store_offer_id', 'offer_id', 'campaign_id',
      'ad_campaign_id', 'survivor_external_id', 'victim_external_id', 'merge_account_id', 'firstname', 'lastname',
      'tier_system_id', 'award_points_id',
    ];
    const SCRIPT_GLOBALS = ['user_id', 'external_id', 'email', 'dob', 'first_name', 'last_name', 'version', 'user_offer_id', 'transaction_id'];
    const readEnv = (file: string) => {
      const environment = JSON.parse(readFileSync(file, 'utf8'));
      return { environment, vars: Object.fromEntries(environment.values.map((v: { key: string; value: string }) => [v.key, v.value])) as Record<string, string> };
    };

    it('loads the demo and writes a Postman environment with every variable the collection uses', async () => {
      const file = join(work, 'demo.postman_environment.json');
      const run = await loyalist(['demo', '--env-file', file], env());
      assert.equal(run.code, 0, run.stderr);
      const { environment, vars } = readEnv(file);
      assert.equal(environment._postman_variable_scope, 'environment');
      for (const key of FROM_SPEC) {
        assert.equal(typeof vars[key], 'string', `${key} is defined`);
        assert.ok(vars[key].length > 0, `${key} has a value`);
      }
      for (const key of SCRIPT_GLOBALS) assert.ok(!(key in vars), `${key} is left to the collection's scripts`);
      assert.equal(vars.retailer_id, 'e59fdc7e-2413-442e-8e38-077a2d150a5e');
      assert.equal(vars.store_id, vars.reward_store_id);
      assert.equal(vars.endpoint, 'http://127.0.0.1:8080');
      assert.equal(vars.apikey, vars.appkey);
      assert.equal(await coreCreate(vars.appkey, vars.secret), 200);
      const demoMember = await call(app, {
        method: 'GET',
        url: `/priv/v1/apps/${vars.appkey}/users/8e588453-1693-11ea-94c7-0242ac11000b`,
        headers: { authorization: basic(vars.appkey, vars.secret) },
      });
      assert.equal(demoMember.status, 200, 'the demo members are loaded');
    });

    it('runs again without duplicating anything, with fresh credentials', async () => {
      const first = readEnv(join(work, 'demo.postman_environment.json')).vars;
      const count = async () =>
        (await db.selectFrom('members').select((eb) => eb.fn.countAll<number>().as('n')).where('retailer_id', '=', first.retailer_id).executeTakeFirstOrThrow()).n;
      const before = await count();
      const file = join(work, 'demo-again.json');
      // a server listening on every interface is reached on the loopback address
      const run = await loyalist(['demo', `--env-file=${file}`], { ...env(), HOST: '0.0.0.0', PORT: '9090' });
      assert.equal(run.code, 0, run.stderr);
      const second = readEnv(file).vars;
      assert.equal(await count(), before, 'the demo members are not created twice');
      assert.notEqual(second.secret, first.secret);
      assert.notEqual(second.appkey, first.appkey);
      assert.equal(await coreCreate(second.appkey, second.secret), 200);
      assert.equal(second.store_id, first.store_id);
      assert.equal(second.endpoint, 'http://127.0.0.1:9090');
    });

    it('refuses to run without --env-file', async () => {
      const run = await loyalist(['demo'], env());
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /--env-file/);
    });
  });
});
