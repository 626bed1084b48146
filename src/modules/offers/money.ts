/**
 * Money for offers, on the representation of points/amount.ts: an `Amount` is a
 * bigint count of ten-thousandths of the currency unit. No binary floating
 * point touches money.
 *
 * Intermediate values (a unit's share of a line, a percent of a subtotal, a
 * price times 1.5 kg) are kept as exact fractions (`Exact`), so nothing is lost
 * before the one rounding step.
 *
 * The one rounding rule: an offer's final discount is rounded to the minor unit
 * (0.01) half up, away from zero (0.015 → 0.02, 0.0149 → 0.01). Nothing else is
 * rounded: not units, not lines, not percentages. `floorToMinorUnit` is not a
 * second rounding of the discount; it states limits (the most whole cents a
 * line of 0.015 can give up is 0.01).
 */
import { SCALE, parseAmount, toDecimal, toJson, type Amount } from '../points/amount.js';

export { parseAmount, toDecimal, toJson, type Amount };

/** Decimal places of the currency's minor unit. */
export const MINOR_PLACES = 2;
/** One minor unit (0.01) in ten-thousandths. */
export const MINOR_UNIT: Amount = 10n ** BigInt(SCALE - MINOR_PLACES);
/** One whole unit (1, one piece or one kilogram when a quantity) in ten-thousandths. */
export const ONE: Amount = 10n ** BigInt(SCALE);

/** An exact fraction of ten-thousandths: num / den, den > 0, reduced. */
export interface Exact {
  readonly num: bigint;
  readonly den: bigint;
}

/** Anything that is money: an amount or an exact intermediate value. */
export type Money = Amount | Exact;

const abs = (n: bigint): bigint => (n < 0n ? -n : n);

function gcd(a: bigint, b: bigint): bigint {
  a = abs(a);
  b = abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
}

/** num / den ten-thousandths, reduced. */
export function fraction(num: bigint, den: bigint): Exact {
  if (den === 0n) throw new RangeError('division by zero');
  if (den < 0n) [num, den] = [-num, -den];
  const g = gcd(num, den);
  return g > 1n ? { num: num / g, den: den / g } : { num, den };
}

export const exact = (value: Money): Exact => (typeof value === 'bigint' ? { num: value, den: 1n } : value);

export const EXACT_ZERO: Exact = { num: 0n, den: 1n };

export function add(a: Money, b: Money): Exact {
  const x = exact(a);
  const y = exact(b);
  return fraction(x.num * y.den + y.num * x.den, x.den * y.den);
}

export const subtract = (a: Money, b: Money): Exact => add(a, negate(b));

export function negate(value: Money): Exact {
  const x = exact(value);
  return { num: -x.num, den: x.den };
}

export const sum = (values: Iterable<Money>): Exact => {
  let total = EXACT_ZERO;
  for (const value of values) total = add(total, value);
  return total;
};

export function compare(a: Money, b: Money): -1 | 0 | 1 {
  const x = exact(a);
  const y = exact(b);
  const left = x.num * y.den;
  const right = y.num * x.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

export const minOf = (a: Money, b: Money): Exact => (compare(a, b) <= 0 ? exact(a) : exact(b));
export const maxOf = (a: Money, b: Money): Exact => (compare(a, b) >= 0 ? exact(a) : exact(b));
export const isZero = (value: Money): boolean => exact(value).num === 0n;
export const isPositive = (value: Money): boolean => exact(value).num > 0n;

/** Money times a whole count (n units at one unit's discount). */
export function times(value: Money, count: bigint): Exact {
  const x = exact(value);
  return fraction(x.num * count, x.den);
}

/**
 * Money times a quantity that may be fractional (a unit price times 1.5 kg),
 * exactly: the quantity is itself an amount (1.5 = 15000n).
 */
export function multiplyByQuantity(price: Money, quantity: Amount): Exact {
  const x = exact(price);
  return fraction(x.num * quantity, x.den * ONE);
}

/** Money divided by a non-zero quantity (a line amount per unit), exactly. */
export function divideByQuantity(value: Money, quantity: Amount): Exact {
  if (quantity === 0n) throw new RangeError('division by a zero quantity');
  const x = exact(value);
  return fraction(x.num * ONE, x.den * quantity);
}

/** `percent` percent of `value` (percent 5 = 5%, 33.333 = 33.333%), exactly. */
export function percentOf(value: Money, percent: Amount): Exact {
  const x = exact(value);
  return fraction(x.num * percent, x.den * ONE * 100n);
}

/** Integer part of num / den towards minus infinity. */
function floorDiv(num: bigint, den: bigint): bigint {
  const q = num / den;
  return num % den !== 0n && num < 0n !== den < 0n ? q - 1n : q;
}

/**
 * THE rounding rule: to the minor unit (2 places), half up, away from zero.
 * 0.015 → 0.02, 0.0149 → 0.01, −0.015 → −0.02.
 */
export function roundToMinorUnit(value: Money): Amount {
  const x = exact(value);
  const den = x.den * MINOR_UNIT;
  const magnitude = (2n * abs(x.num) + den) / (2n * den);
  return (x.num < 0n ? -magnitude : magnitude) * MINOR_UNIT;
}

/** The largest whole number of minor units not above `value` (a limit, not a rounding of a discount). */
export function floorToMinorUnit(value: Money): Amount {
  const x = exact(value);
  return floorDiv(x.num, x.den * MINOR_UNIT) * MINOR_UNIT;
}

/** Whether an amount is a whole number of minor units. */
export const isWholeMinorUnits = (amount: Amount): boolean => amount % MINOR_UNIT === 0n;

/**
 * Splits `total` (a whole number of minor units, ≥ 0) over parts in proportion
 * to `weights`, in whole minor units, so the parts add up to `total` exactly.
 *
 * - Each part starts as its proportional share rounded down to the minor unit
 *   (and never above its cap, when `caps` gives one).
 * - The rounding remainder goes to the part with the largest weight (the first
 *   such part on a tie); whatever would take that part past its cap moves on to
 *   the next largest part with room, and so on.
 * - If the caps together cannot hold `total`, the excess goes to the largest part.
 * - Negative weights count as zero; when every weight is zero the parts share
 *   equally. No weights: no parts (an empty array).
 */
export function allocate(total: Amount, weights: readonly Money[], caps?: readonly (Amount | undefined)[]): Amount[] {
  if (total < 0n) throw new RangeError('allocate: total must not be negative');
  if (!isWholeMinorUnits(total)) throw new RangeError('allocate: total must be a whole number of minor units');
  const n = weights.length;
  if (n === 0) return [];
  const positive = weights.map((w) => maxOf(w, 0n));
  const flat = positive.every(isZero);
  const shares = flat ? positive.map(() => exact(1n)) : positive;
  const whole = sum(shares);
  const units = total / MINOR_UNIT;
  const room = (i: number): bigint | undefined => {
    const cap = caps?.[i];
    return cap === undefined ? undefined : cap > 0n ? cap / MINOR_UNIT : 0n;
  };
  const parts = shares.map((share, i) => {
    // units × share / whole, rounded down: (units·s.num·w.den) / (s.den·w.num)
    const proportional = floorDiv(units * share.num * whole.den, share.den * whole.num);
    const limit = room(i);
    return limit === undefined || proportional <= limit ? proportional : limit;
  });
  const order = shares.map((_, i) => i).sort((a, b) => compare(shares[b], shares[a]) || a - b);
  let remainder = units - parts.reduce((a, b) => a + b, 0n);
  for (const i of order) {
    if (remainder === 0n) break;
    const limit = room(i);
    const give = limit === undefined ? remainder : limit - parts[i] < remainder ? limit - parts[i] : remainder;
    if (give > 0n) {
      parts[i] += give;
      remainder -= give;
    }
  }
  if (remainder > 0n) parts[order[0]] += remainder;
  return parts.map((p) => p * MINOR_UNIT);
}
