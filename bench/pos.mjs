#!/usr/bin/env node
// Point of sale benchmark: send_transaction (three lines, the Brand X demo
// program's purchase rule earning into "Spendable Account" and "Tier Points")
// and lookup with a basket, on PostgreSQL, next to the send_transaction floor
// of ../shared/bench (a bare Fastify + pg handler) measured in the same run, on
// the same PostgreSQL server, with the same load generator and the same bodies
// as ../shared/bench/load.mjs.
//
//   node bench/pos.mjs [--seconds 10] [--connections 32] [--members 200] [--shared ../shared]
//
// Needs `npm run build` (it runs bin/loyalist) and a PostgreSQL server
// (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test); it
// creates two databases and drops them at the end. Prints one JSON line per
// run, then a summary with the ratios the point-of-sale issue sets as targets.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const pg = require('pg');
const autocannon = require('autocannon');
const YAML = require('yaml');

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    members: { type: 'string', default: '200' },
    shared: { type: 'string', default: join(root, '..', 'shared') },
  },
});
const seconds = Number(opts.seconds);
const connections = Number(opts.connections);
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const run = randomBytes(3).toString('hex');
const dbUrl = (name) => Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
const children = [];
const databases = [];
let sequence = 0;

const STORE = '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01';
const FIVE_PERCENT = '37b46497-44b4-4459-857a-5d03035af56a';
const SPENDABLE = 'f4d91345-bbe8-4ca7-864d-771761be873e';
const TIER_POINTS = '3d1c4e93-8b93-432f-a9c9-ab6854b57b7f';

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
try {
  await main();
} finally {
  for (const child of children) child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}

async function main() {
  const floorDb = await createDatabase(`bench_floor_${run}`);
  const projectDb = await createDatabase(`bench_loyalist_${run}`);
  const floorPort = 18492;
  const projectPort = 18493;
  const adminToken = randomBytes(16).toString('hex');

  start(process.execPath, [join(opts.shared, 'bench', 'floor-server.mjs')], { DATABASE_URL: floorDb, PORT: String(floorPort) });
  start(process.env.BENCH_PROFILE ? process.execPath : join(root, 'bin', 'loyalist'), [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE, join(root, 'bin', 'loyalist.js')] : []), 'serve', '--port', String(projectPort)], { DATABASE_URL: projectDb, ADMIN_TOKEN: adminToken, LOG_LEVEL: 'warn' });
  const floor = `http://127.0.0.1:${floorPort}`;
  const project = `http://127.0.0.1:${projectPort}`;
  await waitFor(`${floor}/api/2.0/send_transaction`, 'POST');
  await waitFor(`${project}/readyz`, 'GET');

  // the project's tenant: the Brand X demo program (its store, accounts, tiers, offers and purchase rule)
  const tenant = await json(`${project}/admin/tenants`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` }, body: { name: 'bench' } });
  const program = YAML.parse(readFileSync(join(root, 'examples', 'brand-x', 'program.yaml'), 'utf8'));
  await json(`${project}/admin/tenants/${tenant.retailer_id}/program`, { method: 'PUT', headers: { authorization: `Bearer ${adminToken}` }, body: program });
  const core = `Basic ${Buffer.from(`${tenant.appkey}:${tenant.secret}`).toString('base64')}`;
  const connect = `Basic ${Buffer.from(`${tenant.appkey_connect}:${tenant.secret_connect}`).toString('base64')}`;
  const posAuth = tenant.cloudpos_authorization;
  const members = [];
  const phones = [];
  for (let i = 0; i < Number(opts.members); i++) {
    const phone = `617${String(i).padStart(7, '0')}`;
    const body = { user: { external_id: `BENCH-${run}-${i}`, email: `bench.${run}.${i}@example.com`, first_name: 'Bench', last_name: `Member${i}`, phone_numbers: [{ phone_number: phone, phone_type: 'mobile' }] } };
    members.push((await json(`${project}/priv/v1/apps/${tenant.appkey}/users`, { method: 'POST', headers: { authorization: core }, body })).user.id);
    phones.push(phone);
  }
  // every member holds the 5% offer: lookup prices it on the basket
  for (let i = 0; i < members.length; i += 100) {
    await json(`${project}/offers/api/2.0/offers/acquisition/issue`, { method: 'POST', headers: { authorization: connect }, body: { retailer_id: tenant.retailer_id, user_ids: members.slice(i, i + 100), offer_id: FIVE_PERCENT } });
  }
  const floorMembers = members.map((_, i) => `floor-member-${i}`);

  const results = {};
  const load = (name, base, auth, users, extra = {}) => loadRun(name, { base, auth, users, retailer: tenant.retailer_id, phones, ...extra }).then((r) => (results[name] = r));

  await load('warmup floor', floor, undefined, floorMembers, { seconds: 3 });
  await load('warmup loyalist', project, posAuth, members, { seconds: 3 });

  await load('floor send_transaction', floor, undefined, floorMembers);
  await load('loyalist send_transaction', project, posAuth, members);
  const half = Math.round(results['floor send_transaction'].rps / 2);
  await load('floor send_transaction, fixed rate', floor, undefined, floorMembers, { rate: half });
  await load('loyalist send_transaction, fixed rate', project, posAuth, members, { rate: half });
  await load('loyalist lookup with a basket', project, posAuth, members, { op: 'lookup' });

  // every sent transaction earned exactly 30 points into each account, once
  const check = new pg.Client({ connectionString: projectDb });
  await check.connect();
  const { rows } = await check.query(
    `SELECT (SELECT count(*) FROM pos_transactions WHERE retailer_id = $1)::int AS transactions,
            (SELECT coalesce(sum(available_balance), 0)::text FROM member_point_accounts WHERE retailer_id = $1 AND point_account_id = $2) AS spendable,
            (SELECT coalesce(sum(available_balance), 0)::text FROM member_point_accounts WHERE retailer_id = $1 AND point_account_id = $3) AS tier,
            (SELECT coalesce(sum(amount), 0)::text FROM point_ledger WHERE retailer_id = $1 AND point_account_id = $2) AS ledger`,
    [tenant.retailer_id, SPENDABLE, TIER_POINTS],
  );
  await check.end();
  const c = rows[0];
  const expected = String(c.transactions * 30);
  const consistent = Number(c.spendable) === Number(expected) && Number(c.tier) === Number(expected) && Number(c.ledger) === Number(expected);

  const f = results['floor send_transaction'];
  const p = results['loyalist send_transaction'];
  const fr = results['floor send_transaction, fixed rate'];
  const pr = results['loyalist send_transaction, fixed rate'];
  const l = results['loyalist lookup with a basket'];
  console.log('\nsummary');
  console.log(`send_transaction throughput, ${connections} connections: loyalist ${p.rps}/s (p50 ${p.p50} ms, p99 ${p.p99} ms) vs floor ${f.rps}/s (p50 ${f.p50} ms, p99 ${f.p99} ms) = ${pct(p.rps / f.rps)} (target >= 60%)`);
  console.log(`send_transaction p99 at ${half}/s offered: loyalist ${pr.p99} ms vs floor ${fr.p99} ms = ${(pr.p99 / Math.max(fr.p99, 1)).toFixed(2)}x (target <= 2x)`);
  console.log(`lookup with a basket, ${connections} connections: ${l.rps}/s (p50 ${l.p50} ms, p99 ${l.p99} ms) = ${(l.rps / f.rps).toFixed(2)}x the floor's send_transaction (target >= 2x)`);
  console.log(`after the run: ${c.transactions} transactions, Spendable ${c.spendable}, Tier Points ${c.tier}, Spendable ledger ${c.ledger}, expected ${expected} -> ${consistent ? 'consistent' : 'INCONSISTENT'}`);
}

/** The bodies of ../shared/bench/load.mjs (send_transaction), and a lookup by phone with a 9.00 basket. */
function body(op, i, user, o) {
  if (op === 'lookup') {
    return {
      path: '/api/2.0/lookup',
      body: {
        store_id: STORE, client_id: o.retailer, request_id: `${run}-L-${i}`,
        request_payload: { phone: o.phones[i % o.phones.length], transaction: { transaction_id: `L-${run}-${i}`, subtotal: 9, items: [{ line_id: '1', item_id: 'coffee', quantity: 1, unit_price: 9, subtotal: 9 }] } },
      },
    };
  }
  return {
    path: '/api/2.0/send_transaction',
    body: {
      store_id: STORE, client_id: o.retailer, user_id: user, request_id: `${run}-${i}`,
      request_payload: {
        pos_employee_id: '1000', table_id: '12', channel: 'STORE', transaction_id: `T-${run}-${i}`,
        subtotal: 30.0, tax_total: 0, open_time: '2025-04-16 09:30:00.000', modified_time: '2025-04-16 09:30:00.000',
        items: [
          { item_id: '0', line_id: '1', quantity: 1, unit_price: 10, tax_included: 0, subtotal: 10 },
          { item_id: '1', line_id: '2', quantity: 1, unit_price: 15, tax_included: 0, subtotal: 15 },
          { item_id: '2', line_id: '3', quantity: 1, unit_price: 5, tax_included: 0, subtotal: 5 },
        ],
        payments: [{ payment_id: `P-${run}-${i}`, user_id: user, user_id_type: 'SessionM_ID', amount: 30.0, type: 'CASH', payment_time: '2025-04-16 09:30:00Z' }],
        discounts: [],
      },
    },
  };
}

async function loadRun(name, o) {
  const op = o.op ?? 'send_transaction';
  const result = await autocannon({
    url: o.base,
    connections,
    duration: o.seconds ?? seconds,
    ...(o.rate ? { overallRate: o.rate } : {}),
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(o.auth ? { authorization: o.auth } : {}) },
        setupRequest(req) {
          const i = sequence++;
          const r = body(op, i, o.users[i % o.users.length], o);
          req.path = r.path;
          req.body = JSON.stringify(r.body);
          return req;
        },
      },
    ],
  });
  const out = { name, rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors, total: result.requests.total };
  console.log(JSON.stringify(out));
  return out;
}

async function createDatabase(name) {
  await admin.query(`CREATE DATABASE ${name}`);
  databases.push(name);
  return dbUrl(name);
}

function start(command, args, env) {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

async function waitFor(url, method) {
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
      if (res.status < 500 || method === 'POST') return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

async function json(url, { method, headers, body }) {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

function pct(x) {
  return `${Math.round(x * 100)}%`;
}
