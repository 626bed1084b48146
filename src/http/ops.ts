import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { Obj } from './contract.js';
import { sql } from 'kysely';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isMigrated } from '../db/index.js';
import { statementsSent } from '../db/connection.js';
import { queueDepth } from '../modules/jobs/queue.js';
import { deliveryLag } from '../modules/webhooks/deliveries.js';
import { webhookRegistry } from '../jobs/webhooks.js';

/** /healthz, /readyz and Prometheus /metrics (request counts and latency by route and status, DB, worker queue). */
export function registerOps(app: FastifyInstance): void {
  const own = new Registry();
  collectDefaultMetrics({ register: own });
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({ name: 'loyalist_http_requests_total', help: 'HTTP requests answered', labelNames, registers: [own] });
  const duration = new Histogram({
    name: 'loyalist_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [own],
  });
  const { db, pool, replica } = app.deps;
  new Gauge({
    name: 'loyalist_job_queue_depth',
    help: 'Jobs waiting in the job queue',
    registers: [own],
    async collect() {
      this.set(await queueDepth(db).catch(() => -1));
    },
  });
  new Counter({
    name: 'loyalist_db_statements_total',
    help: 'Statements sent to the database',
    registers: [own],
    collect() {
      this.reset();
      this.inc(statementsSent());
    },
  });
  new Gauge({
    name: 'loyalist_webhook_lag_seconds',
    help: 'Age of the oldest webhook delivery not yet delivered (0: none waiting)',
    registers: [own],
    async collect() {
      this.set(await deliveryLag(db).catch(() => -1));
    },
  });
  if (pool) {
    new Gauge({
      name: 'loyalist_db_pool_connections',
      help: 'PostgreSQL pool connections by state',
      labelNames: ['state'],
      registers: [own],
      collect() {
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });
  }

  if (replica) {
    new Gauge({
      name: 'loyalist_replica_lag_seconds',
      help: 'How far the read replica is behind the primary, to the watcher\'s 0.25 s (-1: not measured yet)',
      registers: [own],
      collect() {
        this.set(replica.lagSeconds() ?? -1);
      },
    });
    new Counter({
      name: 'loyalist_replica_reads_total',
      help: 'Requests of read-only routes, by where they were answered: replica; or primary because the replica was behind or away (behind), had not replayed a member this process wrote (written), or failed (failed)',
      labelNames: ['outcome'],
      registers: [own],
      collect() {
        this.reset();
        for (const [outcome, count] of Object.entries(replica.outcomes)) this.inc({ outcome }, count);
      },
    });
  }

  // each (method, route, status)'s counter and histogram, found once (prom-client hashes the labels at every call otherwise)
  const series = new Map<string, { count: { inc(): void }; time: { observe(seconds: number): void } }>();
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    const key = `${request.method} ${reply.statusCode} ${route}`;
    let one = series.get(key);
    if (!one) {
      const labels = { method: request.method, route, status_code: String(reply.statusCode) };
      one = { count: requests.labels(labels), time: duration.labels(labels) };
      series.set(key, one);
    }
    one.count.inc();
    one.time.observe(reply.elapsedTime / 1000);
  });

  // operations endpoints need no credentials: probes and scrapers call them
  const op = (name: string, summary: string, description: string, response: Record<number, unknown>) => ({
    schema: { operationId: `ops.${name}.get`, summary, description, tags: ['Operations'], security: [], response },
  });
  const Status = Obj({ status: Type.Literal('ok') });
  const Unavailable = Obj({ status: Type.Literal('error'), errors: Obj({ code: Type.Literal('service_unavailable'), message: Type.String() }) }, { description: 'The database does not answer or is not migrated' });
  const Index = Obj({ name: Type.String(), description: Type.String(), links: Obj({ docs: Type.String(), openapi: Type.String(), ready: Type.String(), health: Type.String(), metrics: Type.String() }) });

  // what a newcomer's browser or curl finds at the root: where to go next
  app.get('/', op('index', 'Where to go next: links to the reference, the document and the probes', 'What a browser or curl finds at the root: the names of the interactive reference, the OpenAPI document and the probes.', { 200: Index }), async () => ({
    name: 'loyalist',
    description: 'Loyalty platform speaking the SessionM APIs',
    links: { docs: '/docs', openapi: '/docs/json', ready: '/readyz', health: '/healthz', metrics: '/metrics' },
  }));
  app.get('/healthz', op('healthz', 'Liveness: the process answers', 'Answers ok while the process runs, whatever the database does: a probe that restarts the process on failure.', { 200: Status }), async () => ({ status: 'ok' as const }));
  let migrated = false;
  app.get('/readyz', op('readyz', 'Readiness: the database answers and is migrated', 'Answers ok when the database answers and its migrations are applied, else 503: a probe that sends traffic only to ready instances.', { 200: Status, 503: Unavailable }), async (_request, reply) => {
    try {
      await sql`SELECT 1`.execute(db);
      migrated ||= await isMigrated(db);
      if (migrated) return { status: 'ok' as const };
      return reply.code(503).send({ status: 'error', errors: { code: 'service_unavailable', message: 'migrations are not applied' } });
    } catch {
      return reply.code(503).send({ status: 'error', errors: { code: 'service_unavailable', message: 'the database does not answer' } });
    }
  });
  const Metrics = { description: 'Prometheus text exposition', content: { 'text/plain': { schema: Type.String() } } };
  app.get('/metrics', op('metrics', 'Prometheus metrics: requests by route and status, latency, database pool, job queue', 'The Prometheus text exposition of the process: requests and latency by route and status, the PostgreSQL pool, the job queue depth and the Node.js runtime.', { 200: Metrics }), async (_request, reply) => reply.type(own.contentType).send(`${await own.metrics()}\n${await webhookRegistry.metrics()}`));
}
