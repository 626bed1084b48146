/**
 * Expiry and pending policies of a point account, and the instants they give
 * a deposit: when its points become available and when they expire. Pure
 * (no database). Calendar arithmetic is done in the policy's time zone, so
 * "the end of the month" is the local midnight that starts the next one,
 * across DST changes; a month added to 31 January is the last day of
 * February. A lot is unavailable *from* its expiry instant.
 */
import { Type, type Static } from '@sinclair/typebox';
import { DateTime, Duration } from 'luxon';

export const ROUND_TO = ['day', 'month', 'quarter', 'year'] as const;

const IsoDuration = (description: string) => Type.String({ minLength: 2, maxLength: 40, description: `${description} (ISO 8601: P12M, P30D, PT10S)` });

/** A point account's expiry policy as the program file and the admin API write it. */
export const ExpiryPolicySchema = Type.Union([
  Type.Object({ policy: Type.Literal('never') }, { additionalProperties: false }),
  Type.Object(
    {
      policy: Type.Literal('after'),
      after: IsoDuration('how long after it was earned a deposit expires'),
      round_to: Type.Optional(Type.Union(ROUND_TO.map((r) => Type.Literal(r)), { description: 'to the end of this period (in time_zone)' })),
      time_zone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA time zone of the rounding (default: the program’s time_zone, else UTC)' })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      policy: Type.Literal('fixed_date'),
      month: Type.Integer({ minimum: 1, maximum: 12 }),
      day: Type.Integer({ minimum: 1, maximum: 31, description: 'the last day of a shorter month when it has fewer (29 February: 28 in other years)' }),
      time_zone: Type.Optional(Type.String({ maxLength: 64 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      policy: Type.Literal('inactivity'),
      after: IsoDuration('how long after the last earn or spend in the account all of it expires'),
      time_zone: Type.Optional(Type.String({ maxLength: 64 })),
    },
    { additionalProperties: false },
  ),
]);
export type ExpiryPolicy = Static<typeof ExpiryPolicySchema>;

export const PendingFor = IsoDuration('deposits become spendable this long after they are made');
export const ExpiryNotice = IsoDuration('members are told (points.expiring) this long before points expire');

/** A policy problem, with the field (relative to the account) it is in; undefined when valid. */
export function policyProblem(policy: ExpiryPolicy | undefined, durations: { pending_for?: string; expiry_notice?: string }): { field: string; message: string } | undefined {
  const duration = (field: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const d = Duration.fromISO(text);
    if (!d.isValid) return { field, message: `${text} is not an ISO 8601 duration (P12M, P30D, PT10S)` };
    if (Object.values(d.toObject()).some((v) => v < 0) || d.toMillis() <= 0) return { field, message: `${text} must be longer than zero` };
    return undefined;
  };
  const found = duration('pending_for', durations.pending_for) ?? duration('expiry_notice', durations.expiry_notice);
  if (found || !policy || policy.policy === 'never') return found;
  if (policy.time_zone !== undefined && !DateTime.now().setZone(policy.time_zone).isValid) return { field: 'expiry.time_zone', message: `${policy.time_zone} is not an IANA time zone` };
  if (policy.policy === 'fixed_date') {
    const longest = DateTime.utc(2024, policy.month, 1).daysInMonth!;
    return policy.day > longest ? { field: 'expiry.day', message: `month ${policy.month} has no day ${policy.day}` } : undefined;
  }
  return duration('expiry.after', policy.after);
}

/** A policy with its time zone settled (the account's, else the program's, else UTC). */
export const withTimeZone = (policy: ExpiryPolicy | undefined, programZone: string | undefined): ExpiryPolicy | undefined =>
  policy && policy.policy !== 'never' ? { ...policy, time_zone: policy.time_zone ?? programZone ?? 'UTC' } : policy;

/** Where a lot's points go: an open lot per expiry instant (`bucket`), pending until `availableAt` when the account says so. */
export interface LotTerms {
  expiresAt: Date | null;
  availableAt: Date | null;
  /** when points.expiring is due (expiry_notice before the expiry) */
  notifyAt: Date | null;
  bucket: string;
}

const INACTIVITY = 'inactivity';

/** The instant points earned at `earnedAt` expire under `policy` (null: never). */
export function expiryOf(policy: ExpiryPolicy | undefined, earnedAt: Date): Date | null {
  if (!policy || policy.policy === 'never') return null;
  const local = DateTime.fromJSDate(earnedAt, { zone: policy.time_zone ?? 'UTC' });
  if (policy.policy === 'fixed_date') {
    const on = (year: number) => {
      const first = local.set({ year, month: policy.month, day: 1 }).startOf('day');
      return first.set({ day: Math.min(policy.day, first.daysInMonth!) });
    };
    // what was earned before the day expires at its end; from the day on, at the next year's
    const day = on(local.year) > local.startOf('day') ? on(local.year) : on(local.year + 1);
    return day.plus({ days: 1 }).toJSDate();
  }
  const at = local.plus(Duration.fromISO(policy.after));
  if (policy.policy === 'after' && policy.round_to) return at.startOf(policy.round_to).plus({ [`${policy.round_to}s`]: 1 }).toJSDate();
  return at.toJSDate();
}

/** The lot a deposit made at `at` goes into: the deposit's own expiry date wins over the account's policy. */
export function lotTerms(account: { expiry: ExpiryPolicy | null; pending_for: string | null; expiry_notice?: string | null }, at: Date, ownExpiry?: Date | null): LotTerms {
  const policy = account.expiry ?? undefined;
  const expiresAt = ownExpiry ?? expiryOf(policy, at);
  const availableAt = account.pending_for ? DateTime.fromJSDate(at, { zone: 'UTC' }).plus(Duration.fromISO(account.pending_for)).toJSDate() : null;
  const bucket = !ownExpiry && policy?.policy === INACTIVITY ? INACTIVITY : expiresAt ? expiresAt.toISOString() : 'never';
  return { expiresAt, availableAt, notifyAt: noticeOf(account, expiresAt), bucket };
}

/** When points expiring at `expiresAt` are announced (points.expiring): `expiry_notice` before; null without one. */
export const noticeOf = (account: { expiry_notice?: string | null }, expiresAt: Date | null): Date | null =>
  expiresAt && account.expiry_notice ? DateTime.fromJSDate(expiresAt, { zone: 'UTC' }).minus(Duration.fromISO(account.expiry_notice)).toJSDate() : null;

/** An inactivity account's new expiry after activity at `at` (undefined for other policies). */
export const inactivityExpiry = (account: { expiry: ExpiryPolicy | null }, at: Date): Date | undefined =>
  account.expiry?.policy === INACTIVITY ? expiryOf(account.expiry, at)! : undefined;
