import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { before, describe, it } from 'node:test';
import pino from 'pino';
import { buildApp } from '../../src/app.js';
import { enqueue } from '../../src/modules/jobs/queue.js';
import { call, createMemberViaApi, createTenant, memberBody, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

/** The value of one sample of a Prometheus text exposition, matched by name and labels (in any order). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe('operations endpoints on PostgreSQL', () => {
  let t: TestApp;
  let tenant: TestTenant;
  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
  });

  it('answers / with an index of where to go next', async () => {
    const res = await call(t.app, { method: 'GET', url: '/' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.links, { docs: '/docs', openapi: '/docs/json', ready: '/readyz', health: '/healthz', metrics: '/metrics' });
    for (const path of Object.values(res.json.links) as string[]) assert.equal((await call(t.app, { method: 'GET', url: path })).status < 400, true, path);
  });

  it('answers /healthz with 200', async () => {
    const res = await call(t.app, { method: 'GET', url: '/healthz' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { status: 'ok' });
  });

  it('answers /readyz with 200 on a migrated database', async () => {
    const res = await call(t.app, { method: 'GET', url: '/readyz' });
    assert.equal(res.status, 200);
    assert.equal(res.json.status, 'ok');
  });

  it('needs no credentials for health, readiness and metrics', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics']) {
      const res = await call(t.app, { method: 'GET', url, headers: { authorization: 'Basic bm9ib2R5Om5vdGhpbmc=' } });
      assert.equal(res.status, 200, url);
    }
  });

  it('exposes Prometheus metrics: requests by route and status, latency, queue depth, pool, statements', async () => {
    const member = await createMemberViaApi(t.app, tenant);
    for (let i = 0; i < 3; i++) {
      const res = await call(t.app, { method: 'GET', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core } });
      assert.equal(res.status, 200);
    }
    const denied = await call(t.app, { method: 'GET', url: `${tenant.base}/users/${member.id}`, headers: { authorization: 'Basic eDp5' } });
    assert.equal(denied.status, 401);
    const stray = `stray-${randomUUID()}`;
    assert.equal((await call(t.app, { method: 'GET', url: `${tenant.base}/${stray}`, headers: { authorization: tenant.core } })).status, 404);
    await enqueue(t.db, { queue: 'ops-test' });
    await enqueue(t.db, { queue: 'ops-test' });

    const res = await call(t.app, { method: 'GET', url: '/metrics' });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = res.body;
    assert.match(text, /^# HELP loyalist_http_requests_total /m);
    assert.match(text, /^# TYPE loyalist_http_requests_total counter$/m);
    const route = '/priv/v1/apps/:appkey/users/:user_id';
    assert.equal(sample(text, 'loyalist_http_requests_total', { method: 'GET', route, status_code: '200' }), 3);
    assert.equal(sample(text, 'loyalist_http_requests_total', { method: 'POST', route: '/priv/v1/apps/:appkey/users', status_code: '200' }), 1);
    assert.equal(sample(text, 'loyalist_http_requests_total', { method: 'GET', route, status_code: '401' }), 1);
    assert.equal(sample(text, 'loyalist_http_request_duration_seconds_count', { method: 'GET', route, status_code: '200' }), 3);
    assert.ok(!text.includes(stray), 'an unknown path does not become a label of its own');
    assert.ok(!text.includes(member.id), 'labels carry the route pattern, not the ids in the path');
    assert.equal(sample(text, 'loyalist_job_queue_depth', {}), 2);
    assert.ok((sample(text, 'loyalist_db_pool_connections', { state: 'total' }) ?? -1) >= 1);
    // the webhook dispatcher's metrics beside the server's
    assert.match(text, /^# TYPE loyalist_webhook_deliveries_total counter$/m);
    assert.match(text, /^# TYPE loyalist_webhook_delivery_seconds histogram$/m);
    assert.equal(sample(text, 'loyalist_webhook_lag_seconds', {}), 0);
    // statements sent: a member read costs at least one more
    const statements = sample(text, 'loyalist_db_statements_total', {})!;
    assert.ok(statements > 0);
    await call(t.app, { method: 'GET', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core } });
    assert.ok(sample((await call(t.app, { method: 'GET', url: '/metrics' })).body, 'loyalist_db_statements_total', {})! > statements);
  });

  it('serves the interactive reference page at /docs', async () => {
    const res = await call(t.app, { method: 'GET', url: '/docs' });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /<html/i);
    assert.match(res.body, /swagger/i);
  });

  it('serves an OpenAPI 3 document at /docs/json listing the Core user routes', async () => {
    const res = await call(t.app, { method: 'GET', url: '/docs/json' });
    assert.equal(res.status, 200);
    const doc = res.json;
    assert.match(doc.openapi, /^3\./);
    assert.equal(doc.info.title, 'Loyalist');
    for (const [path, method] of [
      ['/priv/v1/apps/{appkey}/users', 'post'],
      ['/priv/v1/apps/{appkey}/users/search', 'get'],
      ['/priv/v1/apps/{appkey}/users/{user_id}', 'get'],
      ['/priv/v1/apps/{appkey}/users/{user_id}', 'put'],
      ['/priv/v1/apps/{appkey}/users/{user_id}/tags', 'post'],
      ['/priv/v1/apps/{appkey}/users/{user_id}/timelines/{view}', 'get'],
      ['/admin/tenants', 'post'],
    ]) {
      assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`);
    }
    assert.ok(doc.paths['/priv/v1/apps/{appkey}/users'].post.requestBody, 'the create body is described');
    assert.deepEqual(doc.paths['/healthz'].get.security, [], 'probes are documented and need no credentials');
  });

  it('logs JSON lines that carry the request id, and never the credentials', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const logged = await buildApp({ config: t.config, db: t.db, logger: pino({ level: 'info' }, stream) });
    try {
      const res = await call(logged, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core, 'x-request-id': 'log-check-1' }, payload: memberBody() });
      assert.equal(res.status, 200);
      await call(logged, { method: 'GET', url: '/healthz', headers: { 'x-request-id': 'log-check-2' } });
    } finally {
      await logged.close();
    }
    const ofRequest = (id: string) => lines.filter((l) => l.reqId === id);
    assert.ok(ofRequest('log-check-1').length >= 2, 'the request and its answer are logged under its id');
    assert.ok(ofRequest('log-check-2').length >= 2);
    const requestLines = lines.filter((l) => 'req' in l || 'res' in l);
    assert.ok(requestLines.every((l) => typeof l.reqId === 'string'), 'no request line without its id');
    const text = JSON.stringify(lines);
    assert.ok(!text.includes(tenant.secret) && !text.includes(tenant.core), 'credentials are not logged');
  });

  it('gives every answer an X-Request-Id, and echoes the one a client sends', async () => {
    const answers = await Promise.all([
      call(t.app, { method: 'GET', url: '/healthz' }),
      call(t.app, { method: 'GET', url: '/no/such/path' }),
      call(t.app, { method: 'GET', url: `${tenant.base}/users/${randomUUID()}`, headers: { authorization: tenant.core } }),
      call(t.app, { method: 'GET', url: `${tenant.base}/users/${randomUUID()}` }),
      call(t.app, { method: 'POST', url: '/admin/tenants', payload: { name: 'x' } }),
    ]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 404, 404, 401, 401],
    );
    const ids = answers.map((a) => a.headers['x-request-id']);
    for (const id of ids) assert.match(String(id), /^[0-9a-f-]{36}$/);
    assert.equal(new Set(ids).size, ids.length, 'each request gets its own id');

    const echoed = await call(t.app, { method: 'GET', url: '/healthz', headers: { 'x-request-id': 'trace-abc.123:xyz' } });
    assert.equal(echoed.headers['x-request-id'], 'trace-abc.123:xyz');
    const echoedOnError = await call(t.app, { method: 'GET', url: `${tenant.base}/users/x`, headers: { 'x-request-id': 'client-42' } });
    assert.equal(echoedOnError.status, 401);
    assert.equal(echoedOnError.headers['x-request-id'], 'client-42');

    // a header that is not a plausible id (spaces, too long) is replaced, not reflected
    for (const bad of ['has spaces in it', 'x'.repeat(300), '<script>']) {
      const res = await call(t.app, { method: 'GET', url: '/healthz', headers: { 'x-request-id': bad } });
      assert.notEqual(res.headers['x-request-id'], bad);
      assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    }
  });
});
