import { describe, expect, it } from 'vitest';
import { fieldOf } from './api';
import { formatAmount, percent } from './format';

describe('formatAmount', () => {
  it('groups the integer part for the locale and keeps every digit of the fraction, exactly', () => {
    expect(formatAmount('1234567.5000')).toBe('1,234,567.5');
    expect(formatAmount('-12.0000')).toBe('-12');
    // beyond a double's 15-16 significant digits: still exact
    expect(formatAmount('123456789012345678.0001')).toBe('123,456,789,012,345,678.0001');
    expect(formatAmount(null)).toBe('—');
  });
});

describe('fieldOf', () => {
  it('reads the field a validation message names first', () => {
    expect(fieldOf('rules.0.outcomes.0.points: must be at least 0')).toBe('rules.0.outcomes.0.points');
    expect(fieldOf('reason: is required')).toBe('reason');
    expect(fieldOf('the retailer was not found')).toBeUndefined();
  });
});

describe('percent', () => {
  it('is bounded to 0..100 and full when there is no target', () => {
    expect(percent('50', '200')).toBe(25);
    expect(percent('500', '200')).toBe(100);
    expect(percent('5', '0')).toBe(100);
  });
});
