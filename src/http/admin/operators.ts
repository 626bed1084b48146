// The admin API's people: signing in and out, the signed-in operator's own
// password and API tokens, invitations, a retailer's team and its audit trail.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../../errors.js';
import { acceptInvitation, changeOperatorRole, changeOwnPassword, inviteOperator, issueOperatorToken, removeOperator, revokeOperatorToken, signIn, signOut } from '../../flows/operators.js';
import { listAudit } from '../../modules/audit/service.js';
import { PASSWORD_LENGTH } from '../../modules/operators/passwords.js';
import { ROLES, type Principal } from '../../modules/operators/roles.js';
import { csrfTokenOf, findOperator, listOperators, listTokens, principalOf, type ApiToken, type Operator } from '../../modules/operators/service.js';
import { listRetailers } from '../../modules/tenants/service.js';
import { dbOf } from '../surface.js';
import { fails, IsoTime, Nullable, Obj, OneOf, Uuid } from '../contract.js';
import { CSRF_HEADER, SESSION_COOKIE, sessionTimes } from './access.js';
import { parseTime } from '../connect/common.js';

const tags = ['Admin: operators'];
const Role = OneOf(ROLES, { description: 'owner: everything; marketer: the program and simulations; support: members; viewer: read only' });
const Password = Type.String({ minLength: PASSWORD_LENGTH.min, maxLength: PASSWORD_LENGTH.max });
const OperatorView = Obj({ operator_id: Uuid, email: Type.String(), name: Type.String(), superadmin: Type.Boolean(), password_set: Type.Boolean({ description: 'false: invited, no password yet' }), created_at: IsoTime });
const TeamMember = Obj({ ...OperatorView.properties, role: Role });
const TokenView = Obj({
  token_id: Uuid,
  name: Type.String(),
  retailer_id: Nullable(Uuid),
  role: Nullable(Role),
  created_at: IsoTime,
  last_used_at: Nullable(IsoTime),
  revoked_at: Nullable(IsoTime),
});
const Me = Obj({
  operator: Nullable(OperatorView),
  kind: OneOf(['operator', 'operator_token', 'admin_token'], { description: 'how the request authenticated: a session, a personal token, or the ADMIN_TOKEN' }),
  superadmin: Type.Boolean(),
  retailers: Type.Array(Obj({ retailer_id: Uuid, name: Type.String(), role: Role, permissions: Type.Array(Type.String()) }), { description: 'the retailers the caller holds a role at' }),
  csrf_token: Nullable(Type.String({ description: `a cookie session's token for the ${CSRF_HEADER} header of its writes` })),
});
const AuditRecord = Obj({
  id: Type.String(),
  retailer_id: Nullable(Uuid),
  at: IsoTime,
  actor: Obj({ type: OneOf(['operator', 'operator_token', 'admin_token']), operator_id: Nullable(Uuid), email: Nullable(Type.String()) }),
  address: Nullable(Type.String()),
  user_agent: Nullable(Type.String()),
  action: Type.String({ description: 'e.g. program.apply, operator.invite, points.adjust' }),
  object_type: Type.String(),
  object_id: Nullable(Type.String()),
  request_id: Nullable(Type.String()),
  before: Type.Unknown({ description: 'the configuration before (program applies, role and webhook changes); null otherwise' }),
  after: Type.Unknown({ description: 'the configuration or the change after; never a secret or a password' }),
});
const AuditQuery = Type.Object({
  before: Type.Optional(Type.String({ pattern: '^[0-9]{1,19}$', description: '`next_before` of the page before: older records' })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  action: Type.Optional(Type.String({ maxLength: 100 })),
  object_type: Type.Optional(Type.String({ maxLength: 100 })),
  object_id: Type.Optional(Type.String({ maxLength: 255 })),
  actor_id: Type.Optional(Uuid),
  from: Type.Optional(Type.String({ maxLength: 40, description: 'records at or after this instant' })),
  to: Type.Optional(Type.String({ maxLength: 40, description: 'records before this instant' })),
});
const AuditPage = Obj({ records: Type.Array(AuditRecord), next_before: Nullable(Type.String({ description: 'the cursor of the next (older) page; null: none' })) });
const RetailerPath = Type.Object({ retailer_id: Type.String({ format: 'uuid' }) });
const OperatorPath = Type.Object({ retailer_id: Type.String({ format: 'uuid' }), operator_id: Type.String({ format: 'uuid' }) });

const operatorView = (o: Operator & { invited?: boolean; password_changed_at?: Date | null }) => ({
  operator_id: o.id,
  email: o.email,
  name: o.name,
  superadmin: o.superadmin,
  password_set: o.invited === undefined ? o.password_changed_at !== null : !o.invited,
  created_at: o.created_at.toISOString(),
});
const iso = (d: Date | null) => d && d.toISOString();
const tokenView = (t: ApiToken) => ({ token_id: t.id, name: t.name, retailer_id: t.retailer_id, role: t.role, created_at: t.created_at.toISOString(), last_used_at: iso(t.last_used_at), revoked_at: iso(t.revoked_at) });

/** The operator a request acts as: the ADMIN_TOKEN is nobody's, and has no password or tokens of its own. */
function operatorOf(request: FastifyRequest): string {
  const id = request.principal?.operatorId;
  if (!id) throw new DomainError('forbidden', 'the ADMIN_TOKEN is no operator: sign in as one');
  return id;
}

export const operatorRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, config } = app.deps;
  const times = sessionTimes(config);

  const me = async (principal: Principal, csrf: string | null) => {
    const found = principal.operatorId ? await findOperator(db, principal.operatorId) : undefined;
    const { retailers } = await listRetailers(db, { skip: 0, take: 10000 }, [...principal.rights.keys()]);
    return {
      operator: found ? operatorView(found) : null,
      kind: principal.kind,
      superadmin: principal.superadmin,
      retailers: retailers.map((r) => ({ retailer_id: r.id, name: r.name, role: principal.roles.get(r.id)!, permissions: [...principal.rights.get(r.id)!] })),
      csrf_token: csrf,
    };
  };

  app.post(
    '/session',
    {
      config: { allow: 'public', audit: false },
      schema: {
        summary: 'Sign in: a session cookie for the admin API and the console',
        description:
          `Sets the HttpOnly, SameSite=Strict cookie ${SESSION_COOKIE} (Secure over https). Writes with the cookie also send the answer's csrf_token as ${CSRF_HEADER}. ` +
          'The session ends after ADMIN_SESSION_IDLE_SECONDS without a request, and after ADMIN_SESSION_MAX_SECONDS at the latest. ' +
          'A wrong email and a wrong password answer alike; after 5 failures for an account, or 20 from an address, within 15 minutes, sign-ins are refused (429) until the oldest is 15 minutes old.',
        tags,
        body: Type.Object({ email: Type.String({ minLength: 1, maxLength: 320 }), password: Type.String({ minLength: 1, maxLength: PASSWORD_LENGTH.max }) }),
        response: { 200: Me, ...fails('too_many_attempts') },
      },
    },
    async (request, reply) => {
      const { token, operator } = await signIn(db, { ...request.body, address: request.ip, userAgent: request.headers['user-agent'] }, times);
      reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', path: '/admin', maxAge: times.maxSeconds });
      return me((await principalOf(db, operator.id, 'operator'))!, csrfTokenOf(token));
    },
  );

  app.delete(
    '/session',
    {
      config: { allow: 'signed_in', audit: false },
      schema: { summary: 'Sign out: end the cookie session', description: 'Ends the cookie session at once and clears the cookie (with a bearer token: nothing to end).', tags, response: { 200: Obj({ status: Type.Literal('ok') }) } },
    },
    async (request, reply) => {
      const session = app.parseCookie(request.headers.cookie ?? '')[SESSION_COOKIE];
      if (session && request.principal?.kind === 'operator') await signOut(db, session);
      reply.clearCookie(SESSION_COOKIE, { path: '/admin' });
      return { status: 'ok' as const };
    },
  );

  app.get(
    '/me',
    {
      config: { allow: 'signed_in' },
      schema: { summary: 'Who the caller is: the operator, their retailers, roles and permissions', description: "And a cookie session's CSRF token (the console reads it after a reload).", tags, response: { 200: Me } },
    },
    async (request) => me(request.principal!, request.principal!.csrfToken ?? null),
  );

  app.put(
    '/me/password',
    {
      config: { allow: 'signed_in', audit: 'operator.password_change' },
      schema: {
        summary: "Change the signed-in operator's password",
        description: `The current password is checked; the new one has ${PASSWORD_LENGTH.min} to ${PASSWORD_LENGTH.max} characters. Every other session of the operator ends.`,
        tags,
        body: Type.Object({ current_password: Type.String({ minLength: 1, maxLength: PASSWORD_LENGTH.max }), new_password: Password }),
        response: { 200: Obj({ status: Type.Literal('ok') }), ...fails('validation', 'forbidden') },
      },
    },
    async (request) => {
      const session = request.principal?.kind === 'operator' ? app.parseCookie(request.headers.cookie ?? '')[SESSION_COOKIE] : undefined;
      await changeOwnPassword(dbOf(request), operatorOf(request), request.body.current_password, request.body.new_password, session);
      return { status: 'ok' as const };
    },
  );

  app.get(
    '/me/tokens',
    { config: { allow: 'signed_in' }, schema: { summary: "The signed-in operator's personal API tokens", description: 'Oldest first, revoked ones included (never a secret).', tags, response: { 200: Obj({ tokens: Type.Array(TokenView) }), ...fails('forbidden') } } },
    async (request) => ({ tokens: (await listTokens(db, operatorOf(request))).map(tokenView) }),
  );

  app.post(
    '/me/tokens',
    {
      config: { allow: 'signed_in', audit: 'token.issue' },
      schema: {
        summary: 'Issue a personal API token (shown once)',
        description:
          'Send it as `Authorization: Bearer lop_…`. It acts with the operator\'s roles as they are at each request; with retailer_id, at that retailer only, and with role, with at most that role\'s permissions there.',
        tags,
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), retailer_id: Type.Optional(Uuid), role: Type.Optional(Role) }),
        response: { 201: Obj({ ...TokenView.properties, token: Type.String({ pattern: '^lop_', description: 'the token, shown only here' }) }), ...fails('not_found', 'forbidden') },
      },
    },
    async (request, reply) => {
      const b = request.body;
      if (b.role && !b.retailer_id) throw new DomainError('argument_error', 'role: a token limited to a role names its retailer_id', 'role');
      const { token, value } = await issueOperatorToken(dbOf(request), operatorOf(request), { name: b.name, retailerId: b.retailer_id?.toLowerCase(), role: b.role });
      return reply.code(201).send({ ...tokenView(token), token: value });
    },
  );

  app.delete(
    '/me/tokens/:token_id',
    {
      config: { allow: 'signed_in', audit: 'token.revoke' },
      schema: {
        summary: 'Revoke a personal API token at once',
        description: 'Idempotent: revoking again answers the first revocation time.',
        tags,
        params: Type.Object({ token_id: Type.String({ format: 'uuid' }) }),
        response: { 200: TokenView, ...fails('not_found', 'forbidden') },
      },
    },
    async (request) => tokenView(await revokeOperatorToken(dbOf(request), operatorOf(request), request.params.token_id.toLowerCase())),
  );

  app.post(
    '/invitations/accept',
    {
      config: { allow: 'public', audit: false },
      schema: {
        summary: "Set an invited operator's first password",
        description: `With the invitation token an owner's invitation answered (valid 7 days, once). The password has ${PASSWORD_LENGTH.min} to ${PASSWORD_LENGTH.max} characters; then sign in with POST /admin/session.`,
        tags,
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }), password: Password }),
        response: { 200: Obj({ operator: OperatorView }), ...fails('validation') },
      },
    },
    async (request) => ({ operator: operatorView(await acceptInvitation(db, request.body.token, request.body.password)) }),
  );

  app.get(
    '/tenants/:retailer_id/operators',
    {
      config: { allow: 'team' },
      schema: { summary: "The retailer's operators and their roles", description: 'Oldest role first; an invited operator has no password yet.', tags, params: RetailerPath, response: { 200: Obj({ operators: Type.Array(TeamMember) }), ...fails('not_found', 'forbidden') } },
    },
    async (request) => ({ operators: (await listOperators(db, request.params.retailer_id.toLowerCase())).map((o) => ({ ...operatorView(o), role: o.role })) }),
  );

  app.post(
    '/tenants/:retailer_id/operators',
    {
      config: { allow: 'team', audit: 'operator.invite' },
      schema: {
        summary: 'Give a person a role at the retailer (inviting them when they have no account)',
        description:
          'An operator with this email gets the role here (replacing the one they had). An unknown email becomes an invited operator: the answer holds a set-password token, shown once, valid 7 days, for POST /admin/invitations/accept.',
        tags,
        params: RetailerPath,
        body: Type.Object({ email: Type.String({ minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' }), name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), role: Role }),
        response: {
          201: Obj({ operator: TeamMember, invitation: Nullable(Obj({ token: Type.String(), expires_at: IsoTime })) }),
          ...fails('not_found', 'forbidden', 'last_owner'),
        },
      },
    },
    async (request, reply) => {
      const { operator, role, invitation } = await inviteOperator(dbOf(request), request.params.retailer_id.toLowerCase(), request.body);
      return reply.code(201).send({ operator: { ...operatorView({ ...operator, invited: Boolean(invitation) }), role }, invitation: invitation ? { token: invitation.token, expires_at: invitation.expiresAt.toISOString() } : null });
    },
  );

  app.put(
    '/tenants/:retailer_id/operators/:operator_id',
    {
      config: { allow: 'team', audit: 'operator.change_role' },
      schema: {
        summary: "Change an operator's role at the retailer",
        description: 'The change holds from the operator\'s next request. The last owner cannot be made anything else (409 last_owner).',
        tags,
        params: OperatorPath,
        body: Type.Object({ role: Role }),
        response: { 200: TeamMember, ...fails('not_found', 'forbidden', 'last_owner') },
      },
    },
    async (request) => {
      const { operator, role } = await changeOperatorRole(dbOf(request), request.params.retailer_id.toLowerCase(), request.params.operator_id.toLowerCase(), request.body.role);
      return { ...operatorView(operator), role };
    },
  );

  app.delete(
    '/tenants/:retailer_id/operators/:operator_id',
    {
      config: { allow: 'team', audit: 'operator.remove' },
      schema: {
        summary: "Remove an operator from the retailer's team",
        description: 'Their role here ends at once (their account and other retailers stay). The last owner cannot be removed (409 last_owner).',
        tags,
        params: OperatorPath,
        response: { 200: Obj({ status: Type.Literal('ok') }), ...fails('not_found', 'forbidden', 'last_owner') },
      },
    },
    async (request) => {
      await removeOperator(dbOf(request), request.params.retailer_id.toLowerCase(), request.params.operator_id.toLowerCase());
      return { status: 'ok' as const };
    },
  );

  const auditAnswer = async (retailerId: string | undefined, q: typeof AuditQuery.static) => {
    const page = await listAudit(db, retailerId, {
      before: q.before,
      limit: q.limit,
      action: q.action,
      objectType: q.object_type,
      objectId: q.object_id?.toLowerCase(),
      actorId: q.actor_id?.toLowerCase(),
      from: q.from ? parseTime(q.from, 'from') : undefined,
      to: q.to ? parseTime(q.to, 'to') : undefined,
    });
    return {
      records: page.records.map((r) => ({
        id: String(r.id),
        retailer_id: r.retailer_id,
        at: r.at.toISOString(),
        actor: { type: r.actor_type, operator_id: r.actor_id, email: r.actor_email },
        address: r.address,
        user_agent: r.user_agent,
        action: r.action,
        object_type: r.object_type,
        object_id: r.object_id,
        request_id: r.request_id,
        before: r.before,
        after: r.after,
      })),
      next_before: page.more ? String(page.records.at(-1)!.id) : null,
    };
  };
  const auditDescription = 'Newest first, 50 a page (limit: at most 500); filter by action, object, actor and time. Every admin write is recorded in its own transaction: who (operator, personal token or ADMIN_TOKEN), when, from which address, what, and the configuration before and after. Records are never changed or removed.';

  app.get(
    '/tenants/:retailer_id/audit',
    { config: { allow: 'team' }, schema: { summary: "The retailer's audit trail: every admin write", description: auditDescription, tags, params: RetailerPath, querystring: AuditQuery, response: { 200: AuditPage, ...fails('not_found', 'forbidden') } } },
    async (request) => auditAnswer(request.params.retailer_id.toLowerCase(), request.query),
  );

  app.get(
    '/audit',
    {
      config: { allow: 'superadmin' },
      schema: { summary: 'The whole audit trail (superadmins)', description: `Every retailer's records and those of no retailer (retailers created, passwords changed, tokens). ${auditDescription}`, tags, querystring: AuditQuery, response: { 200: AuditPage, ...fails('forbidden') } },
    },
    async (request) => auditAnswer(undefined, request.query),
  );
};
