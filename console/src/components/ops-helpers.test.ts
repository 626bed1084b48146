import { describe, expect, it } from 'vitest';
import { addDays, periodOf, sumDecimals, todayIn } from './dashboard-period';
import { diffJson } from './ops-diff';
import { zonedToInstant } from './ops-time';

describe('dashboard periods', () => {
  it('counts days in the retailer’s calendar', () => {
    const late = new Date('2024-05-02T02:00:00Z'); // still May 1 in New York
    expect(todayIn('America/New_York', late)).toBe('2024-05-01');
    expect(todayIn('UTC', late)).toBe('2024-05-02');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(periodOf(7, 'America/New_York', late)).toEqual({ from: '2024-04-25' });
    expect(periodOf(1, 'UTC', late)).toEqual({ from: '2024-05-02' });
  });
  it('sums decimal text exactly', () => {
    expect(sumDecimals(['0.1', '0.2'])).toBe('0.3');
    expect(sumDecimals(['100', '-250.5', '0'])).toBe('-150.5');
    expect(sumDecimals([])).toBe('0');
    expect(sumDecimals(['12345678901234567890.01', '1'])).toBe('12345678901234567891.01');
    expect(sumDecimals(['-0.5', '0.5'])).toBe('0');
  });
});

describe('local times in a zone', () => {
  it('reads a local time in the zone, across daylight saving', () => {
    expect(zonedToInstant('2024-05-01T09:30', 'America/New_York')).toBe('2024-05-01T13:30:00.000Z');
    expect(zonedToInstant('2024-01-15T09:30', 'America/New_York')).toBe('2024-01-15T14:30:00.000Z');
    expect(zonedToInstant('2024-05-01', 'UTC')).toBe('2024-05-01T00:00:00.000Z');
    expect(zonedToInstant('2024-05-01T09:30', 'Asia/Kolkata')).toBe('2024-05-01T04:00:00.000Z');
    expect(zonedToInstant('yesterday', 'UTC')).toBeNull();
  });
});

describe('audit diffs', () => {
  it('names the leaves that changed, were added or removed', () => {
    expect(diffJson({ role: 'viewer', email: 'a@x' }, { role: 'marketer', email: 'a@x' })).toEqual([{ path: 'role', before: 'viewer', after: 'marketer', kind: 'changed' }]);
    expect(diffJson(null, { url: 'https://h', event_types: ['a'] })).toEqual([
      { path: 'url', before: undefined, after: 'https://h', kind: 'added' },
      { path: 'event_types[0]', before: undefined, after: 'a', kind: 'added' },
    ]);
    expect(diffJson({ a: { b: 1, c: [1, 2] } }, { a: { c: [1] } })).toEqual([
      { path: 'a.b', before: 1, after: undefined, kind: 'removed' },
      { path: 'a.c[1]', before: 2, after: undefined, kind: 'removed' },
    ]);
    expect(diffJson({ a: {} }, { a: { x: 1 } })).toEqual([
      { path: 'a', before: {}, after: undefined, kind: 'removed' },
      { path: 'a.x', before: undefined, after: 1, kind: 'added' },
    ]);
  });
});
