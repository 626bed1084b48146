// Money helpers for offers (src/modules/offers/money.ts): exact arithmetic on
// bigint ten-thousandths, the one rounding rule, and allocation over lines.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  MINOR_UNIT,
  ONE,
  add,
  allocate,
  compare,
  divideByQuantity,
  exact,
  floorToMinorUnit,
  fraction,
  multiplyByQuantity,
  parseAmount,
  percentOf,
  roundToMinorUnit,
  subtract,
  sum,
  times,
  toDecimal,
  toJson,
  type Exact,
} from '../../src/modules/offers/money.js';

const a = (value: string | number) => parseAmount(value);
const dec = (value: bigint) => toDecimal(value);
const decs = (values: bigint[]) => values.map(dec);

describe('money: representation', () => {
  it('reuses the points amount: ten-thousandths as bigint', () => {
    assert.equal(a('1.5'), 15_000n);
    assert.equal(ONE, 10_000n);
    assert.equal(MINOR_UNIT, 100n);
    assert.equal(toDecimal(a('0.45')), '0.45');
    assert.equal(toJson(a('5')), 5);
  });

  it('fractions are reduced with a positive denominator', () => {
    assert.deepEqual(fraction(6n, -4n), { num: -3n, den: 2n });
    assert.deepEqual(fraction(0n, 7n), { num: 0n, den: 1n });
    assert.throws(() => fraction(1n, 0n), RangeError);
  });

  it('adds, subtracts, compares and sums exactly', () => {
    const third = divideByQuantity(a(1), a(3));
    assert.equal(compare(sum([third, third, third]), a(1)), 0);
    assert.equal(compare(subtract(a(1), third), times(third, 2n)), 0);
    assert.equal(compare(add(a('0.1'), a('0.2')), a('0.3')), 0);
    assert.equal(compare(a(1), third), 1);
    assert.equal(compare(third, a(1)), -1);
  });
});

describe('money: quantities and percentages', () => {
  it('multiplies a price by a fractional quantity exactly (1.5 kg × 2.999 = 4.4985)', () => {
    assert.equal(compare(multiplyByQuantity(a('2.999'), a('1.5')), a('4.4985')), 0);
    assert.equal(compare(multiplyByQuantity(a('0.0001'), a('0.0001')), fraction(1n, 10_000n)), 0);
    assert.equal(compare(multiplyByQuantity(a(3), a(-2)), a(-6)), 0);
  });

  it('divides by a quantity exactly and refuses a zero quantity', () => {
    assert.equal(roundToMinorUnit(divideByQuantity(a(10), a(3))), a('3.33'));
    assert.equal(compare(times(divideByQuantity(a(10), a(3)), 3n), a(10)), 0);
    assert.throws(() => divideByQuantity(a(1), 0n), RangeError);
  });

  it('takes a percent of an amount, including fractional percents', () => {
    assert.equal(compare(percentOf(a(9), a(5)), a('0.45')), 0);
    assert.equal(compare(percentOf(a('0.30'), a(5)), a('0.015')), 0);
    assert.equal(compare(percentOf(a(10), a('33.333')), a('3.3333')), 0);
    assert.equal(compare(percentOf(a('0.01'), a('33.333')), fraction(33_333n, 1_000n)), 0);
    assert.equal(compare(percentOf(a(10), a(150)), a(15)), 0);
  });
});

describe('money: the one rounding rule (half up, away from zero, to 0.01)', () => {
  const cases: [string, string][] = [
    ['0.015', '0.02'],
    ['0.0149', '0.01'],
    ['0.005', '0.01'],
    ['0.0049', '0'],
    ['2.985', '2.99'],
    ['3.3333', '3.33'],
    ['0.45', '0.45'],
    ['-0.015', '-0.02'],
    ['-0.0149', '-0.01'],
    ['0', '0'],
  ];
  for (const [input, expected] of cases) {
    it(`${input} → ${expected}`, () => assert.equal(dec(roundToMinorUnit(a(input))), expected));
  }

  it('rounds exact fractions: 1/3 of 0.01 → 0, 2/3 of 0.01 → 0.01, one half of 0.01 → 0.01', () => {
    assert.equal(roundToMinorUnit(fraction(100n, 3n)), 0n);
    assert.equal(roundToMinorUnit(fraction(200n, 3n)), 100n);
    assert.equal(roundToMinorUnit(fraction(100n, 2n)), 100n);
    assert.equal(roundToMinorUnit(fraction(99n, 2n)), 0n);
  });

  it('5% of 0.30 is 0.02 (0.015 rounds up)', () => assert.equal(dec(roundToMinorUnit(percentOf(a('0.30'), a(5)))), '0.02'));

  it('floorToMinorUnit states a limit in whole cents', () => {
    assert.equal(dec(floorToMinorUnit(a('0.015'))), '0.01');
    assert.equal(dec(floorToMinorUnit(a('4.4985'))), '4.49');
    assert.equal(dec(floorToMinorUnit(a('-0.015'))), '-0.02');
    assert.equal(dec(floorToMinorUnit(a('3'))), '3');
  });

  it('is within half a cent of the exact value, and a whole number of cents (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 6n }), (num, den) => {
        const value: Exact = fraction(num, den);
        const rounded = roundToMinorUnit(value);
        assert.equal(rounded % MINOR_UNIT, 0n);
        // |rounded − value| ≤ half a cent, and exactly half rounds away from zero
        const diff = subtract(rounded, value);
        const half = exact(MINOR_UNIT / 2n);
        assert.ok(compare(diff, half) <= 0 && compare(diff, exact(-MINOR_UNIT / 2n)) >= 0);
        if (compare(diff, half) === 0) assert.ok(num > 0n);
        if (compare(diff, exact(-MINOR_UNIT / 2n)) === 0) assert.ok(num < 0n);
      }),
    );
  });
});

describe('money: allocate', () => {
  it('splits in proportion to the weights', () => {
    assert.deepEqual(decs(allocate(a('0.45'), [a(6), a(3)])), ['0.3', '0.15']);
    assert.deepEqual(decs(allocate(a(5), [a(10), a(1)])), ['4.55', '0.45']);
  });

  it('gives the rounding remainder to the largest weight', () => {
    // 3.33 over 3.33 / 3.33 / 3.34: shares 1.1088…, 1.1088…, 1.1122… → 1.10, 1.10, 1.13
    assert.deepEqual(decs(allocate(a('3.33'), [a('3.33'), a('3.33'), a('3.34')])), ['1.1', '1.1', '1.13']);
    // equal weights: the first of the largest takes it
    assert.deepEqual(decs(allocate(a('0.10'), [a(1), a(1), a(1)])), ['0.04', '0.03', '0.03']);
    assert.deepEqual(decs(allocate(a('1'), [a(1), a(2), a(2)])), ['0.2', '0.4', '0.4']);
  });

  it('moves what would pass the largest part’s cap on to the next largest', () => {
    // 2.99 over three lines of 1.00: floors 0.99 each, the remainder 0.02 cannot all go to the first
    assert.deepEqual(decs(allocate(a('2.99'), [a(1), a(1), a(1)], [a(1), a(1), a(1)])), ['1', '1', '0.99']);
    // without caps the largest takes the whole remainder
    assert.deepEqual(decs(allocate(a('2.99'), [a(1), a(1), a(1)])), ['1.01', '0.99', '0.99']);
  });

  it('caps each part; when the caps cannot hold the total, the excess goes to the largest part', () => {
    assert.deepEqual(decs(allocate(a(5), [a(2), a(1)], [a(2), a(1)])), ['4', '1']);
    assert.deepEqual(decs(allocate(a(1), [a(1), a(1)], [0n, a(5)])), ['0', '1']);
  });

  it('accepts exact weights', () => {
    const third = divideByQuantity(a(1), a(3));
    assert.deepEqual(decs(allocate(a('1'), [third, times(third, 2n)])), ['0.33', '0.67']);
  });

  it('shares equally when every weight is zero; negative weights count as zero', () => {
    assert.deepEqual(decs(allocate(a(5), [0n, 0n])), ['2.5', '2.5']);
    assert.deepEqual(decs(allocate(a('0.05'), [0n, 0n])), ['0.03', '0.02']);
    assert.deepEqual(decs(allocate(a(1), [a(-5), a(1)])), ['0', '1']);
  });

  it('no weights: no parts; zero total: zero parts', () => {
    assert.deepEqual(allocate(a(5), []), []);
    assert.deepEqual(decs(allocate(0n, [a(1), a(2)])), ['0', '0']);
  });

  it('refuses a negative total or one that is not whole cents', () => {
    assert.throws(() => allocate(a(-1), [a(1)]), RangeError);
    assert.throws(() => allocate(a('0.001'), [a(1)]), RangeError);
  });

  it('always sums exactly, respects the caps when they can hold the total (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ weight: fc.bigInt({ min: 0n, max: 10n ** 8n }), cap: fc.bigInt({ min: 0n, max: 10n ** 8n }) }), { minLength: 1, maxLength: 8 }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        fc.boolean(),
        (rows, cents, capped) => {
          const total = cents * MINOR_UNIT;
          const caps = capped ? rows.map((r) => r.cap) : undefined;
          const parts = allocate(
            total,
            rows.map((r) => r.weight),
            caps,
          );
          assert.equal(parts.length, rows.length);
          assert.equal(
            parts.reduce((x, y) => x + y, 0n),
            total,
          );
          for (const p of parts) assert.ok(p >= 0n && p % MINOR_UNIT === 0n);
          const room = rows.reduce((x, r) => x + floorToMinorUnit(r.cap), 0n);
          if (caps && total <= room) parts.forEach((p, i) => assert.ok(p <= rows[i].cap, `part ${i} ${p} over cap ${rows[i].cap}`));
          // a part with no weight gets nothing unless every weight is zero or the weighted parts' caps cannot hold the total
          const flat = rows.every((r) => r.weight === 0n);
          const weightedRoom = rows.filter((r) => r.weight > 0n).reduce((x, r) => x + floorToMinorUnit(r.cap), 0n);
          if (!flat && !(caps && total > weightedRoom)) parts.forEach((p, i) => rows[i].weight === 0n && assert.equal(p, 0n));
        },
      ),
    );
  });
});
