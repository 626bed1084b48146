import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Db } from '../../db/index.js';
import { DomainError, memberNotFound } from '../../errors.js';
import { resolveMemberRef, type Member } from '../../modules/members/service.js';
import { tenantOf } from '../context.js';

/** Fields every Connect body carries. */
export const ConnectBase = {
  retailer_id: Type.String({ minLength: 1, maxLength: 64 }),
  culture: Type.Optional(Type.String({ maxLength: 20 })),
};

/** The body's retailer_id must be the credential's retailer (compared case-insensitively). */
export function checkRetailer(request: FastifyRequest, retailerId: string): void {
  if (retailerId.toLowerCase() !== tenantOf(request).retailerId) throw new DomainError('not_found', 'retailer_id: no such retailer for these credentials', 'retailer_id');
}

/** `user_id` of a Connect body: a member id or one of the retailer's external ids. */
export async function memberOf(db: Db, request: FastifyRequest, userId: string): Promise<Member> {
  const member = await resolveMemberRef(db, tenantOf(request).retailerId, userId);
  if (!member) throw memberNotFound();
  return member;
}

/** Connect and POS timestamps: ISO 8601 UTC. */
export const isoTime = (date: Date): string => date.toISOString();
