#!/usr/bin/env node
// Points benchmark: deposits and spends on PostgreSQL, next to the floor of
// ../shared/bench (a bare Fastify + pg deposit handler) measured in the same
// run, on the same PostgreSQL server, with the same load generator.
//
//   node bench/points.mjs [--seconds 10] [--connections 32] [--members 200] [--shared ../shared]
//
// Needs `npm run build` (it runs bin/loyalist) and a PostgreSQL server
// (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test); it
// creates two databases and drops them at the end. Prints one JSON line per
// run, then a summary with the ratios the points issue sets as targets.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const pg = require('pg');
const autocannon = require('autocannon');

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
  const floorPort = 18490;
  const projectPort = 18491;
  const adminToken = randomBytes(16).toString('hex');

  start(process.execPath, [join(opts.shared, 'bench', 'floor-server.mjs')], { DATABASE_URL: floorDb, PORT: String(floorPort) });
  start(join(root, 'bin', 'loyalist'), ['serve', '--port', String(projectPort)], { DATABASE_URL: projectDb, ADMIN_TOKEN: adminToken, LOG_LEVEL: 'warn' });
  const floor = `http://127.0.0.1:${floorPort}`;
  const project = `http://127.0.0.1:${projectPort}`;
  await waitFor(`${floor}/incentives/api/2.0/user_points/deposit`, 'POST');
  await waitFor(`${project}/readyz`, 'GET');

  // the project's tenant: one spendable account, one source, and the members
  const tenant = await json(`${project}/admin/tenants`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` }, body: { name: 'bench' } });
  const account = randomUUID();
  const source = randomUUID();
  await json(`${project}/admin/tenants/${tenant.retailer_id}/program`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${adminToken}` },
    body: { point_accounts: [{ id: account, name: 'Spendable', default: true }], point_sources: [{ id: source, name: 'bench', point_account_ids: [account] }] },
  });
  const core = `Basic ${Buffer.from(`${tenant.appkey}:${tenant.secret}`).toString('base64')}`;
  const connect = `Basic ${Buffer.from(`${tenant.appkey_connect}:${tenant.secret_connect}`).toString('base64')}`;
  const members = [];
  for (let i = 0; i < Number(opts.members); i++) {
    const body = { user: { external_id: `BENCH-${run}-${i}`, email: `bench.${run}.${i}@example.com`, first_name: 'Bench', last_name: `Member${i}` } };
    members.push((await json(`${project}/priv/v1/apps/${tenant.appkey}/users`, { method: 'POST', headers: { authorization: core }, body })).user.id);
  }
  const floorMembers = members.map((_, i) => `floor-member-${i}`);

  const results = {};
  const load = (name, base, auth, users, extra = {}) =>
    loadRun(name, { base, auth, users, retailer: tenant.retailer_id, account, source, ...extra }).then((r) => (results[name] = r));

  // warm both servers
  await load('warmup floor', floor, undefined, floorMembers, { seconds: 3 });
  await load('warmup loyalist', project, connect, members, { seconds: 3 });

  await load('floor deposit, many members', floor, undefined, floorMembers);
  await load('loyalist deposit, many members', project, connect, members);
  const half = Math.round(results['floor deposit, many members'].rps / 2);
  await load('floor deposit, fixed rate', floor, undefined, floorMembers, { rate: half });
  await load('loyalist deposit, fixed rate', project, connect, members, { rate: half });
  await load('loyalist deposit, one hot member', project, connect, members.slice(0, 1));
  await load('loyalist spend, many members', project, connect, members, { op: 'spend' });
  await load('loyalist spend, one hot member', project, connect, members.slice(0, 1), { op: 'spend', amount: 1 });

  // the hot member: never overdrawn, and its ledger sums to its balance
  const check = new pg.Client({ connectionString: projectDb });
  await check.connect();
  const { rows } = await check.query(
    `SELECT a.available_balance::text AS balance, (SELECT coalesce(sum(amount), 0)::text FROM point_ledger l WHERE l.retailer_id = a.retailer_id AND l.member_id = a.member_id AND l.point_account_id = a.point_account_id) AS ledger,
            (SELECT count(*) FROM point_ledger l WHERE l.retailer_id = a.retailer_id AND l.member_id = a.member_id AND l.balance_after < 0)::int AS negative
       FROM member_point_accounts a WHERE a.retailer_id = $1 AND a.member_id = $2`,
    [tenant.retailer_id, members[0]],
  );
  await check.end();

  const f = results['floor deposit, many members'];
  const p = results['loyalist deposit, many members'];
  const fr = results['floor deposit, fixed rate'];
  const pr = results['loyalist deposit, fixed rate'];
  const hot = results['loyalist deposit, one hot member'];
  const hotSpend = results['loyalist spend, one hot member'];
  console.log('\nsummary');
  console.log(`deposit throughput, ${connections} connections: loyalist ${p.rps}/s vs floor ${f.rps}/s = ${pct(p.rps / f.rps)} (target >= 60%)`);
  console.log(`deposit p99 at ${half}/s offered: loyalist ${pr.p99} ms vs floor ${fr.p99} ms = ${(pr.p99 / Math.max(fr.p99, 1)).toFixed(2)}x (target <= 2x)`);
  console.log(`spends: ${results['loyalist spend, many members'].rps}/s many members (p50 ${results['loyalist spend, many members'].p50} ms, p99 ${results['loyalist spend, many members'].p99} ms)`);
  console.log(`one hot member: deposits ${hot.rps}/s (non-2xx ${hot.non2xx}, errors ${hot.errors}), spends ${hotSpend.rps}/s (non-2xx ${hotSpend.non2xx}: insufficient points once the balance ran out)`);
  console.log(`hot member after the run: balance ${rows[0].balance}, ledger sum ${rows[0].ledger}, entries below zero ${rows[0].negative} -> ${rows[0].balance === rows[0].ledger && rows[0].negative === 0 ? 'consistent' : 'INCONSISTENT'}`);
}

async function loadRun(name, o) {
  const op = o.op ?? 'deposit';
  let n = 0;
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
          const i = n++;
          const user = o.users[i % o.users.length];
          if (op === 'deposit') {
            req.path = '/incentives/api/2.0/user_points/deposit';
            req.body = JSON.stringify({
              retailer_id: o.retailer, user_id: user, culture: 'en-US', allow_partial_success: false,
              deposit_details: [{ amount: 10, point_account_id: o.account, point_source_id: o.source, reference_id: `D-${run}-${i}`, reference_type: 'bench', rank: 0 }],
            });
          } else {
            req.path = '/incentives/api/2.0/user_points/spend_multiple';
            req.body = JSON.stringify({
              retailer_id: o.retailer, user_id: user, culture: 'en-US', allow_partial_success: false,
              spend_details: [{ amount: o.amount ?? 1, point_account_ids: [o.account], reference_id: `S-${run}-${i}`, reference_type: 'bench', force_spend: false, is_return: false }],
            });
          }
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
      const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{"deposit_details":[{}]}' : undefined });
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
