#!/usr/bin/env node
// Point of sale benchmark: send_transaction (three lines, the Brand X demo
// program's purchase rule earning into "Spendable Account" and "Tier Points")
// and lookup with a basket, on PostgreSQL, next to the send_transaction floor
// of ../shared/bench (a bare Fastify + pg handler) measured in the same run, on
// the same PostgreSQL server, with the same load generator and the same bodies
// as ../shared/bench/load.mjs. Then the same lookups to bench/bare-lookup.mjs
// (one row by phone in a bare handler): what the least a lookup does costs here.
//
//   node bench/pos.mjs [--seconds 10] [--warmup 10] [--connections 32] [--members 200] [--shared ../shared] [--profile DIR]
//
// Needs `npm run build` (it runs bin/loyalist) and a PostgreSQL server
// (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test); it
// creates three databases and drops them at the end. Prints one JSON line per
// run, then a summary with the ratios the point-of-sale issue sets as targets.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchOptions, benchTenant, benchWebhook, floorTransaction, json, loadRun, met, pct, pg, requireFromProject, root, run, startBare, startServers, withBench } from './lib.mjs';

const YAML = requireFromProject('yaml');
const opts = benchOptions();
const connections = opts.connections;

const STORE = '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01';
const FIVE_PERCENT = '37b46497-44b4-4459-857a-5d03035af56a';
const SPENDABLE = 'f4d91345-bbe8-4ca7-864d-771761be873e';
const TIER_POINTS = '3d1c4e93-8b93-432f-a9c9-ab6854b57b7f';

await withBench(main);

async function main(ctx) {
  const { floor, project, projectDb, adminToken } = await startServers(ctx, opts);
  // the least a lookup costs here: one row by phone, in a bare handler on a database of its own
  const bare = await startBare(ctx, join(root, 'bench', 'bare-lookup.mjs'), await ctx.createDatabase(`bench_bare_${run}`), '/api/2.0/lookup', { MEMBERS: String(opts.members) });
  // the project's tenant: the Brand X demo program (its store, accounts, tiers, offers and purchase rule)
  const program = YAML.parse(readFileSync(join(root, 'examples', 'brand-x', 'program.yaml'), 'utf8'));
  const phones = Array.from({ length: opts.members }, (_, i) => `617${String(i).padStart(7, '0')}`);
  const { tenant, connect, pos: posAuth, members, floorMembers } = await benchTenant(project, adminToken, program, opts.members, (i) => ({ phone_numbers: [{ phone_number: phones[i], phone_type: 'mobile' }] }));
  // --webhook: every event of the tenant also goes to a local receiver (the cost of delivering them beside the load)
  const webhook = opts.webhook ? await benchWebhook(project, adminToken, projectDb, tenant.retailer_id) : undefined;
  // every member holds the 5% offer: lookup prices it on the basket
  for (let i = 0; i < members.length; i += 100) {
    await json(`${project}/offers/api/2.0/offers/acquisition/issue`, { method: 'POST', headers: { authorization: connect }, body: { retailer_id: tenant.retailer_id, user_ids: members.slice(i, i + 100), offer_id: FIVE_PERCENT } });
  }

  const results = {};
  const load = (name, base, auth, users, { op = 'send_transaction', seconds = opts.seconds, rate } = {}) =>
    loadRun(name, { base, auth, connections, seconds, rate, next: (i) => request(op, i, users[i % users.length]) }).then((r) => (results[name] = r));
  // the bodies of ../shared/bench/load.mjs (send_transaction), and a lookup by phone with a 9.00 basket
  const request = (op, i, user) =>
    op === 'lookup'
      ? {
          path: '/api/2.0/lookup',
          body: {
            store_id: STORE, client_id: tenant.retailer_id, request_id: `${run}-L-${i}`,
            request_payload: { phone: phones[i % phones.length], transaction: { transaction_id: `L-${run}-${i}`, subtotal: 9, items: [{ line_id: '1', item_id: 'coffee', quantity: 1, unit_price: 9, subtotal: 9 }] } },
          },
        }
      : { path: '/api/2.0/send_transaction', body: floorTransaction(tenant.retailer_id, STORE, user, i) };

  await load('warmup floor', floor, undefined, floorMembers, { seconds: opts.warmup });
  await load('warmup loyalist', project, posAuth, members, { seconds: opts.warmup });

  await load('floor send_transaction', floor, undefined, floorMembers);
  await load('loyalist send_transaction', project, posAuth, members);
  const half = Math.round(results['floor send_transaction'].rps / 2);
  await load('floor send_transaction, fixed rate', floor, undefined, floorMembers, { rate: half });
  await load('loyalist send_transaction, fixed rate', project, posAuth, members, { rate: half });
  await load('warmup loyalist lookup', project, posAuth, members, { op: 'lookup', seconds: opts.warmup });
  await load('loyalist lookup with a basket', project, posAuth, members, { op: 'lookup' });
  await load('warmup bare lookup', bare, undefined, members, { op: 'lookup', seconds: opts.warmup });
  await load('bare lookup', bare, undefined, members, { op: 'lookup' });

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
  const b = results['bare lookup'];
  await webhook?.report();
  console.log('\nsummary');
  console.log(`send_transaction throughput, ${connections} connections: loyalist ${p.rps}/s (p50 ${p.p50} ms, p99 ${p.p99} ms) vs floor ${f.rps}/s (p50 ${f.p50} ms, p99 ${f.p99} ms) = ${pct(p.rps / f.rps)} (target >= 80%: ${met(p.rps / f.rps >= 0.8)})`);
  console.log(`send_transaction p99 at ${half}/s offered: loyalist ${pr.p99} ms vs floor ${fr.p99} ms = ${(pr.p99 / Math.max(fr.p99, 1)).toFixed(2)}x (target <= 1.5x: ${met(pr.p99 / Math.max(fr.p99, 1) <= 1.5)})`);
  console.log(`lookup with a basket, ${connections} connections: ${l.rps}/s (p50 ${l.p50} ms, p99 ${l.p99} ms) = ${(l.rps / f.rps).toFixed(2)}x the floor's send_transaction (target >= 4x: ${met(l.rps / f.rps >= 4)})`);
  console.log(`the same bodies to bench/bare-lookup.mjs (one row by phone, nothing else): ${b.rps}/s = ${(b.rps / f.rps).toFixed(2)}x the floor's send_transaction; Loyalist's lookup does ${pct(l.rps / b.rps)} of its rate`);
  console.log(`after the run: ${c.transactions} transactions, Spendable ${c.spendable}, Tier Points ${c.tier}, Spendable ledger ${c.ledger}, expected ${expected} -> ${consistent ? 'consistent' : 'INCONSISTENT'}`);
}
