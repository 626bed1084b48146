#!/usr/bin/env node
// Cost flat in data size (issue 23): the read and write endpoints measured at
// a retailer with 1,000, 100,000 and 1,000,000 members with realistic
// histories, members picked at random across the whole population, next to the
// send_transaction floor of ../shared/bench measured in the same run.
//
//   node bench/scale.mjs [--sizes 1000,100000,1000000] [--seconds 8] [--warmup 3] [--connections 16] [--reload] [--explain]
//                        [--only word,word] [--hot N] [--tuned]
//
// Each size has its own database, bench_scale_<size>_v<LOADER>, kept between
// runs (never dropped): reused when its loading finished (the bench_scale
// table says so), migrated with `bin/loyalist migrate` on every run (a kept
// database gets the migrations added since), loaded again with --reload or
// when LOADER changes. A load creates the retailer with the Brand X demo
// program through the admin API, then writes every member's rows with
// set-based SQL, 100,000 members per statement (--chunk), with the member
// tables' indexes dropped and built again at the end, then VACUUM ANALYZE.
// Each member has an external id, a phone and an email, 20 ledger entries
// over two point accounts whose balances are the ledger's sums, 8 POS
// transactions, 30 timeline entries, 3 user offers, a tier placement by its
// tier points, and progress in the 3 campaigns with behaviours; one member in
// a thousand has 500 more ledger entries and 1,000 more timeline entries
// (the deep pages, "long" in the table, are read from those members).
//
// --only: the endpoints whose names contain one of the words. --hot N: members
// picked among the first N only (at every size the same working set: what
// grows with the size once it is taken away is the plans', not the cache's).
//
// --tuned: on a PostgreSQL of the bench's own sized for the data (the floor
// too), kept with its databases in BENCH_CLUSTER_DIR (default
// /var/tmp/loyalist-bench-scale) on port BENCH_CLUSTER_PORT (default 5499),
// started when down and left running: shared_buffers a quarter of the
// machine's memory, effective_cache_size three quarters, WAL compressed (lz4)
// and checkpoints every 30 minutes (the full-page images a write is the first
// to make after one). Without it: the server of BENCH_DATABASE_URL, as it is.
//
// --explain: instead of the load runs, one request per endpoint in this
// process, each statement it sent printed with EXPLAIN (ANALYZE, BUFFERS) as
// the server plans it (a generic plan: the pool sets plan_cache_mode).
//
// Needs `npm run build` (it runs bin/loyalist) and a PostgreSQL server
// (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).
// Each endpoint is measured at every size in turn (alternating the order), on
// one server per size started together.
// Prints the load time per size, one JSON line per run, then a table of rps
// and p50 per endpoint and size with the ratio largest/smallest (target <= 1.5x).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tsImport } from 'tsx/esm/api';
import { benchOptions, floorTransaction, json, loadRun, pg, requireFromProject, root, run, startFloor, startLoyalist, withBench } from './lib.mjs';

const YAML = requireFromProject('yaml');
const opts = benchOptions({
  sizes: { type: 'string', default: '1000,100000,1000000' },
  seconds: { type: 'string', default: '8' },
  warmup: { type: 'string', default: '3' },
  connections: { type: 'string', default: '16' },
  chunk: { type: 'string', default: '100000' },
  reload: { type: 'boolean', default: false },
  explain: { type: 'boolean', default: false },
  hot: { type: 'string' },
  only: { type: 'string' },
  tuned: { type: 'boolean', default: false },
});
if (opts.tuned) process.env.BENCH_DATABASE_URL = await tunedCluster();
const sizes = opts.sizes.split(',').map((s) => Number(s.replace(/_/g, '')));
const chunk = Number(opts.chunk);

/** The version of the loaded data: bump it when the loader writes something else (kept databases of another version are not reused). */
const LOADER = 1;

// ids of the Brand X demo program (examples/brand-x/program.yaml)
const STORE = '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01';
const SPENDABLE = 'f4d91345-bbe8-4ca7-864d-771761be873e';
const TIER_POINTS = '3d1c4e93-8b93-432f-a9c9-ab6854b57b7f';
const API_DEPOSIT = '425836cd-58e6-41b9-9816-22b987ea392f';
const PURCHASE_RULE = '0e0d5ac3-65c2-4a7f-83e7-4a121908e91c';

const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const databaseUrl = (name) => Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();

// Member i (1..N) as the loader writes it and as the load generator names it.
// The SQL below and these functions must agree.
const uuidOf = (text) => createHash('md5').update(text).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
const MEMBER = `md5('scale:' || i)::uuid`;
const memberId = (i) => uuidOf(`scale:${i}`);
const CREATED = `(timestamptz '2024-01-01 00:00:00+00' + (i % 1000) * interval '1 hour')`;
const createdAt = (i) => Date.UTC(2024, 0, 1) + (i % 1000) * 3_600_000;
const phoneOf = (i) => `617${String(i).padStart(7, '0')}`;
const externalIdOf = (i) => `SCALE-${i}`;
/** The subtotal of member i's purchase k (1..8), in whole units: members spend from 1 to 5 times as much (their tiers differ). */
const PURCHASE = (k) => `((10 + (i * 31 + (${k}) * 17) % 60) * (1 + i % 5))`;
/** Timeline entry j (1..30, oldest first) of member i: its id and time. */
const timelineId = (i, j) => (i - 1) * 30 + j;
/** The timeline's cursor past entry j of member i: the page after it holds the entries before j. */
const timelineCursor = (i, j) => Buffer.from(`${createdAt(i) + j * 86_400_000}:${timelineId(i, j)}`).toString('base64url');

async function main(ctx) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const results = {};
    let floorResult;
    if (!opts.explain) {
      const floor = await startFloor(ctx, opts, await ctx.createDatabase(`bench_floor_${run}`));
      const floorMembers = Array.from({ length: 200 }, (_, i) => `floor-member-${i}`);
      const floorRun = (name, seconds) =>
        loadRun(name, { base: floor, connections: opts.connections, seconds, next: (i) => ({ path: '/api/2.0/send_transaction', body: floorTransaction('bench-retailer', 'bench-store', floorMembers[i % floorMembers.length], i) }) });
      await floorRun('warmup floor', opts.warmup);
      floorResult = await floorRun('floor send_transaction', opts.seconds);
    }
    const prepared = [];
    for (const size of sizes) prepared.push({ size, ...(await prepare(ctx, admin, size)) });
    if (opts.explain) for (const { size, url, tenant } of prepared) await explainEndpoints(url, tenant, size);
    else Object.assign(results, await measure(ctx, prepared));
    if (!opts.explain) report(results, floorResult);
  } finally {
    await admin.end();
  }
}

// ---------------------------------------------------------------- the databases

/** --tuned: the kept cluster sized for the data (test/support/clusters.ts), started when down; its URL. */
async function tunedCluster() {
  const { keptCluster } = await tsImport('../test/support/clusters.ts', import.meta.url);
  const mb = (fraction) => `${Math.floor((totalmem() * fraction) / 2 ** 20)}MB`;
  const sharedBuffers = mb(0.25);
  const cluster = keptCluster(process.env.BENCH_CLUSTER_DIR ?? '/var/tmp/loyalist-bench-scale', Number(process.env.BENCH_CLUSTER_PORT ?? 5499), {
    shared_buffers: sharedBuffers,
    effective_cache_size: mb(0.75),
    maintenance_work_mem: '1GB',
    wal_compression: 'lz4',
    checkpoint_timeout: '30min',
    max_wal_size: '16GB',
    max_connections: '200',
  });
  console.log(`--tuned: the PostgreSQL at ${cluster.url} (shared_buffers ${sharedBuffers})`);
  return cluster.url;
}

/** The size's database, migrated and loaded: its URL and the tenant's credentials. */
async function prepare(ctx, admin, size) {
  const name = `bench_scale_${size}_v${LOADER}`;
  const url = databaseUrl(name);
  const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount > 0;
  let tenant = exists && !opts.reload ? await loadedTenant(url, size) : undefined;
  if (!tenant) {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  }
  const started = Date.now();
  const { stdout } = await promisify(execFile)(join(root, 'bin', 'loyalist'), ['migrate'], { cwd: root, env: { ...process.env, DATABASE_URL: url } });
  console.log(`${name}: ${stdout.trim()} (${seconds(started)} s)`);
  if (tenant && !/up to date/.test(stdout)) await timed(`${name}: ANALYZE after the migrations`, () => query(url, 'ANALYZE'));
  if (!tenant) tenant = await load(ctx, url, size);
  else console.log(`${name}: reusing the ${size.toLocaleString('en')} members loaded ${tenant.loaded_at} (--reload to load again)`);
  return { url, tenant };
}

async function loadedTenant(url, size) {
  try {
    const rows = await query(url, 'SELECT tenant, loaded_at FROM bench_scale WHERE members = $1', [size]);
    return rows[0] && { ...rows[0].tenant, loaded_at: rows[0].loaded_at.toISOString() };
  } catch {
    return undefined;
  }
}

/** The member-owned tables the loader fills, whose indexes it drops before and builds after (members keeps its own: foreign keys need them). */
const MEMBER_TABLES = ['member_identifiers', 'member_phone_numbers', 'member_point_accounts', 'point_ledger', 'pos_transactions', 'timeline_events', 'user_offers', 'member_tiers', 'member_campaigns', 'member_behaviors', 'member_goals'];

/** Creates the retailer with the Brand X program (through a server on the database), then writes `size` members with SQL. */
async function load(ctx, url, size) {
  const started = Date.now();
  const server = await startLoyalist(ctx, opts, url);
  const program = YAML.parse(readFileSync(join(root, 'examples', 'brand-x', 'program.yaml'), 'utf8'));
  const auth = { authorization: `Bearer ${server.adminToken}` };
  const created = await json(`${server.project}/admin/tenants`, { method: 'POST', headers: auth, body: { name: 'scale' } });
  await json(`${server.project}/admin/tenants/${created.retailer_id}/program`, { method: 'PUT', headers: auth, body: program });
  await stop(server.child);
  const tenant = { retailer_id: created.retailer_id, appkey: created.appkey, secret: created.secret, appkey_connect: created.appkey_connect, secret_connect: created.secret_connect, pos: created.cloudpos_authorization };

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const spent = {};
  const step = async (family, fn) => {
    const at = Date.now();
    const result = await fn();
    spent[family] = (spent[family] ?? 0) + (Date.now() - at) / 1000;
    return result;
  };
  try {
    // the rows are consistent by construction: no foreign key checks, no waiting for the WAL flush
    await client.query("SET session_replication_role = replica; SET synchronous_commit = off; SET maintenance_work_mem = '1GB'; SET work_mem = '256MB'");
    const indexes = await step('drop indexes', () => dropIndexes(client));
    const r = tenant.retailer_id;
    for (let lo = 1; lo <= size; lo += chunk) {
      const hi = Math.min(size, lo + chunk - 1);
      const range = [r, lo, hi];
      await step('members', () => loadMembers(client, range));
      await step('points', () => loadPoints(client, range));
      await step('pos_transactions', () => loadTransactions(client, range));
      await step('timeline', () => loadTimeline(client, range));
      await step('user_offers', () => loadUserOffers(client, range));
      await step('tiers', () => loadTiers(client, range));
      await step('campaigns', () => loadCampaignProgress(client, range));
      console.log(`  ${hi.toLocaleString('en')} of ${size.toLocaleString('en')} members written (${seconds(started)} s)`);
    }
    await step('indexes', () => buildIndexes(client, indexes));
    // identities the loader gave explicitly: new rows continue after them
    await client.query(`SELECT setval(pg_get_serial_sequence('members', 'player_id'), (SELECT max(player_id) FROM members)),
                               setval(pg_get_serial_sequence('timeline_events', 'id'), (SELECT max(id) FROM timeline_events))`);
    await step('long histories', () => loadLongHistories(client, [r, size]));
    await step('vacuum analyze', () => client.query('VACUUM (ANALYZE)'));
    const load = { seconds: Number(seconds(started)), steps: Object.fromEntries(Object.entries(spent).map(([k, v]) => [k, Number(v.toFixed(1))])) };
    const [{ bytes }] = (await client.query('SELECT pg_database_size(current_database()) AS bytes')).rows;
    load.gigabytes = Number((Number(bytes) / 2 ** 30).toFixed(1));
    await client.query('CREATE TABLE bench_scale (members integer PRIMARY KEY, tenant jsonb NOT NULL, load jsonb NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now())');
    const [marked] = (await client.query('INSERT INTO bench_scale (members, tenant, load) VALUES ($1, $2, $3) RETURNING loaded_at', [size, tenant, load])).rows;
    console.log(`loaded ${size.toLocaleString('en')} members in ${load.seconds} s (${load.gigabytes} GB): ${JSON.stringify(load.steps)}`);
    return { ...tenant, loaded_at: marked.loaded_at.toISOString() };
  } finally {
    await client.end();
  }
}

/** Drops the member tables' indexes and key constraints, keeping their definitions to build them again. */
async function dropIndexes(client) {
  const { rows } = await client.query(
    `SELECT t.relname AS table_name, i.relname AS index_name, c.conname, pg_get_constraintdef(c.oid) AS constraint_def, pg_get_indexdef(x.indexrelid) AS index_def
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
       LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = t.oid AND c.contype IN ('p', 'u')
      WHERE t.relname = ANY($1) AND t.relnamespace = current_schema()::regnamespace`,
    [MEMBER_TABLES],
  );
  for (const d of rows) await client.query(d.conname ? `ALTER TABLE ${d.table_name} DROP CONSTRAINT ${d.conname}` : `DROP INDEX ${d.index_name}`);
  return rows;
}

async function buildIndexes(client, indexes) {
  for (const d of indexes) await client.query(d.conname ? `ALTER TABLE ${d.table_name} ADD CONSTRAINT ${d.conname} ${d.constraint_def}` : d.index_def);
}

// Each loader writes members lo..hi ($2..$3) of retailer $1. A member's
// history is written in the order it would have happened, interleaved with
// the other members' (ORDER BY j, i): its entries lie on different pages, as
// they do when written over months, not side by side.
const MEMBERS = 'generate_series($2::int, $3::int) AS i';

/** Members with an email, an external id and a phone number; player_id is i. */
async function loadMembers(client, range) {
  await client.query(
    `INSERT INTO members (retailer_id, id, player_id, email, first_name, last_name, referrer_code, registered_at, created_at, updated_at)
     OVERRIDING SYSTEM VALUE
     SELECT $1, ${MEMBER}, i, 'scale.' || i || '@example.com', 'Scale', 'Member' || i, 'SCALEM-' || i, ${CREATED}, ${CREATED}, ${CREATED} FROM ${MEMBERS}`,
    range,
  );
  await client.query(
    `INSERT INTO member_identifiers (retailer_id, member_id, external_id, external_id_type, position, created_at)
     SELECT $1, ${MEMBER}, 'SCALE-' || i, '', 0, ${CREATED} FROM ${MEMBERS}`,
    range,
  );
  await client.query(
    `INSERT INTO member_phone_numbers (retailer_id, member_id, position, phone_number, digits)
     SELECT $1, ${MEMBER}, 0, '617' || lpad(i::text, 7, '0'), '617' || lpad(i::text, 7, '0') FROM ${MEMBERS}`,
    range,
  );
}

/**
 * 20 ledger entries per member: 8 purchases each earning their subtotal into
 * Spendable and into Tier Points (as the demo's purchase rule does), 2 API
 * deposits of 50 and 2 spends of 25 from Spendable; and the two point
 * accounts, whose balances are the ledger's sums (no lots: the demo's
 * accounts have no expiry policy).
 */
async function loadPoints(client, range) {
  await client.query(
    `WITH entries AS MATERIALIZED (
       SELECT i, j, ${MEMBER} AS member_id,
              CASE WHEN j <= 16 AND j % 2 = 0 THEN $5::uuid ELSE $4::uuid END AS account,
              (CASE WHEN j <= 16 THEN ${PURCHASE('(j + 1) / 2')} WHEN j <= 18 THEN 50 ELSE -25 END)::numeric AS amount,
              ${CREATED} + j * interval '1 day' AS at
         FROM ${MEMBERS}, generate_series(1, 20) AS j
     ), ledger AS (
       INSERT INTO point_ledger (retailer_id, member_id, point_account_id, amount, balance_after, modification_type, point_source_id,
                                 reference_id, reference_type, transaction_id, effective_at, inserted_at)
       SELECT $1, member_id, account, amount, sum(amount) OVER (PARTITION BY i, account ORDER BY j), CASE WHEN j <= 18 THEN 'deposit' ELSE 'spend' END,
              CASE WHEN j IN (17, 18) THEN $6::uuid END, CASE WHEN j <= 16 THEN $7 END, CASE WHEN j <= 16 THEN 'loyalty_rule' END,
              CASE WHEN j <= 16 THEN 'S-' || i || '-' || (j + 1) / 2 END, at, at
         FROM entries ORDER BY j, i
     )
     INSERT INTO member_point_accounts (retailer_id, member_id, point_account_id, id, available_balance, life_time_value, created_at, updated_at)
     SELECT $1, member_id, account, md5('account:' || i || ':' || account)::uuid, sum(amount), sum(amount) FILTER (WHERE amount > 0), min(at), max(at)
       FROM entries GROUP BY i, member_id, account`,
    [...range, SPENDABLE, TIER_POINTS, API_DEPOSIT, PURCHASE_RULE],
  );
}

/** The 8 purchases at the demo's store (transaction_id S-<i>-<k>, as the ledger names them). */
async function loadTransactions(client, range) {
  await client.query(
    `INSERT INTO pos_transactions (retailer_id, id, store_id, transaction_id, member_id, channel, subtotal, open_time, modified_time, items, payments, earned, created_at, updated_at)
     SELECT $1, md5('transaction:' || i || ':' || k)::uuid, $4, 'S-' || i || '-' || k, ${MEMBER}, 'STORE', p, at, at,
            jsonb_build_array(jsonb_build_object('line_id', '1', 'item_id', 'coffee', 'quantity', '1', 'unit_price', p::text, 'subtotal', p::text)),
            jsonb_build_array(jsonb_build_object('type', 'CASH', 'amount', p::text)),
            jsonb_build_array(jsonb_build_object('point_account_id', $5::text, 'amount', p::text), jsonb_build_object('point_account_id', $6::text, 'amount', p::text)),
            at, at
       FROM ${MEMBERS}, generate_series(1, 8) AS k, LATERAL (SELECT ${PURCHASE('k')} AS p, ${CREATED} + (2 * k - 1) * interval '1 day' AS at) x
      ORDER BY k, i`,
    [...range, STORE, SPENDABLE, TIER_POINTS],
  );
}

/** 30 timeline entries, one a day: signed up, 3 offers issued, 16 point deposits, 8 purchases, 2 rules achieved; ids (i - 1) * 30 + j. */
async function loadTimeline(client, range) {
  await client.query(
    `INSERT INTO timeline_events (retailer_id, member_id, id, stream_id, event_type_id, occurred_at, created_at, payload)
     OVERRIDING SYSTEM VALUE
     SELECT $1, ${MEMBER}, (i - 1) * 30 + j, gen_random_uuid(),
            CASE WHEN j = 1 THEN 177 WHEN j <= 4 THEN 169 WHEN j <= 20 THEN 144 WHEN j <= 28 THEN 148 ELSE 161 END,
            ${CREATED} + j * interval '1 day', ${CREATED} + j * interval '1 day',
            CASE WHEN j = 1 THEN '{}'::jsonb
                 WHEN j <= 4 THEN jsonb_build_object('UserOfferID', md5('offer:' || i || ':' || (j - 1))::uuid)
                 WHEN j <= 20 THEN jsonb_build_object('amount', ${PURCHASE('(j - 3) / 2')}, 'point_account_id', CASE WHEN j % 2 = 0 THEN $5::text ELSE $4::text END,
                                                      'modification_type', 'deposit', 'reference_type', 'loyalty_rule')
                 WHEN j <= 28 THEN jsonb_build_object('subtotal', ${PURCHASE('j - 20')}, 'pos_transaction_id', 'S-' || i || '-' || (j - 20), 'store_id', $6::text)
                 ELSE jsonb_build_object('rule_id', $7::text, 'rule_name', 'Purchase earning', 'trigger', 'purchase') END
              || jsonb_build_object('user_id', ${MEMBER}, 'player_id', i, 'user_name', 'Scale Member' || i)
       FROM ${MEMBERS}, generate_series(1, 30) AS j
      ORDER BY j, i`,
    [...range, SPENDABLE, TIER_POINTS, STORE, PURCHASE_RULE],
  );
}

/** The program's three current offers, issued to every member (redemption codes SC<hex i>K<k>). */
async function loadUserOffers(client, range) {
  await client.query(
    `INSERT INTO user_offers (retailer_id, member_id, id, offer_id, root_offer_id, status, acquired_at, redemption_start_date, redemption_end_date, redemption_code, source, created_at, updated_at)
     SELECT $1, ${MEMBER}, md5('offer:' || i || ':' || o.k)::uuid, o.id, o.root_offer_id, 1, ${CREATED} + o.k * interval '1 day',
            o.redemption_start_date, o.redemption_end_date, 'SC' || upper(to_hex(i)) || 'K' || o.k, 'issue', ${CREATED}, ${CREATED}
       FROM ${MEMBERS},
            (SELECT id, root_offer_id, redemption_start_date, redemption_end_date, row_number() OVER (ORDER BY root_offer_id) AS k
               FROM offers WHERE retailer_id = $1 AND is_current AND retired_at IS NULL) o
      ORDER BY o.k, i`,
    range,
  );
}

/** Each member at the highest level of each tier system its tier points reach (the demo's thresholds name one account). */
async function loadTiers(client, range) {
  await client.query(
    `INSERT INTO member_tiers (retailer_id, member_id, tier_system_id, id, tier_level_id, join_date, updated_at)
     SELECT $1, ${MEMBER}, s.id, md5('tier:' || i || ':' || s.id)::uuid,
            (SELECT l.id FROM tier_levels l
              WHERE l.retailer_id = $1 AND l.tier_system_id = s.id AND l.retired_at IS NULL AND coalesce((l.thresholds -> 0 ->> 'points')::numeric, 0) <= t.points
              ORDER BY l.rank DESC LIMIT 1),
            ${CREATED}, ${CREATED}
       FROM ${MEMBERS}, tier_systems s, LATERAL (SELECT sum(${PURCHASE('k')}) AS points FROM generate_series(1, 8) AS k) t
      WHERE s.retailer_id = $1 AND s.retired_at IS NULL`,
    range,
  );
}

/** Progress in every campaign with behaviours: each behaviour and goal achieved once, the campaign in progress. */
async function loadCampaignProgress(client, range) {
  const at = `${CREATED} + interval '40 days'`;
  await client.query(
    `INSERT INTO member_campaigns (retailer_id, member_id, campaign_id, state, updated_at)
     SELECT $1, ${MEMBER}, c.campaign_id, 'in_progress', ${at}
       FROM ${MEMBERS}, (SELECT DISTINCT campaign_id FROM campaign_behaviors WHERE retailer_id = $1 AND retired_at IS NULL) c`,
    range,
  );
  await client.query(
    `INSERT INTO member_behaviors (retailer_id, member_id, behavior_id, campaign_id, achieved, last_event_at, updated_at)
     SELECT $1, ${MEMBER}, b.id, b.campaign_id, 1, ${at}, ${at}
       FROM ${MEMBERS}, campaign_behaviors b WHERE b.retailer_id = $1 AND b.retired_at IS NULL`,
    range,
  );
  await client.query(
    `INSERT INTO member_goals (retailer_id, member_id, behavior_id, goal_name, current_count, completed, achieved, last_event_at, updated_at)
     SELECT $1, ${MEMBER}, g.behavior_id, g.name, 0, false, 1, ${at}, ${at}
       FROM ${MEMBERS}, campaign_goals g JOIN campaign_behaviors b ON b.retailer_id = g.retailer_id AND b.id = g.behavior_id
      WHERE g.retailer_id = $1 AND b.retired_at IS NULL`,
    range,
  );
}

/**
 * One member in a thousand (i = 1000, 2000, …) has a long history besides:
 * 500 more ledger entries (deposits of 10 and spends of 5 from Spendable,
 * its balance following) and 1,000 more timeline entries, for the deep
 * pages. Written once the identities are set: these rows take theirs.
 */
async function loadLongHistories(client, [r, size]) {
  const LONG = 'generate_series(1000, $2::int, 1000) AS i';
  await client.query(
    `WITH extra AS MATERIALIZED (
       SELECT i, m, ${MEMBER} AS member_id, (CASE WHEN m % 2 = 1 THEN 10 ELSE -5 END)::numeric AS amount, ${CREATED} + interval '20 days' + m * interval '1 hour' AS at
         FROM ${LONG}, generate_series(1, 500) AS m
     ), ledger AS (
       INSERT INTO point_ledger (retailer_id, member_id, point_account_id, amount, balance_after, modification_type, point_source_id, effective_at, inserted_at)
       SELECT $1, e.member_id, $3, e.amount, a.available_balance + sum(e.amount) OVER (PARTITION BY e.i ORDER BY e.m),
              CASE WHEN e.amount > 0 THEN 'deposit' ELSE 'spend' END, CASE WHEN e.amount > 0 THEN $4::uuid END, e.at, e.at
         FROM extra e JOIN member_point_accounts a ON a.retailer_id = $1 AND a.member_id = e.member_id AND a.point_account_id = $3
        ORDER BY e.m, e.i
     )
     UPDATE member_point_accounts a SET available_balance = a.available_balance + x.total, life_time_value = a.life_time_value + x.deposited, updated_at = x.last
       FROM (SELECT member_id, sum(amount) AS total, sum(amount) FILTER (WHERE amount > 0) AS deposited, max(at) AS last FROM extra GROUP BY member_id) x
      WHERE a.retailer_id = $1 AND a.member_id = x.member_id AND a.point_account_id = $3`,
    [r, size, SPENDABLE, API_DEPOSIT],
  );
  await client.query(
    `INSERT INTO timeline_events (retailer_id, member_id, stream_id, event_type_id, occurred_at, created_at, payload)
     SELECT $1, ${MEMBER}, gen_random_uuid(), 144, at, at,
            jsonb_build_object('amount', 10, 'point_account_id', $3::text, 'modification_type', 'deposit', 'user_id', ${MEMBER}, 'player_id', i, 'user_name', 'Scale Member' || i)
       FROM ${LONG}, generate_series(1, 1000) AS m, LATERAL (SELECT ${CREATED} + interval '30 days' + m * interval '1 hour' AS at) x
      ORDER BY m, i`,
    [r, size, SPENDABLE],
  );
}

// ---------------------------------------------------------------- the endpoints

const basic = (key, secret) => `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;

/**
 * What is measured: each endpoint's auth and its request for member i (the
 * benchmark-wide sequence number n makes ids unique); a request without a body is a GET.
 */
function endpoints(tenant) {
  const r = tenant.retailer_id;
  const core = `/priv/v1/apps/${tenant.appkey}`;
  const auth = { pos: tenant.pos, core: basic(tenant.appkey, tenant.secret), connect: basic(tenant.appkey_connect, tenant.secret_connect) };
  const lookup = (n, payload) => ({ path: '/api/2.0/lookup', body: { store_id: STORE, client_id: r, request_id: `${run}-L-${n}`, request_payload: payload } });
  const basket = (n) => ({ transaction_id: `L-${run}-${n}`, subtotal: 9, items: [{ line_id: '1', item_id: 'coffee', quantity: 1, unit_price: 9, subtotal: 9 }] });
  return [
    ['POS lookup by phone', auth.pos, (i, n) => lookup(n, { phone: phoneOf(i) })],
    ['POS lookup with a basket', auth.pos, (i, n) => lookup(n, { phone: phoneOf(i), transaction: basket(n) })],
    ['profile by id', auth.core, (i) => ({ path: `${core}/users/${memberId(i)}` })],
    ['profile by external id', auth.core, (i) => ({ path: `${core}/external/users/${externalIdOf(i)}` })],
    ['balance', auth.connect, (i) => ({ path: '/incentives/api/2.0/user_points/balance', body: { retailer_id: r, user_id: memberId(i) } })],
    ['timeline first page', auth.core, (i) => ({ path: `${core}/users/${memberId(i)}/timelines/END_USER_MEMBER_STATEMENT?count=10` })],
    ['timeline deep page', auth.core, (i) => ({ path: `${core}/users/${memberId(i)}/timelines/END_USER_MEMBER_STATEMENT?count=10&cursor=${timelineCursor(i, 11)}` })],
    ['timeline page 50, long', auth.core, (i) => ({ path: `${core}/users/${memberId(longMember(i))}/timelines/END_USER_MEMBER_STATEMENT?count=10&offset=490` })],
    ['campaign list', auth.core, (i) => ({ path: `${core}/users/${memberId(i)}/campaigns` })],
    ['points audit log page', auth.connect, (i) => ({ path: '/incentives/api/2.0/user_points/fetch_point_audit_logs', body: { retailer_id: r, user_id: memberId(i), skip: 0, take: 10 } })],
    [
      'points audit log page 50, long',
      auth.connect,
      (i) => ({ path: '/incentives/api/2.0/user_points/fetch_point_audit_logs', body: { retailer_id: r, user_id: memberId(longMember(i)), skip: 490, take: 10 } }),
    ],
    ['send_transaction', auth.pos, (i, n) => ({ path: '/api/2.0/send_transaction', body: floorTransaction(r, STORE, memberId(i), n) })],
    [
      'deposit',
      auth.connect,
      (i, n) => ({
        path: '/incentives/api/2.0/user_points/deposit',
        body: { retailer_id: r, user_id: memberId(i), deposit_details: [{ amount: 10, point_account_id: SPENDABLE, point_source_id: API_DEPOSIT, reference_id: `D-${run}-${n}`, reference_type: 'bench' }] },
      }),
    ],
  ];
}

/** A member picked at random across the whole population (1..size), or among the first --hot members only. */
const anyMember = (size) => 1 + Math.floor(Math.random() * Math.min(size, Number(opts.hot ?? size)));
/** The endpoints measured: all, or those whose names contain one of --only's comma-separated words. */
const chosen = (list) => (opts.only ? list.filter(([name]) => opts.only.split(',').some((w) => name.includes(w))) : list);
/** The member with a long history nearest member i (at or below it, or the first). */
const longMember = (i) => Math.max(1000, i - (i % 1000));

/**
 * Each size on a fresh server of its own, all started together; each endpoint
 * measured at every size in turn (a warmup, then the measured run, members at
 * random), the order of the sizes reversed from one endpoint to the next: a
 * change in the machine's other load during the run falls on every size, not
 * on the sizes measured last.
 */
async function measure(ctx, prepared) {
  const servers = [];
  try {
    for (const p of prepared) servers.push({ ...p, server: await startLoyalist(ctx, opts, p.url), list: chosen(endpoints(p.tenant)) });
    for (const { size, server, list } of servers) {
      // every endpoint answers for the first and the last member before any load (a wrong load fails here, not as non-2xx)
      for (const [name, auth, request] of list) {
        for (const i of [1, size]) {
          const { path, body } = request(i, `check-${i}`);
          const res = await fetch(`${server.project}${path}`, { method: body ? 'POST' : 'GET', headers: { authorization: auth, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
          if (!res.ok) throw new Error(`${name} for member ${i}: ${res.status} ${await res.text()}`);
        }
      }
    }
    const results = Object.fromEntries(servers.map(({ size }) => [size, {}]));
    for (const [k] of servers[0].list.entries()) {
      const order = k % 2 === 0 ? servers : [...servers].reverse();
      for (const { size, url, server, list } of order) {
        const [name, auth, request] = list[k];
        const counters = new pg.Client({ connectionString: url });
        await counters.connect();
        try {
          const load = (label, seconds) => loadRun(label, { base: server.project, auth, connections: opts.connections, seconds, next: (n) => request(anyMember(size), n) });
          await load(`warmup ${name}, ${size} members`, opts.warmup);
          const before = await databaseCounters(counters);
          const result = await load(`${name}, ${size} members`, opts.seconds);
          const after = await databaseCounters(counters);
          const per = (key, scale = 1) => Number(((after[key] - before[key]) / scale / Math.max(result.total, 1)).toFixed(2));
          result.pages = { read: per('blks_read'), hit: per('blks_hit'), wal_kb: per('wal_bytes', 1024), fpi: per('wal_fpi') };
          console.log(`  per request: ${result.pages.read} pages read into shared buffers, ${result.pages.hit} found there; ${result.pages.wal_kb} kB of WAL, ${result.pages.fpi} full-page images (the WAL of the whole server)`);
          results[size][name] = result;
        } finally {
          await counters.end();
        }
      }
    }
    return results;
  } finally {
    for (const { server } of servers) await stop(server.child);
  }
}

/**
 * The database's pages read into shared buffers (from the OS cache or the
 * disk) and found there, and the server's WAL (every database's: other work
 * on the machine shows in it). Backends report these about once a second.
 */
async function databaseCounters(client) {
  const { rows } = await client.query(
    `SELECT d.blks_read::float8 AS blks_read, d.blks_hit::float8 AS blks_hit, w.wal_bytes::float8 AS wal_bytes, w.wal_fpi::float8 AS wal_fpi
       FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database()`,
  );
  return rows[0];
}

function report(results, floor) {
  const measured = sizes.filter((s) => results[s]);
  const [smallest, largest] = [measured[0], measured.at(-1)];
  const names = Object.keys(results[smallest]);
  const pad = (v, n) => String(v).padStart(n);
  const head = measured.map((s) => pad(s.toLocaleString('en'), 17)).join('');
  console.log(`\nsummary: ${opts.connections} connections, ${opts.seconds} s each, members at random; floor send_transaction ${floor.rps}/s (p50 ${floor.p50} ms, p99 ${floor.p99} ms)`);
  console.log(`${'endpoint'.padEnd(26)}${head}   largest/smallest`);
  console.log(`${''.padEnd(26)}${measured.map(() => pad('rps  p50  p99', 17)).join('')}   rps     p50`);
  for (const name of names) {
    const cells = measured.map((s) => {
      const r = results[s][name];
      return pad(`${r.rps} ${pad(r.p50, 4)} ${pad(r.p99, 4)}`, 17);
    });
    const a = results[smallest][name];
    const b = results[largest][name];
    // throughput: how many times fewer requests the largest size served; latency: how many times longer the median
    const slower = a.rps / Math.max(b.rps, 1);
    const longer = b.p50 / Math.max(a.p50, 1);
    const errors = measured.some((s) => results[s][name].non2xx || results[s][name].errors) ? '  (non-2xx or errors: see the JSON lines)' : '';
    const mark = slower > 1.5 || longer > 1.5 ? '  <- more than 1.5x' : '';
    console.log(`${name.padEnd(26)}${cells.join('')}   ${pad(`${slower.toFixed(2)}x`, 5)}  ${pad(`${longer.toFixed(2)}x`, 5)}${mark}${errors}`);
  }
  console.log(`\nper request: pages read into shared buffers (from the OS cache or the disk) / found there; WAL kB (the server's) for the writes`);
  console.log(`${'endpoint'.padEnd(26)}${head}`);
  for (const name of names) {
    const cells = measured.map((s) => {
      const p = results[s][name].pages;
      return pad(`${p.read}/${p.hit}${name === 'send_transaction' || name === 'deposit' ? ` ${p.wal_kb}kB` : ''}`, 17);
    });
    console.log(`${name.padEnd(26)}${cells.join('')}`);
  }
  const tx = (s) => results[s]['send_transaction'];
  if (names.includes('send_transaction')) console.log(`send_transaction against the floor: ${measured.map((s) => `${s.toLocaleString('en')}: ${Math.round((100 * tx(s).rps) / floor.rps)}%`).join(', ')}`);
}

// ---------------------------------------------------------------- --explain

/**
 * One request per endpoint through the application in this process, each
 * statement it sent explained as the server plans it: prepared, with a
 * generic plan, in a transaction rolled back.
 */
async function explainEndpoints(url, tenant, size) {
  const { buildApp } = await import(join(root, 'dist', 'app.js'));
  const { loadConfig } = await import(join(root, 'dist', 'config.js'));
  const { openDatabase } = await import(join(root, 'dist', 'db', 'index.js'));
  const config = loadConfig({ DATABASE_URL: url, WORKER: 'false', LOG_LEVEL: 'silent' });
  const database = await openDatabase(config);
  const app = await buildApp({ config, db: database.db, pool: database.pool });
  let captured;
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (config, values, callback) {
    if (captured && typeof config === 'object' && config?.text) captured.push({ text: config.text, values: config.values ?? [] });
    return query.call(this, config, values, callback);
  };
  const { prepareValue } = requireFromProject('pg/lib/utils');
  const explainer = new pg.Client({ connectionString: url });
  await explainer.connect();
  try {
    for (const [name, auth, request] of chosen(endpoints(tenant))) {
      const inject = async (i) => {
        const { path, body } = request(i, `explain-${Date.now()}-${i}`);
        const res = await app.inject({ method: body ? 'POST' : 'GET', url: path, headers: { authorization: auth, 'content-type': 'application/json' }, payload: body && JSON.stringify(body) });
        if (res.statusCode >= 300) throw new Error(`${name}: ${res.statusCode} ${res.body}`);
      };
      await inject(anyMember(size));
      captured = [];
      await inject(anyMember(size));
      const statements = captured;
      captured = undefined;
      console.log(`\n=== ${name} (${size.toLocaleString('en')} members): ${statements.length} statements with parameters`);
      await explainer.query('BEGIN; SET LOCAL plan_cache_mode = force_generic_plan');
      for (const [n, s] of statements.entries()) {
        console.log(`\n--- ${n + 1}: ${s.text.replace(/\s+/g, ' ').slice(0, 600)}`);
        await explainer.query('SAVEPOINT s');
        try {
          await explainer.query(`PREPARE explained AS ${s.text}`);
          const literals = s.values.map((v) => (v === null || v === undefined ? 'NULL' : explainer.escapeLiteral(String(prepareValue(v)))));
          const { rows } = await explainer.query(`EXPLAIN (ANALYZE, BUFFERS) EXECUTE explained${literals.length ? `(${literals.join(', ')})` : ''}`);
          console.log(rows.map((r) => r['QUERY PLAN']).join('\n'));
          await explainer.query('DEALLOCATE explained; RELEASE SAVEPOINT s');
        } catch (err) {
          console.log(`(not explained: ${err.message})`);
          await explainer.query('ROLLBACK TO SAVEPOINT s; DEALLOCATE ALL');
        }
      }
      await explainer.query('ROLLBACK');
    }
  } finally {
    pg.Client.prototype.query = query;
    await explainer.end();
    await app.close();
    await database.close();
  }
}

// ---------------------------------------------------------------- helpers

async function query(url, text, values = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function timed(label, fn) {
  const started = Date.now();
  await fn();
  console.log(`${label}: ${seconds(started)} s`);
}

const seconds = (since) => ((Date.now() - since) / 1000).toFixed(1);

/** Stops a server this benchmark started, and waits until it has exited. */
async function stop(child) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

// last: the constants above are initialised by now
await withBench(main);
