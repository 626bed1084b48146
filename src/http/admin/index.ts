import { createHash, timingSafeEqual } from 'node:crypto';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../errors.js';
import { issueCredentials } from '../../modules/tenants/credentials.js';
import { createRetailer, findRetailer } from '../../modules/tenants/service.js';
import { applyProgram, exportProgram, ProgramSchema, validateProgram } from '../../modules/program/service.js';
import { accessDenied, headerValue, registerSurface, errorEnvelope, type Surface } from '../surface.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Admin API: tenants, credentials and program configuration, behind ADMIN_TOKEN. */
export function registerAdminApi(app: FastifyInstance): void {
  const expected = app.deps.config.adminToken ? digest(app.deps.config.adminToken) : undefined;
  const surface: Surface = {
    name: 'admin',
    async authenticate(request) {
      if (!expected) throw accessDenied('the admin API is disabled: set ADMIN_TOKEN to enable it');
      const token = /^bearer\s+(.+)$/i.exec(headerValue(request, 'authorization') ?? '')?.[1];
      if (!token || !timingSafeEqual(digest(token), expected)) throw accessDenied();
      return undefined;
    },
    errorBody: errorEnvelope,
  };
  registerSurface(app, surface, '/admin', adminRoutes);
}

const RetailerPath = Type.Object({ retailer_id: Type.String({ format: 'uuid' }) });
const tags = ['Admin'];

const adminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;

  app.post(
    '/tenants',
    { schema: { summary: 'Create a retailer with one store and credentials for every surface', tags, body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }) } },
    async (request, reply) => {
      const tenant = await db.transaction().execute((tx) => createRetailer(tx, { name: request.body.name.trim() }));
      return reply.code(201).send(tenant);
    },
  );

  app.get('/tenants/:retailer_id', { schema: { summary: "A retailer and its configuration", tags, params: RetailerPath } }, async (request) => {
    const retailer = await findRetailer(db, request.params.retailer_id.toLowerCase());
    if (!retailer) throw new DomainError('not_found', 'retailer not found');
    return { retailer_id: retailer.id, name: retailer.name, created_at: retailer.created_at.toISOString(), program: await exportProgram(db, retailer.id) };
  });

  app.post('/tenants/:retailer_id/credentials', { schema: { summary: 'Issue a new set of credentials (the secrets are shown once)', tags, params: RetailerPath } }, async (request, reply) => {
    const retailerId = request.params.retailer_id.toLowerCase();
    if (!(await findRetailer(db, retailerId))) throw new DomainError('not_found', 'retailer not found');
    const credentials = await db.transaction().execute((tx) => issueCredentials(tx, retailerId));
    return reply.code(201).send({ retailer_id: retailerId, ...credentials });
  });

  app.get('/tenants/:retailer_id/program', { schema: { summary: "The retailer's configuration as a program document", tags, params: RetailerPath } }, async (request) =>
    exportProgram(db, request.params.retailer_id.toLowerCase()),
  );

  app.put(
    '/tenants/:retailer_id/program',
    { schema: { summary: "Make the retailer's configuration match a program document (idempotent)", tags, params: RetailerPath, body: ProgramSchema } },
    async (request) => {
      const program = validateProgram(request.body);
      const retailerId = request.params.retailer_id.toLowerCase();
      const result = await db.transaction().execute((tx) => applyProgram(tx, retailerId, program));
      return { status: 'ok', created_retailer: result.createdRetailer, program: await exportProgram(db, retailerId) };
    },
  );
};
