// What the benchmarks share: options, throwaway databases on the PostgreSQL
// server (dropped at the end), child servers (stopped at the end), HTTP helpers,
// one autocannon run, and the floor's send_transaction body.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const requireFromProject = createRequire(join(root, 'package.json'));
export const pg = requireFromProject('pg');
const autocannon = requireFromProject('autocannon');

/** A tag for this run's databases, transaction ids and references. */
export const run = randomBytes(3).toString('hex');

/** --seconds, --warmup (seconds of load on each server before measuring: the JIT compiler settles), --connections, --members, --shared, --profile DIR (the server's CPU profile), plus the benchmark's own options. */
export function benchOptions(extra = {}) {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '10' },
      connections: { type: 'string', default: '32' },
      members: { type: 'string', default: '200' },
      shared: { type: 'string', default: join(root, '..', 'shared') },
      profile: { type: 'string' },
      webhook: { type: 'boolean', default: false },
      ...extra,
    },
  });
  return { ...values, seconds: Number(values.seconds), warmup: Number(values.warmup), connections: Number(values.connections), members: Number(values.members) };
}

/**
 * Runs `main` with `createDatabase(name)` (a new database on BENCH_DATABASE_URL's
 * server, default the local `test` one) and `start(command, args, env)` (a child
 * process in the project directory); both are removed when `main` ends.
 */
export async function withBench(main) {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const children = [];
  const databases = [];
  try {
    await main({
      async createDatabase(name) {
        await admin.query(`CREATE DATABASE ${name}`);
        databases.push(name);
        return Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
      },
      start(command, args, env) {
        const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
        children.push(child);
        return child;
      },
    });
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    // BENCH_KEEP=1 keeps the databases, to look at them afterwards (drop them by hand)
    if (process.env.BENCH_KEEP) console.log(`kept databases: ${databases.join(', ')}`);
    else for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

/**
 * Starts the floor of ../shared/bench and Loyalist (under `node --cpu-prof`, with bin/loyalist's node flags,
 * when opts.profile names a directory), each on its own new database and a
 * free port, and waits until both answer.
 */
export async function startServers(ctx, opts) {
  const floorDb = await ctx.createDatabase(`bench_floor_${run}`);
  const projectDb = await ctx.createDatabase(`bench_loyalist_${run}`);
  const [floor, loyalist] = await Promise.all([startFloor(ctx, opts, floorDb), startLoyalist(ctx, opts, projectDb)]);
  return { floor, project: loyalist.project, projectDb, adminToken: loyalist.adminToken };
}

/** The floor of ../shared/bench on `floorDb` and a free port, once it answers: its base URL. */
export function startFloor(ctx, opts, floorDb) {
  return startBare(ctx, join(opts.shared, 'bench', 'floor-server.mjs'), floorDb, '/api/2.0/send_transaction');
}

/**
 * A bare server script (the floor, bench/bare-lookup.mjs) on `databaseUrl` and a
 * free port, once `probe` answers a POST: its base URL. Its CPU is read from /proc.
 */
export async function startBare({ start }, script, databaseUrl, probe, env = {}) {
  const port = await freePort();
  const child = start(process.execPath, [script], { ...env, DATABASE_URL: databaseUrl, PORT: String(port) });
  const base = `http://127.0.0.1:${port}`;
  barePids.set(base, child.pid);
  await waitFor(`${base}${probe}`, 'POST');
  return base;
}

/** Loyalist on `projectDb` (any database, new or kept) and a free port, once it answers: its base URL, admin token and process. */
export async function startLoyalist({ start }, opts, projectDb) {
  const projectPort = await freePort();
  const adminToken = randomBytes(16).toString('hex');
  const serve = ['serve', '--port', String(projectPort)];
  // webhooks may reach the benchmark's own receiver on 127.0.0.1
  const env = { DATABASE_URL: projectDb, ADMIN_TOKEN: adminToken, LOG_LEVEL: 'warn', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_HTTP_HOSTS: '127.0.0.1' };
  const child = opts.profile
    ? start(process.execPath, ['--max-semi-space-size=64', '--cpu-prof', `--cpu-prof-dir=${resolve(opts.profile)}`, join(root, 'bin', 'loyalist.js'), ...serve], env)
    : start(join(root, 'bin', 'loyalist'), serve, env);
  const project = `http://127.0.0.1:${projectPort}`;
  await waitFor(`${project}/readyz`, 'GET');
  return { project, adminToken, child };
}

/**
 * A retailer on Loyalist with `program` applied and `count` members (extra
 * user fields per member from `fields(i)`); its credentials as headers.
 */
export async function benchTenant(project, adminToken, program, count, fields = () => ({})) {
  const admin = { authorization: `Bearer ${adminToken}` };
  const tenant = await json(`${project}/admin/tenants`, { method: 'POST', headers: admin, body: { name: 'bench' } });
  await json(`${project}/admin/tenants/${tenant.retailer_id}/program`, { method: 'PUT', headers: admin, body: program });
  const basic = (key, secret) => `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
  const core = basic(tenant.appkey, tenant.secret);
  const members = [];
  for (let i = 0; i < count; i++) {
    const body = { user: { external_id: `BENCH-${run}-${i}`, email: `bench.${run}.${i}@example.com`, first_name: 'Bench', last_name: `Member${i}`, ...fields(i) } };
    members.push((await json(`${project}/priv/v1/apps/${tenant.appkey}/users`, { method: 'POST', headers: { authorization: core }, body })).user.id);
  }
  return { tenant, core, connect: basic(tenant.appkey_connect, tenant.secret_connect), pos: tenant.cloudpos_authorization, members, floorMembers: members.map((_, i) => `floor-member-${i}`) };
}

/** A webhook receiver on 127.0.0.1 answering 200 at once; counts the deliveries (distinct webhook-ids too). */
export async function webhookReceiver() {
  const ids = new Set();
  let requests = 0;
  const server = createHttpServer((req, res) => {
    requests++;
    ids.add(req.headers['webhook-id']);
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    requests: () => requests,
    distinct: () => ids.size,
    close: () => new Promise((ok) => (server.closeAllConnections(), server.close(ok))),
  };
}

/** One row of a query on a benchmark database. */
export async function pgQuery(url, text, values = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows[0];
  } finally {
    await client.end();
  }
}

/** Registers a webhook endpoint for the retailer (all event types); answers its id. */
export async function addWebhook(project, adminToken, retailerId, url, extra = {}) {
  return (await json(`${project}/admin/tenants/${retailerId}/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` }, body: { url, ...extra } })).id;
}

/**
 * --webhook: an endpoint of the tenant receiving every event at a local
 * receiver while the load runs; `report()` prints how far delivery had got
 * when the load ended, and how long the rest took.
 */
export async function benchWebhook(project, adminToken, projectDb, retailerId) {
  const receiver = await webhookReceiver();
  const events = async () => Number((await pgQuery(projectDb, 'SELECT count(*)::int AS n FROM domain_events WHERE retailer_id = $1', [retailerId])).n);
  // the endpoint receives what is recorded after it was added (the members were enrolled before)
  const before = await events();
  await addWebhook(project, adminToken, retailerId, receiver.url);
  return {
    async report() {
      const recorded = (await events()) - before;
      const atEnd = receiver.distinct();
      const [delivered, waited] = await settle(receiver.distinct, recorded);
      console.log(`webhooks: ${recorded} events recorded, ${atEnd} delivered when the load ended, ${delivered} after ${waited.toFixed(1)} s more (${receiver.requests()} requests)`);
      await receiver.close();
    },
  };
}

/** Waits until `count()` stops growing or reaches `target` (at most `ms`); answers [count, seconds waited]. */
export async function settle(count, target, ms = 120_000) {
  const started = Date.now();
  let last = -1;
  let still = 0;
  while (Date.now() - started < ms && count() < target) {
    await new Promise((r) => setTimeout(r, 250));
    still = count() === last ? still + 1 : 0;
    last = count();
    if (still > 40) break;
  }
  return [count(), (Date.now() - started) / 1000];
}

/** Waits until the URL answers (a POST answered with any status counts: the floor validates nothing). */
export async function waitFor(url, method) {
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
      if (res.status < 500 || method === 'POST') return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

export async function json(url, { method, headers, body }) {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

export const pct = (x) => `${Math.round(x * 100)}%`;
/** A target's verdict in a summary line. */
export const met = (ok) => (ok ? 'met' : 'MISSED');

export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer()
      .once('error', fail)
      .listen(0, '127.0.0.1', () => {
        const { port } = server.address();
        server.close(() => ok(port));
      });
  });
}

/** Counts requests across all runs, so ids built from it are unique in the whole benchmark. */
let sequence = 0;

/**
 * One autocannon run: `next(i)` gives the request's path and body (none: a GET) for the
 * benchmark-wide sequence number i. Prints and returns {name, rps, p50, p99, non2xx, errors, total}.
 */
export async function loadRun(name, { base, auth, connections, seconds, rate, next }) {
  const before = await statementCount(base);
  const cpuBefore = { server: await serverCpu(base), db: postgresCpu() };
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    ...(rate ? { overallRate: rate } : {}),
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
        setupRequest(req) {
          // a request without a body is a GET
          const { path, body } = next(sequence++);
          req.path = path;
          req.method = body === undefined ? 'GET' : 'POST';
          req.body = body === undefined ? undefined : JSON.stringify(body);
          return req;
        },
      },
    ],
  });
  const after = await statementCount(base);
  const cpuAfter = { server: await serverCpu(base), db: postgresCpu() };
  const out = { name, rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors, total: result.requests.total };
  // statements per request, where the server counts them (Loyalist's /metrics; the floor has none)
  if (before !== undefined && after !== undefined && out.total) out.statements = Number(((after - before) / out.total).toFixed(2));
  // CPU per request: the server's (its /metrics), and every PostgreSQL process's on this machine (/proc), in ms
  if (cpuBefore.server !== undefined && cpuAfter.server !== undefined && out.total) out.server_cpu_ms = Number((((cpuAfter.server - cpuBefore.server) * 1000) / out.total).toFixed(3));
  if (cpuBefore.db !== undefined && cpuAfter.db !== undefined && out.total) out.db_cpu_ms = Number((((cpuAfter.db - cpuBefore.db) * 1000) / out.total).toFixed(3));
  console.log(JSON.stringify(out));
  return out;
}

/** The bare servers' processes by their base URLs: they have no /metrics, their CPU is read from /proc. */
const barePids = new Map();

/** CPU seconds of one process so far (Linux /proc); undefined elsewhere. */
function processCpu(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** process_cpu_seconds_total from the server's /metrics (the floor's from /proc); undefined where there is none. */
async function serverCpu(base) {
  if (barePids.has(base)) return processCpu(barePids.get(base));
  try {
    const match = /^process_cpu_seconds_total (\S+)/m.exec(await (await fetch(`${base}/metrics`)).text());
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds used so far by every PostgreSQL process of this machine (Linux /proc); undefined elsewhere. */
export function postgresCpu() {
  try {
    let seconds = 0;
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) seconds += processCpu(pid) ?? 0;
      } catch {}
    }
    return seconds;
  } catch {
    return undefined;
  }
}

/** loyalist_db_statements_total from the server's /metrics; undefined where there is none. */
async function statementCount(base) {
  try {
    const res = await fetch(`${base}/metrics`);
    const match = /^loyalist_db_statements_total (\d+)/m.exec(await res.text());
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The send_transaction body ../shared/bench/load.mjs sends: three lines, 30.00, paid cash. */
export function floorTransaction(retailer, store, user, i) {
  return {
    store_id: store, client_id: retailer, user_id: user, request_id: `${run}-${i}`,
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
  };
}
