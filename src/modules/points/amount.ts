import { DomainError } from '../../errors.js';

/**
 * Point amounts are exact decimals with at most four places, held as bigint
 * ten-thousandths: no binary floating point ever touches an amount. The
 * database keeps them as numeric(19,4); the wire carries JSON numbers.
 */
export type Amount = bigint;

export const SCALE = 4;
const FACTOR = 10n ** BigInt(SCALE);
/** Largest magnitude accepted on input: 10^11 keeps every amount within 15 significant digits on the wire. */
const LIMIT = 10n ** 11n * FACTOR;

export const ZERO: Amount = 0n;

/** Reads an amount from a decimal string or a JSON number ("10", 10, "1.5", 2.25). */
export function parseAmount(value: string | number, field = 'amount', limit = true): Amount {
  const text = typeof value === 'number' ? numberText(value) : value.trim();
  const match = /^([+-])?(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new DomainError('argument_error', `${field}: not a number`, field);
  const [, sign, whole, fraction = ''] = match;
  if (fraction.replace(/0+$/, '').length > SCALE) throw new DomainError('argument_error', `${field}: at most ${SCALE} decimal places`, field);
  const units = BigInt(whole) * FACTOR + BigInt(fraction.padEnd(SCALE, '0').slice(0, SCALE) || '0');
  if (limit && units >= LIMIT) throw new DomainError('argument_error', `${field}: too large`, field);
  return sign === '-' ? -units : units;
}

/** A JSON number's own shortest decimal text (what the client wrote), never exponent notation for our range. */
function numberText(value: number): string {
  if (!Number.isFinite(value)) return 'NaN';
  const text = String(value);
  return /e/i.test(text) ? value.toFixed(SCALE + 2) : text;
}

/** The database's numeric text ("100.0000", "-2.5") as an amount. */
export const fromDb = (value: string | number): Amount => parseAmount(String(value), 'amount', false);

/** Decimal text for SQL parameters and exact comparisons. */
export function toDecimal(amount: Amount): string {
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const whole = abs / FACTOR;
  const fraction = (abs % FACTOR).toString().padStart(SCALE, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** The JSON number of an amount: an integer literal when whole (1, never 1.0). */
export const toJson = (amount: Amount): number => Number(toDecimal(amount));

export const min = (a: Amount, b: Amount): Amount => (a < b ? a : b);

/** The amount, or zero when it is negative (a debt's part of a balance is not in any lot). */
export const positivePart = (a: Amount): Amount => (a > ZERO ? a : ZERO);
