import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../errors.js';
import type { Tenant } from '../modules/tenants/credentials.js';
import { bodyHash, claimMessageId, completeMessageId } from '../modules/replays/service.js';
import { toErrorAnswer, type ErrorAnswer } from './errors.js';
import { fieldWithNul, withoutEmptyStrings, withoutNullFields } from './lenient.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The retailer whose credentials the request carries. */
    tenant?: Tenant;
    /** The body as received, for Message-ID hashing. */
    rawBody?: string;
    /** The Message-ID this request claimed, to store its answer. */
    replayKey?: string;
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
      const sendError = (reply: FastifyReply, answer: ErrorAnswer) => reply.code(answer.status).send(surface.errorBody(answer));

      scope.addHook('onRequest', async (request) => {
        request.tenant = await surface.authenticate(request);
      });
      scope.addHook('preValidation', async (request) => {
        // empty strings and nulls mean absent (strictly typed clients send unset fields as null)
        if (request.body !== undefined) request.body = withoutNullFields(withoutEmptyStrings(request.body), surface.freeForm);
        request.query = withoutEmptyStrings(request.query);
        const nul = fieldWithNul(request.params) ?? fieldWithNul(request.query) ?? fieldWithNul(request.body);
        if (nul) throw new DomainError('argument_error', `${nul}: must not contain NUL characters`, nul);
      });
      if (surface.replayKey) {
        const replayKey = surface.replayKey;
        scope.addHook('preHandler', async (request, reply) => {
          const key = MUTATING.has(request.method) && request.tenant ? replayKey(request) : undefined;
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
            await completeMessageId(app.deps.db, request.tenant.retailerId, request.replayKey, reply.statusCode, payload);
          }
          return payload;
        });
      }

      scope.setErrorHandler((err, request, reply) => {
        const answer = toErrorAnswer(err);
        if (answer.status >= 500) request.log.error({ err }, 'request failed');
        return sendError(reply, answer);
      });
      scope.setNotFoundHandler((request, reply) => sendError(reply, toErrorAnswer(new DomainError('not_found', `no such endpoint: ${request.method} ${request.url.split('?')[0]}`))));

      await scope.register(routes);
    },
    { prefix },
  );
}

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
