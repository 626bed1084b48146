#!/usr/bin/env node
// Points benchmark: deposits and spends on PostgreSQL, next to the floor of
// ../shared/bench (a bare Fastify + pg deposit handler) measured in the same
// run, on the same PostgreSQL server, with the same load generator.
//
//   node bench/points.mjs [--seconds 10] [--warmup 10] [--connections 32] [--members 200] [--shared ../shared]
//
// Needs `npm run build` (it runs bin/loyalist) and a PostgreSQL server
// (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test); it
// creates two databases and drops them at the end. Prints one JSON line per
// run, then a summary with the ratios the points issue sets as targets.
import { randomUUID } from 'node:crypto';
import { benchOptions, benchTenant, benchWebhook, loadRun, met, pct, pg, run, startServers, withBench } from './lib.mjs';

const opts = benchOptions();
const connections = opts.connections;

await withBench(main);

async function main(ctx) {
  const { floor, project, projectDb, adminToken } = await startServers(ctx, opts);
  // the project's tenant: one spendable account, one source, and the members
  const account = randomUUID();
  const source = randomUUID();
  const program = { point_accounts: [{ id: account, name: 'Spendable', default: true }], point_sources: [{ id: source, name: 'bench', point_account_ids: [account] }] };
  const { tenant, connect, members, floorMembers } = await benchTenant(project, adminToken, program, opts.members);
  // --webhook: every event of the tenant also goes to a local receiver (the cost of delivering them beside the load)
  const webhook = opts.webhook ? await benchWebhook(project, adminToken, projectDb, tenant.retailer_id) : undefined;

  const results = {};
  const load = (name, base, auth, users, { op = 'deposit', amount, seconds = opts.seconds, rate } = {}) =>
    loadRun(name, { base, auth, connections, seconds, rate, next: (i) => request(op, i, users[i % users.length], amount) }).then((r) => (results[name] = r));
  const request = (op, i, user, amount) =>
    op === 'deposit'
      ? {
          path: '/incentives/api/2.0/user_points/deposit',
          body: {
            retailer_id: tenant.retailer_id, user_id: user, culture: 'en-US', allow_partial_success: false,
            deposit_details: [{ amount: 10, point_account_id: account, point_source_id: source, reference_id: `D-${run}-${i}`, reference_type: 'bench', rank: 0 }],
          },
        }
      : {
          path: '/incentives/api/2.0/user_points/spend_multiple',
          body: {
            retailer_id: tenant.retailer_id, user_id: user, culture: 'en-US', allow_partial_success: false,
            spend_details: [{ amount: amount ?? 1, point_account_ids: [account], reference_id: `S-${run}-${i}`, reference_type: 'bench', force_spend: false, is_return: false }],
          },
        };

  // warm both servers
  await load('warmup floor', floor, undefined, floorMembers, { seconds: opts.warmup });
  await load('warmup loyalist', project, connect, members, { seconds: opts.warmup });

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
  await webhook?.report();
  console.log('\nsummary');
  console.log(`deposit throughput, ${connections} connections: loyalist ${p.rps}/s vs floor ${f.rps}/s = ${pct(p.rps / f.rps)} (target >= 90%: ${met(p.rps / f.rps >= 0.9)})`);
  console.log(`deposit p99 at ${half}/s offered: loyalist ${pr.p99} ms vs floor ${fr.p99} ms = ${(pr.p99 / Math.max(fr.p99, 1)).toFixed(2)}x (target <= 2x: ${met(pr.p99 / Math.max(fr.p99, 1) <= 2)})`);
  console.log(`spends: ${results['loyalist spend, many members'].rps}/s many members (p50 ${results['loyalist spend, many members'].p50} ms, p99 ${results['loyalist spend, many members'].p99} ms)`);
  console.log(`one hot member: deposits ${hot.rps}/s (non-2xx ${hot.non2xx}, errors ${hot.errors}), spends ${hotSpend.rps}/s (non-2xx ${hotSpend.non2xx}: insufficient points once the balance ran out)`);
  console.log(`hot member after the run: balance ${rows[0].balance}, ledger sum ${rows[0].ledger}, entries below zero ${rows[0].negative} -> ${rows[0].balance === rows[0].ledger && rows[0].negative === 0 ? 'consistent' : 'INCONSISTENT'}`);
}
