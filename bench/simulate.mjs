#!/usr/bin/env node
// Simulation benchmark: 30 days of recorded events and POS transactions
// (default 1,000,000 over 100,000 members) replayed against the live Brand X
// program and a draft that doubles the purchase rule, as a job on the server,
// while bench/pos.mjs's send_transaction load runs against the same server.
// Prints the events and transactions replayed per second (each is replayed
// twice, once per program) and the POS throughput during the simulation next
// to the floor (../shared/bench) and to Loyalist's own before it.
//
//   node bench/simulate.mjs [--sim-members 100000] [--records 1000000] [--max-seconds 600] [--seconds 10] [--warmup 8] [--shared ../shared]
//
// Needs `npm run build` and a PostgreSQL server (BENCH_DATABASE_URL). The
// history is written with SQL (as an import of a brand's past would be).
// --max-seconds stops watching a long run: the rate is then the part done
// (the job's percent_done) over the time it took, said so in the summary.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchOptions, benchTenant, floorTransaction, json, loadRun, pct, pgQuery, requireFromProject, root, run, startServers, withBench } from './lib.mjs';

const YAML = requireFromProject('yaml');
const opts = benchOptions({ 'sim-members': { type: 'string', default: '100000' }, records: { type: 'string', default: '1000000' }, 'max-seconds': { type: 'string', default: '600' } });
const STORE = '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01';
const PURCHASE_RULE = '0e0d5ac3-65c2-4a7f-83e7-4a121908e91c';
const EVENTS = ['PREMIUM_SUBSCRIPTION_STARTED', 'survey_completed', 'app_downloaded', 'page_viewed'];

await withBench(main);

async function main(ctx) {
  const { floor, project, projectDb, adminToken } = await startServers(ctx, opts);
  const program = YAML.parse(readFileSync(join(root, 'examples', 'brand-x', 'program.yaml'), 'utf8'));
  const { tenant, pos, members, floorMembers } = await benchTenant(project, adminToken, program, 200);
  const load = (name, base, auth, users, seconds = opts.seconds) =>
    loadRun(name, { base, auth, connections: opts.connections, seconds, next: (i) => ({ path: '/api/2.0/send_transaction', body: floorTransaction(tenant.retailer_id, STORE, users[i % users.length], i) }) });

  // the history: members, then half events and half transactions, each at a random instant of the last 30 days
  const count = Number(opts['sim-members']);
  const records = Number(opts.records);
  const r = tenant.retailer_id;
  const seeded = Date.now();
  await pgQuery(
    projectDb,
    `INSERT INTO members (retailer_id, id, email, first_name, last_name, referrer_code)
     SELECT $1, gen_random_uuid(), 'history.' || g || '@example.com', 'History', 'Member' || g, 'HIS' || g FROM generate_series(1, $2) g`,
    [r, count],
  );
  const ids = `(SELECT array_agg(id ORDER BY id) AS a FROM members WHERE retailer_id = $1 AND email LIKE 'history.%')`;
  await pgQuery(
    projectDb,
    `INSERT INTO member_events (retailer_id, member_id, id, name, qty, occurred_at, received_at, context)
     SELECT $1, m.a[1 + (g % $3)], gen_random_uuid(), ($4::text[])[1 + (g % 4)], 1, t, t, '{}'
       FROM ${ids} m, generate_series(1, $2) g, LATERAL (SELECT now() - random() * interval '30 days' AS t) w`,
    [r, Math.floor(records / 2), count, EVENTS],
  );
  await pgQuery(
    projectDb,
    `INSERT INTO pos_transactions (retailer_id, id, store_id, transaction_id, member_id, subtotal, tax_total, items, payments, open_time, modified_time, created_at, updated_at)
     SELECT $1, gen_random_uuid(), $4, 'H-' || g, m.a[1 + ((g * 7) % $3)], 5 + (g % 50), 0, '[]', '[]', t, t, t, t
       FROM ${ids} m, generate_series(1, $2) g, LATERAL (SELECT now() - random() * interval '30 days' AS t) w`,
    [r, records - Math.floor(records / 2), count, STORE],
  );
  await pgQuery(projectDb, 'ANALYZE');
  console.log(`seeded ${count} members with ${records} events and transactions in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);

  await load('warmup floor', floor, undefined, floorMembers, opts.warmup);
  await load('warmup loyalist', project, pos, members, opts.warmup);
  const f = await load('floor send_transaction', floor, undefined, floorMembers);
  const before = await load('loyalist send_transaction', project, pos, members);

  const draft = structuredClone(program);
  const rule = draft.rules.find((x) => x.id === PURCHASE_RULE);
  rule.outcomes = rule.outcomes.map((o) => ({ ...o, amount: { per: 1, of: 'subtotal', points: 2 } }));
  const admin = { authorization: `Bearer ${adminToken}` };
  const to = new Date();
  const from = new Date(to.getTime() - 30 * 86_400_000 - 60_000);
  const started = Date.now();
  const job = await json(`${project}/admin/tenants/${r}/program/simulate`, { method: 'POST', headers: admin, body: { program: draft, from: from.toISOString(), to: to.toISOString(), background: true } });
  const state = () => json(`${project}/admin/tenants/${r}/simulations/${job.simulation_id}`, { method: 'GET', headers: admin });
  const during = [];
  let s = job;
  while (s.status === 'running' && Date.now() - started < Number(opts['max-seconds']) * 1000) {
    during.push(await load(`loyalist send_transaction while simulating (${s.percent_done}% done)`, project, pos, members, 5));
    s = await state();
  }
  const seconds = (Date.now() - started) / 1000;
  const rps = Math.round(during.reduce((sum, d) => sum + d.rps, 0) / Math.max(1, during.length));
  console.log('\nsummary');
  if (s.status === 'done') {
    const replayed = s.result.replayed.events + s.result.replayed.transactions;
    console.log(`simulation: ${replayed} events and transactions of ${s.result.replayed.members} members replayed against both programs in ${seconds.toFixed(1)} s = ${Math.round(replayed / seconds)}/s`);
    console.log(`  current ${JSON.stringify(s.result.current.points_by_account)}; draft ${JSON.stringify(s.result.draft.points_by_account)}; ${s.result.members_changed} members changed; refused ${JSON.stringify(s.result.refused)}`);
  } else {
    console.log(`simulation: stopped watching after ${seconds.toFixed(1)} s at ${s.percent_done}% (${s.status}) = about ${Math.round(((s.percent_done / 100) * records) / seconds)} events and transactions/s (of ${records})`);
  }
  console.log(`send_transaction while simulating: ${rps}/s vs floor ${f.rps}/s = ${pct(rps / f.rps)}; before ${before.rps}/s = ${pct(before.rps / f.rps)}`);
  console.log(`run ${run}`);
}
