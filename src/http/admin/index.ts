import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { DomainError } from '../../errors.js';
import { applyProgramDocument } from '../../flows/program-apply.js';
import { createTenant, issueTenantCredentials, revokeTenantCredential, rotateTenantCredential } from '../../flows/tenants.js';
import { listCredentials, type RotatedCredential } from '../../modules/tenants/credentials.js';
import { findRetailer, listRetailers } from '../../modules/tenants/service.js';
import { exportProgram, validateProgram } from '../../modules/program/service.js';
import { dbOf, registerSurface, errorEnvelope, type Surface } from '../surface.js';
import { adminAuthenticator, completeAdminRoute } from './access.js';
import { fails, IsoTime, Obj, Uuid } from '../contract.js';
import { EVENT_TYPES } from '../../modules/outbox/catalog.js';
import { FEED_CURSOR, listEvents } from '../../modules/outbox/service.js';
import { webhookRoutes } from './webhooks.js';
import { operatorRoutes } from './operators.js';
import { memberRoutes } from './members.js';
import { dashboardRoutes } from './dashboard.js';
import { programPreviewRoutes } from './program.js';
import { AdminCredential, AdminRotatedCredential, AdminTenant, DomainEvent, IssuedSecrets, Program, ProgramDiff } from './schemas.js';

/** Admin API: tenants, credentials, program configuration, operators and members, for operators by role (http/admin/access.ts) and the ADMIN_TOKEN. */
export function registerAdminApi(app: FastifyInstance): void {
  const authenticate = adminAuthenticator(app);
  const surface: Surface = {
    name: 'admin',
    async authenticate(request) {
      await authenticate(request);
      return undefined;
    },
    errorBody: errorEnvelope,
  };
  registerSurface(app, surface, '/admin', adminRoutes);
}

const RetailerPath = Type.Object({ retailer_id: Type.String({ format: 'uuid' }) });
const CredentialPath = Type.Object({ retailer_id: Type.String({ format: 'uuid' }), credential_id: Type.String({ format: 'uuid' }) });
const tags = ['Admin'];
const PROGRAM_TYPES = ['application/yaml', 'text/yaml'];

/** What a rotation answers: the new secret under the name the surface's clients use, as POST /admin/tenants does. */
function rotationAnswer({ credential, secret, replaced }: RotatedCredential) {
  const names =
    credential.surface === 'core'
      ? { appkey: credential.key, secret }
      : credential.surface === 'connect'
        ? { appkey_connect: credential.key, secret_connect: secret }
        : { cloudpos_authorization: `${credential.key}.${secret}` };
  return { ...credential, ...names, replaced };
}

const adminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, verifier } = app.deps;
  app.addHook('onRoute', completeAdminRoute);

  // program documents are YAML as often as JSON (`loyalist program apply --server` sends the file as it is)
  app.addContentTypeParser(PROGRAM_TYPES, { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string;
    try {
      done(null, parseYaml(body as string));
    } catch (err) {
      done(new DomainError('argument_error', `body: not valid YAML (${(err as Error).message.split('\n')[0]})`, 'body'));
    }
  });

  const knownRetailer = async (id: string) => {
    const retailer = await findRetailer(db, id.toLowerCase());
    if (!retailer) throw new DomainError('not_found', 'retailer not found');
    return retailer;
  };

  app.get(
    '/tenants',
    {
      config: { allow: 'signed_in' },
      schema: {
        summary: 'List the retailers, oldest first',
        description: 'A page of the retailers the caller holds a role at (a superadmin: all of them; skip, take: at most 1000, 100 by default) and how many there are in all.',
        tags,
        querystring: Type.Object({ skip: Type.Optional(Type.Integer({ minimum: 0, default: 0 })), take: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }),
        response: { 200: Obj({ skip: Type.Integer(), take: Type.Integer(), total: Type.Integer(), retailers: Type.Array(AdminTenant) }) },
      },
    },
    async (request) => {
      const page = { skip: request.query.skip ?? 0, take: request.query.take ?? 100 };
      const principal = request.principal!;
      const { retailers, total } = await listRetailers(db, page, principal.superadmin ? undefined : [...principal.rights.keys()]);
      return { ...page, total, retailers: retailers.map((r) => ({ retailer_id: r.id, name: r.name, created_at: r.created_at.toISOString() })) };
    },
  );

  app.post(
    '/tenants',
    {
      config: { allow: 'superadmin', audit: 'retailer.create' },
      schema: {
        summary: 'Create a retailer with one store and credentials for every surface',
        description: 'Creates the retailer, a store named after it and a set of credentials for Core, Connect and Cloud POS; the secrets are shown only in this answer. Not idempotent: each call creates another retailer.',
        tags,
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: {
          201: Obj({
            retailer_id: Uuid,
            store_id: Type.String({ format: 'uuid', description: "the retailer's first store: the POS envelope's store_id" }),
            ...IssuedSecrets,
            client_id: Type.String({ format: 'uuid', description: "the POS envelope's client_id (the retailer id)" }),
          }),
        },
      },
    },
    async (request, reply) => {
      const tenant = await createTenant(dbOf(request), request.body.name.trim());
      // the retailer id is also the POS envelope's client_id
      return reply.code(201).send({ ...tenant, client_id: tenant.retailer_id });
    },
  );

  app.get(
    '/tenants/:retailer_id',
    {
      schema: {
        summary: 'A retailer and its configuration',
        description: 'The retailer with its whole configuration as a program document (the same as GET …/program).',
        tags,
        params: RetailerPath,
        response: { 200: Obj({ retailer_id: Uuid, name: Type.String(), created_at: IsoTime, program: Program }), ...fails('not_found') },
      },
    },
    async (request) => {
      const retailer = await knownRetailer(request.params.retailer_id);
      return { retailer_id: retailer.id, name: retailer.name, created_at: retailer.created_at.toISOString(), program: await exportProgram(db, retailer.id) };
    },
  );

  app.get(
    '/tenants/:retailer_id/credentials',
    {
      config: { allow: 'integrations' },
      schema: {
        summary: "The retailer's credentials (keys and dates; never secrets), revoked and expired ones included",
        description: 'Oldest first. A rotated credential and its successor share a key; the rotated one has an expires_at.',
        tags,
        params: RetailerPath,
        response: { 200: Obj({ retailer_id: Uuid, credentials: Type.Array(AdminCredential) }), ...fails('not_found') },
      },
    },
    async (request) => {
      const retailer = await knownRetailer(request.params.retailer_id);
      return { retailer_id: retailer.id, credentials: await listCredentials(db, retailer.id) };
    },
  );

  app.post(
    '/tenants/:retailer_id/credentials',
    {
      config: { allow: 'integrations', audit: 'credential.issue' },
      schema: {
        summary: 'Issue a new set of credentials (the secrets are shown once)',
        description: 'Adds credentials for Core, Connect and Cloud POS with new keys; the existing ones keep working until revoked. Each call issues another set.',
        tags,
        params: RetailerPath,
        response: { 201: Obj({ retailer_id: Uuid, ...IssuedSecrets }), ...fails('not_found') },
      },
    },
    async (request, reply) => {
      const retailer = await knownRetailer(request.params.retailer_id);
      const credentials = await issueTenantCredentials(dbOf(request), retailer.id);
      return reply.code(201).send({ retailer_id: retailer.id, ...credentials });
    },
  );

  app.delete(
    '/tenants/:retailer_id/credentials/:credential_id',
    {
      config: { allow: 'integrations', audit: 'credential.revoke' },
      schema: {
        summary: 'Revoke a credential at once',
        description:
          'The secret stops working at once in this server process; other processes serving the same database stop accepting it within 5 seconds. ' +
          'Idempotent: revoking again answers the credential with its first revocation time.',
        tags,
        params: CredentialPath,
        response: { 200: AdminCredential, ...fails('not_found') },
      },
    },
    async (request) => {
      const retailer = await knownRetailer(request.params.retailer_id);
      const revoked = await revokeTenantCredential(dbOf(request), retailer.id, request.params.credential_id.toLowerCase());
      verifier.forget(revoked.surface, revoked.key);
      return revoked;
    },
  );

  app.post(
    '/tenants/:retailer_id/credentials/:credential_id/rotate',
    {
      config: { allow: 'integrations', audit: 'credential.rotate' },
      schema: {
        summary: 'Issue a new secret for a credential (shown once); the old one keeps working for overlap_seconds',
        description:
          'The new secret is a new credential with the same key and surface. The old secret stops at once (overlap_seconds 0, the default) or when its expires_at passes; ' +
          'other processes serving the same database may accept it for up to 5 seconds more.',
        tags,
        params: CredentialPath,
        // no body at all is the default overlap
        body: Type.Union([Type.Object({ overlap_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86400, description: 'seconds the old secret keeps working (default 0)' })) }), Type.Null()]),
        response: { 201: AdminRotatedCredential, ...fails('not_found', 'validation') },
      },
    },
    async (request, reply) => {
      const retailer = await knownRetailer(request.params.retailer_id);
      const overlap = request.body?.overlap_seconds ?? 0;
      const rotated = await rotateTenantCredential(dbOf(request), retailer.id, request.params.credential_id.toLowerCase(), overlap);
      verifier.forget(rotated.credential.surface, rotated.credential.key);
      return reply.code(201).send(rotationAnswer(rotated));
    },
  );

  app.get(
    '/tenants/:retailer_id/program',
    {
      schema: {
        summary: "The retailer's configuration as a program document",
        description: 'Every section of the configuration as it is now, in the form PUT …/program takes.',
        tags,
        params: RetailerPath,
        response: { 200: Program, ...fails('not_found') },
      },
    },
    async (request) => exportProgram(db, request.params.retailer_id.toLowerCase()),
  );

  app.put(
    '/tenants/:retailer_id/program',
    {
      config: { allow: 'program', audit: 'program.apply' },
      schema: {
        summary: "Make the retailer's configuration match a program document (idempotent)",
        description:
          'The document is JSON (application/json) or YAML (application/yaml or text/yaml), as a program file. ' +
          'Listed things are created or changed, things a listed section leaves out are retired, absent sections are left as they are; the retailer is created when it does not exist. ' +
          'Applying the same document again changes nothing. The answer holds the configuration as it is after, and what applying changed (as POST …/program/diff answers it beforehand).',
        tags,
        params: RetailerPath,
        consumes: ['application/json', ...PROGRAM_TYPES],
        body: Program,
        response: { 200: Obj({ status: Type.Literal('ok'), created_retailer: Type.Boolean(), program: Program, diff: ProgramDiff }), ...fails('validation') },
      },
    },
    async (request) => {
      const program = validateProgram(request.body);
      const retailerId = request.params.retailer_id.toLowerCase();
      const result = await applyProgramDocument(dbOf(request), retailerId, program);
      return { status: 'ok' as const, created_retailer: result.createdRetailer, program: result.program, diff: result.diff };
    },
  );

  app.get(
    '/tenants/:retailer_id/events',
    {
      schema: {
        summary: "The retailer's domain events, in order (the outbox feed)",
        description:
          'Every change another system may care about, as recorded in the transaction that made it (docs/events.md): oldest first, after the cursor `after`. ' +
          'A reader keeps `next_after` and asks again from there; events of transactions still running are answered once they commit, in transaction order, so a reader that resumes misses none (docs/events.md). ' +
          'Events older than EVENT_RETENTION_DAYS are pruned.',
        tags,
        params: RetailerPath,
        querystring: Type.Object({
          after: Type.Optional(Type.String({ pattern: FEED_CURSOR, description: '`next_after` of the page before (absent: from the oldest kept)' })),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          type: Type.Optional(Type.Array(Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))), { description: 'only these types' })),
          user_id: Type.Optional(Uuid),
        }),
        response: {
          200: Obj({
            events: Type.Array(DomainEvent),
            next_after: Type.Union([Type.String({ pattern: FEED_CURSOR }), Type.Null()], { description: 'the cursor to ask from next (null: no event yet)' }),
            has_more: Type.Boolean(),
          }),
          ...fails('not_found', 'argument_error'),
        },
      },
    },
    async (request) => {
      const retailer = await knownRetailer(request.params.retailer_id);
      const q = request.query;
      const page = await listEvents(db, retailer.id, { after: q.after, limit: q.limit, types: q.type, memberId: q.user_id?.toLowerCase() });
      return { events: page.events, next_after: page.nextAfter, has_more: page.more };
    },
  );
  await app.register(webhookRoutes);
  await app.register(operatorRoutes);
  await app.register(memberRoutes);
  await app.register(dashboardRoutes);
  await app.register(programPreviewRoutes);
};
