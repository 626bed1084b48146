/**
 * The people who run programs: signing in (rate-limited, no account
 * enumeration), inviting operators and changing their roles (never leaving a
 * retailer without an owner), passwords and personal API tokens. Each change
 * is one transaction; the audit trail gets roles before and after, never a
 * password or a secret.
 */
import type { Db } from '../db/index.js';
import { transact } from '../db/unit-of-work.js';
import { describeWrite } from '../db/write-context.js';
import { DomainError } from '../errors.js';
import { checkPasswordStrength, hashPassword, verifyPassword } from '../modules/operators/passwords.js';
import { ROLE_PERMISSIONS, type Role } from '../modules/operators/roles.js';
import {
  clearFailures,
  closeSession,
  createOperator,
  findOperator,
  findOperatorByEmail,
  invite,
  issueToken,
  lockRoles,
  normalEmail,
  openSession,
  recentFailures,
  recordFailure,
  redeemInvitation,
  removeRole,
  revokeToken,
  rolesOf,
  sessionHash,
  setPassword,
  setRole,
  type Operator,
  type SessionTimes,
} from '../modules/operators/service.js';

/** Failed sign-ins allowed within the window, per account and per address; then 429 until the oldest leaves the window. */
export const SIGN_IN_LIMITS = { windowSeconds: 15 * 60, perAccount: 5, perAddress: 20 } as const;

/** How long an invitation's set-password token works. */
export const INVITATION_SECONDS = 7 * 86400;

const WRONG = () => new DomainError('access_denied', 'email or password is incorrect');

/**
 * Signs an operator in: a session token for the cookie. Unknown email and
 * wrong password take as long and answer the same; too many failures for the
 * account or the address refuse even the right password for a while.
 */
export async function signIn(db: Db, input: { email: string; password: string; address: string; userAgent?: string }, times: SessionTimes): Promise<{ token: string; operator: Operator }> {
  const keys = [`email:${normalEmail(input.email)}`, `address:${input.address}`];
  const since = new Date(Date.now() - SIGN_IN_LIMITS.windowSeconds * 1000);
  const failures = await recentFailures(db, keys, since);
  const over = (key: string, limit: number) => {
    const found = failures.get(key);
    return found && found.count >= limit ? found : undefined;
  };
  const limited = over(keys[0], SIGN_IN_LIMITS.perAccount) ?? over(keys[1], SIGN_IN_LIMITS.perAddress);
  if (limited) {
    const retryAfter = Math.max(1, Math.ceil((limited.oldest.getTime() + SIGN_IN_LIMITS.windowSeconds * 1000 - Date.now()) / 1000));
    throw Object.assign(new DomainError('too_many_attempts', 'too many failed sign-ins: try again later'), { retryAfter });
  }
  const found = await findOperatorByEmail(db, input.email);
  if (!(await verifyPassword(input.password, found?.password_hash)) || !found) {
    await recordFailure(db, keys);
    throw WRONG();
  }
  await clearFailures(db, keys[0]);
  const token = await openSession(db, found.id, times, { address: input.address, userAgent: input.userAgent });
  const { password_hash: _hash, ...operator } = found;
  return { token, operator };
}

export const signOut = (db: Db, token: string) => closeSession(db, token);

/** Refuses a role name that is not one of the roles (the CLI's --role). */
export function assertRole(role: string): asserts role is Role {
  if (!(role in ROLE_PERMISSIONS)) throw new DomainError('argument_error', `role: one of ${Object.keys(ROLE_PERMISSIONS).join(', ')}`, 'role');
}

/**
 * Gives an operator a role at the retailer, by email: an unknown email
 * becomes an invited operator, with a set-password token (answered once).
 */
export async function inviteOperator(db: Db, retailerId: string, input: { email: string; name?: string; role: Role }) {
  return transact(db, async (tx) => {
    const roles = await lockRoles(tx, retailerId);
    let operator: Operator | undefined = await findOperatorByEmail(tx, input.email);
    let invitation: { token: string; expiresAt: Date } | undefined;
    if (!operator) {
      operator = await createOperator(tx, { email: input.email, name: input.name ?? input.email, passwordHash: null });
      invitation = await invite(tx, operator.id, INVITATION_SECONDS);
    }
    const before = roles.get(operator.id) ?? null;
    if (before === 'owner' && input.role !== 'owner') assertAnotherOwner(roles, operator.id);
    await setRole(tx, operator.id, retailerId, input.role);
    describeWrite(tx, { objectId: operator.id, before: before && { email: operator.email, role: before }, after: { email: operator.email, role: input.role } });
    const { password_hash: _hash, ...view } = operator as Operator & { password_hash?: unknown };
    return { operator: view, role: input.role, invitation };
  });
}

/** Changes an operator's role at the retailer. */
export async function changeOperatorRole(db: Db, retailerId: string, operatorId: string, role: Role) {
  return transact(db, async (tx) => {
    const roles = await lockRoles(tx, retailerId);
    const before = roles.get(operatorId);
    if (!before) throw new DomainError('not_found', 'operator not found', 'operator_id');
    if (before === 'owner' && role !== 'owner') assertAnotherOwner(roles, operatorId);
    await setRole(tx, operatorId, retailerId, role);
    const operator = (await findOperator(tx, operatorId))!;
    describeWrite(tx, { before: { email: operator.email, role: before }, after: { email: operator.email, role } });
    return { operator, role };
  });
}

/** Takes the operator's role at the retailer away (their sessions lose it at once). */
export async function removeOperator(db: Db, retailerId: string, operatorId: string): Promise<void> {
  await transact(db, async (tx) => {
    const roles = await lockRoles(tx, retailerId);
    const before = roles.get(operatorId);
    if (!before) throw new DomainError('not_found', 'operator not found', 'operator_id');
    if (before === 'owner') assertAnotherOwner(roles, operatorId);
    await removeRole(tx, operatorId, retailerId);
    describeWrite(tx, { before: { email: (await findOperator(tx, operatorId))!.email, role: before } });
  });
}

function assertAnotherOwner(roles: Map<string, Role>, operatorId: string) {
  if (![...roles].some(([id, role]) => role === 'owner' && id !== operatorId)) throw new DomainError('last_owner', 'the retailer must keep an owner: make another operator owner first', 'role');
}

/** Changes the operator's own password (the current one is checked); their other sessions end. */
export async function changeOwnPassword(db: Db, operatorId: string, current: string, next: string, session?: string): Promise<void> {
  checkPasswordStrength(next, 'new_password');
  const operator = await findOperator(db, operatorId);
  if (!operator || !(await verifyPassword(current, operator.password_hash))) throw new DomainError('validation', 'current_password: incorrect', 'current_password');
  const hash = await hashPassword(next);
  await transact(db, async (tx) => {
    await setPassword(tx, operatorId, hash, session ? sessionHash(session) : undefined);
    describeWrite(tx, { objectId: operatorId, after: { password_changed: true } });
  });
}

/** Sets an invited operator's first password with the invitation's token; then they sign in. */
export async function acceptInvitation(db: Db, token: string, password: string): Promise<Operator> {
  checkPasswordStrength(password, 'password');
  const hash = await hashPassword(password);
  return transact(db, async (tx) => {
    const operatorId = await redeemInvitation(tx, token);
    if (!operatorId) throw new DomainError('validation', 'token: not a valid invitation (used, expired or unknown)', 'token');
    await setPassword(tx, operatorId, hash);
    const { password_hash: _hash, ...operator } = (await findOperator(tx, operatorId))!;
    return operator;
  });
}

/** The CLI's operator: a password set at once (printed once), and a role at a retailer or superadmin rights. */
export async function createOperatorWithPassword(db: Db, input: { email: string; name: string; password: string; role?: Role; retailerId?: string; superadmin?: boolean }): Promise<Operator> {
  const hash = await hashPassword(input.password);
  return transact(db, async (tx) => {
    const operator = await createOperator(tx, { email: input.email, name: input.name, passwordHash: hash, superadmin: input.superadmin });
    if (input.role && input.retailerId) await setRole(tx, operator.id, input.retailerId, input.role);
    return operator;
  });
}

/** A personal API token; one for a retailer carries at most the role given (and never more than the operator's role there). */
export async function issueOperatorToken(db: Db, operatorId: string, input: { name: string; retailerId?: string; role?: Role }) {
  return transact(db, async (tx) => {
    if (input.retailerId && !(await rolesOf(tx, operatorId)).has(input.retailerId) && !(await findOperator(tx, operatorId))?.superadmin) {
      throw new DomainError('not_found', 'retailer not found', 'retailer_id');
    }
    const issued = await issueToken(tx, operatorId, input);
    describeWrite(tx, { objectId: issued.token.id, after: issued.token });
    return issued;
  });
}

export const revokeOperatorToken = (db: Db, operatorId: string, tokenId: string) =>
  transact(db, async (tx) => {
    const token = await revokeToken(tx, operatorId, tokenId);
    describeWrite(tx, { objectId: tokenId, after: token });
    return token;
  });
