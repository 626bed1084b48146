import { DomainError } from '../../errors.js';


/**
 * One `@` with a non-empty part on each side and no spaces: integrations park
 * withdrawn members under addresses like `x@y.com.delete_250601120000`.
 */
export const isEmail = (value: string): boolean => /^[^\s@]+@[^\s@]+$/.test(value);

export const digitsOf = (phone: string): string => phone.replace(/\D/g, '');

/** `XXX-XXX-3333`: only the last four digits are shown. */
export function maskPhone(phone: string): string {
  const digits = digitsOf(phone);
  const masked = 'X'.repeat(Math.max(0, digits.length - 4)) + digits.slice(-4);
  return masked.length === 10 ? `${masked.slice(0, 3)}-${masked.slice(3, 6)}-${masked.slice(6)}` : masked;
}

export const MINIMUM_AGE = 13;

/** Accepts `YYYY-MM-DD` (or a timestamp starting with it); the member must be at least 13. */
export function normalizeDob(value: string, today = new Date()): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$/.exec(value.trim());
  const date = match ? new Date(Date.UTC(+match[1], +match[2] - 1, +match[3])) : undefined;
  if (!match || !date || date.getUTCMonth() !== +match[2] - 1 || date.getUTCDate() !== +match[3]) {
    throw new DomainError('argument_error', 'dob: expected a date as YYYY-MM-DD', 'dob');
  }
  const thirteenth = new Date(Date.UTC(+match[1] + MINIMUM_AGE, +match[2] - 1, +match[3]));
  if (thirteenth > today) throw new DomainError('validation', `dob: members must be at least ${MINIMUM_AGE} years old`, 'dob');
  return `${match[1]}-${match[2]}-${match[3]}`;
}
