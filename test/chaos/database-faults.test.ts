// Database faults under load, against real server processes: kill -9 of the
// server, pg_terminate_backend of its connections, and a whole PostgreSQL
// cluster (the test's own) stopped for 5 s. The process stays up, answers 503
// in the surface's envelope while the database is away, serves again
// afterwards, and every acknowledged deposit is in the ledger exactly once.
import { transact } from '../../src/db/unit-of-work.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { connectPostgres } from '../../src/db/connection.js';
import { migrate } from '../../src/db/index.js';
import type { Db } from '../../src/db/index.js';
import { createTenant, postgresDatabase, type TestTenant } from '../support/harness.js';
import { pointsProgram } from '../support/factories.js';
import { createCluster, startServer, type ServerProcess } from '../support/processes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Deposit {
  memberId: string;
  idempotencyId: string;
  amount: number;
  body: string;
}

interface Answer {
  status: number;
  ms: number;
  body: string;
  retryAfter: string | null;
}

/** A tenant with a points program and `count` members, made through the modules. */
async function program(db: Db, count: number) {
  const tenant = await createTenant(db);
  const points = await pointsProgram(db, tenant.retailer_id);
  const { createMember } = await import('../../src/modules/members/service.js');
  const members: string[] = [];
  await transact(db, async (tx) => {
    for (let i = 0; i < count; i++) members.push((await createMember(tx, tenant.actor, { email: `chaos.${i}.${randomUUID()}@example.com` })).id);
  });
  return { tenant, points, members };
}

/** The loads still running: a test that fails before stopping its load leaves none behind. */
const loads = new Set<{ stop(): Promise<void> }>();
after(async () => {
  for (const load of loads) await load.stop();
});

/** No load runs longer than this, whatever happens to its test. */
const LOAD_LIMIT_MS = 60_000;

/**
 * `workers` clients sending deposits, each with its own idempotency id, until
 * `stop()` (or LOAD_LIMIT_MS); every answer is kept, and the acknowledged (2xx) deposits.
 */
function depositLoad(server: () => ServerProcess, tenant: TestTenant, account: string, members: string[], workers = 8) {
  const acknowledged: Deposit[] = [];
  const unanswered: Deposit[] = [];
  const answers: Answer[] = [];
  let stopped = false;
  let n = 0;
  const deadline = Date.now() + LOAD_LIMIT_MS;
  const send = async (deposit: Deposit): Promise<Answer | undefined> => {
    const started = Date.now();
    try {
      const res = await fetch(`${server().url}/incentives/api/2.0/user_points/deposit`, {
        method: 'POST',
        headers: { authorization: tenant.connect, 'content-type': 'application/json' },
        body: deposit.body,
        signal: AbortSignal.timeout(15_000),
      });
      return { status: res.status, ms: Date.now() - started, body: await res.text(), retryAfter: res.headers.get('retry-after') };
    } catch {
      return undefined; // no answer: the process died, or the connection was refused
    }
  };
  const loops = Array.from({ length: workers }, async () => {
    while (!stopped && Date.now() < deadline) {
      const i = n++;
      const deposit: Deposit = { memberId: members[i % members.length], idempotencyId: `chaos-${i}-${randomUUID()}`, amount: (i % 7) + 1, body: '' };
      deposit.body = JSON.stringify({
        retailer_id: tenant.retailer_id,
        user_id: deposit.memberId,
        deposit_details: [{ point_account_id: account, amount: deposit.amount, idempotency_id: deposit.idempotencyId }],
      });
      const answer = await send(deposit);
      if (!answer) {
        unanswered.push(deposit);
        await sleep(20);
        continue;
      }
      answers.push(answer);
      if (answer.status < 300) acknowledged.push(deposit);
      else await sleep(20);
    }
  });
  const load = {
    acknowledged,
    unanswered,
    answers,
    send,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      loads.delete(load);
    },
  };
  loads.add(load);
  return load;
}

/** Every acknowledged deposit is in the ledger exactly once, and every balance is the sum of its ledger. */
async function assertLedger(db: Db, retailerId: string, acknowledged: Deposit[]) {
  const client = db;
  const entries = await client
    .selectFrom('point_ledger')
    .select(['idempotency_id'])
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('retailer_id', '=', retailerId)
    .where('idempotency_id', 'is not', null)
    .groupBy('idempotency_id')
    .execute();
  const count = new Map(entries.map((e) => [e.idempotency_id!, Number(e.n)]));
  const missing = acknowledged.filter((d) => count.get(d.idempotencyId) !== 1);
  assert.deepEqual(missing.map((d) => [d.idempotencyId, count.get(d.idempotencyId) ?? 0]), [], 'every acknowledged deposit once');
  assert.ok([...count.values()].every((c) => c === 1), 'no deposit applied twice');
  const mismatched = await client
    .selectFrom('member_point_accounts as a')
    .select(['a.member_id', 'a.available_balance as balance'])
    .select((eb) =>
      eb
        .selectFrom('point_ledger as l')
        .select((l) => l.fn.coalesce(l.fn.sum<string>('l.amount'), l.val('0')).as('sum'))
        .whereRef('l.member_id', '=', 'a.member_id')
        .whereRef('l.point_account_id', '=', 'a.point_account_id')
        .as('sum'),
    )
    .where('a.retailer_id', '=', retailerId)
    .execute();
  for (const row of mismatched) assert.equal(Number(row.sum), Number(row.balance), `member ${row.member_id}: ledger sum = balance`);
}

/** A 503 in the Connect envelope, with a code and a retry hint. */
function assertUnavailable(answer: Answer) {
  assert.equal(answer.status, 503, answer.body);
  const json = JSON.parse(answer.body);
  assert.equal(json.status, 'error');
  assert.equal(json.errors.code, 'service_unavailable', answer.body);
  assert.ok(Number(answer.retryAfter) > 0, `Retry-After: ${answer.retryAfter}`);
}

/** How long until the server answers a deposit 2xx again. */
async function timeToFirstSuccess(load: ReturnType<typeof depositLoad>, tenant: TestTenant, account: string, member: string, limitMs = 20_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    const body = JSON.stringify({ retailer_id: tenant.retailer_id, user_id: member, deposit_details: [{ point_account_id: account, amount: 1 }] });
    const answer = await load.send({ memberId: member, idempotencyId: '', amount: 1, body });
    if (answer && answer.status === 200) return Date.now() - started;
    await sleep(50);
  }
  throw new Error(`no 2xx within ${limitMs} ms`);
}

/** How many answers of each status. */
function summary(answers: Answer[]): string {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return JSON.stringify(counts);
}

describe('database faults under load', () => {
  describe('on the shared PostgreSQL server', () => {
    let database: Awaited<ReturnType<typeof postgresDatabase>>;
    let setup: Awaited<ReturnType<typeof program>>;

    before(async () => {
      database = await postgresDatabase();
      setup = await program(database.db, 20);
    });

    it('loses no acknowledged deposit to kill -9, and re-sent acknowledged deposits change nothing', async () => {
      const env = { DATABASE_URL: database.url, WORKER: 'false' };
      let server = await startServer(env);
      const load = depositLoad(() => server, setup.tenant, setup.points.spendable, setup.members, 16);
      await sleep(1500);
      await server.kill('SIGKILL');
      await load.stop();
      assert.ok(load.acknowledged.length > 50, `${load.acknowledged.length} deposits acknowledged before the kill`);

      server = await startServer(env);
      await assertLedger(database.db, setup.tenant.retailer_id, load.acknowledged);
      const balancesOf = () => database.db.selectFrom('member_point_accounts').select(['member_id', 'available_balance']).where('retailer_id', '=', setup.tenant.retailer_id).orderBy('member_id').execute();
      const balances = await balancesOf();
      const resent = await Promise.all(load.acknowledged.slice(0, 200).map((d) => load.send(d)));
      assert.ok(resent.every((r) => r?.status === 200), 're-sent acknowledged deposits are answered 200');
      assert.deepEqual(await balancesOf(), balances, 're-sent acknowledged deposits change nothing');
      // what got no answer may or may not have been applied: a retry applies it at most once
      const retried = await Promise.all(load.unanswered.map((d) => load.send(d)));
      assert.ok(retried.every((r) => r?.status === 200), 'retries of unanswered deposits are answered 200');
      await assertLedger(database.db, setup.tenant.retailer_id, [...load.acknowledged, ...load.unanswered]);
      console.log(`kill -9: ${load.acknowledged.length} acknowledged, ${load.unanswered.length} unanswered, all in the ledger once after restart`);
      await server.kill();
    });

    it("survives pg_terminate_backend of its connections under load: 503s in the envelope, never an exit, and serves again", async () => {
      const appName = `loyalist-chaos-${randomUUID().slice(0, 8)}`;
      const server = await startServer({ DATABASE_URL: database.url, PGAPPNAME: appName });
      const load = depositLoad(() => server, setup.tenant, setup.points.spendable, setup.members, 8);
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      let terminated = 0;
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        const { rows } = await admin.query('SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE application_name = $1', [appName]);
        terminated += rows.filter((r) => r.t).length;
        await sleep(100);
      }
      await admin.end();
      const recovery = await timeToFirstSuccess(load, setup.tenant, setup.points.spendable, setup.members[0]);
      await sleep(300);
      await load.stop();

      assert.equal(server.child.exitCode, null, 'the server is still running');
      assert.ok(terminated >= 10, `${terminated} backends terminated`);
      assert.equal(load.unanswered.length, 0, 'every request was answered');
      for (const answer of load.answers.filter((a) => a.status >= 300)) assertUnavailable(answer);
      assert.ok(load.answers.some((a) => a.status === 200), 'deposits went through between the terminations');
      await assertLedger(database.db, setup.tenant.retailer_id, load.acknowledged);
      console.log(`pg_terminate_backend: ${terminated} backends terminated in 3 s; answers ${summary(load.answers)}; first 2xx ${recovery} ms after the last termination`);
      await server.kill();
    });
  });

  describe("on a PostgreSQL cluster of the test's own, stopped for 5 s", () => {
    it('answers 503 in the envelope within the timeouts while it is down, and serves again when it is back', async () => {
      const cluster = await createCluster();
      const admin = new pg.Client({ connectionString: cluster.url });
      await admin.connect();
      await admin.query('CREATE DATABASE loyalist');
      await admin.end();
      const url = cluster.url.replace(/\/postgres$/, '/loyalist');
      const handle = connectPostgres(url, 2);
      await migrate(handle.db);
      const setup = await program(handle.db, 10);
      await handle.close();

      const server = await startServer({ DATABASE_URL: url, PRIVACY_GRACE_SECONDS: '0' });
      const load = depositLoad(() => server, setup.tenant, setup.points.spendable, setup.members, 8);
      await sleep(1000);
      const beforeOutage = load.answers.length;
      cluster.stop('fast');
      const downAt = Date.now();
      await sleep(1000);
      const ready = await fetch(`${server.url}/readyz`);
      const pos = await fetch(`${server.url}/api/2.0/lookup`, {
        method: 'POST',
        headers: { authorization: setup.tenant.pos, 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: setup.tenant.retailer_id, store_id: setup.tenant.store_id, request_payload: { identifier: setup.members[0] } }),
      });
      await sleep(Math.max(0, 5000 - (Date.now() - downAt)));
      const during = load.answers.slice(beforeOutage);
      cluster.start();
      const recovery = await timeToFirstSuccess(load, setup.tenant, setup.points.spendable, setup.members[0]);
      await sleep(500);
      await load.stop();

      assert.equal(server.child.exitCode, null, 'the server is still running');
      assert.equal(ready.status, 503, '/readyz while the database is down');
      assert.equal(pos.status, 503);
      const posJson = (await pos.json()) as any;
      assert.deepEqual([posJson.status, posJson.payload, posJson.errors[0].code], ['error', null, 'service_unavailable'], 'the POS envelope');
      const refused = during.filter((a) => a.status !== 200);
      assert.ok(refused.length > 20, `${refused.length} answers while down`);
      for (const answer of refused) assertUnavailable(answer);
      const slowest = Math.max(...refused.map((a) => a.ms));
      assert.ok(slowest < 5000, `no request hangs: the slowest 503 took ${slowest} ms`);
      assert.equal(load.unanswered.length, 0, 'every request was answered');

      // the worker polled through the outage: a privacy export filed now is carried out
      const base = `/priv/v1/apps/${setup.tenant.appkey}/users/${setup.members[1]}/privacy/export`;
      const filed = await fetch(`${server.url}${base}`, { method: 'POST', headers: { authorization: setup.tenant.core } });
      assert.equal(filed.status, 200, await filed.text());
      let status: string | undefined;
      for (let i = 0; i < 100 && status !== 'completed'; i++) {
        await sleep(100);
        const listed = (await (await fetch(`${server.url}${base}`, { headers: { authorization: setup.tenant.core } })).json()) as any;
        status = listed.gdpr_user_data?.[0]?.status;
      }
      assert.equal(status, 'completed', 'the worker runs jobs after the outage');

      const check = connectPostgres(url, 2);
      await assertLedger(check.db, setup.tenant.retailer_id, load.acknowledged);
      await check.close();
      console.log(`outage: ${during.length} answers in 5 s down (${summary(during)}), slowest ${slowest} ms; first 2xx ${recovery} ms after the cluster was back; ${load.acknowledged.length} acknowledged deposits all in the ledger`);
      await server.kill();
    });
  });
});
