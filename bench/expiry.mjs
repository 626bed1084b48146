#!/usr/bin/env node
// Point expiry benchmark: 1,000,000 lots over 100,000 members expire at one
// instant while bench/pos.mjs's send_transaction load runs against the same
// server; the server's settler writes them off. Prints how many lots per
// second were expired and the POS throughput during the settling next to the
// floor (../shared/bench) and to Loyalist's own throughput before it.
//
//   node bench/expiry.mjs [--members 100000] [--lots 10] [--seconds 10] [--warmup 8] [--shared ../shared]
//
// Needs `npm run build` and a PostgreSQL server (BENCH_DATABASE_URL). The
// lots, members and ledger entries are written with SQL (as a migration of
// existing balances would), each member's ledger summing to its balance.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchOptions, benchTenant, floorTransaction, loadRun, pct, pgQuery, requireFromProject, root, run, startServers, withBench } from './lib.mjs';

const YAML = requireFromProject('yaml');
const opts = benchOptions({ lots: { type: 'string', default: '10' }, 'expiring-members': { type: 'string', default: '100000' } });
const STORE = '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01';
const EXPIRING = '9e0d7c61-52a4-4c8e-a1f3-6b2d8e4f0a97';

await withBench(main);

async function main(ctx) {
  const { floor, project, projectDb, adminToken } = await startServers(ctx, opts);
  const program = YAML.parse(readFileSync(join(root, 'examples', 'brand-x', 'program.yaml'), 'utf8'));
  program.point_accounts.push({ id: EXPIRING, name: 'Bench Expiring', expiry: { policy: 'after', after: 'P1Y' } });
  const { tenant, pos, members, floorMembers } = await benchTenant(project, adminToken, program, 200);
  const load = (name, base, auth, users, seconds = opts.seconds) =>
    loadRun(name, { base, auth, connections: opts.connections, seconds, next: (i) => ({ path: '/api/2.0/send_transaction', body: floorTransaction(tenant.retailer_id, STORE, users[i % users.length], i) }) });

  // the expiring members, each with `lots` lots of the account (10 points each) and its deposit entry, written at once
  const count = Number(opts['expiring-members']);
  const per = Number(opts.lots);
  const seeded = Date.now();
  const r = tenant.retailer_id;
  await pgQuery(
    projectDb,
    `WITH m AS (
       INSERT INTO members (retailer_id, id, email, first_name, last_name, referrer_code)
       SELECT $1, gen_random_uuid(), 'expiring.' || g || '@example.com', 'Expiring', 'Member' || g, 'EXP' || g FROM generate_series(1, $2) g
       RETURNING id),
     a AS (
       INSERT INTO member_point_accounts (retailer_id, member_id, point_account_id, id, available_balance, life_time_value)
       SELECT $1, id, $3, gen_random_uuid(), $4 * 10, $4 * 10 FROM m RETURNING member_id),
     l AS (
       INSERT INTO point_ledger (retailer_id, member_id, point_account_id, amount, balance_after, modification_type, effective_at)
       SELECT $1, member_id, $3, $4 * 10, $4 * 10, 'deposit', now() FROM a RETURNING member_id)
     SELECT count(*) FROM l`,
    [r, count, EXPIRING, per],
  );
  await pgQuery(
    projectDb,
    `INSERT INTO point_lots (retailer_id, member_id, point_account_id, state, bucket, amount, remaining, earned_at, expires_at)
     SELECT a.retailer_id, a.member_id, a.point_account_id, 'open', to_char(now() + interval '1 year' + k * interval '1 ms', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 10, 10, now(), now() + interval '1 year' + k * interval '1 ms'
       FROM member_point_accounts a CROSS JOIN generate_series(1, $3) k WHERE a.retailer_id = $1 AND a.point_account_id = $2`,
    [r, EXPIRING, per],
  );
  await pgQuery(projectDb, 'ANALYZE');
  console.log(`seeded ${count} members with ${count * per} lots in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);

  await load('warmup floor', floor, undefined, floorMembers, opts.warmup);
  await load('warmup loyalist', project, pos, members, opts.warmup);
  const f = await load('floor send_transaction', floor, undefined, floorMembers);
  const before = await load('loyalist send_transaction', project, pos, members);

  // every lot's instant passes now: the server's settler writes them off while the POS load runs
  await pgQuery(projectDb, `UPDATE point_lots SET expires_at = now() WHERE retailer_id = $1 AND point_account_id = $2`, [r, EXPIRING]);
  await pgQuery(projectDb, `UPDATE member_point_accounts SET next_change_at = now() WHERE retailer_id = $1 AND point_account_id = $2`, [r, EXPIRING]);
  const started = Date.now();
  const left = async () => Number((await pgQuery(projectDb, `SELECT count(*)::int AS n FROM member_point_accounts WHERE retailer_id = $1 AND point_account_id = $2 AND next_change_at IS NOT NULL`, [r, EXPIRING])).n);
  const during = [];
  let remaining = count;
  while (remaining > 0 && Date.now() - started < 1_800_000) {
    during.push(await load(`loyalist send_transaction while expiring (${remaining} members left)`, project, pos, members, 5));
    remaining = await left();
  }
  const seconds = (Date.now() - started) / 1000;
  const check = await pgQuery(
    projectDb,
    `SELECT (SELECT count(*) FROM point_lots WHERE retailer_id = $1 AND point_account_id = $2 AND state = 'expired')::int AS expired,
            (SELECT count(*) FROM point_ledger WHERE retailer_id = $1 AND point_account_id = $2 AND modification_type = 'expiry')::int AS entries,
            (SELECT coalesce(sum(available_balance), 0)::text FROM member_point_accounts WHERE retailer_id = $1 AND point_account_id = $2) AS balance`,
    [r, EXPIRING],
  );
  const rps = Math.round(during.reduce((s, d) => s + d.rps, 0) / during.length);
  console.log('\nsummary');
  console.log(`expiry: ${check.expired} lots of ${count} members expired in ${seconds.toFixed(1)} s = ${Math.round(check.expired / seconds)} lots/s (${check.entries} expiry entries, one per member; balance left ${check.balance})`);
  console.log(`send_transaction while expiring: ${rps}/s vs floor ${f.rps}/s = ${pct(rps / f.rps)}; before the expiry ${before.rps}/s = ${pct(before.rps / f.rps)}`);
  console.log(`run ${run}`);
}
