import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type pg from 'pg';
import type { Config } from './config.js';
import type { Db } from './db/index.js';
import type { ReplicaRouter } from './db/replica.js';
import { CredentialVerifier } from './modules/tenants/credentials.js';
import { DomainError } from './errors.js';
import { toErrorAnswer, type ErrorAnswer } from './http/errors.js';
import { parseQueryString, withoutJsonComments } from './http/lenient.js';
import { COMPONENTS } from './http/contract.js';
import { answerFor, errorEnvelope, noSuchEndpoint, posErrorEnvelope, sendErrorAnswer } from './http/surface.js';
import { registerOps } from './http/ops.js';
import { registerCoreApi } from './http/core/index.js';
import { registerConnectApi } from './http/connect/index.js';
import { registerPosApi } from './http/pos/index.js';
import { registerAdminApi } from './http/admin/index.js';
import { registerConsole } from './http/console.js';

/** What route handlers reach: the database and the configuration. */
export interface Deps {
  db: Db;
  pool?: pg.Pool;
  /** DATABASE_REPLICA_URL: where read-only routes read (http/surface.ts, replicaReadable). */
  replica?: ReplicaRouter;
  config: Config;
  verifier: CredentialVerifier;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: Deps;
  }
}

export const BODY_LIMIT = 1024 * 1024;

export interface AppOptions {
  config: Config;
  db: Db;
  pool?: pg.Pool;
  replica?: ReplicaRouter;
  /** A pino logger; absent: no logging (tests). */
  logger?: FastifyBaseLogger;
}

/** Builds the application (all surfaces on one instance); the server and the tests share it. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: BODY_LIMIT,
    trustProxy: options.config.trustProxy,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, querystringParser: parseQueryString },
    ajv: { customOptions: { coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false } },
    // a URL Fastify cannot route (broken percent-encoding) is a client mistake, answered as JSON
    frameworkErrors: (_error, request, reply) => {
      const answer = toErrorAnswer(new DomainError('argument_error', 'url: malformed percent-encoding', 'url'));
      sendErrorAnswer(reply as unknown as FastifyReply, answer, envelopeFor(request.url, answer));
    },
    // while closing, requests still arriving on open connections get a 503 in their surface's envelope (below)
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // cookies are parsed only where the admin API reads its session (no hook on every request)
  await app.register(cookie, { hook: false });
  app.decorate('deps', { db: options.db, pool: options.pool, replica: options.replica, config: options.config, verifier: new CredentialVerifier(options.db) });

  // Keep the body as received (Message-ID hashing), then parse it as Fastify does.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string;
    // clients send DELETE with a JSON content type and no body at all
    if (request.method === 'DELETE' && (body as string).trim() === '') return done(null, undefined);
    parseJson(request, body as string, (err, parsed) => {
      // bodies written in Postman may carry // and /* */ comments (the collection's 3.2.6 does)
      if (err && /\/[/*]/.test(body as string)) return parseJson(request, withoutJsonComments(body as string), done);
      done(err, parsed);
    });
  });
  // the test suite and the conformance run check every answer against the contract (docs/api-contract.md)
  const contractCheck = process.env.LOYALIST_CONTRACT_CHECK;
  if (contractCheck) (await import('./http/contract-check.js')).checkAnswers(app, contractCheck);

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) {
      reply.header('connection', 'close');
      throw new DomainError('service_unavailable', 'the server is shutting down: retry on another instance or later');
    }
  });
  // outside the surfaces (each has its own): unknown paths and errors in the Core envelope
  app.setNotFoundHandler((request, reply) => {
    const answer = toErrorAnswer(noSuchEndpoint(request));
    return sendErrorAnswer(reply, answer, envelopeFor(request.url, answer));
  });
  app.setErrorHandler((err, request, reply) => {
    const answer = answerFor(err, request);
    return sendErrorAnswer(reply, answer, envelopeFor(request.url, answer));
  });

  for (const schema of COMPONENTS) app.addSchema(schema);
  await app.register(swagger, {
    // shared answers are components named by their id
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    openapi: {
      info: { title: 'Loyalist', version: '0.1.0', description: 'SessionM-compatible loyalty platform: Core, Connect, Cloud POS and admin APIs.' },
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic', description: 'Core: appkey:secret; Connect: appkey_connect:secret_connect' },
          pos: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Cloud POS token' },
          admin: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN (a break-glass superadmin) or an operator\'s personal API token (lop_…)' },
          adminSession: { type: 'apiKey', in: 'cookie', name: 'loyalist_session', description: 'an operator\'s session (POST /admin/session); writes also send X-CSRF-Token' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true, tryItOutEnabled: true, displayOperationId: true } });

  registerOps(app);
  registerCoreApi(app);
  registerConnectApi(app);
  registerPosApi(app);
  registerAdminApi(app);
  await registerConsole(app);
  return app;
}

/** The error envelope of the surface a URL belongs to: POS's under /api/, else Core's. */
const envelopeFor = (url: string, answer: ErrorAnswer) => (url.startsWith('/api/') ? posErrorEnvelope(answer) : errorEnvelope(answer));
