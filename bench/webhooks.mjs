#!/usr/bin/env node
// Webhook delivery throughput: deposits recorded while the tenant's endpoint
// is disabled, then the endpoint enabled and the time taken until a local
// receiver (answering 204 at once) has every event: events delivered per
// second by one server process, and the outbox lag while it catches up.
//
//   node bench/webhooks.mjs [--seconds 10] [--connections 32] [--members 200] [--shared ../shared]
//
// Needs `npm run build` and a PostgreSQL server (BENCH_DATABASE_URL).
import { randomUUID } from 'node:crypto';
import { addWebhook, benchOptions, benchTenant, json, loadRun, pgQuery, run, settle, startServers, webhookReceiver, withBench } from './lib.mjs';

const opts = benchOptions();

await withBench(async (ctx) => {
  const { project, projectDb, adminToken } = await startServers(ctx, opts);
  const account = randomUUID();
  const { tenant, connect, members } = await benchTenant(project, adminToken, { point_accounts: [{ id: account, name: 'Spendable', default: true }] }, opts.members);
  const receiver = await webhookReceiver();
  const admin = { authorization: `Bearer ${adminToken}` };
  const webhook = await addWebhook(project, adminToken, tenant.retailer_id, receiver.url, { event_types: ['points.deposited'] });
  await json(`${project}/admin/tenants/${tenant.retailer_id}/webhooks/${webhook}`, { method: 'PATCH', headers: admin, body: { enabled: false } });

  // the events pile up while the endpoint is off
  await loadRun('loyalist deposit (endpoint disabled)', {
    base: project, auth: connect, connections: opts.connections, seconds: opts.seconds,
    next: (i) => ({ path: '/incentives/api/2.0/user_points/deposit', body: { retailer_id: tenant.retailer_id, user_id: members[i % members.length], deposit_details: [{ amount: 1, point_account_id: account, reference_id: `W-${run}-${i}` }] } }),
  });
  await new Promise((r) => setTimeout(r, 1000)); // the load's last transactions commit
  const { n: recorded } = await pgQuery(projectDb, "SELECT count(*)::int AS n FROM domain_events WHERE retailer_id = $1 AND type = 'points.deposited'", [tenant.retailer_id]);

  // on again: everything waiting goes out
  const started = Date.now();
  await json(`${project}/admin/tenants/${tenant.retailer_id}/webhooks/${webhook}`, { method: 'PATCH', headers: admin, body: { enabled: true } });
  const [delivered] = await settle(receiver.distinct, recorded, 600_000);
  const seconds = (Date.now() - started) / 1000;
  console.log(JSON.stringify({ name: 'webhook delivery', recorded, delivered, requests: receiver.requests(), seconds: Number(seconds.toFixed(2)), per_second: Math.round(delivered / seconds) }));
  console.log('\nsummary');
  console.log(`webhook delivery: ${delivered} of ${recorded} events in ${seconds.toFixed(1)} s = ${Math.round(delivered / seconds)} events/s to one endpoint (${receiver.requests() - delivered} sent twice)`);
  await receiver.close();
});
