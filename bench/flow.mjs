#!/usr/bin/env node
// The send_transaction flow without HTTP: the server's own function called by
// --connections concurrent callers (as many requests in flight as bench/pos.mjs
// has), on PostgreSQL, with the bodies of ../shared/bench/load.mjs, to read the
// flow's own CPU per request (process.cpuUsage: the flow, Kysely and the pg
// driver) apart from the HTTP layer's: bench/pos.mjs's server_cpu_ms less this.
// In the same run, the floor's transaction (../shared/bench/floor-server.mjs's
// statements, on its own database and pool) called the same way: the ratio of
// the two rates is the flow's against the floor's with HTTP taken out. Each also
// shows the WAL records per request and the multixact pages (row locks several
// transactions share) PostgreSQL touched per request, server-wide.
//
//   node bench/flow.mjs [--seconds 10] [--warmup 10] [--connections 32] [--members 200] [--profile DIR]
//
// Needs `npm run build`. Creates two databases and drops them. With --profile
// the flow's measured part is profiled (node:inspector) into DIR.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Session } from 'node:inspector/promises';
import { benchOptions, benchTenant, floorTransaction, pct, pg, postgresCpu, requireFromProject, root, run, withBench } from './lib.mjs';

const YAML = requireFromProject('yaml');
const opts = benchOptions();
const dist = (path) => import(join(root, 'dist', path));
const { loadConfig } = await dist('config.js');
const { connectPostgres } = await dist('db/connection.js');
const { migrate } = await dist('db/index.js');
const { buildApp } = await dist('app.js');
const { sendTransaction } = await dist('flows/send-transaction.js');
const { transactionInput } = await dist('http/pos/routes.js');
const { retailerNumber } = await dist('modules/tenants/service.js');
const STORE = '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01';

await withBench(async (ctx) => {
  const url = await ctx.createDatabase(`bench_flow_${run}`);
  const adminToken = 'bench-admin-token-0123456789';
  const config = loadConfig({ ...process.env, DATABASE_URL: url, ADMIN_TOKEN: adminToken });
  // the server's pool (DB_POOL_SIZE's default)
  const handle = connectPostgres(url, config.dbPoolSize);
  await migrate(handle.db);
  const app = await buildApp({ config, db: handle.db, pool: handle.pool });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const program = YAML.parse(readFileSync(join(root, 'examples', 'brand-x', 'program.yaml'), 'utf8'));
  const { tenant, members } = await benchTenant(address, adminToken, program, opts.members);
  const actor = { retailerId: tenant.retailer_id, retailerNumber: await retailerNumber(handle.db, tenant.retailer_id) };
  let i = 0;
  const once = () => {
    const body = floorTransaction(tenant.retailer_id, STORE, members[i % members.length], i);
    i++;
    return sendTransaction(handle.db, { ...actor, requestId: `${run}-${i}` }, transactionInput(body, `${run}-${i}`));
  };
  // the floor's send_transaction transaction, as ../shared/bench/floor-server.mjs runs it (a server
  // script, so not importable); its connections stay open (a backend that exits takes its CPU time
  // out of PostgreSQL's sum)
  const floor = new pg.Pool({ connectionString: await ctx.createDatabase(`bench_flow_floor_${run}`), max: 10, idleTimeoutMillis: 0 });
  await floor.query(`
    create table floor_tx (retailer text, store text, id text, member text, subtotal numeric, body jsonb, primary key (retailer, store, id));
    create table floor_balance (member text, account text, balance numeric not null default 0, lifetime numeric not null default 0, primary key (member, account));
    create table floor_entry (id bigserial primary key, member text, account text, amount numeric, balance_after numeric, ref text, at timestamptz default now());
    create table floor_timeline (id bigserial primary key, member text, type int, payload jsonb, at timestamptz default now());
    create index floor_timeline_member on floor_timeline (member, id desc);`);
  const credit = async (c, member, account, amount, ref) => {
    await c.query('insert into floor_balance (member, account) values ($1,$2) on conflict do nothing', [member, account]);
    const r = await c.query('update floor_balance set balance = balance + $3, lifetime = lifetime + $3 where member = $1 and account = $2 returning balance', [member, account, amount]);
    await c.query('insert into floor_entry (member, account, amount, balance_after, ref) values ($1,$2,$3,$4,$5)', [member, account, amount, r.rows[0].balance, ref]);
  };
  const floorOnce = async () => {
    const b = floorTransaction('R', 'S', `floor-member-${i % members.length}`, i);
    i++;
    const p = b.request_payload;
    const c = await floor.connect();
    try {
      await c.query('begin');
      const ins = await c.query('insert into floor_tx values ($1,$2,$3,$4,$5,$6) on conflict do nothing returning id', [b.client_id, b.store_id, p.transaction_id, b.user_id, p.subtotal, JSON.stringify(p)]);
      if (ins.rowCount === 1) {
        const points = Math.floor(Number(p.subtotal));
        await credit(c, b.user_id, 'spendable', points, p.transaction_id);
        await credit(c, b.user_id, 'tier', points, p.transaction_id);
        await c.query('insert into floor_timeline (member, type, payload) values ($1, 148, $2)', [b.user_id, JSON.stringify({ pos_transaction_id: p.transaction_id, subtotal: p.subtotal })]);
      }
      await c.query('commit');
    } finally {
      c.release();
    }
  };
  // the server's WAL records and multixact pages (row locks shared by concurrent transactions) so far
  const writes = async () => (await floor.query(`SELECT (SELECT wal_records FROM pg_stat_wal)::float8 AS wal, (SELECT sum(blks_zeroed + blks_hit + blks_read) FROM pg_stat_slru WHERE name LIKE 'MultiXact%')::float8 AS multixact`)).rows[0];
  // --connections callers, each sending its next request when its last one is answered
  const loop = async (seconds, once) => {
    const wrote = await writes();
    const until = Date.now() + seconds * 1000;
    const cpu = process.cpuUsage();
    const db = postgresCpu();
    const t = process.hrtime.bigint();
    let n = 0;
    const caller = async () => {
      for (; Date.now() < until; n++) await once();
    };
    await Promise.all(Array.from({ length: opts.connections }, caller));
    const used = process.cpuUsage(cpu);
    const db_cpu_ms = Number((((postgresCpu() - db) * 1000) / n).toFixed(3));
    const now = await writes();
    return { rps: Math.round(n / (Number(process.hrtime.bigint() - t) / 1e9)), requests: n, cpu_ms: Number(((used.user + used.system) / 1000 / n).toFixed(3)), system_ms: Number((used.system / 1000 / n).toFixed(3)), db_cpu_ms, wal_records: Number(((now.wal - wrote.wal) / n).toFixed(1)), multixact_pages: Number(((now.multixact - wrote.multixact) / n).toFixed(2)) };
  };
  console.log(JSON.stringify({ name: 'warmup floor', ...(await loop(opts.warmup, floorOnce)) }));
  const floorRun = await loop(opts.seconds, floorOnce);
  console.log(JSON.stringify({ name: 'floor transaction', ...floorRun }));
  console.log(JSON.stringify({ name: 'warmup flow', ...(await loop(opts.warmup, once)) }));
  const session = opts.profile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const flowRun = await loop(opts.seconds, once);
  console.log(JSON.stringify({ name: 'send_transaction flow', ...flowRun }));
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(resolve(opts.profile), { recursive: true });
    writeFileSync(join(resolve(opts.profile), `flow-${Date.now()}.cpuprofile`), JSON.stringify(profile));
  }
  console.log(`\nsummary\nsend_transaction without HTTP, ${opts.connections} callers: the flow ${flowRun.rps}/s (CPU per request: ${flowRun.cpu_ms} ms, PostgreSQL ${flowRun.db_cpu_ms} ms; WAL records ${flowRun.wal_records}, multixact pages ${flowRun.multixact_pages}) vs the floor's transaction ${floorRun.rps}/s (${floorRun.cpu_ms} ms, PostgreSQL ${floorRun.db_cpu_ms} ms; ${floorRun.wal_records}, ${floorRun.multixact_pages}) = ${pct(flowRun.rps / floorRun.rps)}`);
  await floor.end();
  await app.close();
  await handle.close();
});
