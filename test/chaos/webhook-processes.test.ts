// Webhook delivery across real server processes on one PostgreSQL database:
// a server killed with SIGKILL while a delivery is in flight loses no event
// (a restarted one delivers it, with the same webhook-id), and two servers
// side by side deliver each event once.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { memberBody, postgresDatabase } from '../support/harness.js';
import { startServer, type ServerProcess } from '../support/processes.js';

const ADMIN = 'Bearer chaos-admin-token-0123456789';

/** A receiver that records every delivery; `hold` keeps the answer back (the request stays in flight). */
class Receiver {
  received: { id: string; type: string; body: any }[] = [];
  hold = false;
  private server!: Server;
  port = 0;
  async start() {
    this.server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        this.received.push({ id: String(req.headers['webhook-id']), type: JSON.parse(body).type, body: JSON.parse(body) });
        if (!this.hold) res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
  }
  ids = () => this.received.map((r) => r.id);
  close = () => new Promise<void>((r) => (this.server.closeAllConnections(), this.server.close(() => r())));
}

async function until(what: string, check: () => boolean, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < deadline, `timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('webhook delivery by real server processes', () => {
  let url: string;
  const receiver = new Receiver();
  const env = () => ({ DATABASE_URL: url, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_HTTP_HOSTS: '127.0.0.1', WEBHOOK_TIMEOUT_MS: '1000', WEBHOOK_RETRY_SCHEDULE: '1,1,1,1,1' });

  before(async () => {
    url = (await postgresDatabase()).url;
    await receiver.start();
  });
  after(() => receiver.close());

  const json = async (server: ServerProcess, path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown }) => {
    const res = await fetch(`${server.url}${path}`, { method: init.method ?? 'POST', headers: { 'content-type': 'application/json', ...init.headers }, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
    const text = await res.text();
    assert.ok(res.status < 300, `${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
  /** A retailer with an endpoint on the receiver; answers a function that enrols a member (member.created). */
  async function tenantWithWebhook(server: ServerProcess) {
    const tenant = await json(server, '/admin/tenants', { headers: { authorization: ADMIN }, body: { name: `Webhooks ${Date.now()}` } });
    await json(server, `/admin/tenants/${tenant.retailer_id}/webhooks`, { headers: { authorization: ADMIN }, body: { url: `http://127.0.0.1:${receiver.port}/hook`, event_types: ['member.created'] } });
    const core = `Basic ${Buffer.from(`${tenant.appkey}:${tenant.secret}`).toString('base64')}`;
    return (on: ServerProcess) => json(on, `/priv/v1/apps/${tenant.appkey}/users`, { headers: { authorization: core }, body: memberBody() });
  }

  it('a server killed mid-delivery loses nothing: a restarted one delivers it, with the same webhook-id', async () => {
    const first = await startServer(env());
    const enrol = await tenantWithWebhook(first);
    receiver.hold = true;
    await enrol(first);
    await until('the delivery in flight', () => receiver.received.length === 1);
    const inFlight = receiver.ids()[0];
    assert.equal(await first.kill('SIGKILL'), 'SIGKILL');

    receiver.hold = false;
    const second = await startServer(env());
    try {
      await until('the delivery again', () => receiver.ids().filter((id) => id === inFlight).length >= 2);
      assert.equal(receiver.received.at(-1)!.type, 'member.created');
    } finally {
      await second.kill();
    }
  });

  it('two servers on one database deliver each event once', async () => {
    receiver.received = [];
    const [a, b] = [await startServer(env()), await startServer(env())];
    try {
      const enrol = await tenantWithWebhook(a);
      for (let i = 0; i < 30; i++) await enrol(i % 2 ? a : b);
      await until('30 deliveries', () => new Set(receiver.ids()).size === 30);
      // a moment for any second delivery of one to arrive
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(receiver.received.length, 30, 'no event delivered twice');
    } finally {
      await a.kill();
      await b.kill();
    }
  });
});
