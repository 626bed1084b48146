import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode } from '../errors.js';
import { commonErrors, ERROR_CODES, errorAnswer, withDryRun } from './contract.js';
import type { Db } from '../db/index.js';
import { sandbox } from '../db/sandbox.js';
import { StaleOnReplica } from '../db/replica.js';
import { eventsOfThisTransaction } from '../modules/outbox/service.js';
import EXAMPLES from './examples.json' with { type: 'json' };
import type { Tenant } from '../modules/tenants/credentials.js';
import { bodyHash, claimMessageId, completeMessageId, completeMessageIdLater } from '../modules/replays/service.js';
import { toErrorAnswer, type ErrorAnswer } from './errors.js';
import { inputProblem, mistypedNumber, withoutAbsent, withoutEmptyStrings, type NumericSchema } from './lenient.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The retailer whose credentials the request carries. */
    tenant?: Tenant;
    /** The body as received, for Message-ID hashing. */
    rawBody?: string;
    /** The Message-ID this request claimed, to store its answer. */
    replayKey?: string;
    /** A dry run (`dry_run: true` or `Loyalist-Dry-Run: true`): once its handler runs, the sandbox it runs in. */
    dryRun?: { db?: Db };
    /** An audited admin write's handle on the database (admin/access.ts): its first transaction records the write. */
    auditedDb?: Db;
    /** A read-only route's handle on the replica, while its handler runs there (replicaReadable). */
    replicaDb?: Db;
  }
  interface FastifyContextConfig {
    /** Top-level body fields where a null is kept: it clears the field (elsewhere a null means absent). */
    clearable?: readonly string[];
    /** The route takes dry runs: it answers what it would do, and its handler's writes are rolled back (dbOf). */
    dryRun?: boolean;
    /**
     * The route only reads (true, or for the requests this answers true for): with DATABASE_REPLICA_URL its
     * handler reads from the replica (dbOf). Its handler must write nothing, not even through another module.
     */
    replica?: boolean | ((request: FastifyRequest) => boolean);
  }
}

/** One API surface: its credentials, its error envelope, and whether Message-ID replay applies. */
export interface Surface {
  name: 'core' | 'connect' | 'pos' | 'admin';
  authenticate(request: FastifyRequest): Promise<Tenant | undefined>;
  errorBody(error: ErrorAnswer): unknown;
  /**
   * The key under which a request's answer is kept and replayed (Message-ID on
   * Core and Connect, request_id and body on POS); undefined: not replayed.
   */
  replayKey?: (request: FastifyRequest) => string | undefined;
  /** Routes (their path) that are never replayed. */
  unreplayed?: RegExp;
  /**
   * Checks that what the request names (a Connect retailer_id, a POS client_id
   * and store_id) belongs to the credentials' retailer, before any handler runs.
   */
  checkTenancy?: (request: FastifyRequest) => Promise<void> | void;
  /** Free-form maps in request bodies, inside which a null is kept (it removes an attribute). */
  freeForm?: ReadonlySet<string>;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Registers a surface's routes under `prefix` in their own context: every
 * route and every unknown path below it checks credentials first (401), and
 * every error is answered in the surface's envelope.
 */
export function registerSurface(app: FastifyInstance, surface: Surface, prefix: string, routes: FastifyPluginAsync): void {
  app.register(
    async (scope) => {
      const sendError = (reply: FastifyReply, answer: ErrorAnswer) => sendErrorAnswer(reply, answer, surface.errorBody(answer));

      // every operation of the surface names its credentials and a stable operationId in the OpenAPI document
      scope.addHook('onRoute', (route) => {
        const methods = ([] as string[]).concat(route.method).filter((m) => m !== 'HEAD');
        if (route.schema?.hide || methods.length !== 1) return;
        const id = operationId(surface.name, methods[0], route.url);
        if (route.config?.dryRun) {
          route.schema = withDryRun((route.schema ?? {}) as Parameters<typeof withDryRun>[0]) as typeof route.schema;
          route.handler = dryRunnable(route.handler);
        }
        const replica = route.config?.replica;
        if (replica && app.deps.replica) route.handler = replicaReadable(route.handler, replica);
        route.schema = withExamples(id, {
          ...route.schema,
          operationId: id,
          security: SECURITY[surface.name],
          response: withErrorAnswers(surface, methods[0], route.url, route.schema ?? {}),
        }) as typeof route.schema;
      });

      scope.addHook('onRequest', async (request) => {
        request.tenant = await surface.authenticate(request);
      });
      scope.addHook('preValidation', async (request) => {
        // what no later pass or the database could take is refused first, with its field
        const problem = inputProblem(request.params) ?? inputProblem(request.query) ?? inputProblem(request.body);
        if (problem) throw refusal(problem);
        // empty strings and nulls mean absent (strictly typed clients send unset fields as null)
        if (request.body !== undefined) {
          const body = request.body as Record<string, unknown> | null;
          const cleared = (request.routeOptions.config.clearable ?? []).filter((field) => body?.[field] === null);
          request.body = withoutAbsent(request.body, surface.freeForm);
          for (const field of cleared) (request.body as Record<string, unknown>)[field] = null;
        }
        request.query = withoutEmptyStrings(request.query);
        if (request.routeOptions.config.dryRun) request.dryRun = dryRunOf(request);
        const schema = request.routeOptions.schema as Record<'body' | 'querystring' | 'params', NumericSchema | undefined> | undefined;
        const mistyped = mistypedNumber(schema?.body, request.body) ?? mistypedNumber(schema?.querystring, request.query) ?? mistypedNumber(schema?.params, request.params);
        if (mistyped) throw refusal(mistyped);
      });
      const { checkTenancy } = surface;
      if (checkTenancy) scope.addHook('preHandler', async (request) => checkTenancy(request));
      if (surface.replayKey) {
        const replayKey = surface.replayKey;
        scope.addHook('preHandler', async (request, reply) => {
          // a dry run is never kept nor replayed: it changes nothing, and a later real call with its Message-ID must run
          const key = replays(surface, request.method, request.routeOptions.url ?? '') && request.tenant && !request.dryRun ? replayKey(request) : undefined;
          if (!key || !request.tenant) return;
          const hash = bodyHash(request.method, request.url, request.rawBody ?? '');
          const claim = await claimMessageId(app.deps.db, request.tenant.retailerId, key, hash, app.deps.config.replayWindowSeconds);
          if (claim.kind === 'replay') {
            return reply.code(claim.statusCode).header('cached-message', 'true').type('application/json; charset=utf-8').send(claim.body);
          }
          request.replayKey = key;
        });
        scope.addHook('onSend', async (request, reply, payload) => {
          if (request.replayKey && request.tenant && typeof payload === 'string') {
            const { retailerId } = request.tenant;
            const [key, status] = [request.replayKey, reply.statusCode];
            await completeMessageId(app.deps.db, retailerId, key, status, payload).catch(() => completeMessageIdLater(app.deps.db, retailerId, key, status, payload));
          }
          return payload;
        });
      }

      scope.setErrorHandler((err, request, reply) => sendError(reply, answerFor(err, request)));
      scope.setNotFoundHandler((request, reply) => sendError(reply, toErrorAnswer(noSuchEndpoint(request))));

      await scope.register(routes);
    },
    { prefix },
  );
}

/**
 * Whether the request is a dry run: a top-level `dry_run` (taken out of the
 * body, so the route reads it as the real call) or the Loyalist-Dry-Run header.
 */
function dryRunOf(request: FastifyRequest): { db?: Db } | undefined {
  const body = request.body as Record<string, unknown> | undefined;
  const field = body && typeof body === 'object' && !Array.isArray(body) && 'dry_run' in body ? body.dry_run : undefined;
  if (field !== undefined) {
    if (typeof field !== 'boolean') throw new DomainError('argument_error', 'dry_run: must be a boolean', 'dry_run');
    delete body!.dry_run;
  }
  const header = headerValue(request, 'loyalist-dry-run')?.toLowerCase();
  if (header !== undefined && header !== 'true' && header !== 'false') throw new DomainError('argument_error', 'Loyalist-Dry-Run: must be true or false', 'Loyalist-Dry-Run');
  return field === true || header === 'true' ? {} : undefined;
}

/**
 * A dry-runnable route's handler: a dry run runs it in a sandbox (every write
 * rolled back) and answers what it answered, with `dry_run` and the domain
 * events it would have recorded. Errors are answered as for real.
 */
function dryRunnable<H extends (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) => unknown>(handler: H): H {
  return async function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
    const dry = request.dryRun;
    if (!dry) return handler.call(this, request, reply);
    return sandbox(request.server.deps.db, async (db) => {
      dry.db = db;
      const answer = (await handler.call(this, request, reply)) as Record<string, unknown>;
      return { ...answer, dry_run: true, outcomes: await eventsOfThisTransaction(db) };
    });
  } as H;
}

/**
 * A read-only route's handler, with a replica (docs/scaling.md): it runs on the replica, and once
 * more on the primary when the replica's answer may not be the truth: it read a member this
 * process wrote after the replica's position, or it failed (a member enrolled elsewhere a
 * moment ago is not there yet; a replica that does not answer must not fail the read). A dry
 * run, and a request the route's test sends elsewhere, runs on the primary.
 */
function replicaReadable<H extends (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) => unknown>(handler: H, when: true | ((request: FastifyRequest) => boolean)): H {
  return async function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
    const router = request.server.deps.replica!;
    const db = !request.dryRun && (when === true || when(request)) ? router.readHandle() : undefined;
    if (!db) return handler.call(this, request, reply);
    request.replicaDb = db;
    try {
      const answer = await handler.call(this, request, reply);
      if (router.settle(db, false) === 'replica') return answer;
    } catch (err) {
      const outcome = router.settle(db, !(err instanceof StaleOnReplica));
      // a replica refuses writes (read_only_sql_transaction): the route is marked read-only by mistake
      if (outcome === 'failed' && (err as { code?: unknown }).code === '25006') request.log.error({ err }, 'a read-only route wrote: answered from the primary');
    } finally {
      request.replicaDb = undefined;
    }
    return handler.call(this, request, reply);
  } as H;
}

/** The database a handler works in: the application's, a dry run's sandbox, an audited admin write's handle (admin/access.ts), or a read-only route's replica. */
export const dbOf = (request: FastifyRequest): Db => request.dryRun?.db ?? request.auditedDb ?? request.replicaDb ?? request.server.deps.db;

/** A "field: problem" found in client input, as the 400 that names the field. */
const refusal = (problem: string) => new DomainError('argument_error', problem, problem.split(':')[0]);

/**
 * An operation's answers with its error answers in the surface's envelope:
 * those of every operation (bad input, credentials, a conflicting Message-ID,
 * an unavailable database) and those its route lists with `fails(…)`.
 */
function withErrorAnswers(surface: Surface, method: string, url: string, schema: { body?: unknown; response?: unknown }): Record<string, unknown> {
  const given = (schema.response ?? {}) as Record<string, { [ERROR_CODES]?: ErrorCode[] }>;
  const codes = commonErrors({ appkeyInPath: surface.name === 'core', mutating: MUTATING.has(method), replayed: replays(surface, method, url), roles: surface.name === 'admin', retailerInPath: surface.name === 'admin' && url.includes(':retailer_id') });
  const response: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(given)) {
    if (answer[ERROR_CODES]) codes[status] = [...(codes[status] ?? []), ...answer[ERROR_CODES]];
    else response[status] = answer;
  }
  for (const [status, list] of Object.entries(codes)) response[status] = errorAnswer(surface.name === 'pos' ? 'pos' : 'core', Number(status), [...new Set(list)]);
  return response;
}

/** The collection's request and answers for an operation, as its examples (scripts/examples.ts writes them). */
function withExamples<T extends { body?: unknown; response: Record<string, unknown> }>(id: string, schema: T): T {
  const found = (EXAMPLES as Record<string, { request?: unknown; responses?: Record<string, unknown> }>)[id];
  if (!found) return schema;
  const response = { ...schema.response };
  for (const [status, example] of Object.entries(found.responses ?? {})) if (response[status]) response[status] = { ...(response[status] as object), examples: [example] };
  return { ...schema, response, ...(found.request !== undefined && schema.body ? { body: { ...(schema.body as object), examples: [found.request] } } : {}) };
}

/** Whether a request to this route may be answered from a kept answer (Message-ID, request_id). */
const replays = (surface: Surface, method: string, url: string) => Boolean(surface.replayKey) && MUTATING.has(method) && !surface.unreplayed?.test(url);

/** The admin API also takes an operator's session cookie. */
const SECURITY: Record<Surface['name'], Record<string, string[]>[]> = {
  core: [{ basic: [] }],
  connect: [{ basic: [] }],
  pos: [{ pos: [] }],
  admin: [{ admin: [] }, { adminSession: [] }],
};

/**
 * A stable operationId from the route: the surface, the API version, the path's
 * words in camelCase (a parameter as `by<Name>`) and the method, e.g.
 * `pos.v2_0.sendTransaction.post`, `core.v1.users.byUserId.tags.get`.
 */
export function operationId(surface: string, method: string, url: string): string {
  const camel = (word: string) => word.replace(/[_-](\w)/g, (_m, c: string) => c.toUpperCase());
  const parts = url
    .replace(/^\/(priv|offers\/api|incentives\/api|api|admin)\//, '')
    .replace(/^(v\d+)\/apps\/:appkey\//, '$1/')
    .split('/')
    .filter(Boolean)
    .map((part) => (/^\d+\.\d+$/.test(part) ? `v${part.replace('.', '_')}` : part.startsWith(':') ? `by${camel(`_${part.slice(1)}`)}` : camel(part)));
  const area = url.startsWith('/incentives/') ? ['incentives'] : url.startsWith('/offers/') ? ['offers'] : [];
  return [surface, ...area, ...parts, method.toLowerCase()].join('.');
}

export const noSuchEndpoint = (request: FastifyRequest) => new DomainError('not_found', `no such endpoint: ${request.method} ${request.url.split('?')[0]}`);

/** The answer to an error, logged where the server, not the client, is the cause. */
export function answerFor(err: unknown, request: FastifyRequest): ErrorAnswer {
  const answer = toErrorAnswer(err);
  if (answer.code === 'service_unavailable') request.log.warn({ err: { message: (err as Error).message, code: (err as { code?: unknown }).code } }, 'database unavailable');
  else if (answer.status >= 500 || answer.unexpected) request.log.error({ err }, 'request failed');
  return answer;
}

/** Sends an error answer; a 503 says when to try again. */
export function sendErrorAnswer(reply: FastifyReply, answer: ErrorAnswer, body: unknown) {
  if (answer.status === 503 || answer.retryAfter) reply.header('retry-after', String(answer.retryAfter ?? RETRY_AFTER_SECONDS));
  return reply.code(answer.status).send(body);
}

export const RETRY_AFTER_SECONDS = 2;

/** The error envelope of Core, Connect and admin answers. */
export const errorEnvelope = ({ code, message }: ErrorAnswer) => ({ status: 'error', errors: { code, message } });
/** The POS error envelope: a list of errors. */
export const posErrorEnvelope = ({ code, message }: ErrorAnswer) => ({ status: 'error', payload: null, errors: [{ code, message }] });

/** Core and Connect: a mutating request carrying Message-ID (or Idempotency-Key) is replayed. */
export function messageIdKey(surfaceName: string) {
  return (request: FastifyRequest): string | undefined => {
    const messageId = headerValue(request, 'message-id') ?? headerValue(request, 'idempotency-key');
    return messageId && `${surfaceName}:${messageId}`;
  };
}

export function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first?.trim() || undefined;
}

/** Reads HTTP Basic credentials; undefined when absent or malformed. */
export function basicCredentials(request: FastifyRequest): { key: string; secret: string } | undefined {
  const header = headerValue(request, 'authorization');
  const match = header && /^basic\s+(\S+)$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { key: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

export const accessDenied = (message = 'missing or invalid credentials') => new DomainError('access_denied', message);
