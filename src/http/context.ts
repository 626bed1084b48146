import type { FastifyRequest } from 'fastify';
import type { Actor } from '../modules/members/service.js';
import type { Tenant } from '../modules/tenants/credentials.js';
import { DomainError } from '../errors.js';

/** The authenticated retailer of a surface request. */
export function tenantOf(request: FastifyRequest): Tenant {
  if (!request.tenant) throw new DomainError('access_denied', 'missing or invalid credentials');
  return request.tenant;
}

/** The tenant plus the request id that timeline entries record. */
export function actorOf(request: FastifyRequest): Actor {
  return { ...tenantOf(request), requestId: request.id };
}
