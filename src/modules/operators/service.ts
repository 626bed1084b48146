// Operators, their roles at each retailer, cookie sessions, personal API
// tokens, invitations and failed sign-ins. Secrets given out (session and
// token secrets, invitation tokens) are long and random: kept as SHA-256.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';
import { permissionsOf, type Permission, type Principal, type Role } from './roles.js';

export interface Operator {
  id: string;
  email: string;
  name: string;
  superadmin: boolean;
  created_at: Date;
  password_changed_at: Date | null;
}

const OPERATOR_COLUMNS = ['id', 'email', 'name', 'superadmin', 'created_at', 'password_changed_at'] as const;

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();
const secret = () => randomBytes(32).toString('base64url');

export const normalEmail = (email: string) => email.trim().toLowerCase();

/** A new operator; an email already taken is a conflict. */
export async function createOperator(tx: Db, input: { email: string; name: string; passwordHash: string | null; superadmin?: boolean }): Promise<Operator> {
  const row = await tx
    .insertInto('operators')
    .values({ id: randomUUID(), email: normalEmail(input.email), name: input.name, password_hash: input.passwordHash, superadmin: input.superadmin ?? false, password_changed_at: input.passwordHash ? new Date() : null })
    .onConflict((oc) => oc.expression(sql`lower(email)`).doNothing())
    .returning(OPERATOR_COLUMNS)
    .executeTakeFirst();
  if (!row) throw new DomainError('duplicate_email', 'email: an operator with this email already exists', 'email');
  return row;
}

export async function findOperatorByEmail(db: Db, email: string): Promise<(Operator & { password_hash: string | null }) | undefined> {
  return db.selectFrom('operators').select([...OPERATOR_COLUMNS, 'password_hash']).where(sql`lower(email)`, '=', normalEmail(email)).executeTakeFirst();
}

export async function findOperator(db: Db, id: string): Promise<(Operator & { password_hash: string | null }) | undefined> {
  return db.selectFrom('operators').select([...OPERATOR_COLUMNS, 'password_hash']).where('id', '=', id).executeTakeFirst();
}

/** The operator's roles, by retailer. */
export async function rolesOf(db: Db, operatorId: string): Promise<Map<string, Role>> {
  const rows = await db.selectFrom('operator_roles').select(['retailer_id', 'role']).where('operator_id', '=', operatorId).execute();
  return new Map(rows.map((r) => [r.retailer_id, r.role]));
}

/** The operators holding a role at the retailer, oldest role first. */
export async function listOperators(db: Db, retailerId: string): Promise<(Operator & { role: Role; invited: boolean })[]> {
  const rows = await db
    .selectFrom('operator_roles as r')
    .innerJoin('operators as o', 'o.id', 'r.operator_id')
    .select(['o.id', 'o.email', 'o.name', 'o.superadmin', 'o.created_at', 'o.password_changed_at', 'r.role', sql<boolean>`o.password_hash IS NULL`.as('invited')])
    .where('r.retailer_id', '=', retailerId)
    .orderBy('r.created_at')
    .orderBy('o.id')
    .execute();
  return rows;
}

/** The operator's role at the retailer, locking the retailer's roles (so that two changes cannot both leave it without an owner). */
export async function lockRoles(tx: Db, retailerId: string): Promise<Map<string, Role>> {
  const rows = await tx.selectFrom('operator_roles').select(['operator_id', 'role']).where('retailer_id', '=', retailerId).orderBy('operator_id').forUpdate().execute();
  return new Map(rows.map((r) => [r.operator_id, r.role]));
}

/** Gives the operator this role at the retailer (replacing the one it had). */
export async function setRole(tx: Db, operatorId: string, retailerId: string, role: Role): Promise<void> {
  await tx
    .insertInto('operator_roles')
    .values({ operator_id: operatorId, retailer_id: retailerId, role })
    .onConflict((oc) => oc.columns(['operator_id', 'retailer_id']).doUpdateSet({ role }))
    .execute();
}

export async function removeRole(tx: Db, operatorId: string, retailerId: string): Promise<void> {
  await tx.deleteFrom('operator_roles').where('operator_id', '=', operatorId).where('retailer_id', '=', retailerId).execute();
}

/** A new password; every session and invitation of the operator but `keepSession` ends. */
export async function setPassword(tx: Db, operatorId: string, passwordHash: string, keepSession?: Buffer): Promise<void> {
  await tx.updateTable('operators').set({ password_hash: passwordHash, password_changed_at: new Date() }).where('id', '=', operatorId).execute();
  let sessions = tx.deleteFrom('operator_sessions').where('operator_id', '=', operatorId);
  if (keepSession) sessions = sessions.where('token_hash', '<>', keepSession);
  await sessions.execute();
  await tx.updateTable('operator_invitations').set({ used_at: new Date() }).where('operator_id', '=', operatorId).where('used_at', 'is', null).execute();
}

// sessions

export interface SessionTimes {
  idleSeconds: number;
  maxSeconds: number;
}

/** Opens a session: the token for the cookie (shown only here). */
export async function openSession(db: Db, operatorId: string, times: SessionTimes, from: { address?: string; userAgent?: string }): Promise<string> {
  const token = secret();
  await db
    .insertInto('operator_sessions')
    .values({ token_hash: sha256(token), operator_id: operatorId, last_seen_at: new Date(), expires_at: new Date(Date.now() + times.maxSeconds * 1000), address: from.address ?? null, user_agent: from.userAgent?.slice(0, 500) ?? null })
    .execute();
  return token;
}

/** The operator of a live session (one used within the idle time and not past its end), marking it used now. */
export async function useSession(db: Db, token: string, times: SessionTimes): Promise<string | undefined> {
  const row = await db
    .updateTable('operator_sessions')
    .set({ last_seen_at: new Date() })
    .where('token_hash', '=', sha256(token))
    .where('expires_at', '>', new Date())
    .where('last_seen_at', '>', new Date(Date.now() - times.idleSeconds * 1000))
    .returning('operator_id')
    .executeTakeFirst();
  return row?.operator_id;
}

export async function closeSession(db: Db, token: string): Promise<void> {
  await db.deleteFrom('operator_sessions').where('token_hash', '=', sha256(token)).execute();
}

export async function pruneSessions(db: Db, now = new Date()): Promise<void> {
  await db.deleteFrom('operator_sessions').where('expires_at', '<', now).execute();
}

/** A session's CSRF token: derived from the session's own secret, which only its cookie holds. */
export const csrfTokenOf = (sessionToken: string) => createHash('sha256').update('csrf:').update(sessionToken).digest('base64url');

export const sessionHash = sha256;

// personal API tokens

export interface ApiToken {
  id: string;
  name: string;
  retailer_id: string | null;
  role: Role | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const TOKEN_COLUMNS = ['id', 'name', 'retailer_id', 'role', 'created_at', 'last_used_at', 'revoked_at'] as const;
const TOKEN = /^lop_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;
export const isOperatorToken = (value: string) => value.startsWith('lop_');

/** Issues a token; its value is shown only here. */
export async function issueToken(tx: Db, operatorId: string, input: { name: string; retailerId?: string; role?: Role }): Promise<{ token: ApiToken; value: string }> {
  const id = randomUUID();
  const value = `lop_${id.replace(/-/g, '')}_${secret()}`;
  const token = await tx
    .insertInto('operator_tokens')
    .values({ id, operator_id: operatorId, name: input.name, secret_hash: sha256(value), retailer_id: input.retailerId ?? null, role: input.role ?? null })
    .returning(TOKEN_COLUMNS)
    .executeTakeFirstOrThrow();
  return { token, value };
}

export async function listTokens(db: Db, operatorId: string): Promise<ApiToken[]> {
  return db.selectFrom('operator_tokens').select(TOKEN_COLUMNS).where('operator_id', '=', operatorId).orderBy('created_at').orderBy('id').execute();
}

/** Revokes one of the operator's tokens (again: answers the first revocation). */
export async function revokeToken(tx: Db, operatorId: string, tokenId: string): Promise<ApiToken> {
  const row = await tx
    .updateTable('operator_tokens')
    .set({ revoked_at: sql`coalesce(revoked_at, now())` })
    .where('operator_id', '=', operatorId)
    .where('id', '=', tokenId)
    .returning(TOKEN_COLUMNS)
    .executeTakeFirst();
  if (!row) throw new DomainError('not_found', 'token not found');
  return row;
}

/** The token's operator and limits, when the value is a live token's (compared in constant time). */
export async function useToken(db: Db, value: string): Promise<{ operatorId: string; retailerId: string | null; role: Role | null; tokenId: string } | undefined> {
  const match = TOKEN.exec(value);
  if (!match) return undefined;
  const id = match[1].replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
  const row = await db
    .updateTable('operator_tokens')
    .set({ last_used_at: new Date() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning(['operator_id', 'retailer_id', 'role', 'secret_hash'])
    .executeTakeFirst();
  if (!row || !timingSafeEqual(row.secret_hash, sha256(value))) return undefined;
  return { operatorId: row.operator_id, retailerId: row.retailer_id, role: row.role, tokenId: id };
}

// invitations

/** An invitation to set a first password: its token (shown only here). */
export async function invite(tx: Db, operatorId: string, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }> {
  const token = secret();
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  await tx.insertInto('operator_invitations').values({ token_hash: sha256(token), operator_id: operatorId, expires_at: expiresAt }).execute();
  return { token, expiresAt };
}

/** The operator an unused, unexpired invitation is for, marking it used. */
export async function redeemInvitation(tx: Db, token: string): Promise<string | undefined> {
  const row = await tx
    .updateTable('operator_invitations')
    .set({ used_at: new Date() })
    .where('token_hash', '=', sha256(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date())
    .returning('operator_id')
    .executeTakeFirst();
  return row?.operator_id;
}

// failed sign-ins

/** The failures under each key since `since`, and the oldest of them. */
export async function recentFailures(db: Db, keys: string[], since: Date): Promise<Map<string, { count: number; oldest: Date }>> {
  const rows = await db
    .selectFrom('login_failures')
    .select(['key', (eb) => eb.fn.countAll<string>().as('count'), (eb) => eb.fn.min('at').as('oldest')])
    .where('key', 'in', keys)
    .where('at', '>=', since)
    .groupBy('key')
    .execute();
  return new Map(rows.map((r) => [r.key, { count: Number(r.count), oldest: new Date(r.oldest as Date) }]));
}

/** Records a failure under each key, and forgets those older than a day. */
export async function recordFailure(db: Db, keys: string[]): Promise<void> {
  await db.insertInto('login_failures').values(keys.map((key) => ({ key }))).execute();
  await db.deleteFrom('login_failures').where('at', '<', new Date(Date.now() - 86_400_000)).execute();
}

export async function clearFailures(db: Db, key: string): Promise<void> {
  await db.deleteFrom('login_failures').where('key', '=', key).execute();
}

// principals

/** What an operator may do now: their current roles, each capped by a token's role, limited to a token's retailer. */
export async function principalOf(db: Db, operatorId: string, kind: 'operator' | 'operator_token', limits: { retailerId?: string | null; role?: Role | null } = {}): Promise<Principal | undefined> {
  const operator = await findOperator(db, operatorId);
  if (!operator) return undefined;
  const rights = new Map<string, ReadonlySet<Permission>>();
  const roles = new Map<string, Role>();
  for (const [retailerId, role] of await rolesOf(db, operatorId)) {
    if (limits.retailerId && limits.retailerId !== retailerId) continue;
    rights.set(retailerId, permissionsOf(role, limits.role));
    roles.set(retailerId, role);
  }
  // a token for one retailer never carries the operator's superadmin rights
  return { kind, operatorId, email: operator.email, superadmin: operator.superadmin && !limits.retailerId, rights, roles };
}
