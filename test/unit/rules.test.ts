// The rules' pure parts: conditions, computed points, period and streak limits, and which rules a trigger achieves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare, evaluate, eventCountKey, requirements, type Condition } from '../../src/modules/rules/conditions.js';
import { periodAllows, streakComplete, streakWindowStart } from '../../src/modules/rules/limits.js';
import { pointsFor } from '../../src/modules/rules/outcomes.js';
import { toJson } from '../../src/modules/points/amount.js';
import type { Rule } from '../../src/modules/rules/config.js';
import { achieved, candidates, streakWindow, type LimitState, type Trigger } from '../../src/modules/rules/evaluate.js';

describe('rule conditions', () => {
  it('compares numbers sent as strings, booleans, text case-insensitively, lists by any element', () => {
    assert.equal(compare('11.77', 'gt', 10), true);
    assert.equal(compare(5, 'eq', '5'), true);
    assert.equal(compare('true', 'eq', true), true);
    assert.equal(compare('IOS', 'in', ['ios', 'web']), true);
    assert.equal(compare(['a', 'b'], 'contains', 'B'), true);
    assert.equal(compare(['a', 'b'], 'eq', 'c'), false);
    assert.equal(compare(['a', 'b'], 'ne', 'c'), true);
    assert.equal(compare(undefined, 'gt', 1), false);
    assert.equal(compare(undefined, 'exists', undefined), false);
    assert.equal(compare(undefined, 'exists', false), true);
    assert.equal(compare([], 'exists', true), false);
    assert.equal(compare('abc', 'lt', 'abd'), true);
    assert.equal(compare({ a: 1 }, 'gt', 1), false);
  });

  it('evaluates all/any/not over the facts, and says which facts it needs', () => {
    const condition: Condition = {
      all: [{ fact: 'context.basket.total', op: 'gte', value: 20 }, { any: [{ fact: 'tags.vip', op: 'gte', value: 1 }, { fact: 'events.visit', within_seconds: 60, op: 'gte', value: 2 }] }, { not: { fact: 'tier.rank', op: 'gte', value: 2 } }],
    };
    const facts = { context: { basket: { total: '25' } }, tags: {}, tierRank: 1, eventCounts: new Map([[eventCountKey('VISIT', 60), 2]]) };
    assert.equal(evaluate(condition, facts), true);
    assert.equal(evaluate(condition, { ...facts, tierRank: 2 }), false);
    assert.equal(evaluate(condition, { ...facts, eventCounts: new Map() }), false);
    assert.equal(evaluate(condition, { ...facts, eventCounts: new Map(), tags: { vip: 1 } }), true);
    assert.equal(evaluate(null, { context: {} }), true);
    assert.deepEqual(requirements([condition, null]), { member: false, tags: true, tiers: true, events: [{ name: 'visit', within_seconds: 60 }] });
    assert.deepEqual(requirements([{ fact: 'profile.partner', op: 'contains', value: 'x' }]).member, true);
  });
});

describe('computed points', () => {
  it('awards points per currency unit, exactly, rounded down to whole points', () => {
    const points = (amount: Parameters<typeof pointsFor>[0], context: Record<string, unknown>) => {
      const r = pointsFor(amount, context);
      return r.ok ? toJson(r.amount) : r.code;
    };
    assert.equal(points({ per: 1, of: 'subtotal' }, { subtotal: '11.77' }), 11);
    assert.equal(points({ per: 1, of: 'subtotal' }, { subtotal: 0.99 }), 0);
    assert.equal(points({ per: 10, of: 'subtotal', points: 3 }, { subtotal: 25 }), 7);
    assert.equal(points({ per: '0.5', of: 'a.b' }, { a: { b: '2.2' } }), 4);
    assert.equal(points({ per: 1, of: 'subtotal' }, { subtotal: -5 }), 0);
    assert.equal(points({ per: 1, of: 'subtotal' }, {}), 'missing_data');
    assert.equal(points({ per: 1, of: 'subtotal' }, { subtotal: 'lots' }), 'argument_error');
    assert.equal(points('12.5', {}), 12.5);
  });
});

describe('limits', () => {
  const H = 3_600_000;
  it('per period: every window of the period holding the new time', () => {
    assert.equal(periodAllows([], 0, H, 1), true);
    assert.equal(periodAllows([-0.5 * H], 0, H, 1), false);
    assert.equal(periodAllows([0.5 * H], 0, H, 1), false, 'a later achievement within the period');
    assert.equal(periodAllows([-1.5 * H, 1.5 * H], 0, H, 1), true);
    assert.equal(periodAllows([-0.9 * H, 0.9 * H], 0, H, 2), true, 'no single window holds all three');
    assert.equal(periodAllows([-0.9 * H, -0.1 * H], 0, H, 2), false);
  });

  it('consecutive days: the N days ending on the event day, after the last achievement', () => {
    const t = new Date('2025-04-16T10:00:00Z');
    assert.equal(streakComplete(['2025-04-14', '2025-04-15', '2025-04-16'], t, 3), true);
    assert.equal(streakComplete(['2025-04-13', '2025-04-15', '2025-04-16'], t, 3), false);
    assert.equal(streakWindowStart(t, 3).toISOString(), '2025-04-14T00:00:00.000Z');
    assert.equal(streakWindowStart(t, 3, new Date('2025-04-14T23:00:00Z')).toISOString(), '2025-04-15T00:00:00.000Z');
  });
});

describe('which rules a trigger achieves (no database)', () => {
  const rule = (id: string, limits: Rule['limits'], conditions: Condition | null = null): Rule => ({ id, name: id, trigger: 'event', triggerName: 'visit', conditions, limits, outcomes: [], position: 0 });
  const at = new Date('2026-12-02T12:00:00Z');
  const trigger: Trigger = { type: 'event', name: 'visit', occurredAt: at, context: { total: 30 } };
  const none: LimitState = { total: 0, periodTimes: [], gapCount: 0, last: null };

  it('keeps the rules whose conditions hold and whose total, period and gap limits allow one more', () => {
    const rules = [
      rule('open', {}),
      rule('big-basket', {}, { fact: 'context.total', op: 'gte', value: 50 }),
      rule('once', { total: 1 }),
      rule('twice-a-day', { per_period: { seconds: 86_400, count: 2 } }),
      rule('hourly', { min_seconds_between: 3600 }),
    ];
    const limits = new Map<string, LimitState>([
      ['once', { ...none, total: 1 }],
      ['twice-a-day', { ...none, periodTimes: [at.getTime() - 60_000] }],
      ['hourly', { ...none, gapCount: 1 }],
    ]);
    assert.deepEqual(candidates(rules, { context: trigger.context }, trigger, limits).map((r) => r.id), ['open', 'twice-a-day']);
    limits.set('twice-a-day', { ...none, periodTimes: [at.getTime() - 120_000, at.getTime() - 60_000] });
    assert.deepEqual(candidates(rules, { context: trigger.context }, trigger, limits).map((r) => r.id), ['open']);
  });

  it('achieves a consecutive-days rule only when the days read for it complete the series', () => {
    const streak = rule('three-days', { consecutive_days: 3 });
    assert.deepEqual(streakWindow(streak, trigger, none), { name: 'visit', from: streakWindowStart(at, 3, null), end: new Date('2026-12-03T00:00:00Z') });
    assert.equal(streakWindow(rule('open', {}), trigger, none), undefined);
    const rules = [rule('open', {}), streak];
    assert.deepEqual(achieved(rules, trigger, new Map([['three-days', ['2026-11-30', '2026-12-01', '2026-12-02']]])).map((r) => r.id), ['open', 'three-days']);
    assert.deepEqual(achieved(rules, trigger, new Map([['three-days', ['2026-12-01', '2026-12-02']]])).map((r) => r.id), ['open']);
  });
});
