// Who may use the admin API, decided in one place: every admin route names the
// permission it needs (`config.allow`), the surface's hooks resolve the
// principal (ADMIN_TOKEN, a session cookie, a personal token), refuse a
// cookie-authenticated write without its CSRF token, and check the route's
// permission at the route's retailer; every write is recorded in the audit
// trail, in its own transaction (`config.audit`).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Config } from '../../config.js';
import { withWriteContext, type WriteContext } from '../../db/write-context.js';
import { DomainError } from '../../errors.js';
import { recordAudit } from '../../modules/audit/service.js';
import { decide, type Permission, type Principal } from '../../modules/operators/roles.js';
import { csrfTokenOf, isOperatorToken, principalOf, useSession, useToken, type SessionTimes } from '../../modules/operators/service.js';
import { accessDenied, headerValue } from '../surface.js';

/** What a route requires: a permission at the route's retailer, superadmin rights, any signed-in principal, or nothing. */
export type Allow = Permission | 'superadmin' | 'signed_in' | 'public';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who an admin request acts as. */
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Admin routes: what the route requires (GET: `read` unless given; every other method names it). */
    allow?: Allow;
    /** Admin writes: the audit trail's action (`program.apply`), or false for a request that changes no configuration or data. */
    audit?: string | false;
  }
}

export const SESSION_COOKIE = 'loyalist_session';
export const CSRF_HEADER = 'x-csrf-token';
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const sessionTimes = (config: Config): SessionTimes => ({ idleSeconds: config.adminSessionIdleSeconds, maxSeconds: config.adminSessionMaxSeconds });

const digest = (value: string) => createHash('sha256').update(value).digest();
const sameSecret = (given: string, expected: Buffer) => timingSafeEqual(digest(given), expected);

/**
 * The admin surface's hook: resolves the principal of a request (401 without
 * one; public routes need none), then checks the route's requirement, before
 * the request's input is even validated.
 */
export function adminAuthenticator(app: FastifyInstance) {
  const authenticate = principalResolver(app);
  return async (request: FastifyRequest): Promise<void> => {
    if (request.routeOptions.config.allow === 'public') return;
    await authenticate(request);
    checkAccess(request);
  };
}

function principalResolver(app: FastifyInstance) {
  const { config, db } = app.deps;
  const expected = config.adminToken ? digest(config.adminToken) : undefined;
  const times = sessionTimes(config);
  return async (request: FastifyRequest): Promise<void> => {
    const bearer = /^bearer\s+(.+)$/i.exec(headerValue(request, 'authorization') ?? '')?.[1];
    if (bearer) {
      if (isOperatorToken(bearer)) {
        const token = await useToken(db, bearer);
        request.principal = token && (await principalOf(db, token.operatorId, 'operator_token', { retailerId: token.retailerId, role: token.role }));
      } else if (expected && sameSecret(bearer, expected)) {
        request.principal = { kind: 'admin_token', operatorId: null, email: null, superadmin: true, rights: new Map(), roles: new Map() };
      }
      if (!request.principal) throw accessDenied(expected || isOperatorToken(bearer) ? undefined : 'no ADMIN_TOKEN is set: sign in as an operator (POST /admin/session) or send a personal API token');
      return;
    }
    const session = app.parseCookie(request.headers.cookie ?? '')[SESSION_COOKIE];
    const operatorId = session ? await useSession(db, session, times) : undefined;
    const principal = operatorId ? await principalOf(db, operatorId, 'operator') : undefined;
    if (!principal) throw accessDenied(session ? 'the session has ended: sign in again' : 'missing credentials: sign in (POST /admin/session), or send a personal API token or the ADMIN_TOKEN as a bearer token');
    // a cookie rides along with any request the browser sends: a write must also carry the session's CSRF token
    const csrf = csrfTokenOf(session!);
    if (MUTATING.has(request.method) && !sameSecret(headerValue(request, CSRF_HEADER) ?? '', digest(csrf))) {
      throw new DomainError('csrf_refused', `${CSRF_HEADER}: missing or wrong (the csrf_token of POST /admin/session and GET /admin/me)`, CSRF_HEADER);
    }
    request.principal = { ...principal, csrfToken: csrf };
  };
}

/** Checks the route's requirement against the principal: 404 for a retailer it has no role at, 403 for a role without the permission. */
function checkAccess(request: FastifyRequest): void {
  const allow = request.routeOptions.config.allow;
  const principal = request.principal!;
  // an unknown path (no route, so no requirement) is answered 404 once the credentials are known
  if (!allow || allow === 'signed_in' || allow === 'public') return;
  if (allow === 'superadmin') {
    if (!principal.superadmin) throw new DomainError('forbidden', 'only a superadmin may do this');
    return;
  }
  const retailerId = (request.params as { retailer_id?: string }).retailer_id;
  if (!retailerId) throw new Error(`admin route ${request.routeOptions.url} names no retailer for its permission`);
  const decision = decide(principal, retailerId, allow);
  if (decision === 'not_found') throw new DomainError('not_found', 'retailer not found', 'retailer_id');
  if (decision === 'forbidden') throw new DomainError('forbidden', `your role at this retailer does not allow this (${allow})`);
}

/**
 * Completes an admin route: GETs require `read` unless they say otherwise;
 * any other method must name its permission and its audit action; a public
 * route takes no credentials in the document; a write's handler works
 * through dbOf(request), a handle whose first transaction records the write
 * in the audit trail.
 */
export function completeAdminRoute(route: RouteOptions): void {
  const methods = ([] as string[]).concat(route.method).filter((m) => m !== 'HEAD');
  const config = (route.config ??= {}) as NonNullable<RouteOptions['config']> & { allow?: Allow; audit?: string | false };
  const mutating = methods.some((m) => MUTATING.has(m));
  if (!mutating) config.allow ??= 'read';
  if (!config.allow || (mutating && config.audit === undefined)) throw new Error(`admin route ${methods.join(',')} ${route.url} must name config.allow and config.audit`);
  if (route.schema && !route.schema.hide) {
    const schema = route.schema as Record<string, unknown>;
    schema['x-loyalist-allow'] = config.allow;
    if (config.allow === 'public') schema.security = [];
  }
  const action = config.audit;
  if (!mutating || !action) return;
  const handler = route.handler as (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) => unknown;
  route.handler = function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
    const context: WriteContext = { detail: {}, committed: false, beforeCommit: (tx, detail) => recordAudit(tx, auditEntry(request, action, detail)) };
    request.auditedDb = withWriteContext(request.server.deps.db, context);
    return handler.call(this, request, reply);
  };
}

function auditEntry(request: FastifyRequest, action: string, detail: WriteContext['detail']): Parameters<typeof recordAudit>[1] {
  const params = request.params as Record<string, string>;
  const objectParam = Object.keys(params).filter((k) => k !== 'retailer_id').pop();
  const principal = request.principal!;
  return {
    retailerId: detail.retailerId ?? params.retailer_id?.toLowerCase() ?? null,
    actor: { type: principal.kind, id: principal.operatorId, email: principal.email },
    address: request.ip,
    userAgent: headerValue(request, 'user-agent') ?? null,
    action,
    objectType: action.split('.')[0],
    objectId: detail.objectId ?? (objectParam ? params[objectParam].toLowerCase() : (params.retailer_id?.toLowerCase() ?? null)),
    requestId: request.id,
    before: detail.before,
    // what the request asked, where the flow says nothing more
    after: detail.after ?? withoutSecrets(request.body),
  };
}

/** A body as the audit trail may keep it: no password, secret or token, however deep. */
function withoutSecrets(body: unknown): unknown {
  if (Array.isArray(body)) return body.map(withoutSecrets);
  if (!body || typeof body !== 'object') return body;
  return Object.fromEntries(Object.entries(body).filter(([k]) => !/password|secret|token/i.test(k)).map(([k, v]) => [k, withoutSecrets(v)]));
}
