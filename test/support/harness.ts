// Test harness: real databases only. A PostgreSQL test file gets its own
// database cloned from the migrated template that scripts/test.ts prepared;
// an embedded test file gets a PGlite instance loaded from the migrated dump.
import { transact } from '../../src/db/unit-of-work.js';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { connectPostgres, openEmbedded, type DatabaseHandle, type DatabaseTimeouts } from '../../src/db/connection.js';
import type { Db } from '../../src/db/index.js';
import { createRetailer, type CreatedTenant } from '../../src/modules/tenants/service.js';
import { findRetailer } from '../../src/modules/tenants/service.js';
import type { Actor } from '../../src/modules/members/service.js';

// Resources live until the file's tests end: cleanups run, newest first, in
// one root-level hook (an `after` inside a `before` hook would run at once).
const cleanups: (() => Promise<unknown> | unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});
export const onFileEnd = (cleanup: () => Promise<unknown> | unknown) => cleanups.push(cleanup);

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through \`npm test\` (scripts/test.ts), which prepares the databases`);
  return value;
}

/** A fresh PostgreSQL database for this test file, dropped when the file's tests end. */
export async function postgresDatabase(timeouts?: DatabaseTimeouts): Promise<DatabaseHandle & { url: string }> {
  const adminUrl = requireEnv('LOYALIST_TEST_ADMIN_URL');
  const template = requireEnv('LOYALIST_TEST_TEMPLATE');
  const name = `loyalist_t_${requireEnv('LOYALIST_TEST_RUN')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = connectPostgres(url.toString(), 20, timeouts);
  onFileEnd(async () => {
    await handle.close();
    const dropper = new pg.Client({ connectionString: adminUrl });
    await dropper.connect();
    await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await dropper.end();
  });
  return { ...handle, url: url.toString() };
}

/** A migrated embedded database for this test file (in memory, or in `dataDir`). */
export async function embeddedDatabase(dataDir?: string): Promise<DatabaseHandle> {
  const dump = readFileSync(requireEnv('LOYALIST_TEST_PGLITE_DUMP'));
  const handle = await openEmbedded({ dataDir, loadDataDir: new Blob([dump]) });
  onFileEnd(() => handle.close());
  return handle;
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  return loadConfig({}, { adminToken: 'test-admin-token-0123456789', worker: false, ...overrides });
}

export interface TestTenant extends CreatedTenant {
  actor: Actor;
  /** Basic auth header for the Core API. */
  core: string;
  /** Basic auth header for the Connect API. */
  connect: string;
  /** Authorization header for the POS API. */
  pos: string;
  /** Core path prefix: /priv/v1/apps/:appkey */
  base: string;
}

/** Creates a retailer with its store and credentials, ready to call every surface. */
export async function createTenant(db: Db, name = `Tenant ${randomBytes(3).toString('hex')}`): Promise<TestTenant> {
  const created = await transact(db, (tx) => createRetailer(tx, { name }));
  const retailer = (await findRetailer(db, created.retailer_id))!;
  const basic = (key: string, secret: string) => `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
  return {
    ...created,
    actor: { retailerId: created.retailer_id, retailerNumber: retailer.number, requestId: 'test' },
    core: basic(created.appkey, created.secret),
    connect: basic(created.appkey_connect, created.secret_connect),
    pos: created.cloudpos_authorization,
    base: `/priv/v1/apps/${created.appkey}`,
  };
}

export interface TestApp {
  app: FastifyInstance;
  db: Db;
  database: DatabaseHandle;
  config: Config;
}

/** The application on its own PostgreSQL database, closed when the file's tests end. */
export async function postgresApp(overrides: Partial<Config> = {}): Promise<TestApp> {
  const config = testConfig(overrides);
  const database = await postgresDatabase({ connectMs: config.dbConnectTimeoutMs, statementMs: config.dbStatementTimeoutMs });
  return appOn(database, overrides);
}

export async function embeddedApp(overrides: Partial<Config> = {}): Promise<TestApp> {
  const database = await embeddedDatabase();
  return appOn(database, overrides);
}

async function appOn(database: DatabaseHandle, overrides: Partial<Config>): Promise<TestApp> {
  const config = testConfig(overrides);
  const app = await buildApp({ config, db: database.db, pool: database.pool });
  onFileEnd(() => app.close());
  return { app, db: database.db, database, config };
}

/** app.inject with a JSON answer parsed. */
export async function call(app: FastifyInstance, options: InjectOptions) {
  const res = await app.inject(options);
  let json: any;
  try {
    json = res.json();
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, json, headers: res.headers, body: res.body };
}

/** A member body as the collection's 1.1.1 sends it, made unique. */
export function memberBody(overrides: Record<string, unknown> = {}) {
  const n = randomBytes(4).toString('hex');
  return {
    user: {
      external_id: `EXT-${n}`,
      opted_in: 'true',
      external_id_type: 'merchant_identifier',
      email: `member.${n}@example.com`,
      first_name: 'Marcus',
      last_name: 'Mastercardson',
      gender: 'm',
      dob: '1991-01-01',
      address: '123 Fake St.',
      city: 'Anytown',
      state: 'MA',
      zip: '02120',
      country: 'USA',
      phone_numbers: [{ phone_number: '1112223333', phone_type: 'mobile', preference_flags: ['primary'] }],
      user_profile: { partner: ['root'] },
      ...overrides,
    },
  };
}

/** Creates a member through the Core API and returns the answer's user. */
export async function createMemberViaApi(app: FastifyInstance, tenant: TestTenant, overrides: Record<string, unknown> = {}) {
  const res = await call(app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core }, payload: memberBody(overrides) });
  if (res.status !== 200) throw new Error(`member create failed: ${res.status} ${res.body}`);
  return res.json.user as Record<string, any>;
}
