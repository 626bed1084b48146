// Read replicas (docs/scaling.md): a PostgreSQL primary and a streaming replica of the test's
// own (pg_basebackup -R), and a server with DATABASE_URL on the primary and
// DATABASE_REPLICA_URL on the replica. The read-only routes are answered from the replica
// (with its replay paused, a change made on the primary by another path is not seen through
// them), except for a member this server has just written (read-your-writes); a replica
// further behind than REPLICA_MAX_LAG_MS, or stopped, leaves every read to the primary, and
// no read fails. The lag is reported, not asserted.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { connectPostgres, type DatabaseHandle } from '../../src/db/connection.js';
import { migrate } from '../../src/db/index.js';
import { transact } from '../../src/db/unit-of-work.js';
import { changePoints } from '../../src/flows/points.js';
import { createMember } from '../../src/modules/members/service.js';
import { parseAmount, toJson } from '../../src/modules/points/amount.js';
import { memberBalances } from '../../src/modules/points/queries.js';
import { pointsProgram, type PointsProgram } from '../support/factories.js';
import { createTenant, type TestTenant } from '../support/harness.js';
import { createCluster, createReplica, startServer, type Cluster, type ServerProcess } from '../support/processes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ADMIN = 'Bearer chaos-admin-token-0123456789';

interface Request {
  method: 'GET' | 'POST';
  path: string;
  auth: string;
  body?: unknown;
}
interface Answer {
  status: number;
  json: any;
  /** Where the server answered it: an outcome of loyalist_replica_reads_total, or `not routed` (the primary, as any other route). */
  by: string;
}

/** loyalist_replica_reads_total of the server, by outcome. */
async function outcomes(server: ServerProcess): Promise<Record<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^loyalist_replica_reads_total\{outcome="(\w+)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]));
}

async function metric(server: ServerProcess, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1]);
}

/** Sends one request (nothing else runs on this server meanwhile) and tells where it was answered. */
async function send(server: ServerProcess, request: Request): Promise<Answer> {
  const before = await outcomes(server);
  const res = await fetch(`${server.url}${request.path}`, {
    method: request.method,
    headers: { authorization: request.auth, ...(request.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: request.body === undefined ? undefined : JSON.stringify(request.body),
  });
  const json = await res.json();
  const after = await outcomes(server);
  const counted = Object.keys(after).filter((k) => after[k] !== (before[k] ?? 0));
  assert.ok(counted.length <= 1, `one outcome per request: ${counted}`);
  return { status: res.status, json, by: counted[0] ?? 'not routed' };
}

/** `check` answers true within `ms`; answers how long it took. */
async function eventually(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
  return Date.now() - started;
}

describe('read replicas', () => {
  let primary: Cluster;
  let replica: Cluster;
  let url: string;
  let replicaUrl: string;
  let handle: DatabaseHandle;
  /** Connections of the test's own to the primary and the replica (to pause and resume its replay). */
  let onPrimary: pg.Client;
  let standby: pg.Client;
  let server: ServerProcess;
  let tenant: TestTenant;
  let points: PointsProgram;
  /** Members enrolled on the primary by this test (another path than the server). */
  const members: { id: string; email: string; externalId: string }[] = [];
  let userOffer: string;
  let offer: string;

  const inDatabase = (cluster: Cluster) => cluster.url.replace(/\/postgres$/, '/loyalist');
  const connect = (path: string, body: Record<string, unknown>): Request => ({ method: 'POST', path, auth: tenant.connect, body: { retailer_id: tenant.retailer_id, ...body } });
  const core = (path: string, version = 'v1'): Request => ({ method: 'GET', path: `/priv/${version}/apps/${tenant.appkey}${path}`, auth: tenant.core });
  const pos = (path: string, payload: Record<string, unknown>): Request => ({ method: 'POST', path: `/api/2.0/${path}`, auth: tenant.pos, body: { store_id: tenant.store_id, client_id: tenant.retailer_id, request_payload: payload } });
  const balance = (id: string) => connect('/incentives/api/2.0/user_points/balance', { user_id: id });
  const deposit = (id: string, amount: number) =>
    connect('/incentives/api/2.0/user_points/deposit', { user_id: id, deposit_details: [{ point_account_id: points.spendable, amount, idempotency_id: randomUUID() }] });
  /** A deposit made on the primary through the modules, not through the server. */
  const depositElsewhere = (id: string, amount: number) => changePoints(handle.db, tenant.actor, id, [{ kind: 'deposit', point_account_id: points.spendable, amount: parseAmount(amount), idempotency_id: randomUUID() }], { allowPartialSuccess: false });
  const total = (answer: Answer) => answer.json.payload.summary.total_points;
  const replayPaused = async (paused: boolean) => {
    await standby.query(paused ? 'SELECT pg_wal_replay_pause()' : 'SELECT pg_wal_replay_resume()');
    await eventually('replay state', async () => (await standby.query('SELECT pg_get_wal_replay_pause_state() AS state')).rows[0].state === (paused ? 'paused' : 'not paused'));
  };
  /** The replica has replayed everything the primary has written so far. */
  const replicated = async () => {
    const { lsn } = (await onPrimary.query('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0];
    return eventually('replication', async () => (await standby.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [lsn])).rows[0].done);
  };
  /** Waits until the server reads this member from the replica again (it wrote it a moment ago). */
  const readFromReplica = (on: ServerProcess, id: string) => eventually(`member ${id} read from the replica`, async () => (await send(on, balance(id))).by === 'replica');
  const connectTo = async (cluster: Cluster) => {
    const client = new pg.Client({ connectionString: cluster.url });
    // a cluster the test stops ends the connection: not an error of the test
    client.on('error', () => {});
    await client.connect();
    return client;
  };

  before(async () => {
    primary = await createCluster();
    onPrimary = await connectTo(primary);
    await onPrimary.query('CREATE DATABASE loyalist');
    replica = await createReplica(primary);
    [url, replicaUrl] = [inDatabase(primary), inDatabase(replica)];
    handle = connectPostgres(url, 4);
    await migrate(handle.db);
    tenant = await createTenant(handle.db);
    points = await pointsProgram(handle.db, tenant.retailer_id);
    await transact(handle.db, async (tx) => {
      for (let i = 0; i < 4; i++) {
        const externalId = `R-${randomUUID()}`;
        const email = `replica.${i}.${randomUUID()}@example.com`;
        members.push({ id: (await createMember(tx, tenant.actor, { email, first_name: 'Rep', last_name: `Lica${i}`, identifiers: [{ external_id: externalId, external_id_type: 'loyalty' }] })).id, email, externalId });
      }
    });
    standby = await connectTo(replica);
    server = await startServer({ DATABASE_URL: url, DATABASE_REPLICA_URL: replicaUrl, REPLICA_MAX_LAG_MS: '60000', WORKER: 'false' });
    // an offer in the catalog and a user offer of the first member, through the server
    offer = randomUUID();
    const program = await fetch(`${server.url}/admin/tenants/${tenant.retailer_id}/program`, {
      method: 'PUT',
      headers: { authorization: ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ offers: [{ root_offer_id: offer, offer_type: 'fixed_amount_discount', amount: 2, internal_title: 'Replica Coffee' }] }),
    });
    assert.equal(program.status, 200, await program.text());
    const issued = await send(server, connect('/offers/api/2.0/offers/acquisition/issue', { user_ids: [members[0].id], offer_id: offer }));
    assert.equal(issued.status, 200, JSON.stringify(issued.json));
    userOffer = issued.json.payload.status_list[0].user_offer_id;
    await replicated();
    await readFromReplica(server, members[0].id);
  });
  after(async () => {
    await standby?.end().catch(() => {});
    await onPrimary?.end();
    await handle?.close();
  });

  it('names the replica in the start-up line, without credentials', () => {
    const line = server.logs.find((l) => l.msg === 'loyalist is serving')! as { database: Record<string, unknown> };
    assert.deepEqual(line.database.replica, { host: '127.0.0.1', port: replica.port, name: 'loyalist' });
  });

  it('answers every read-only route from the replica; a lookup with a basket, a dry run and writes from the primary', async () => {
    const [m] = members;
    const routed: [string, Request][] = [
      ['POS lookup without a basket', pos('lookup', { email: m.email })],
      ['Core profile', core(`/users/${m.id}`)],
      ['Core profile by external id', core(`/external/users/${m.externalId}`)],
      ['Core timeline', core(`/users/${m.id}/timelines/END_USER_MEMBER_STATEMENT`)],
      ['Core campaigns (the catalog)', core('/campaigns')],
      ["Core v1 member's campaigns", core(`/users/${m.id}/campaigns`)],
      ["Core v2 member's campaigns", core(`/users/${m.id}/campaigns`, 'v2')],
      ['Connect balance', balance(m.id)],
      ['Connect 1.0 balance', connect('/incentives/api/1.0/user_points/balance', { user_id: m.externalId })],
      ['Connect all balances', connect('/incentives/api/1.0/user_points/all_balances', { user_id: m.id })],
      ['Connect fetch_offer', connect('/offers/api/2.0/offers/fetch_offer', { offer_id: offer })],
      ['Connect fetch_offers_overview', connect('/offers/api/2.0/offers/fetch_offers_overview', {})],
      ['Connect fetch_offers_details', connect('/offers/api/2.0/offers/fetch_offers_details', {})],
      ['Connect get_user', connect('/offers/api/2.0/offers/get_user', { values: { user_id: m.id } })],
      ['Connect get_user_offers', connect('/offers/api/2.0/offers/get_user_offers', { user_id: m.id })],
      ['Connect get_user_offer_details', connect('/offers/api/2.0/offers/get_user_offer_details', { user_offer_id: userOffer })],
    ];
    for (const [name, request] of routed) {
      const answer = await send(server, request);
      assert.equal(answer.status, 200, `${name}: ${JSON.stringify(answer.json)}`);
      assert.equal(answer.by, 'replica', name);
    }
    // what a till reads for its basket, a dry run and a write stay on the primary
    const basket = { transaction_id: `T-${randomUUID()}`, subtotal: 9, items: [{ line_id: '1', item_id: 'coffee', quantity: 1, unit_price: 9, subtotal: 9 }] };
    const withBasket = await send(server, pos('lookup', { email: m.email, transaction: basket }));
    assert.equal(withBasket.status, 200, JSON.stringify(withBasket.json));
    assert.equal(withBasket.by, 'not routed');
    const dryRun = await send(server, { ...pos('lookup', { email: m.email }), body: { ...(pos('lookup', { email: m.email }).body as object), dry_run: true } });
    assert.equal(dryRun.status, 200, JSON.stringify(dryRun.json));
    assert.equal(dryRun.by, 'not routed');
    const written = await send(server, deposit(members[3].id, 1));
    assert.equal(written.status, 200, JSON.stringify(written.json));
    assert.equal(written.by, 'not routed');
  });

  it("reads a member this server wrote from the primary until the replica has it; another path's change only once replayed", async () => {
    const [, elsewhere, here] = members;
    await readFromReplica(server, here.id);
    const before = { elsewhere: total(await send(server, balance(elsewhere.id))), here: total(await send(server, balance(here.id))) };
    await replayPaused(true);
    try {
      // written on the primary, not through this server: the replica's answer is the one before
      await depositElsewhere(elsewhere.id, 10);
      const stale = await send(server, balance(elsewhere.id));
      assert.equal(stale.by, 'replica');
      assert.equal(total(stale), before.elsewhere, 'the replica, paused, has not replayed the deposit');
      // written through this server: its reads go to the primary, whatever key names the member
      const deposited = await send(server, deposit(here.id, 10));
      assert.equal(deposited.status, 200, JSON.stringify(deposited.json));
      const mine = await send(server, balance(here.id));
      assert.equal(mine.by, 'written');
      assert.equal(total(mine), before.here + 10);
      const lookup = await send(server, pos('lookup', { email: here.email }));
      assert.equal(lookup.by, 'written');
      assert.equal(lookup.json.payload[0].points, before.here + 10);
      const profile = await send(server, core(`/external/users/${here.externalId}`));
      assert.equal(profile.by, 'written');
      // a member the replica does not know yet (enrolled a moment ago elsewhere) is looked for on the primary
      const newcomer = `replica.new.${randomUUID()}@example.com`;
      await transact(handle.db, (tx) => createMember(tx, tenant.actor, { email: newcomer }));
      const found = await send(server, pos('lookup', { email: newcomer }));
      assert.equal(found.status, 200, JSON.stringify(found.json));
      assert.equal(found.by, 'failed', 'not found on the replica, found on the primary');
    } finally {
      await replayPaused(false);
    }
    const visibleAfter = await eventually('the deposit made elsewhere, through the replica', async () => total(await send(server, balance(elsewhere.id))) === before.elsewhere + 10);
    const backAfter = await readFromReplica(server, here.id);
    const again = await send(server, balance(here.id));
    assert.equal(total(again), before.here + 10, 'the replica has the deposit made through the server');
    console.log(`replica: after replay resumed, the change made elsewhere was visible through the replica in ${visibleAfter} ms; the member written through the server was read from the replica again ${backAfter} ms later`);
  });

  it('leaves every read to the primary while the replica is further behind than REPLICA_MAX_LAG_MS', async () => {
    const strict = await startServer({ DATABASE_URL: url, DATABASE_REPLICA_URL: replicaUrl, REPLICA_MAX_LAG_MS: '1000', WORKER: 'false' });
    try {
      const [, elsewhere] = members;
      await readFromReplica(strict, elsewhere.id);
      const before = total(await send(strict, balance(elsewhere.id)));
      await replayPaused(true);
      try {
        await depositElsewhere(elsewhere.id, 5);
        // once the watcher sees the replica more than 1 s behind the primary's position, reads leave it
        await eventually('reads leave the replica', async () => (await send(strict, balance(elsewhere.id))).by === 'behind', 10_000);
        const fresh = await send(strict, balance(elsewhere.id));
        assert.equal(fresh.by, 'behind');
        assert.equal(total(fresh), before + 5, 'answered from the primary');
        assert.ok((await metric(strict, 'loyalist_replica_lag_seconds')) > 1);
      } finally {
        await replayPaused(false);
      }
      await readFromReplica(strict, elsewhere.id);
    } finally {
      await strict.kill();
    }
  });

  it('reports the replication lag under writes (diagnostic), and the replica replays every write', async (t) => {
    const lags: number[] = [];
    const serverLag: number[] = [];
    const account = points.spendable;
    const sent = { n: 0 };
    let stop = false;
    const writers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const id = members[sent.n++ % members.length].id;
        const res = await fetch(`${server.url}/incentives/api/2.0/user_points/deposit`, {
          method: 'POST',
          headers: { authorization: tenant.connect, 'content-type': 'application/json' },
          body: JSON.stringify({ retailer_id: tenant.retailer_id, user_id: id, deposit_details: [{ point_account_id: account, amount: 1, idempotency_id: randomUUID() }] }),
        });
        assert.equal(res.status, 200, await res.text());
      }
    });
    try {
      const started = Date.now();
      while (Date.now() - started < 3000) {
        // from the primary's WAL position now to its replay on the replica
        const { lsn } = (await onPrimary.query('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0];
        const t0 = process.hrtime.bigint();
        while (!(await standby.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [lsn])).rows[0].done) await sleep(1);
        lags.push(Number(process.hrtime.bigint() - t0) / 1e6);
        serverLag.push(await metric(server, 'loyalist_replica_lag_seconds'));
        await sleep(100);
      }
      const replayLag = (await onPrimary.query(`SELECT coalesce(extract(epoch FROM replay_lag) * 1000, 0)::float AS ms FROM pg_stat_replication`)).rows[0]?.ms;
      stop = true;
      await Promise.all(writers);
      await replicated();
      const sorted = [...lags].sort((a, b) => a - b);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(1);
      const line = `replica lag under ${sent.n} deposits in 3 s (4 clients): WAL position to replay p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms over ${lags.length} samples; pg_stat_replication.replay_lag at the end ${replayLag} ms; the server's loyalist_replica_lag_seconds max ${Math.max(...serverLag).toFixed(2)} s (its watcher measures to 0.25 s)`;
      t.diagnostic(line);
      console.log(line);
      assert.ok(sent.n > 0 && lags.length > 0);
    } finally {
      stop = true;
    }
    // once replayed, every member's balance through the replica is the primary's
    for (const m of members) {
      await readFromReplica(server, m.id);
      const answer = await send(server, balance(m.id));
      assert.equal(answer.by, 'replica');
      assert.equal(total(answer), toJson((await memberBalances(handle.db, tenant.retailer_id, m.id)).total_points));
    }
  });

  it('keeps answering the routed reads from the primary while the replica is stopped, and reads from it again once it is back', async () => {
    const [m] = members;
    replica.stop('fast');
    const answers: Answer[] = [];
    for (let i = 0; i < 20; i++) {
      answers.push(await send(server, pos('lookup', { email: m.email })));
      answers.push(await send(server, core(`/users/${m.id}`)));
      await sleep(50);
    }
    assert.deepEqual(answers.filter((a) => a.status !== 200), [], 'no read fails');
    assert.ok(answers.every((a) => a.by === 'failed' || a.by === 'behind'), `answered from the primary: ${[...new Set(answers.map((a) => a.by))]}`);
    assert.equal(answers.at(-1)!.by, 'behind', 'once the watcher noticed, reads go to the primary at once');
    replica.start();
    await standby.end().catch(() => {});
    standby = await connectTo(replica);
    const back = await readFromReplica(server, m.id);
    console.log(`replica: read from again ${back} ms after it was started`);
  });
});
