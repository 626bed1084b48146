/** Pure parts of outcomes: computed point amounts. */
import { parseAmount, SCALE, ZERO, type Amount } from '../points/amount.js';
import type { OutcomeConfig } from './config.js';

const FACTOR = 10n ** BigInt(SCALE);

export function contextValue(context: Record<string, unknown>, path: string): unknown {
  let value: unknown = context;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

export type PointsComputation = { ok: true; amount: Amount } | { ok: false; code: 'missing_data' | 'argument_error'; message: string };

/**
 * The points a points outcome awards for an event: a fixed amount, or
 * `points` (default 1) for every `per` units of the context value `of`,
 * computed exactly and rounded down to whole points (a negative value awards 0).
 */
export function pointsFor(amount: Extract<OutcomeConfig, { type: 'points' }>['amount'], context: Record<string, unknown>): PointsComputation {
  if (typeof amount !== 'object') return { ok: true, amount: parseAmount(amount) };
  const raw = contextValue(context, amount.of);
  if (raw === undefined || raw === null || raw === '') return { ok: false, code: 'missing_data', message: `context.${amount.of}: absent, no points computed` };
  let value: Amount;
  try {
    if (typeof raw !== 'number' && typeof raw !== 'string') throw new Error('not a number');
    value = parseAmount(typeof raw === 'string' ? raw.trim() : raw, `context.${amount.of}`, false);
  } catch {
    return { ok: false, code: 'argument_error', message: `context.${amount.of}: not a number` };
  }
  if (value <= ZERO) return { ok: true, amount: ZERO };
  const per = parseAmount(amount.per);
  const points = parseAmount(amount.points ?? 1);
  // value/per * points, in ten-thousandths, then down to whole points
  const exact = (value * points) / per;
  return { ok: true, amount: (exact / FACTOR) * FACTOR };
}
