import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Db } from '../../db/index.js';
import { DomainError, memberNotFound } from '../../errors.js';
import { resolveMemberRef, resolveMemberRowRef, type Member, type MemberRow } from '../../modules/members/service.js';
import { tenantOf } from '../context.js';

/** Fields every Connect body carries. */
export const ConnectBase = {
  retailer_id: Type.String({ minLength: 1, maxLength: 64 }),
  culture: Type.Optional(Type.String({ maxLength: 20 })),
};

/** `user_id` of a Connect body: a member id or one of the retailer's external ids. */
export async function memberOf(db: Db, request: FastifyRequest, userId: string): Promise<Member> {
  const member = await resolveMemberRef(db, tenantOf(request).retailerId, userId);
  if (!member) throw memberNotFound();
  return member;
}

/** memberOf for the reads that need only the member's own row, not its identifiers and phone numbers. */
export async function memberRowOf(db: Db, request: FastifyRequest, userId: string): Promise<MemberRow> {
  const member = await resolveMemberRowRef(db, tenantOf(request).retailerId, userId);
  if (!member) throw memberNotFound();
  return member;
}

/** A Connect success answer (connectAnswer in schemas.ts documents it). */
export const ok = <T>(payload: T) => ({ status: 'ok' as const, payload });

/** Connect and POS timestamps: ISO 8601 UTC. */
export const isoTime = (date: Date): string => date.toISOString();

/**
 * A time on input: ISO 8601, or `YYYY-MM-DD HH:MM:SS[.fff]` (UTC) as SPEC §4
 * asks; a time without a zone is UTC.
 */
export function parseTime(value: string, field: string): Date {
  const text = value.trim();
  const match = /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d(?:\.\d+)?)?)(Z|[+-]\d\d:?\d\d)?)?$/i.exec(text);
  const date = match ? new Date(`${match[1]}T${match[2] ?? '00:00:00'}${match[3] ?? 'Z'}`) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw new DomainError('argument_error', `${field}: expected an ISO 8601 time or YYYY-MM-DD HH:MM:SS`, field);
  return date;
}

