#!/usr/bin/env node
// Scale-out (issue 23, docs/scaling.md): what several server processes and a read
// replica give on this machine.
//
// processes: on the PostgreSQL server of BENCH_DATABASE_URL, one Loyalist with
//   PROCESSES=1 and one with PROCESSES=2 on the same database (the same tenant, the
//   Brand X demo program), and the send_transaction floor of ../shared/bench measured
//   in the same run: send_transaction, lookup with a basket and lookup without one,
//   each round alternating 1 and 2 processes. Both servers run throughout (the idle one's
//   worker shares the background work); each process has the default pool unless
//   --pool-per-process N sets the 2-process server's. Afterwards every transaction must
//   have earned exactly 30 points into each account once, whichever process took it.
// replica: a PostgreSQL primary and a streaming replica of the bench's own (initdb with
//   wal_level=replica and fsync on, pg_basebackup -R, on free ports, run as the postgres
//   user when root; stopped and removed at the end), one Loyalist on the primary alone and one
//   with DATABASE_REPLICA_URL on the replica: lookup without a basket (a route the
//   replica answers) on each, then send_transaction on the second, the writes the
//   replica has to replay. While each run lasts, the replica's lag is sampled every
//   250 ms: pg_stat_replication's replay_lag and the WAL bytes not yet replayed (on the
//   primary), and the server's loyalist_replica_lag_seconds; and the server's
//   loyalist_replica_reads_total says where the routed reads were answered.
//
//   node bench/scaleout.mjs [--part processes|replica|both] [--rounds 1] [--pool-per-process N] [--seconds 10] [--warmup 10] [--connections 32] [--members 200]
//
// Needs `npm run build` (it runs bin/loyalist), a PostgreSQL server and, for the
// replica part, PostgreSQL's programs under /usr/lib/postgresql. Prints one JSON line
// per run, then a summary. server_cpu_ms is the CPU of the server's whole process tree
// (every server process) per request, from /proc; db_cpu_ms counts every PostgreSQL
// process on the machine (the shared server's, and the bench's primary and replica).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';
import { benchOptions, benchTenant, floorTransaction, json, loadRun, pct, pg, pgQuery, requireFromProject, root, run, startFloor, startLoyalist, withBench } from './lib.mjs';

const YAML = requireFromProject('yaml');
const opts = benchOptions({ part: { type: 'string', default: 'both' }, rounds: { type: 'string', default: '1' }, 'pool-per-process': { type: 'string' } });
const rounds = Number(opts.rounds);
const { connections } = opts;

const STORE = '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01';
const FIVE_PERCENT = '37b46497-44b4-4459-857a-5d03035af56a';
const SPENDABLE = 'f4d91345-bbe8-4ca7-864d-771761be873e';
const TIER_POINTS = '3d1c4e93-8b93-432f-a9c9-ab6854b57b7f';
const program = YAML.parse(readFileSync(join(root, 'examples', 'brand-x', 'program.yaml'), 'utf8'));
const phones = Array.from({ length: opts.members }, (_, i) => `617${String(i).padStart(7, '0')}`);

const results = {};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

await withBench(async (ctx) => {
  if (opts.part !== 'replica') await processes(ctx);
  if (opts.part !== 'processes') await replica(ctx);
  summary();
});

/** 1 and 2 server processes on one database of the shared PostgreSQL, next to the floor. */
async function processes(ctx) {
  const floor = await startFloor(ctx, opts, await ctx.createDatabase(`bench_floor_${run}`));
  const db = await ctx.createDatabase(`bench_scaleout_${run}`);
  // one after the other: both migrate the database at start
  const one = await loyalist(ctx, db, { PROCESSES: '1' });
  // --pool-per-process N: DB_POOL_SIZE of each of the two processes (3: the 6 connections of one process, split)
  const two = await loyalist(ctx, db, { PROCESSES: '2', ...(opts['pool-per-process'] ? { DB_POOL_SIZE: opts['pool-per-process'] } : {}) }, one.adminToken);
  const t = await tenant(one);

  const floorMembers = t.members.map((_, i) => `floor-member-${i}`);
  const servers = [['1 process', one], ['2 processes', two]];
  await measure('warmup floor send_transaction', { base: floor, t, users: floorMembers, op: 'send_transaction', seconds: opts.warmup });
  for (const [label, server] of servers) {
    await measure(`warmup ${label} send_transaction`, { server, t, op: 'send_transaction', seconds: opts.warmup });
    await measure(`warmup ${label} lookup with a basket`, { server, t, op: 'basket', seconds: opts.warmup });
  }
  for (let round = 1; round <= rounds; round++) {
    await measure(`floor send_transaction #${round}`, { base: floor, t, users: floorMembers, op: 'send_transaction' });
    for (const [op, what] of [['send_transaction', 'send_transaction'], ['basket', 'lookup with a basket'], ['lookup', 'lookup without a basket']]) {
      for (const [label, server] of round % 2 ? servers : [...servers].reverse()) await measure(`${label} ${what} #${round}`, { server, t, op });
    }
  }

  // every sent transaction earned exactly 30 points into each account, once, whichever process took it
  const c = await pgQuery(
    db,
    `SELECT (SELECT count(*) FROM pos_transactions WHERE retailer_id = $1)::int AS transactions,
            (SELECT coalesce(sum(available_balance), 0)::text FROM member_point_accounts WHERE retailer_id = $1 AND point_account_id = $2) AS spendable,
            (SELECT coalesce(sum(available_balance), 0)::text FROM member_point_accounts WHERE retailer_id = $1 AND point_account_id = $3) AS tier,
            (SELECT coalesce(sum(amount), 0)::text FROM point_ledger WHERE retailer_id = $1 AND point_account_id = $2) AS ledger`,
    [t.tenant.retailer_id, SPENDABLE, TIER_POINTS],
  );
  const expected = c.transactions * 30;
  const consistent = [c.spendable, c.tier, c.ledger].every((x) => Number(x) === expected);
  results.consistency = `${c.transactions} transactions, Spendable ${c.spendable}, Tier Points ${c.tier}, Spendable ledger ${c.ledger}, expected ${expected} -> ${consistent ? 'consistent' : 'INCONSISTENT'}`;
}

/** Lookup without a basket with and without a replica, and the lag under writes, on a primary and replica of the bench's own. */
async function replica(ctx) {
  // the chaos suite's clusters (test/support/clusters.ts), with fsync on as a server would run
  const { Clusters } = await tsImport('../test/support/clusters.ts', import.meta.url);
  const clusters = new Clusters({ fsync: true });
  const servers = [];
  try {
    const primary = await clusters.create();
    const standby = await clusters.replica(primary);
    const alone = await loyalist(ctx, primary.url, {}, undefined, servers);
    const routed = await loyalist(ctx, primary.url, { DATABASE_REPLICA_URL: standby.url }, alone.adminToken, servers);
    const t = await tenant(alone);
    // the members were written by the other server: this one reads them from the replica once it has them
    await waitForReplay(primary.url);

    // each run: the lag seen meanwhile, and on the replica's server where its routed reads were answered
    const lag = lagSampler(primary.url, routed.base);
    const watch = (server) => {
      let before;
      return {
        async start() {
          if (server === routed) before = await replicaReads(routed.base);
          lag.start();
        },
        async stop() {
          return { replica_lag: lag.stop(), ...(server === routed ? { replica_reads: diff(await replicaReads(routed.base), before) } : {}) };
        },
      };
    };
    const pair = [['primary only', alone], ['with a replica', routed]];
    for (const [label, server] of pair) await measure(`warmup ${label} lookup without a basket`, { server, t, op: 'lookup', seconds: opts.warmup });
    for (let round = 1; round <= rounds; round++) {
      for (const [label, server] of round % 2 ? pair : [...pair].reverse()) await measure(`${label} lookup without a basket #${round}`, { server, t, op: 'lookup', watch: watch(server) });
      await measure(`with a replica send_transaction #${round}`, { server: routed, t, op: 'send_transaction', watch: watch(routed) });
    }
    const caughtUp = await waitForReplay(primary.url);
    results.replayed = `the replica replayed every write ${caughtUp.toFixed(2)} s after the last run ended`;
  } finally {
    // the servers first: they would keep reconnecting to the dropped clusters
    for (const server of servers) server.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => (s.child.exitCode === null && s.child.signalCode === null ? new Promise((ok) => s.child.once('exit', ok)) : undefined)));
    clusters.dropAll();
  }
}

/** Loyalist on `db` with `env` (the admin token of the first server when given), once it answers. */
async function loyalist(ctx, db, env, adminToken, started) {
  const withEnv = { start: (command, args, own) => ctx.start(command, args, { ...own, ...env, ...(adminToken ? { ADMIN_TOKEN: adminToken } : {}) }) };
  const server = await startLoyalist(withEnv, opts, db);
  started?.push(server);
  return { base: server.project, adminToken: adminToken ?? server.adminToken, child: server.child };
}

/** The tenant: the Brand X program, the members with a phone each, every member holding the 5% offer (the basket's lookup prices it). */
async function tenant(server) {
  const t = await benchTenant(server.base, server.adminToken, program, opts.members, (i) => ({ phone_numbers: [{ phone_number: phones[i], phone_type: 'mobile' }] }));
  for (let i = 0; i < t.members.length; i += 100) {
    await json(`${server.base}/offers/api/2.0/offers/acquisition/issue`, { method: 'POST', headers: { authorization: t.connect }, body: { retailer_id: t.tenant.retailer_id, user_ids: t.members.slice(i, i + 100), offer_id: FIVE_PERCENT } });
  }
  return t;
}

/** The bodies: the floor's send_transaction (../shared/bench/load.mjs), and a lookup by phone, with a 9.00 basket or without one. */
function request(op, i, user, retailer) {
  if (op === 'send_transaction') return { path: '/api/2.0/send_transaction', body: floorTransaction(retailer, STORE, user, i) };
  const payload = { phone: phones[i % phones.length] };
  if (op === 'basket') payload.transaction = { transaction_id: `L-${run}-${i}`, subtotal: 9, items: [{ line_id: '1', item_id: 'coffee', quantity: 1, unit_price: 9, subtotal: 9 }] };
  return { path: '/api/2.0/lookup', body: { store_id: STORE, client_id: retailer, request_id: `${run}-L-${i}`, request_payload: payload } };
}

/**
 * One load run, printed as one JSON line (with what `watch` saw meanwhile). loadRun's per-request statements and server CPU
 * come from /metrics, which with several processes answers for whichever process takes the
 * scrape: its line is replaced by one with the CPU of the server's whole process tree.
 */
async function measure(name, { server, base = server?.base, t, users = t.members, op, seconds = opts.seconds, watch }) {
  const retailer = t.tenant.retailer_id;
  await watch?.start();
  const cpuBefore = server ? treeCpu(server.child.pid) : undefined;
  const print = console.log;
  let out;
  console.log = () => {};
  try {
    out = await loadRun(name, { base, auth: server ? t.pos : undefined, connections, seconds, next: (i) => request(op, i, users[i % users.length], retailer) });
  } finally {
    console.log = print;
  }
  delete out.statements;
  delete out.server_cpu_ms;
  if (server && out.total) out.server_cpu_ms = Number((((treeCpu(server.child.pid) - cpuBefore) * 1000) / out.total).toFixed(3));
  if (watch) Object.assign(out, await watch.stop());
  console.log(JSON.stringify(out));
  if (!name.startsWith('warmup')) results[name] = out;
  return out;
}

/** CPU seconds used so far by the process `pid` and every process below it (Linux /proc). */
function treeCpu(pid) {
  const procs = new Map();
  for (const entry of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {}
  }
  const inTree = (p) => {
    for (let at = p; at > 1; at = procs.get(at)?.ppid ?? 0) if (at === pid) return true;
    return false;
  };
  let ticks = 0;
  for (const [p, { ticks: own }] of procs) if (inTree(p)) ticks += own;
  return ticks / 100;
}

/** loyalist_replica_reads_total of the server, by outcome. */
async function replicaReads(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^loyalist_replica_reads_total\{outcome="(\w+)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]));
}
function diff(after, before) {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

/** Samples the replica's lag every 250 ms between start() and stop(); stop() answers the median and the largest of each measure. */
function lagSampler(primaryUrl, serverBase) {
  let timer;
  let samples;
  const sample = async () => {
    const client = new pg.Client({ connectionString: primaryUrl });
    try {
      await client.connect();
      const { rows } = await client.query(`SELECT extract(epoch FROM replay_lag)::float8 AS replay_lag, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS bytes FROM pg_stat_replication`);
      const text = await (await fetch(`${serverBase}/metrics`)).text();
      const metric = Number(/^loyalist_replica_lag_seconds (\S+)/m.exec(text)?.[1]);
      // replay_lag is null once the replica has replayed everything and nothing new came
      samples.push({ replay_lag: rows[0]?.replay_lag ?? 0, bytes: rows[0]?.bytes ?? 0, metric });
    } catch {
    } finally {
      await client.end().catch(() => {});
    }
  };
  const stats = (key, digits) => {
    const xs = samples.map((s) => s[key]).filter((x) => Number.isFinite(x) && x >= 0);
    return xs.length ? { p50: Number(median(xs).toFixed(digits)), max: Number(Math.max(...xs).toFixed(digits)) } : undefined;
  };
  return {
    start() {
      samples = [];
      timer = setInterval(sample, 250);
    },
    stop() {
      clearInterval(timer);
      return { samples: samples.length, pg_replay_lag_s: stats('replay_lag', 3), pg_bytes_behind: stats('bytes', 0), loyalist_replica_lag_s: stats('metric', 3) };
    },
  };
}

/** Waits until the replica has replayed all the primary has written; answers how long that took, in seconds. */
async function waitForReplay(primaryUrl) {
  const started = Date.now();
  for (;;) {
    const row = await pgQuery(primaryUrl, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS bytes FROM pg_stat_replication`);
    if (row && row.bytes <= 0) return (Date.now() - started) / 1000;
    if (Date.now() - started > 60_000) throw new Error('the replica did not catch up within 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function summary() {
  const runs = (prefix) => Object.entries(results).filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
  const line = (prefix) => {
    const xs = runs(prefix);
    if (!xs.length) return undefined;
    const rps = xs.map((x) => x.rps);
    return { rps: Math.round(median(rps)), range: `${Math.min(...rps)}-${Math.max(...rps)}`, p50: median(xs.map((x) => x.p50)), p99: median(xs.map((x) => x.p99)), cpu: xs[0].server_cpu_ms === undefined ? undefined : Number(median(xs.map((x) => x.server_cpu_ms)).toFixed(3)), non2xx: xs.reduce((n, x) => n + x.non2xx + x.errors, 0) };
  };
  const say = (label, s, against) => s && console.log(`${label}: ${s.rps}/s (runs ${s.range}; p50 ${s.p50} ms, p99 ${s.p99} ms${s.cpu === undefined ? '' : `, server CPU ${s.cpu} ms/request`}${s.non2xx ? `, ${s.non2xx} non-2xx or errors` : ''})${against ? ` = ${against}` : ''}`);
  console.log(`\nsummary (median of ${rounds} round${rounds > 1 ? 's' : ''}, ${connections} connections, ${opts.seconds} s each)`);
  const floor = line('floor send_transaction');
  say('floor send_transaction', floor);
  for (const what of ['send_transaction', 'lookup with a basket', 'lookup without a basket']) {
    const one = line(`1 process ${what}`);
    const two = line(`2 processes ${what}`);
    say(`1 process ${what}`, one, what === 'send_transaction' && floor ? `${pct(one.rps / floor.rps)} of the floor` : undefined);
    say(`2 processes ${what}`, two, one ? `${(two.rps / one.rps).toFixed(2)}x 1 process` : undefined);
  }
  if (results.consistency) console.log(`after the runs: ${results.consistency}`);
  const alone = line('primary only lookup');
  const routed = line('with a replica lookup');
  say('lookup without a basket, primary only', alone);
  say('lookup without a basket, with a replica', routed, alone ? `${(routed.rps / alone.rps).toFixed(2)}x primary only` : undefined);
  for (const out of runs('with a replica')) {
    const { replica_lag: lag, replica_reads: reads } = out;
    const fmt = (s, unit) => (s ? `p50 ${s.p50}${unit}, max ${s.max}${unit}` : 'n/a');
    console.log(`${out.name}: replica lag pg_stat_replication replay_lag ${fmt(lag.pg_replay_lag_s, ' s')}; WAL behind ${fmt(lag.pg_bytes_behind, ' B')}; loyalist_replica_lag_seconds ${fmt(lag.loyalist_replica_lag_s, ' s')}${reads && Object.values(reads).some(Boolean) ? `; routed reads answered by ${JSON.stringify(reads)}` : ''}`);
  }
  if (results.replayed) console.log(results.replayed);
}
