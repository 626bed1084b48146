#!/usr/bin/env node
// Events benchmark: custom events (POST /priv/v2/apps/:appkey/events) at a
// retailer with 50 active campaigns and 200 rules, on PostgreSQL, next to the
// send_transaction floor of ../shared/bench (a bare Fastify + pg handler)
// measured in the same run, on the same PostgreSQL server, with the same load
// generator.
//
//   node bench/events.mjs [--seconds 10] [--warmup 10] [--connections 32] [--members 200] [--shared ../shared] [--profile DIR]
//
// The program: one default point account, 200 rules triggered by 40 event
// names (conditions on the context and on tags, limits of every kind but
// consecutive days, points and tag outcomes) and 50 composite campaigns whose
// goals count three of those names each. The load spreads events over the
// members and over 60 names: the 40 the rules and campaigns know and 20 that
// match nothing (a third of the events).
//
// Needs `npm run build` (it runs bin/loyalist) and a PostgreSQL server
// (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test); it
// creates two databases and drops them at the end. Prints one JSON line per
// run, then a summary with the ratio the events issue sets as its target.
import { randomUUID } from 'node:crypto';
import { benchOptions, benchTenant, floorTransaction, json, loadRun, met, pct, pg, run, startServers, withBench } from './lib.mjs';

const opts = benchOptions();
const connections = opts.connections;

const RULE_EVENTS = Array.from({ length: 40 }, (_, i) => `bench_event_${i}`);
const NOISE_EVENTS = Array.from({ length: 20 }, (_, i) => `bench_noise_${i}`);
const CHANNELS = ['app', 'web', 'store'];

await withBench(main);

/** 200 rules over the 40 rule event names: five a name, with varied conditions, limits and outcomes. */
function rules(account) {
  return Array.from({ length: 200 }, (_, r) => {
    const name = RULE_EVENTS[r % RULE_EVENTS.length];
    const conditions = [
      undefined,
      { fact: 'context.amount', op: 'gte', value: 10 },
      { all: [{ fact: 'context.channel', op: 'eq', value: 'app' }, { fact: 'tags.bench_tag_1', op: 'gte', value: 1 }] },
      { any: [{ fact: 'context.channel', op: 'in', value: ['web', 'app'] }, { fact: 'tags.bench_tag_3', op: 'gte', value: 1 }] },
      { not: { fact: 'context.amount', op: 'lt', value: 5 } },
    ][r % 5];
    const limits = [
      undefined,
      { total: 1_000_000 },
      { per_period: { count: 1000, seconds: 86400 } },
      { min_seconds_between: 1 },
    ][Math.floor(r / 5) % 4];
    const outcomes = [{ type: 'points', point_account_id: account, amount: 1 + (r % 5) }];
    if (r % 3 === 0) outcomes.push({ type: 'tag', tag: `bench_tag_${r % 10}` });
    return {
      id: randomUUID(),
      name: `Bench rule ${r}`,
      trigger: { type: 'event', name },
      ...(conditions ? { conditions } : {}),
      ...(limits ? { limits } : {}),
      outcomes,
    };
  });
}

/** 50 active composite campaigns, each with three goals counting rule event names (two required, one optional). */
function campaigns() {
  return Array.from({ length: 50 }, (_, c) => ({
    id: 10_000 + c,
    permalink: `bench_campaign_${c}`,
    name: `Bench campaign ${c}`,
    start_date: '2024-01-01 00:00:00',
    end_date: '2124-01-01 00:00:00',
    template_type: 'internal_behavior',
    behaviors: [
      {
        id: 20_000 + c,
        name: `bench_behavior_${c}`,
        external_behavior_id: randomUUID(),
        type: 'composite',
        points: 10,
        max_times_repeatable: -1,
        goals: [0, 1, 2].map((k) => ({
          name: `goal_${k}`,
          event_name: RULE_EVENTS[(c * 3 + k) % RULE_EVENTS.length],
          earn_count: k === 2 ? 2 : 1,
          required: k < 2,
          group_id: '0',
        })),
      },
    ],
  }));
}

async function main(ctx) {
  const { floor, project, projectDb, adminToken } = await startServers(ctx, opts);
  const account = randomUUID();
  const program = { point_accounts: [{ id: account, name: 'Spendable', default: true }], rules: rules(account), campaigns: campaigns() };
  const { tenant, core, members, floorMembers } = await benchTenant(project, adminToken, program, opts.members);

  // one event by hand: it must be answered with outcomes (the program is live)
  const probe = await json(`${project}/priv/v2/apps/${tenant.appkey}/events`, {
    method: 'POST',
    headers: { authorization: core },
    body: { events: { name: RULE_EVENTS[0], user_id: members[0], context: { amount: 12, channel: 'app' } } },
  });
  if (!probe.events?.[0]?.outcomes?.length) throw new Error(`the probe event achieved no rule: ${JSON.stringify(probe)}`);

  const results = {};
  const load = (name, { base, op, auth, users, seconds = opts.seconds, rate }) =>
    loadRun(name, { base, auth, connections, seconds, rate, next: (i) => request(op, i, users[(i * 7919) % users.length]) }).then((r) => (results[name] = r));
  const request = (op, i, user) => {
    if (op === 'send_transaction') return { path: '/api/2.0/send_transaction', body: floorTransaction(tenant.retailer_id, 'bench-store', user, i) };
    // two events in three a name the rules and campaigns know, one a name nothing matches;
    // every member sees every name over the run (the name shifts each time the members come round),
    // or members could not complete the campaigns
    const event = i % 3 === 2 ? NOISE_EVENTS[i % NOISE_EVENTS.length] : RULE_EVENTS[(Math.floor(i / members.length) * 7 + i * 13) % RULE_EVENTS.length];
    return {
      path: `/priv/v2/apps/${tenant.appkey}/events`,
      body: { events: { name: event, user_id: user, context: { amount: i % 20, channel: CHANNELS[i % CHANNELS.length], ref: `E-${run}-${i}` } } },
    };
  };

  await load('warmup floor', { base: floor, op: 'send_transaction', users: floorMembers, seconds: opts.warmup });
  await load('warmup loyalist', { base: project, op: 'event', auth: core, users: members, seconds: opts.warmup });

  await load('floor send_transaction', { base: floor, op: 'send_transaction', users: floorMembers });
  await load('loyalist events', { base: project, op: 'event', auth: core, users: members });
  const half = Math.round(results['floor send_transaction'].rps / 2);
  await load('floor send_transaction, fixed rate', { base: floor, op: 'send_transaction', users: floorMembers, rate: half });
  await load('loyalist events, fixed rate', { base: project, op: 'event', auth: core, users: members, rate: half });

  // what the events did
  const check = new pg.Client({ connectionString: projectDb });
  await check.connect();
  const { rows } = await check.query(
    `SELECT (SELECT count(*) FROM member_events WHERE retailer_id = $1)::int AS events,
            (SELECT count(*) FROM rule_achievements WHERE retailer_id = $1)::int AS achievements,
            (SELECT coalesce(sum(achieved), 0) FROM member_behaviors WHERE retailer_id = $1)::int AS campaign_rows`,
    [tenant.retailer_id],
  ).catch(() => check.query(
    `SELECT (SELECT count(*) FROM member_events WHERE retailer_id = $1)::int AS events,
            (SELECT count(*) FROM rule_achievements WHERE retailer_id = $1)::int AS achievements`,
    [tenant.retailer_id],
  ));
  await check.end();

  const f = results['floor send_transaction'];
  const p = results['loyalist events'];
  const fr = results['floor send_transaction, fixed rate'];
  const pr = results['loyalist events, fixed rate'];
  const ratio = p.rps / f.rps;
  console.log('\nsummary');
  console.log(`floor send_transaction, ${connections} connections: ${f.rps}/s (p50 ${f.p50} ms, p99 ${f.p99} ms)`);
  console.log(`events throughput, ${connections} connections: loyalist ${p.rps} events/s (p50 ${p.p50} ms, p99 ${p.p99} ms) vs floor ${f.rps}/s = ${pct(ratio)} (target >= 70%: ${met(ratio >= 0.7)})`);
  console.log(`events p99 at ${half}/s offered: loyalist ${pr.p99} ms (p50 ${pr.p50} ms, ${pr.rps}/s done) vs floor ${fr.p99} ms (p50 ${fr.p50} ms)`);
  console.log(`after the runs: ${rows[0].events} events recorded, ${rows[0].achievements} rule achievements${rows[0].campaign_rows !== undefined ? `, ${rows[0].campaign_rows} campaign behaviours completed` : ''}`);
}
