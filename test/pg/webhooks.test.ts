// Outbound webhooks (migration 0012, src/modules/webhooks, src/jobs/webhooks.ts)
// against a real HTTP receiver on 127.0.0.1 and the dispatcher run in-process:
// the admin API's endpoints (secrets shown once, URL policy, 401/404), delivery
// of the events recorded after an endpoint's creation (Standard Webhooks 1.0
// signatures checked with the `standardwebhooks` library, the body true to the
// outbox, event_types respected), retries on the schedule (and Retry-After,
// timeouts), failure for good and redelivery, 410 disabling the endpoint,
// a receiver that is down and back (a member's events in order), secret
// rotation, the private-network guard, two dispatchers on one database, and
// tenants kept apart. (A server killed mid-delivery is test/chaos/webhook-processes.test.ts.)
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { sql } from 'kysely';
import type pg from 'pg';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { startDispatcher, type Dispatcher, type DispatcherOptions } from '../../src/jobs/webhooks.js';
import { transact } from '../../src/db/unit-of-work.js';
import { fanOut } from '../../src/modules/webhooks/deliveries.js';
import { pointsProgram, type PointsProgram } from '../support/factories.js';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

const silent = pino({ level: 'silent' });
/** Members in the two-dispatcher test (each makes two events). */
const MEMBERS = 30;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the receiver got: the raw body and headers, as a Standard Webhooks consumer sees them. */
interface Received {
  id: string;
  path: string;
  headers: Record<string, string>;
  raw: string;
  body: any;
  at: number;
}
interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Answer this much later (longer than the dispatcher's timeout: it gives up first). */
  delayMs?: number;
}

/** A real HTTP receiver on 127.0.0.1: records every request and answers what `answer` says for the n-th (0-based). */
class Receiver {
  received: Received[] = [];
  answer: (r: Received, n: number) => Answer = () => ({ status: 200 });
  port = 0;
  private server?: Server;

  /** Listens (again, on the same port once it has one). */
  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          body = undefined;
        }
        const r: Received = { id: headers['webhook-id'], path: req.url ?? '', headers, raw, body, at: Date.now() };
        const a = this.answer(r, this.received.push(r) - 1);
        const send = () => {
          if (!res.destroyed) res.writeHead(a.status, a.headers).end('{}');
        };
        if (a.delayMs) setTimeout(send, a.delayMs);
        else send();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  url(host = '127.0.0.1', path = '/hook') {
    return `http://${host}:${this.port}${path}`;
  }
  ids = () => this.received.map((r) => r.id);

  /** Stops listening and drops every connection (the dispatcher then meets a refused connection). */
  async close() {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

interface Tenant extends TestTenant {
  points: PointsProgram;
}

interface EventRow {
  position: string;
  id: string;
  type: string;
  member_id: string | null;
  occurred_at: Date;
  payload: Record<string, unknown>;
}

describe('outbound webhooks on PostgreSQL', () => {
  let t: TestApp;
  let admin: string;
  before(async () => {
    t = await postgresApp({ webhookHttpHosts: '127.0.0.1, localhost' });
    admin = `Bearer ${t.config.adminToken}`;
  });

  // each test's receivers, dispatchers and endpoints go when it ends, so that no
  // later dispatcher (of another test) sends anything to them
  const receivers: Receiver[] = [];
  const dispatchers: Dispatcher[] = [];
  const endpoints: { retailerId: string; id: string }[] = [];
  afterEach(async () => {
    for (const d of dispatchers.splice(0)) await d.stop();
    for (const e of endpoints.splice(0)) await adminCall('DELETE', `${hooks(e.retailerId)}/${e.id}`);
    for (const r of receivers.splice(0)) await r.close();
  });

  // --- the admin API
  const hooks = (retailerId: string) => `/admin/tenants/${retailerId}/webhooks`;
  const adminCall = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, authorization: string | null = admin) =>
    call(t.app, { method, url, headers: authorization ? { authorization } : {}, ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }) });
  const ok = <T extends { status: number; body: string; json: any }>(res: T, status = 200) => {
    assert.equal(res.status, status, res.body);
    return res.json;
  };
  /** Adds an endpoint (removed when the test ends); answers the 201's body, with its secret. */
  async function addEndpoint(tenant: TestTenant, body: Record<string, unknown>) {
    const created = ok(await adminCall('POST', hooks(tenant.retailer_id), body), 201);
    endpoints.push({ retailerId: tenant.retailer_id, id: created.id });
    return created as { id: string; secret: string; url: string; event_types: string[]; enabled: boolean; disabled_reason: string | null; description: string | null; updated_at: string };
  }
  const endpointOf = async (tenant: TestTenant, id: string) => ok(await adminCall('GET', `${hooks(tenant.retailer_id)}/${id}`));
  /** The endpoint's newest delivery, once `check` holds for it. */
  const firstDelivery = (tn: TestTenant, id: string, what: string, check: (d: any) => boolean, ms?: number): Promise<any> =>
    until(what, async () => {
      const [d] = await deliveriesOf(tn, id);
      return d && check(d) ? d : undefined;
    }, ms);
  const deliveriesOf = async (tenant: TestTenant, id: string, query = ''): Promise<any[]> => ok(await adminCall('GET', `${hooks(tenant.retailer_id)}/${id}/deliveries${query}`)).deliveries;

  // --- the receiver and the dispatcher
  async function receiver(answer?: Receiver['answer']) {
    const r = new Receiver();
    if (answer) r.answer = answer;
    receivers.push(r);
    return r.start();
  }
  function dispatch(options: Partial<DispatcherOptions> = {}) {
    const d = startDispatcher(t.db, silent, { retrySchedule: [1, 1, 1], timeoutMs: 2000, allowPrivate: true, pollMs: 20, ...options });
    dispatchers.push(d);
    return d;
  }
  /** Polls until `check` answers something truthy; fails with `what` after `ms`. */
  async function until<T>(what: string, check: () => T | Promise<T>, ms = 20_000): Promise<NonNullable<T>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await check();
      if (value) return value;
      assert.ok(Date.now() < deadline, `timed out after ${ms} ms waiting for ${what}`);
      await sleep(20);
    }
  }

  // --- events, made through the real API and read back from the outbox
  async function tenant(): Promise<Tenant> {
    const tn = await createTenant(t.db, `Webhooks ${randomBytes(3).toString('hex')}`);
    return { ...tn, points: await pointsProgram(t.db, tn.retailer_id) };
  }
  /** Enrols a member (Core API): member.created. */
  const enrol = (tn: Tenant) => createMemberViaApi(t.app, tn);
  /** Deposits points (Connect API): points.deposited. */
  async function deposit(tn: Tenant, userId: string, amount: number) {
    const res = await call(t.app, {
      method: 'POST',
      url: '/incentives/api/2.0/user_points/deposit',
      headers: { authorization: tn.connect },
      payload: { retailer_id: tn.retailer_id, culture: 'en-US', user_id: userId, deposit_details: [{ point_account_id: tn.points.spendable, amount }] },
    });
    assert.equal(res.status, 200, res.body);
  }
  /** The retailer's outbox events (of one member), in position order. */
  async function eventsOf(tn: TestTenant, memberId?: string): Promise<EventRow[]> {
    const byMember = memberId ? sql`AND member_id = ${memberId}` : sql``;
    return (await sql<EventRow>`SELECT position::text AS position, id, type, member_id, occurred_at, payload FROM domain_events WHERE retailer_id = ${tn.retailer_id} ${byMember} ORDER BY position`.execute(t.db)).rows;
  }
  /** Writes a member.tag_added event in a transaction of the test's own (raw SQL, as the outbox writes it). */
  async function rawEvent(client: pg.PoolClient | pg.Pool, tn: TestTenant, memberId: string | null = randomUUID()): Promise<{ id: string; position: string }> {
    const id = randomUUID();
    const { rows } = await client.query(
      `INSERT INTO domain_events (id, retailer_id, member_id, type, version, occurred_at, payload) VALUES ($1, $2, $3, 'member.tag_added', 1, now(), $4) RETURNING position::text AS position`,
      [id, tn.retailer_id, memberId, JSON.stringify({ tag: 'raw', count: 1, expires_at: null })],
    );
    return { id, position: rows[0].position };
  }
  /** A counter's value at /metrics. */
  async function metric(line: string): Promise<number> {
    const res = await call(t.app, { method: 'GET', url: '/metrics' });
    assert.equal(res.status, 200);
    const found = res.body.split('\n').find((l) => l.startsWith(`${line} `));
    return found ? Number(found.slice(line.length + 1)) : 0;
  }
  /** Verifies with the standardwebhooks library; answers the error's message, or null when it verifies. */
  function refusal(secret: string, r: Received): string | null {
    try {
      new Webhook(secret).verify(r.raw, r.headers);
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  }

  describe('endpoints through the admin API', () => {
    // the CRUD surface: the secret shown once and random, never again; changes, removal, 404s
    it('adds, lists, shows, changes and removes an endpoint; the secret appears only in the 201', async () => {
      const tn = await tenant();
      const a = await addEndpoint(tn, { url: 'http://127.0.0.1:9/a', event_types: ['points.deposited', 'member.created'], description: 'CRM' });
      assert.deepEqual(Object.keys(a).sort(), ['created_at', 'description', 'disabled_reason', 'enabled', 'event_types', 'id', 'retailer_id', 'secret', 'updated_at', 'url']);
      assert.equal(a.url, 'http://127.0.0.1:9/a');
      assert.deepEqual([...a.event_types].sort(), ['member.created', 'points.deposited']);
      assert.equal(a.description, 'CRM');
      assert.equal(a.enabled, true);
      assert.equal(a.disabled_reason, null);
      assert.match(a.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
      const key = Buffer.from(a.secret.slice('whsec_'.length), 'base64');
      assert.equal(key.toString('base64'), a.secret.slice('whsec_'.length), 'the secret is canonical base64');
      assert.ok(key.length >= 24, `the secret holds ${key.length} bytes`);
      // the library accepts it as a key
      assert.doesNotThrow(() => new Webhook(a.secret));
      const b = await addEndpoint(tn, { url: 'https://hooks.example.com/loyalty' });
      assert.deepEqual(b.event_types, []);
      assert.equal(b.description, null);
      assert.notEqual(a.secret, b.secret);

      const list = await adminCall('GET', hooks(tn.retailer_id));
      assert.deepEqual(ok(list).webhooks.map((w: any) => w.id), [a.id, b.id]);
      const one = await adminCall('GET', `${hooks(tn.retailer_id)}/${a.id}`);
      assert.equal(ok(one).id, a.id);
      for (const res of [list, one]) {
        assert.ok(!res.body.includes(a.secret.slice(6)) && !res.body.includes(b.secret.slice(6)), 'no secret is shown again');
        assert.doesNotMatch(res.body, /"secrets?"|whsec_/);
      }

      const changed = ok(await adminCall('PATCH', `${hooks(tn.retailer_id)}/${a.id}`, { url: 'https://crm.example.com/in', event_types: ['tier.changed'], description: 'CRM, tiers' }));
      assert.deepEqual([changed.url, changed.event_types, changed.description, changed.enabled], ['https://crm.example.com/in', ['tier.changed'], 'CRM, tiers', true]);
      assert.ok(Date.parse(changed.updated_at) >= Date.parse(a.updated_at));
      const off = ok(await adminCall('PATCH', `${hooks(tn.retailer_id)}/${a.id}`, { enabled: false }));
      assert.equal(off.enabled, false);
      assert.match(off.disabled_reason, /admin/);
      const on = ok(await adminCall('PATCH', `${hooks(tn.retailer_id)}/${a.id}`, { enabled: true }));
      assert.deepEqual([on.enabled, on.disabled_reason, on.url], [true, null, 'https://crm.example.com/in']);
      assert.deepEqual(await endpointOf(tn, a.id), on);
      // a null description clears it; an absent one leaves it
      assert.equal(ok(await adminCall('PATCH', `${hooks(tn.retailer_id)}/${a.id}`, { enabled: true })).description, 'CRM, tiers');
      const cleared = ok(await adminCall('PATCH', `${hooks(tn.retailer_id)}/${a.id}`, { description: null }));
      assert.deepEqual([cleared.description, cleared.url], [null, 'https://crm.example.com/in']);

      assert.deepEqual(ok(await adminCall('DELETE', `${hooks(tn.retailer_id)}/${a.id}`)), { status: 'ok' });
      assert.equal((await adminCall('GET', `${hooks(tn.retailer_id)}/${a.id}`)).status, 404);
      assert.equal((await adminCall('DELETE', `${hooks(tn.retailer_id)}/${a.id}`)).status, 404);
      assert.deepEqual(ok(await adminCall('GET', hooks(tn.retailer_id))).webhooks.map((w: any) => w.id), [b.id]);

      // unknown ids: the endpoint, the retailer, an event to redeliver
      const unknown = `${hooks(tn.retailer_id)}/${randomUUID()}`;
      for (const [method, url, payload] of [
        ['GET', unknown],
        ['PATCH', unknown, { enabled: false }],
        ['DELETE', unknown],
        ['POST', `${unknown}/rotate_secret`, {}],
        ['GET', `${unknown}/deliveries`],
        ['POST', `${hooks(tn.retailer_id)}/${b.id}/deliveries/${randomUUID()}/retry`],
        ['GET', hooks(randomUUID())],
        ['POST', hooks(randomUUID()), { url: 'https://hooks.example.com/x' }],
      ] as const) {
        const res = await adminCall(method, url, payload);
        assert.equal(res.status, 404, `${method} ${url}: ${res.body}`);
        assert.equal(res.json.errors.code, 'not_found');
      }
      assert.equal((await adminCall('GET', `${hooks(tn.retailer_id)}/not-a-uuid`)).status, 400);
    });

    // the URL policy (https, http only to WEBHOOK_HTTP_HOSTS, no credentials) and the event type list
    it('refuses an http URL to a host not allowed, other schemes, credentials in the URL and unknown event types', async () => {
      const tn = await tenant();
      for (const url of ['http://example.com/hook', 'http://10.0.0.5/hook', 'ftp://127.0.0.1/hook', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url', 'https://user:pw@hooks.example.com/x', 'ws://127.0.0.1/x']) {
        const res = await adminCall('POST', hooks(tn.retailer_id), { url });
        assert.ok([400, 422].includes(res.status), `${url}: ${res.status} ${res.body}`);
        assert.match(res.json.errors.message, /url/, url);
      }
      for (const body of [{ url: 'https://hooks.example.com/x', event_types: ['no.such_type'] }, {}, { url: '' }]) {
        const res = await adminCall('POST', hooks(tn.retailer_id), body);
        assert.ok([400, 422].includes(res.status), `${JSON.stringify(body)}: ${res.status} ${res.body}`);
      }
      assert.deepEqual(ok(await adminCall('GET', hooks(tn.retailer_id))).webhooks, [], 'nothing was added');

      // a change is held to the same rules, and a refused one changes nothing
      const e = await addEndpoint(tn, { url: 'https://hooks.example.com/x' });
      for (const body of [{ url: 'http://example.com/hook' }, { url: 'ftp://127.0.0.1/' }, { event_types: ['no.such_type'] }]) {
        const res = await adminCall('PATCH', `${hooks(tn.retailer_id)}/${e.id}`, body);
        assert.ok([400, 422].includes(res.status), `${JSON.stringify(body)}: ${res.status} ${res.body}`);
      }
      const now = await endpointOf(tn, e.id);
      assert.deepEqual([now.url, now.event_types], ['https://hooks.example.com/x', []]);
      // http to an allowed host, by name or address
      assert.equal((await addEndpoint(tn, { url: 'http://LOCALHOST:8080/in' })).url, 'http://localhost:8080/in');
    });

    // every webhook route is behind the admin token
    it('answers 401 without the admin token, with a wrong one or with a retailer credential', async () => {
      const tn = await tenant();
      const e = await addEndpoint(tn, { url: 'https://hooks.example.com/x' });
      const base = `${hooks(tn.retailer_id)}/${e.id}`;
      const routes = [
        ['POST', hooks(tn.retailer_id), { url: 'https://hooks.example.com/y' }],
        ['GET', hooks(tn.retailer_id)],
        ['GET', base],
        ['PATCH', base, { enabled: false }],
        ['DELETE', base],
        ['POST', `${base}/rotate_secret`, {}],
        ['GET', `${base}/deliveries`],
        ['POST', `${base}/deliveries/${randomUUID()}/retry`],
      ] as const;
      for (const [method, url, payload] of routes) {
        for (const authorization of [null, 'Bearer not-the-admin-token-0123456789', tn.core]) {
          const res = await adminCall(method, url, payload, authorization);
          assert.equal(res.status, 401, `${method} ${url} with ${authorization}: ${res.body}`);
        }
      }
      // nothing changed
      const still = await endpointOf(tn, e.id);
      assert.equal(still.enabled, true);
      assert.equal(ok(await adminCall('GET', hooks(tn.retailer_id))).webhooks.length, 1);
    });
  });

  describe('delivery', () => {
    // the message: body true to the outbox, Standard Webhooks headers, event_types, nothing from before
    it('sends each event recorded after the endpoint was added, once, signed, with the outbox payload; only the subscribed types', async () => {
      const tn = await tenant();
      const before = await enrol(tn);
      await deposit(tn, before.id, 7);
      const r = await receiver();
      const deposits = await addEndpoint(tn, { url: r.url('127.0.0.1', '/deposits'), event_types: ['points.deposited'] });
      const all = await addEndpoint(tn, { url: r.url('127.0.0.1', '/all') });
      dispatch();
      const member = await enrol(tn);
      await deposit(tn, member.id, 25);
      const after = await eventsOf(tn, member.id);
      assert.deepEqual(after.map((e) => e.type), ['member.created', 'points.deposited']);
      const [created, deposited] = after;

      await until('3 deliveries', () => r.received.length >= 3);
      await sleep(300);
      const at = (path: string) => r.received.filter((x) => x.path === path);
      // the subscribed endpoint: only the deposit; the other one: both, in order; nothing from before either was added
      assert.deepEqual(at('/deposits').map((x) => x.id), [deposited.id]);
      assert.deepEqual(at('/all').map((x) => x.id), [created.id, deposited.id]);
      assert.equal(r.received.length, 3, 'each event once');
      assert.deepEqual((await deliveriesOf(tn, deposits.id)).map((d) => [d.event_id, d.status]), [[deposited.id, 'succeeded']]);
      assert.deepEqual((await deliveriesOf(tn, all.id)).map((d) => [d.event_id, d.status]), [[deposited.id, 'succeeded'], [created.id, 'succeeded']]);

      const msg = at('/deposits')[0];
      assert.deepEqual(Object.keys(msg.body), ['id', 'type', 'timestamp', 'retailer_id', 'data']);
      assert.deepEqual(msg.body, { id: deposited.id, type: 'points.deposited', timestamp: deposited.occurred_at.toISOString(), retailer_id: tn.retailer_id, data: deposited.payload });
      assert.equal(msg.body.data.amount, '25');
      assert.equal(msg.headers['webhook-id'], deposited.id);
      assert.match(msg.headers['content-type'], /^application\/json/);
      assert.match(msg.headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/, 'one signature');
      assert.ok(Math.abs(Number(msg.headers['webhook-timestamp']) - Date.now() / 1000) < 60, 'webhook-timestamp is the attempt time in Unix seconds');
      // verified by the reference library: answers the parsed body
      assert.deepEqual(new Webhook(deposits.secret).verify(msg.raw, msg.headers), msg.body);
      assert.equal(refusal(all.secret, msg), 'No matching signature found', "another endpoint's secret does not verify");
      assert.ok(refusal(deposits.secret, { ...msg, raw: msg.raw.replace('"25"', '"2500"') }), 'a changed body does not verify');
      assert.ok(refusal(deposits.secret, { ...msg, headers: { ...msg.headers, 'webhook-id': randomUUID() } }), 'another id does not verify');
      for (const m of at('/all')) assert.equal(refusal(all.secret, m), null);
      const createdMsg = at('/all')[0];
      assert.deepEqual(createdMsg.body, { id: created.id, type: 'member.created', timestamp: created.occurred_at.toISOString(), retailer_id: tn.retailer_id, data: created.payload });
    });

    // the outbox read must not skip an event whose transaction took its id before another's but committed after it
    it('delivers an event committed after a younger transaction’s event (no position is skipped)', async () => {
      const tn = await tenant();
      const r = await receiver();
      const e = await addEndpoint(tn, { url: r.url() });
      dispatch();
      const [older, younger] = [await t.database.pool!.connect(), await t.database.pool!.connect()];
      try {
        await older.query('BEGIN');
        await older.query('SELECT pg_current_xact_id()'); // the older transaction: the lower id
        await younger.query('BEGIN');
        await younger.query('SELECT pg_current_xact_id()');
        const early = await rawEvent(younger, tn); // the younger one writes first: the lower position
        const late = await rawEvent(older, tn);
        assert.ok(Number(early.position) < Number(late.position));
        await older.query('COMMIT');
        await until('the older transaction’s event', () => r.ids().includes(late.id));
        await younger.query('COMMIT');
        await until('the younger transaction’s event, committed last with the lower position', () => r.ids().includes(early.id), 5000);
        assert.deepEqual([...r.ids()].sort(), [early.id, late.id].sort());
        await until('both recorded as delivered', async () => (await deliveriesOf(tn, e.id)).every((d) => d.status === 'succeeded'));
      } finally {
        await older.query('ROLLBACK').catch(() => {});
        await younger.query('ROLLBACK').catch(() => {});
        older.release();
        younger.release();
      }
    });

    // "the events recorded from now on": an event committed before the endpoint was added is not sent, whatever else is running
    it('does not send an event committed before the endpoint was added, even while an older transaction is open', async () => {
      const tn = await tenant();
      const r = await receiver();
      const open = await t.database.pool!.connect();
      try {
        await open.query('BEGIN');
        await open.query('SELECT pg_current_xact_id()'); // some other work, still running
        const before = await enrol(tn);
        const e = await addEndpoint(tn, { url: r.url() });
        await open.query('COMMIT');
        dispatch();
        const after = await enrol(tn);
        await until('the event recorded after the endpoint was added', () => r.received.some((x) => x.body.data.user_id === after.id));
        await sleep(300);
        assert.deepEqual(r.received.map((x) => x.body.data.user_id), [after.id], `member.created of ${before.id} predates the endpoint`);
        assert.equal((await deliveriesOf(tn, e.id)).length, 1);
      } finally {
        await open.query('ROLLBACK').catch(() => {});
        open.release();
      }
    });

    // …and an event committed after the endpoint was added is sent, even from a transaction that was open before
    it('sends an event committed after the endpoint was added by a transaction open since before', async () => {
      const tn = await tenant();
      const r = await receiver();
      const open = await t.database.pool!.connect();
      try {
        await open.query('BEGIN');
        await open.query('SELECT pg_current_xact_id()'); // a long transaction, begun before
        await enrol(tn); // another commits meanwhile: the latest committed event, before the endpoint
        const e = await addEndpoint(tn, { url: r.url() });
        const late = await rawEvent(open, tn);
        await open.query('COMMIT');
        dispatch();
        const after = await enrol(tn);
        await until('the event recorded after the endpoint was added', () => r.received.some((x) => x.body.data.user_id === after.id));
        await until('the long transaction’s event, committed after the endpoint was added', () => r.ids().includes(late.id), 3000);
        assert.equal(r.received.length, 2);
        assert.equal((await deliveriesOf(tn, e.id)).length, 2);
      } finally {
        await open.query('ROLLBACK').catch(() => {});
        open.release();
      }
    });

    // URLs name hosts, not only addresses: the guarded DNS lookup must hand net.connect what it expects
    it('delivers to a URL naming a host (http://localhost:…)', async () => {
      const tn = await tenant();
      const r = await receiver();
      const e = await addEndpoint(tn, { url: r.url('localhost'), event_types: ['member.created'] });
      dispatch({ retrySchedule: [0, 0] });
      const member = await enrol(tn);
      const delivery = await until('the attempt recorded', async () => (await deliveriesOf(tn, e.id)).find((d) => d.attempts.length && d.status !== 'delivering'));
      assert.equal(delivery.status, 'succeeded', `attempts: ${JSON.stringify(delivery.attempts)}`);
      assert.equal(r.received[0].body.data.user_id, member.id);
    });
  });

  describe('retries', () => {
    // 5xx is retried after the schedule's waits with the same webhook-id; every attempt is recorded; metrics count
    it('retries a 500 after the scheduled waits and records each attempt; succeeds on the third', async () => {
      const tn = await tenant();
      const r = await receiver((_r, n) => ({ status: n < 2 ? 500 : 200 }));
      const e = await addEndpoint(tn, { url: r.url(), event_types: ['member.created'] });
      const [retries, successes] = [await metric('loyalist_webhook_deliveries_total{result="retry"}'), await metric('loyalist_webhook_deliveries_total{result="succeeded"}')];
      dispatch({ retrySchedule: [1, 1, 1] });
      const member = await enrol(tn);
      const [event] = await eventsOf(tn, member.id);
      const delivery = await firstDelivery(tn, e.id, 'the delivery to succeed', (d) => d.status === 'succeeded');
      assert.equal(r.received.length, 3);
      assert.deepEqual(r.ids(), [event.id, event.id, event.id], 'the same webhook-id every time');
      assert.ok(r.received.every((x) => x.raw === r.received[0].raw), 'the same body every time');
      for (const x of r.received) assert.equal(refusal(e.secret, x), null, 'each attempt is signed for its own timestamp');
      // waits of 1 s ±10% between attempts
      for (const i of [1, 2]) {
        const gap = r.received[i].at - r.received[i - 1].at;
        assert.ok(gap >= 850 && gap < 5000, `attempt ${i + 1} came ${gap} ms after the one before`);
      }
      assert.equal(delivery.event_id, event.id);
      assert.equal(delivery.event_type, 'member.created');
      assert.equal(delivery.user_id, member.id);
      assert.equal(delivery.position, event.position);
      assert.equal(delivery.next_attempt_at, null);
      assert.deepEqual(delivery.attempts.map((a: any) => a.status_code), [500, 500, 200]);
      for (const a of delivery.attempts) {
        assert.ok(Number.isInteger(a.duration_ms) && a.duration_ms >= 0 && a.duration_ms < 2000, `duration ${a.duration_ms}`);
        assert.equal(a.error, null);
        assert.ok(Math.abs(Date.parse(a.at) - Date.now()) < 60_000);
      }
      assert.deepEqual((await deliveriesOf(tn, e.id, '?status=succeeded')).map((d) => d.event_id), [event.id]);
      assert.deepEqual(await deliveriesOf(tn, e.id, '?status=failed'), []);
      assert.ok((await metric('loyalist_webhook_deliveries_total{result="retry"}')) >= retries + 2);
      assert.ok((await metric('loyalist_webhook_deliveries_total{result="succeeded"}')) >= successes + 1);
      const metrics = (await call(t.app, { method: 'GET', url: '/metrics' })).body;
      assert.match(metrics, /^loyalist_webhook_lag_seconds \d/m);
      assert.match(metrics, /^loyalist_webhook_delivery_seconds_count \d/m);
    });

    // the schedule's end: failed for good, no further attempt; the admin retry sends it again
    it('fails a delivery for good once the schedule is used up; POST …/retry sends it again', async () => {
      const tn = await tenant();
      let answer = 500;
      const r = await receiver(() => ({ status: answer }));
      const e = await addEndpoint(tn, { url: r.url(), event_types: ['member.created'] });
      const failures = await metric('loyalist_webhook_deliveries_total{result="failed"}');
      dispatch({ retrySchedule: [0, 0] });
      const member = await enrol(tn);
      const [event] = await eventsOf(tn, member.id);
      const failed = await firstDelivery(tn, e.id, 'the delivery to fail', (d) => d.status === 'failed');
      assert.deepEqual(failed.attempts.map((a: any) => a.status_code), [500, 500, 500]);
      assert.equal(failed.next_attempt_at, null);
      await sleep(300);
      assert.equal(r.received.length, 3, 'no attempt after the last of the schedule');
      assert.ok((await metric('loyalist_webhook_deliveries_total{result="failed"}')) >= failures + 1);

      answer = 200;
      const retried = ok(await adminCall('POST', `${hooks(tn.retailer_id)}/${e.id}/deliveries/${event.id}/retry`));
      assert.equal(retried.event_id, event.id);
      assert.equal(retried.status, 'pending');
      assert.ok(retried.next_attempt_at);
      await until('the redelivery', () => r.received.length === 4);
      const done = await firstDelivery(tn, e.id, 'the delivery to succeed', (d) => d.status === 'succeeded');
      assert.deepEqual(done.attempts.map((a: any) => a.status_code), [500, 500, 500, 200]);
      assert.equal(r.received[3].id, event.id);
      assert.equal(refusal(e.secret, r.received[3]), null);
      // a delivered one may be sent again too
      ok(await adminCall('POST', `${hooks(tn.retailer_id)}/${e.id}/deliveries/${event.id}/retry`));
      await until('the second redelivery', () => r.received.length === 5);
      assert.equal(r.received[4].id, event.id);
    });

    // Retry-After longer than the schedule's wait wins
    it('honours a 429 with Retry-After', async () => {
      const tn = await tenant();
      const r = await receiver((_r, n) => (n === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 }));
      const e = await addEndpoint(tn, { url: r.url(), event_types: ['member.created'] });
      dispatch({ retrySchedule: [0, 0] });
      await enrol(tn);
      await until('the second attempt', () => r.received.length === 2);
      const gap = r.received[1].at - r.received[0].at;
      assert.ok(gap >= 1900, `the retry came ${gap} ms after the 429 that asked for 2 s`);
      const d = await firstDelivery(tn, e.id, 'success', (d) => d.status === 'succeeded');
      assert.deepEqual(d.attempts.map((a: any) => a.status_code), [429, 200]);
    });

    // a receiver slower than WEBHOOK_TIMEOUT_MS: the attempt is cut off, recorded as an error and retried
    it('gives up on a receiver slower than the timeout and retries', async () => {
      const tn = await tenant();
      const r = await receiver((_r, n) => (n === 0 ? { status: 200, delayMs: 3000 } : { status: 200 }));
      const e = await addEndpoint(tn, { url: r.url(), event_types: ['member.created'] });
      dispatch({ retrySchedule: [0, 0], timeoutMs: 300 });
      await enrol(tn);
      const d = await firstDelivery(tn, e.id, 'success', (d) => d.status === 'succeeded');
      assert.equal(d.attempts.length, 2);
      assert.equal(d.attempts[0].status_code, null);
      assert.match(d.attempts[0].error, /300 ms/);
      assert.ok(d.attempts[0].duration_ms >= 250 && d.attempts[0].duration_ms < 2000, `cut off after ${d.attempts[0].duration_ms} ms`);
      assert.equal(d.attempts[1].status_code, 200);
      assert.equal(r.received[0].id, r.received[1].id);
    });

    // sends run while the dispatcher claims more: a receiver that takes its time holds up only its own deliveries
    it('a slow receiver does not hold up another endpoint’s deliveries', async () => {
      const [slowTenant, quickTenant] = [await tenant(), await tenant()];
      const slow = await receiver(() => ({ status: 500, delayMs: 2000 }));
      const quick = await receiver();
      await addEndpoint(slowTenant, { url: slow.url(), event_types: ['member.created'] });
      await addEndpoint(quickTenant, { url: quick.url() });
      dispatch({ retrySchedule: Array(20).fill(0), timeoutMs: 3000 });
      await enrol(slowTenant);
      await until('the slow receiver reached', () => slow.received.length);
      const member = await enrol(quickTenant);
      for (const amount of [1, 2, 3, 4]) await deposit(quickTenant, member.id, amount);
      // five events of one member, each sent once the one before is recorded
      await until('the quick receiver’s five events', () => quick.received.length === 5, 10_000);
      const span = quick.received[4].at - quick.received[0].at;
      assert.ok(span < 1500, `the quick receiver’s five events took ${span} ms, held up by the slow one`);
      assert.deepEqual(quick.received.map((x) => x.body.type), ['member.created', 'points.deposited', 'points.deposited', 'points.deposited', 'points.deposited']);
    });

    // one receiver's absurd Retry-After must not undo the round: the other deliveries of the round stay recorded
    it('records the round’s other deliveries when a receiver answers an absurd Retry-After', async () => {
      const tn = await tenant();
      const absurd = await receiver(() => ({ status: 429, headers: { 'retry-after': '99999999999999' } }));
      const fine = await receiver();
      const a = await addEndpoint(tn, { url: absurd.url(), event_types: ['member.created'] });
      const b = await addEndpoint(tn, { url: fine.url(), event_types: ['member.created'] });
      dispatch({ retrySchedule: [60] });
      await enrol(tn);
      await until('both receivers reached', () => absurd.received.length && fine.received.length);
      const good = await firstDelivery(tn, b.id, 'the good delivery recorded', (d) => d.status !== 'delivering', 4000);
      assert.equal(good.status, 'succeeded');
      const [slow] = await deliveriesOf(tn, a.id);
      assert.equal(slow.status, 'pending');
      assert.deepEqual(slow.attempts.map((x: any) => x.status_code), [429]);
    });
  });

  describe('410, outage and order', () => {
    // 410 Gone: the endpoint stops (nothing more sent) until enabled again, then what waited arrives
    it('disables the endpoint on a 410, sends nothing more, and delivers what waited once it is enabled', async () => {
      const tn = await tenant();
      let gone = true;
      const r = await receiver(() => ({ status: gone ? 410 : 200 }));
      const e = await addEndpoint(tn, { url: r.url() });
      const gones = await metric('loyalist_webhook_deliveries_total{result="gone"}');
      dispatch();
      const m1 = await enrol(tn);
      await until('the first delivery', () => r.received.length === 1);
      const disabled = await until('the endpoint disabled', async () => {
        const now = await endpointOf(tn, e.id);
        return !now.enabled && now;
      });
      assert.match(disabled.disabled_reason, /410/);
      assert.ok((await metric('loyalist_webhook_deliveries_total{result="gone"}')) >= gones + 1);
      const m2 = await enrol(tn);
      await deposit(tn, m1.id, 3);
      await sleep(500);
      assert.equal(r.received.length, 1, 'nothing is sent to a disabled endpoint');
      const waiting = await deliveriesOf(tn, e.id);
      assert.ok(waiting.every((d) => d.status === 'pending'), JSON.stringify(waiting));
      assert.deepEqual(waiting.filter((d) => d.attempts.length).map((d) => [d.user_id, d.attempts.map((a: any) => a.status_code)]), [[m1.id, [410]]], 'only the first was tried');

      gone = false;
      const enabled = ok(await adminCall('PATCH', `${hooks(tn.retailer_id)}/${e.id}`, { enabled: true }));
      assert.deepEqual([enabled.enabled, enabled.disabled_reason], [true, null]);
      const expected = [...(await eventsOf(tn, m1.id)), ...(await eventsOf(tn, m2.id))].map((x) => x.id);
      assert.equal(expected.length, 3);
      await until('what waited', () => new Set(r.ids()).size === 3);
      await sleep(300);
      assert.deepEqual(r.ids().slice(1).sort(), [...expected].sort(), 'the 410’d event again, and the two recorded meanwhile, once each');
      assert.equal(r.ids()[0], expected[0]);
      await until('all three recorded as delivered', async () => (await deliveriesOf(tn, e.id)).map((d) => d.status).join() === 'succeeded,succeeded,succeeded');
    });

    // only a member's events wait for each other: events of no member are each on their own
    it('does not hold an event of no member back behind another of no member being retried', async () => {
      const tn = await tenant();
      const r = await receiver((_r, n) => ({ status: n === 0 ? 500 : 200 }));
      const e = await addEndpoint(tn, { url: r.url() });
      const first = await rawEvent(t.database.pool!, tn, null);
      const second = await rawEvent(t.database.pool!, tn, null);
      dispatch({ retrySchedule: [60] });
      await until('the second event', () => r.ids().includes(second.id), 5000);
      assert.deepEqual(r.ids(), [first.id, second.id]);
      const deliveries = await until('the second recorded as delivered', async () => {
        const all = await deliveriesOf(tn, e.id);
        return all[0].status === 'succeeded' ? all : undefined;
      });
      assert.deepEqual(deliveries.map((d) => [d.event_id, d.status]), [[second.id, 'succeeded'], [first.id, 'pending']]);
    });

    // an event pruned (EVENT_RETENTION_DAYS) before its delivery: that delivery fails, the member's next goes
    it('fails a delivery whose event was pruned and sends the member’s next one', async () => {
      const tn = await tenant();
      const r = await receiver();
      const e = await addEndpoint(tn, { url: r.url() });
      const member = await enrol(tn);
      await deposit(tn, member.id, 5);
      const [created, deposited] = await eventsOf(tn, member.id);
      // copied into deliveries first (a transaction open elsewhere on the server holds the fan-out back for a while)
      await until('both events copied into deliveries', async () => {
        await transact(t.db, (tx) => fanOut(tx));
        return (await deliveriesOf(tn, e.id)).length === 2;
      });
      await sql`DELETE FROM domain_events WHERE id = ${created.id}`.execute(t.db);
      dispatch();
      await until('the deposit', () => r.ids().includes(deposited.id), 5000);
      assert.deepEqual(r.ids(), [deposited.id]);
      const gone = (await deliveriesOf(tn, e.id)).find((d) => d.event_id === created.id);
      assert.equal(gone.status, 'failed');
      assert.match(gone.attempts[0].error, /pruned/);
    });

    // a receiver that is down and back gets everything, each member's events in position order
    it('delivers every event once a receiver that was down is back, each member’s in order', async () => {
      const tn = await tenant();
      const r = await receiver();
      const e = await addEndpoint(tn, { url: r.url() });
      dispatch({ retrySchedule: Array(15).fill(1) });
      const members = [await enrol(tn), await enrol(tn)];
      await until('the receiver up', () => r.received.length === 2);
      await r.close();
      for (let i = 1; i <= 4; i++) for (const m of members) await deposit(tn, m.id, i);
      await until('a refused attempt', async () => (await deliveriesOf(tn, e.id, '?status=pending')).some((d) => d.attempts.some((a: any) => a.status_code === null && a.error)));
      await sleep(1500);
      assert.equal(r.received.length, 2, 'nothing reached a receiver that is down');
      await r.start();
      const expected = new Map<string, string[]>();
      for (const m of members) expected.set(m.id, (await eventsOf(tn, m.id)).map((x) => x.id));
      const total = [...expected.values()].flat().length;
      assert.equal(total, 10);
      await until('every event', () => new Set(r.ids()).size === total, 30_000);
      await sleep(300);
      assert.equal(r.received.length, total, 'each once');
      for (const m of members) {
        const arrived = r.received.filter((x) => expected.get(m.id)!.includes(x.id)).map((x) => x.id);
        assert.deepEqual(arrived, expected.get(m.id), `member ${m.id}: arrival order is position order`);
        const amounts = r.received.filter((x) => expected.get(m.id)!.includes(x.id) && x.body.type === 'points.deposited').map((x) => x.body.data.amount);
        assert.deepEqual(amounts, ['1', '2', '3', '4']);
      }
      assert.ok((await deliveriesOf(tn, e.id)).every((d) => d.status === 'succeeded'));
    });
  });

  describe('secrets', () => {
    // rotation: both secrets sign during the overlap, each verifies alone; overlap 0 ends the old one at once
    it('signs with the old and the new secret during the overlap, and with the new one only after an overlap of 0', async () => {
      const tn = await tenant();
      const r = await receiver();
      const e = await addEndpoint(tn, { url: r.url(), event_types: ['member.created'] });
      const s1 = e.secret;
      const rotated = ok(await adminCall('POST', `${hooks(tn.retailer_id)}/${e.id}/rotate_secret`, {}));
      const s2: string = rotated.secret;
      assert.match(s2, /^whsec_/);
      assert.notEqual(s2, s1);
      assert.equal(Buffer.from(s2.slice(6), 'base64').length, Buffer.from(s1.slice(6), 'base64').length);
      const overlap = Date.parse(rotated.previous_expires_at) - Date.now();
      assert.ok(Math.abs(overlap - 86_400_000) < 60_000, `default overlap 24 h, was ${overlap} ms`);
      assert.doesNotMatch((await adminCall('GET', `${hooks(tn.retailer_id)}/${e.id}`)).body, /whsec_/);

      dispatch();
      await enrol(tn);
      await until('the first delivery', () => r.received.length === 1);
      const during = r.received[0];
      assert.equal(during.headers['webhook-signature'].split(' ').length, 2, during.headers['webhook-signature']);
      assert.ok(during.headers['webhook-signature'].split(' ').every((s) => s.startsWith('v1,')));
      assert.equal(refusal(s1, during), null, 'the old secret verifies');
      assert.equal(refusal(s2, during), null, 'the new secret verifies');
      assert.ok(refusal(`whsec_${randomBytes(32).toString('base64')}`, during), 'a third does not');

      const now = ok(await adminCall('POST', `${hooks(tn.retailer_id)}/${e.id}/rotate_secret`, { overlap_seconds: 0 }));
      const s3: string = now.secret;
      assert.ok(Math.abs(Date.parse(now.previous_expires_at) - Date.now()) < 60_000);
      await sleep(5); // past previous_expires_at
      await enrol(tn);
      await until('the second delivery', () => r.received.length === 2);
      const afterwards = r.received[1];
      assert.equal(afterwards.headers['webhook-signature'].split(' ').length, 1, afterwards.headers['webhook-signature']);
      assert.equal(refusal(s3, afterwards), null, 'the newest secret verifies');
      assert.ok(refusal(s2, afterwards), 'the secret replaced with overlap 0 no longer signs');
      assert.ok(refusal(s1, afterwards), 'the first secret no longer signs');
      // an overlap beyond 30 days is refused
      assert.equal((await adminCall('POST', `${hooks(tn.retailer_id)}/${e.id}/rotate_secret`, { overlap_seconds: 31 * 86_400 })).status, 400);
    });
  });

  describe('private networks', () => {
    // without WEBHOOK_ALLOW_PRIVATE_NETWORKS, loopback is never reached, by address or by name
    it('does not connect to a private address unless allowed, and records why', async () => {
      const tn = await tenant();
      const r = await receiver();
      const byAddress = await addEndpoint(tn, { url: r.url('127.0.0.1'), event_types: ['member.created'] });
      const byName = await addEndpoint(tn, { url: r.url('localhost'), event_types: ['member.created'] });
      dispatch({ allowPrivate: false, retrySchedule: [0, 0] });
      await enrol(tn);
      for (const [e, pattern] of [
        [byAddress, /127\.0\.0\.1 is a private address/],
        [byName, /localhost resolves to 127\.0\.0\.1, a private address/],
      ] as const) {
        const d = await firstDelivery(tn, e.id, `${e.url} to fail`, (d) => d.status === 'failed');
        assert.equal(d.attempts.length, 3);
        for (const a of d.attempts) {
          assert.equal(a.status_code, null);
          assert.match(a.error, pattern);
        }
      }
      assert.equal(r.received.length, 0, 'the receiver got nothing');
    });
  });

  describe('several dispatchers and tenants', () => {
    // FOR UPDATE SKIP LOCKED and leases: two processes' dispatchers never send an event twice, and keep a member's order
    it('two dispatchers on one database deliver each event exactly once', async () => {
      const tn = await tenant();
      const r = await receiver();
      const e = await addEndpoint(tn, { url: r.url() });
      dispatch({ pollMs: 1 });
      dispatch({ pollMs: 1 });
      // MEMBERS members, each enrolled and then given points: twice as many events, made while both run
      const members: Record<string, any>[] = [];
      for (let batch = 0; batch < MEMBERS / 10; batch++) members.push(...(await Promise.all(Array.from({ length: 10 }, () => enrol(tn)))));
      for (let batch = 0; batch < MEMBERS / 10; batch++) await Promise.all(members.slice(batch * 10, batch * 10 + 10).map((m, i) => deposit(tn, m.id, i + 1)));
      const events = await eventsOf(tn);
      const expected = events.map((x) => x.id);
      const memberOf = new Map(events.map((x) => [x.id, x.member_id]));
      assert.equal(expected.length, 2 * MEMBERS);
      await until(`${2 * MEMBERS} deliveries`, () => new Set(r.ids()).size === 2 * MEMBERS, 30_000);
      await sleep(1000);
      const counts = new Map<string, number>();
      for (const id of r.ids()) counts.set(id, (counts.get(id) ?? 0) + 1);
      assert.equal([...counts].filter(([, n]) => n > 1).length, 0, `${r.received.length} deliveries of ${2 * MEMBERS} events: none twice`);
      assert.deepEqual([...counts.keys()].sort(), [...expected].sort());
      // each member: member.created before points.deposited
      for (const m of members) assert.deepEqual(r.received.filter((x) => memberOf.get(x.id) === m.id).map((x) => x.body.type), ['member.created', 'points.deposited']);
      const list = await deliveriesOf(tn, e.id, '?take=1000');
      assert.equal(list.length, 2 * MEMBERS);
      assert.ok(list.every((d) => d.status === 'succeeded' && d.attempts.length === 1), 'one attempt each');
    });

    // the claim's row locks: a claim must not take a delivery another claim took since its snapshot (both start on one backlog)
    it('two dispatchers started together on a backlog of 1,000 events deliver each once', async () => {
      const tn = await tenant();
      const r = await receiver();
      const e = await addEndpoint(tn, { url: r.url() });
      await sql`INSERT INTO domain_events (id, retailer_id, member_id, type, version, occurred_at, payload)
                SELECT gen_random_uuid(), ${tn.retailer_id}, gen_random_uuid(), 'member.tag_added', 1, now(), jsonb_build_object('tag', 'backlog', 'count', g, 'expires_at', null)
                  FROM generate_series(1, 1000) g`.execute(t.db);
      dispatch({ pollMs: 5 });
      dispatch({ pollMs: 5 });
      await until('1,000 deliveries', () => new Set(r.ids()).size === 1000, 60_000);
      await sleep(500);
      assert.equal(r.received.length, 1000, `${r.received.length - 1000} deliveries more than events`);
      const list = await deliveriesOf(tn, e.id, '?take=1000');
      assert.ok(list.every((d) => d.status === 'succeeded' && d.attempts.length === 1), 'one attempt each');
    });

    it("sends a retailer's endpoint only that retailer's events, and hides its endpoints from another", async () => {
      const [a, b] = [await tenant(), await tenant()];
      const [ra, rb] = [await receiver(), await receiver()];
      const ea = await addEndpoint(a, { url: ra.url() });
      const eb = await addEndpoint(b, { url: rb.url() });
      dispatch();
      for (let i = 0; i < 3; i++) {
        await enrol(a);
        const mb = await enrol(b);
        await deposit(b, mb.id, i + 1);
      }
      const [ida, idb] = [(await eventsOf(a)).map((x) => x.id), (await eventsOf(b)).map((x) => x.id)];
      assert.deepEqual([ida.length, idb.length], [3, 6]);
      await until('every delivery', () => ra.received.length >= 3 && rb.received.length >= 6);
      await sleep(300);
      assert.deepEqual([...ra.ids()].sort(), [...ida].sort());
      assert.deepEqual([...rb.ids()].sort(), [...idb].sort());
      assert.ok(ra.received.every((x) => x.body.retailer_id === a.retailer_id && refusal(ea.secret, x) === null));
      assert.ok(rb.received.every((x) => x.body.retailer_id === b.retailer_id && refusal(eb.secret, x) === null));
      // b's endpoint is nobody's under a's path
      const foreign = `${hooks(a.retailer_id)}/${eb.id}`;
      for (const [method, url, payload] of [
        ['GET', foreign],
        ['PATCH', foreign, { enabled: false }],
        ['DELETE', foreign],
        ['POST', `${foreign}/rotate_secret`, {}],
        ['GET', `${foreign}/deliveries`],
        ['POST', `${foreign}/deliveries/${idb[0]}/retry`],
      ] as const) {
        assert.equal((await adminCall(method, url, payload)).status, 404, `${method} ${url}`);
      }
      assert.deepEqual(ok(await adminCall('GET', hooks(a.retailer_id))).webhooks.map((w: any) => w.id), [ea.id]);
      assert.equal((await endpointOf(b, eb.id)).enabled, true);
    });
  });
});
