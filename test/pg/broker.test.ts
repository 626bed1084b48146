// The NATS JetStream publisher (src/jobs/broker.ts) against a real nats-server
// the test starts on a free port: every outbox event arrives on
// loyalist.<retailer>.<type> with Nats-Msg-Id (its event id) and the
// event's payload, in position order; a broker stopped for a few seconds loses
// nothing, the API answering meanwhile, and nothing arrives twice.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AckPolicy, connect, DeliverPolicy, StringCodec, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { sql } from 'kysely';
import { startPublisher, type Publisher } from '../../src/jobs/broker.js';
import { pointsProgram, type PointsProgram } from '../support/factories.js';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
const codec = StringCodec();

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** A nats-server with JetStream on its own port and store directory (kept across restarts). */
class Broker {
  private child?: ChildProcess;
  constructor(readonly port: number, readonly store: string) {}
  get url() {
    return `nats://127.0.0.1:${this.port}`;
  }
  async start() {
    this.child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.store], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await (await connect({ servers: this.url, timeout: 500 })).close();
        return;
      } catch {
        assert.ok(Date.now() < deadline, 'nats-server did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

describe('publishing the outbox to NATS JetStream', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let p: PointsProgram;
  let broker: Broker;
  let store: string;
  let publisher: Publisher | undefined;
  const silent = pino({ level: 'silent' });
  const stream = `LOYALIST_TEST_${process.pid}`;

  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    p = await pointsProgram(t.db, tenant.retailer_id);
    store = mkdtempSync(join(tmpdir(), 'loyalist-nats-'));
    broker = new Broker(await freePort(), store);
    await broker.start();
  });
  after(async () => {
    await publisher?.stop();
    await broker.stop();
    rmSync(store, { recursive: true, force: true });
  });

  const deposit = (userId: string, amount: number) =>
    call(t.app, { method: 'POST', url: '/incentives/api/2.0/user_points/deposit', headers: { authorization: tenant.connect }, payload: { retailer_id: tenant.retailer_id, user_id: userId, deposit_details: [{ point_account_id: p.spendable, amount }] } });

  /** Every message of the stream, with its subject, Nats-Msg-Id and body, in stream order. */
  async function messages(nc: NatsConnection) {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(stream);
    const consumer = await jsm.consumers.add(stream, { ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
    const c = await nc.jetstream().consumers.get(stream, consumer.name);
    const out: { subject: string; msgId: string | undefined; body: any }[] = [];
    if (info.state.messages === 0) return out;
    const batch = await c.fetch({ max_messages: info.state.messages, expires: 2000 });
    for await (const m of batch) {
      out.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), body: JSON.parse(codec.decode(m.data)) });
      if (out.length === info.state.messages) break;
    }
    return out;
  }

  /** The events the outbox holds for this retailer, in position order. */
  const recorded = async () =>
    (await sql<{ id: string; type: string; payload: Record<string, unknown> }>`SELECT id, type, payload FROM domain_events WHERE retailer_id = ${tenant.retailer_id} ORDER BY position`.execute(t.db)).rows;

  it('publishes each event on loyalist.<retailer>.<type> with Nats-Msg-Id, in order; a broker stopped for a while loses nothing', async () => {
    // the publisher starts from now: events recorded before it are not its to send
    publisher = startPublisher(t.db, silent, { url: broker.url, stream, pollMs: 20 });
    await publisher.drain();
    const before = (await recorded()).length;
    const member = await createMemberViaApi(t.app, tenant);
    for (const amount of [1, 2, 3]) assert.equal((await deposit(member.id, amount)).status, 200);
    await publisher.drain();

    // the broker goes away; the API answers on and the events wait in the outbox
    await broker.stop();
    for (const amount of [4, 5]) assert.equal((await deposit(member.id, amount)).status, 200);
    // (the publisher tries meanwhile and fails: its events stay in the outbox)
    await publisher.drain().catch(() => {});
    await new Promise((r) => setTimeout(r, 1500));
    await broker.start();

    const events = (await recorded()).slice(before);
    assert.deepEqual(events.map((e) => e.type), ['member.created', 'points.deposited', 'points.deposited', 'points.deposited', 'points.deposited', 'points.deposited']);
    const nc = await connect({ servers: broker.url });
    try {
      const deadline = Date.now() + 15_000;
      let got = await messages(nc);
      while (got.length < events.length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        got = await messages(nc);
      }
      // exactly the outbox's events, once each, in position order
      assert.deepEqual(got.map((m) => m.msgId), events.map((e) => e.id));
      for (const [i, m] of got.entries()) {
        assert.equal(m.subject, `loyalist.${tenant.retailer_id}.${events[i].type}`);
        assert.equal(m.body.id, events[i].id);
        assert.equal(m.body.retailer_id, tenant.retailer_id);
        assert.deepEqual(m.body.data, events[i].payload);
      }
      assert.deepEqual(got.filter((m) => m.body.type === 'points.deposited').map((m) => m.body.data.amount), ['1', '2', '3', '4', '5']);
    } finally {
      await nc.close();
    }
  });

  it('sends an event again without a duplicate in the stream: JetStream drops the same Nats-Msg-Id', async () => {
    const nc = await connect({ servers: broker.url });
    try {
      const before = (await messages(nc)).length;
      // the cursor moved back by one, as after a crash between publishing and committing
      await sql`UPDATE outbox_cursors SET position = position - 1 WHERE consumer = 'nats'`.execute(t.db);
      await publisher!.drain();
      const after = await messages(nc);
      assert.equal(after.length, before);
      assert.equal(new Set(after.map((m) => m.msgId)).size, after.length);
    } finally {
      await nc.close();
    }
  });
});
