// Discount computation (src/modules/offers/discount.ts): every offer type, check
// level and item level, recurrence, overage, modifiers, voided lines, returns,
// zero prices, fractional quantities, rounding and allocation; and a
// property test over random baskets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  NO_DISCOUNT_REASONS,
  computeDiscount,
  lineAmount,
  matchesRestriction,
  offerScope,
  recurrenceLimit,
  type Basket,
  type BasketLine,
  type DiscountResult,
  type OfferTerms,
  type OfferType,
} from '../../src/modules/offers/discount.js';
import { compare, parseAmount, toDecimal } from '../../src/modules/offers/money.js';

const a = (value: string | number) => parseAmount(value);

interface LineOptions {
  qty?: string | number;
  item?: string;
  cat?: string;
  subtotal?: string | number;
  mods?: (string | number)[];
  voided?: boolean;
}

/** A basket line: id, unit price, and options (the item id defaults to the line id). */
function ln(id: string, price: string | number, o: LineOptions = {}): BasketLine {
  return {
    line_id: id,
    item_id: o.item ?? id,
    ...(o.cat === undefined ? {} : { category_id: o.cat }),
    quantity: a(o.qty ?? 1),
    unit_price: a(price),
    ...(o.subtotal === undefined ? {} : { subtotal: a(o.subtotal) }),
    ...(o.mods ? { modifiers: o.mods.map((m, i) => ({ item_id: `${id}-mod${i}`, subtotal: a(m) })) } : {}),
    ...(o.voided ? { voided: true } : {}),
  };
}

type OfferOptions = Partial<Omit<OfferTerms, 'type' | 'amount' | 'minimum_subtotal'>> & { minimum_subtotal?: string | number };

function offer(type: OfferType, amount: string | number, o: OfferOptions = {}): OfferTerms {
  const { minimum_subtotal, ...rest } = o;
  return {
    type,
    amount: a(amount),
    check_level: false,
    max_recurrence: 1,
    allow_overage: false,
    ...rest,
    ...(minimum_subtotal === undefined ? {} : { minimum_subtotal: a(minimum_subtotal) }),
  };
}
const checkOffer = (type: OfferType, amount: string | number, o: OfferOptions = {}) => offer(type, amount, { check_level: true, ...o });

interface View {
  amount: string;
  /** line id → discount */
  lines: Record<string, string>;
  applied: number;
  reason?: string;
}

/** Checks the invariants every result keeps, then gives a readable view of it. */
function invariants(result: DiscountResult, basket: Basket): void {
  assert.ok(result.amount >= 0n, 'never negative');
  assert.equal(result.amount % 100n, 0n, 'whole cents');
  if (result.amount === 0n) {
    assert.ok(result.reason && (NO_DISCOUNT_REASONS as readonly string[]).includes(result.reason), `a known reason: ${result.reason}`);
    assert.equal(result.applied_count, 0);
    assert.deepEqual(result.lines, []);
  } else {
    assert.equal(result.reason, undefined);
    assert.ok(result.applied_count >= 1);
    if (result.lines.length)
      assert.equal(
        result.lines.reduce((s, l) => s + l.amount, 0n),
        result.amount,
        'lines sum to the total',
      );
  }
  const ids = new Set<string>();
  for (const l of result.lines) {
    assert.ok(!ids.has(l.line_id), 'a line once');
    ids.add(l.line_id);
    assert.ok(l.amount > 0n);
    const source = basket.lines.find((b) => b.line_id === l.line_id);
    assert.ok(source, 'a basket line');
    assert.ok(!source.voided && source.quantity > 0n, 'never a voided or returned line');
    assert.ok(l.quantity > 0n && l.quantity <= source.quantity, 'no more units than the line has');
  }
}

function run(terms: OfferTerms, basket: Basket): View {
  const result = computeDiscount(terms, basket);
  invariants(result, basket);
  return {
    amount: toDecimal(result.amount),
    lines: Object.fromEntries(result.lines.map((l) => [l.line_id, toDecimal(l.amount)])),
    applied: result.applied_count,
    ...(result.reason === undefined ? {} : { reason: result.reason }),
  };
}

const basket = (lines: BasketLine[], subtotal?: string | number): Basket => (subtotal === undefined ? { lines } : { lines, subtotal: a(subtotal) });
const quantities = (result: DiscountResult) => Object.fromEntries(result.lines.map((l) => [l.line_id, toDecimal(l.quantity)]));
const none = (reason: string): View => ({ amount: '0', lines: {}, applied: 0, reason });

describe('the demo program', () => {
  // the seed collection's transaction: item 1 at 6, item 139 at 3, subtotal 9
  const nine = basket([ln('0', 6, { item: '1' }), ln('1', 3, { item: '139' })], 9);

  it('"5% Off Your Entire Purchase" on a 9.00 basket is 0.45, spread 0.30 / 0.15', () => {
    assert.deepEqual(run(checkOffer('percent_discount', 5), nine), { amount: '0.45', lines: { '0': '0.3', '1': '0.15' }, applied: 1 });
  });

  it('"$5 Reward" on an 11.00 basket (10 + a 1.00 modifier) is 5.00', () => {
    const eleven = basket([ln('0', 10, { item: '1', mods: [1] })]);
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 5), eleven), { amount: '5', lines: { '0': '5' }, applied: 1 });
  });

  it('"$5 Reward" on a 3.00 basket is 3.00, or 5.00 with allow_overage', () => {
    const three = basket([ln('0', 3)]);
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 5), three), { amount: '3', lines: { '0': '3' }, applied: 1 });
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 5, { allow_overage: true }), three), { amount: '5', lines: { '0': '5' }, applied: 1 });
  });

  it('"Koalla Point Exchange" (points_exchange, check level) is money off the check', () => {
    assert.deepEqual(run(checkOffer('points_exchange', 2), nine), { amount: '2', lines: { '0': '1.34', '1': '0.66' }, applied: 1 });
    assert.deepEqual(run(checkOffer('points_exchange', 20), nine).amount, '9');
  });
});

describe('offer scope', () => {
  it('maps every type', () => {
    const scopes = (check_level: boolean) =>
      (['fixed_amount_discount', 'percent_discount', 'fixed_amount_item_discount', 'percent_item_discount', 'set_price', 'buy_x_get_y_fixed', 'buy_x_get_y_percent', 'buy_x_get_y_set_price', 'free_item', 'manual_fulfillment', 'points_exchange'] as OfferType[]).map((type) =>
        offerScope({ type, check_level }),
      );
    assert.deepEqual(scopes(true), ['check', 'check', 'item', 'item', 'item', 'group', 'group', 'group', 'group', 'none', 'check']);
    assert.deepEqual(scopes(false), ['item', 'item', 'item', 'item', 'item', 'group', 'group', 'group', 'group', 'none', 'none']);
    assert.equal(offerScope({ type: 'fixed_amount_check_discount' as OfferType, check_level: true }), 'none');
  });

  it('manual_fulfillment and non-check points_exchange are not discounts', () => {
    const b = basket([ln('a', 10)]);
    assert.deepEqual(run(checkOffer('manual_fulfillment', 5), b), none('not_a_discount'));
    assert.deepEqual(run(offer('manual_fulfillment', 5), b), none('not_a_discount'));
    assert.deepEqual(run(offer('points_exchange', 5), b), none('not_a_discount'));
    assert.deepEqual(run(offer('manual_fulfillment', 5), basket([])), none('not_a_discount'));
  });
});

describe('line amounts and restrictions', () => {
  it('a line is its subtotal as sent, or quantity × unit price + modifiers', () => {
    assert.equal(compare(lineAmount(ln('a', 4, { qty: 2, mods: [1, '0.5'] })), a('9.5')), 0);
    assert.equal(compare(lineAmount(ln('a', 4, { qty: 2, mods: [1], subtotal: 7 })), a(7)), 0);
    assert.equal(compare(lineAmount(ln('a', '2.999', { qty: '1.5' })), a('4.4985')), 0);
    assert.equal(compare(lineAmount(ln('a', 4, { qty: -1 })), a(-4)), 0);
  });

  it('a restriction matches by item id or category id; naming no ids restricts nothing', () => {
    const line = { item_id: 'burger', category_id: 'food' };
    assert.ok(matchesRestriction(line, undefined));
    assert.ok(matchesRestriction(line, {}));
    assert.ok(matchesRestriction(line, { item_ids: [], category_ids: [] }));
    assert.ok(matchesRestriction(line, { item_ids: ['burger'] }));
    assert.ok(matchesRestriction(line, { category_ids: ['food'] }));
    assert.ok(matchesRestriction(line, { item_ids: ['fries'], category_ids: ['food'] }));
    assert.ok(!matchesRestriction(line, { item_ids: ['fries'] }));
    assert.ok(!matchesRestriction({ item_id: 'x' }, { category_ids: ['food'] }));
  });

  it('max_recurrence 0, 1, negative, NaN: once; fractions round down; Infinity: unlimited', () => {
    assert.equal(recurrenceLimit(0), 1n);
    assert.equal(recurrenceLimit(1), 1n);
    assert.equal(recurrenceLimit(-3), 1n);
    assert.equal(recurrenceLimit(Number.NaN), 1n);
    assert.equal(recurrenceLimit(3.7), 3n);
    assert.equal(recurrenceLimit(Number.POSITIVE_INFINITY), BigInt(Number.MAX_SAFE_INTEGER));
  });
});

describe('empty, voided, returned and zero-priced baskets', () => {
  const types: OfferType[] = ['fixed_amount_discount', 'percent_discount', 'fixed_amount_item_discount', 'percent_item_discount', 'set_price', 'buy_x_get_y_fixed', 'buy_x_get_y_percent', 'buy_x_get_y_set_price', 'free_item', 'points_exchange'];

  it('an empty basket: no_basket for every type', () => {
    for (const type of types) {
      assert.deepEqual(run(checkOffer(type, 5), basket([])), none('no_basket'), type);
      assert.deepEqual(run(offer(type, 5), basket([])), type === 'points_exchange' ? none('not_a_discount') : none('no_basket'), type);
    }
  });

  it('only voided lines: no_basket', () => {
    const b = basket([ln('a', 10, { voided: true }), ln('b', 5, { voided: true })]);
    for (const type of types) assert.deepEqual(run(checkOffer(type, 5), b), none('no_basket'), type);
  });

  it('voided lines are ignored: neither counted nor discounted', () => {
    const b = basket([ln('a', 100, { voided: true }), ln('b', 10)]);
    assert.deepEqual(run(checkOffer('percent_discount', 10), b), { amount: '1', lines: { b: '1' }, applied: 1 });
    assert.deepEqual(run(offer('percent_item_discount', 50), b), { amount: '5', lines: { b: '5' }, applied: 1 });
    assert.deepEqual(run(offer('free_item', 0), b), { amount: '10', lines: { b: '10' }, applied: 1 });
  });

  it('only returns: nothing eligible', () => {
    const b = basket([ln('a', 10, { qty: -1 }), ln('b', 5, { qty: -2 })]);
    for (const type of types) assert.deepEqual(run(checkOffer(type, 5), b), none('no_eligible_items'), type);
  });

  it('returns are never discounted, and reduce the check subtotal when the basket sends none', () => {
    const b = basket([ln('sale', 10), ln('back', 4, { qty: -1 })]);
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 8), b), { amount: '6', lines: { sale: '6' }, applied: 1 });
    assert.deepEqual(run(checkOffer('percent_discount', 10), b), { amount: '0.6', lines: { sale: '0.6' }, applied: 1 });
    assert.deepEqual(run(offer('percent_item_discount', 10, { max_recurrence: 5 }), b), { amount: '1', lines: { sale: '1' }, applied: 1 });
    // a check that nets to nothing gives nothing off without overage
    const net0 = basket([ln('sale', 10), ln('back', 10, { qty: -1 })]);
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 5), net0), none('nothing_to_discount'));
  });

  it('zero quantity lines are not discounted', () => {
    assert.deepEqual(run(offer('percent_item_discount', 50), basket([ln('a', 10, { qty: 0 })])), none('no_eligible_items'));
  });

  it('zero prices: nothing to discount (check, item, group)', () => {
    const b = basket([ln('a', 0), ln('b', 0)]);
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 5), b), none('nothing_to_discount'));
    assert.deepEqual(run(checkOffer('percent_discount', 5), b), none('nothing_to_discount'));
    assert.deepEqual(run(offer('fixed_amount_item_discount', 1), b), none('nothing_to_discount'));
    assert.deepEqual(run(offer('set_price', 0), b), none('nothing_to_discount'));
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 1 }), b), none('nothing_to_discount'));
  });

  it('zero prices with overage: a fixed check discount still applies, shared equally', () => {
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 5, { allow_overage: true }), basket([ln('a', 0), ln('b', 0)])), { amount: '5', lines: { a: '2.5', b: '2.5' }, applied: 1 });
    assert.deepEqual(run(offer('fixed_amount_item_discount', 1, { allow_overage: true }), basket([ln('a', 0)])), { amount: '1', lines: { a: '1' }, applied: 1 });
  });

  it('a zero-priced line among others takes no share of a check discount', () => {
    assert.deepEqual(run(checkOffer('percent_discount', 10), basket([ln('a', 0), ln('b', 20)])), { amount: '2', lines: { b: '2' }, applied: 1 });
  });

  it('an offer amount of 0 is zero_amount (a set price of 0 means free)', () => {
    const b = basket([ln('a', 10)]);
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 0), b), none('zero_amount'));
    assert.deepEqual(run(checkOffer('percent_discount', 0), b), none('zero_amount'));
    assert.deepEqual(run(offer('percent_item_discount', 0), b), none('zero_amount'));
    assert.deepEqual(run(offer('buy_x_get_y_fixed', 0, { buy_count: 0 }), b), none('zero_amount'));
    assert.deepEqual(run(checkOffer('fixed_amount_discount', -5), b), none('zero_amount'));
    assert.deepEqual(run(offer('set_price', 0), b), { amount: '10', lines: { a: '10' }, applied: 1 });
  });
});

describe('check level: fixed amount and percent', () => {
  it('a fixed amount off the check, spread by line amount', () => {
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 5), basket([ln('a', 10), ln('b', 1)])), { amount: '5', lines: { a: '4.55', b: '0.45' }, applied: 1 });
  });

  it('never more than the eligible subtotal without overage; any amount with it', () => {
    const b = basket([ln('a', 2), ln('b', 1)]);
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 5), b), { amount: '3', lines: { a: '2', b: '1' }, applied: 1 });
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 5, { allow_overage: true }), b), { amount: '5', lines: { a: '3.34', b: '1.66' }, applied: 1 });
  });

  it('a percent above 100 is capped at the subtotal unless overage', () => {
    const b = basket([ln('a', 10)]);
    assert.equal(run(checkOffer('percent_discount', 150), b).amount, '10');
    assert.equal(run(checkOffer('percent_discount', 150, { allow_overage: true }), b).amount, '15');
    assert.equal(run(checkOffer('percent_discount', 100), b).amount, '10');
  });

  it('applies once whatever max_recurrence says', () => {
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 1, { max_recurrence: 5 }), basket([ln('a', 10, { qty: 3 })])), { amount: '1', lines: { a: '1' }, applied: 1 });
  });

  it('rounds once, half up: 5% of 0.30 = 0.02, 5% of 0.29 = 0.01, 5% of 0.10 = 0.01', () => {
    assert.equal(run(checkOffer('percent_discount', 5), basket([ln('a', '0.30')])).amount, '0.02');
    assert.equal(run(checkOffer('percent_discount', 5), basket([ln('a', '0.29')])).amount, '0.01');
    assert.equal(run(checkOffer('percent_discount', 5), basket([ln('a', '0.10')])).amount, '0.01');
    assert.deepEqual(run(checkOffer('percent_discount', 5), basket([ln('a', '0.05')])), none('nothing_to_discount'));
  });

  it('rounds the total, not the lines: 5% of two lines of 0.15 is 0.02 (not 0.01 + 0.01); a remainder goes to the largest line', () => {
    assert.deepEqual(run(checkOffer('percent_discount', 5), basket([ln('a', '0.15'), ln('b', '0.15')])), { amount: '0.02', lines: { a: '0.01', b: '0.01' }, applied: 1 });
    assert.deepEqual(run(checkOffer('percent_discount', 5), basket([ln('a', '0.10'), ln('b', '0.10'), ln('c', '0.10')])), { amount: '0.02', lines: { a: '0.02' }, applied: 1 });
  });

  it('33.333% of 10.00 over 3.33 / 3.33 / 3.34 is 3.33, the remainder on the largest line', () => {
    const b = basket([ln('a', '3.33'), ln('b', '3.33'), ln('c', '3.34')]);
    assert.deepEqual(run(checkOffer('percent_discount', '33.333'), b), { amount: '3.33', lines: { a: '1.1', b: '1.1', c: '1.13' }, applied: 1 });
  });

  it('33.333% of 100.00 over seven lines sums exactly', () => {
    const b = basket(['13.99', '7.49', '22.15', '0.99', '31.01', '15.37', '9.00'].map((p, i) => ln(`l${i}`, p)));
    const result = computeDiscount(checkOffer('percent_discount', '33.333'), b);
    assert.equal(toDecimal(result.amount), '33.33');
    invariants(result, b);
    assert.equal(result.lines.length, 7);
  });

  it('a fixed amount with sub-cent precision rounds half up: 1.005 → 1.01', () => {
    assert.equal(run(checkOffer('fixed_amount_discount', '1.005'), basket([ln('a', 10)])).amount, '1.01');
  });

  it('the basket subtotal, when sent, is the check subtotal', () => {
    const b = basket([ln('a', 6), ln('b', 3)], 10);
    assert.deepEqual(run(checkOffer('percent_discount', 5), b), { amount: '0.5', lines: { a: '0.34', b: '0.16' }, applied: 1 });
  });

  it('a basket with only a subtotal gets the check discount and no lines', () => {
    assert.deepEqual(run(checkOffer('percent_discount', 5), { lines: [], subtotal: a(9) }), { amount: '0.45', lines: {}, applied: 1 });
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 5), { lines: [], subtotal: a(3) }), { amount: '3', lines: {}, applied: 1 });
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 5), { lines: [], subtotal: 0n }), none('nothing_to_discount'));
    assert.deepEqual(run(offer('percent_item_discount', 5), { lines: [], subtotal: a(9) }), none('no_eligible_items'));
  });

  it('a negative basket subtotal counts as zero', () => {
    assert.deepEqual(run(checkOffer('percent_discount', 5), basket([ln('a', 10)], -5)), none('nothing_to_discount'));
  });

  it('modifiers are part of their line’s amount', () => {
    const b = basket([ln('burger', 8, { mods: [1, '0.5'] }), ln('soda', '0.5')]);
    assert.deepEqual(run(checkOffer('percent_discount', 10), b), { amount: '1', lines: { burger: '0.95', soda: '0.05' }, applied: 1 });
  });

  it('fractional quantities: 10% of 1.5 kg at 2.99 (4.485) = 0.45', () => {
    const b = basket([ln('apples', '2.99', { qty: '1.5' })]);
    assert.deepEqual(run(checkOffer('percent_discount', 10), b), { amount: '0.45', lines: { apples: '0.45' }, applied: 1 });
    assert.equal(toDecimal(computeDiscount(checkOffer('percent_discount', 10), b).lines[0].quantity), '1.5');
  });

  it('a sub-cent line never gives up more than its whole cents: 100% of 1.5 × 0.01 = 0.01', () => {
    assert.deepEqual(run(checkOffer('percent_discount', 100), basket([ln('a', '0.01', { qty: '1.5' })])), { amount: '0.01', lines: { a: '0.01' }, applied: 1 });
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 1), basket([ln('a', '0.015'), ln('b', '0.015'), ln('c', '0.015')])), { amount: '0.03', lines: { a: '0.01', b: '0.01', c: '0.01' }, applied: 1 });
  });

  it('with a catalog restriction by item: the eligible lines’ subtotal, and only those lines', () => {
    const b = basket([ln('a', 6, { item: 'burger' }), ln('b', 3, { item: 'soda' }), ln('c', 4, { item: 'burger' })]);
    assert.deepEqual(run(checkOffer('percent_discount', 10, { eligible: { item_ids: ['burger'] } }), b), { amount: '1', lines: { a: '0.6', c: '0.4' }, applied: 1 });
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 5, { eligible: { item_ids: ['soda'] } }), b), { amount: '3', lines: { b: '3' }, applied: 1 });
  });

  it('with a catalog restriction by category', () => {
    const b = basket([ln('a', 6, { cat: 'food' }), ln('b', 3, { cat: 'drinks' }), ln('c', 2)]);
    assert.deepEqual(run(checkOffer('percent_discount', 50, { eligible: { category_ids: ['drinks'] } }), b), { amount: '1.5', lines: { b: '1.5' }, applied: 1 });
    assert.deepEqual(run(checkOffer('percent_discount', 50, { eligible: { category_ids: ['drinks'], item_ids: ['c'] } }), b), { amount: '2.5', lines: { b: '1.5', c: '1' }, applied: 1 });
  });

  it('a restriction that matches nothing: no_eligible_items (even with a basket subtotal)', () => {
    assert.deepEqual(run(checkOffer('percent_discount', 10, { eligible: { item_ids: ['nope'] } }), basket([ln('a', 5)], 5)), none('no_eligible_items'));
  });

  it('minimum subtotal: below refuses, equal applies', () => {
    const b = basket([ln('a', 6), ln('b', 3)]);
    assert.deepEqual(run(checkOffer('fixed_amount_discount', 5, { minimum_subtotal: '9.01' }), b), none('below_minimum'));
    assert.equal(run(checkOffer('fixed_amount_discount', 5, { minimum_subtotal: 9 }), b).amount, '5');
  });

  it('minimum subtotal counts only eligible lines when restricted', () => {
    const b = basket([ln('a', 6, { item: 'burger' }), ln('b', 3, { item: 'soda' })]);
    assert.deepEqual(run(checkOffer('percent_discount', 10, { eligible: { item_ids: ['soda'] }, minimum_subtotal: 5 }), b), none('below_minimum'));
    assert.equal(run(checkOffer('percent_discount', 10, { eligible: { item_ids: ['burger'] }, minimum_subtotal: 5 }), b).amount, '0.6');
  });
});

describe('item level: fixed, percent and set price per unit', () => {
  it('once by default, on the most expensive eligible unit (best for the customer)', () => {
    const b = basket([ln('cheap', 3), ln('dear', 5), ln('mid', 4)]);
    assert.deepEqual(run(offer('fixed_amount_item_discount', 1), b), { amount: '1', lines: { dear: '1' }, applied: 1 });
    assert.deepEqual(run(offer('percent_item_discount', 50), b), { amount: '2.5', lines: { dear: '2.5' }, applied: 1 });
    assert.deepEqual(run(offer('set_price', 1), b), { amount: '4', lines: { dear: '4' }, applied: 1 });
  });

  it('percent_discount and fixed_amount_discount without check_level are item level', () => {
    const b = basket([ln('a', 3), ln('b', 5)]);
    assert.deepEqual(run(offer('percent_discount', 10), b), { amount: '0.5', lines: { b: '0.5' }, applied: 1 });
    assert.deepEqual(run(offer('fixed_amount_discount', 1, { max_recurrence: 2 }), b), { amount: '2', lines: { a: '1', b: '1' }, applied: 2 });
  });

  it('item types ignore check_level', () => {
    assert.deepEqual(run(checkOffer('percent_item_discount', 10), basket([ln('a', 3), ln('b', 5)])), { amount: '0.5', lines: { b: '0.5' }, applied: 1 });
  });

  it('max_recurrence counts units, across lines, most expensive first', () => {
    const b = basket([ln('a', 3, { qty: 2 }), ln('b', 5, { qty: 2 })]);
    const result = computeDiscount(offer('fixed_amount_item_discount', 1, { max_recurrence: 3 }), b);
    invariants(result, b);
    assert.equal(toDecimal(result.amount), '3');
    assert.equal(result.applied_count, 3);
    assert.deepEqual(quantities(result), { a: '1', b: '2' });
    assert.deepEqual(run(offer('fixed_amount_item_discount', 1, { max_recurrence: 10 }), b), { amount: '4', lines: { a: '2', b: '2' }, applied: 4 });
    assert.deepEqual(run(offer('fixed_amount_item_discount', 1, { max_recurrence: 0 }), b), { amount: '1', lines: { b: '1' }, applied: 1 });
  });

  it('percent per unit: 20% of the two dearest of 10, 4, 7 = 3.40', () => {
    assert.deepEqual(run(offer('percent_item_discount', 20, { max_recurrence: 2 }), basket([ln('a', 10), ln('b', 4), ln('c', 7)])), { amount: '3.4', lines: { a: '2', c: '1.4' }, applied: 2 });
  });

  it('a fixed amount above the unit price: the unit price, or the amount with overage', () => {
    const b = basket([ln('a', 3)]);
    assert.deepEqual(run(offer('fixed_amount_item_discount', 5), b), { amount: '3', lines: { a: '3' }, applied: 1 });
    assert.deepEqual(run(offer('fixed_amount_item_discount', 5, { allow_overage: true }), b), { amount: '5', lines: { a: '5' }, applied: 1 });
    assert.deepEqual(run(offer('percent_item_discount', 150), b), { amount: '3', lines: { a: '3' }, applied: 1 });
    assert.deepEqual(run(offer('percent_item_discount', 150, { allow_overage: true }), b), { amount: '4.5', lines: { a: '4.5' }, applied: 1 });
  });

  it('overage on several lines spreads by each line’s discount', () => {
    const b = basket([ln('a', 3), ln('b', 1)]);
    assert.deepEqual(run(offer('fixed_amount_item_discount', 5, { max_recurrence: 2, allow_overage: true }), b), { amount: '10', lines: { a: '5', b: '5' }, applied: 2 });
    assert.deepEqual(run(offer('fixed_amount_item_discount', 5, { max_recurrence: 2 }), b), { amount: '4', lines: { a: '3', b: '1' }, applied: 2 });
  });

  it('rounds once on the total: 50% of three units at 1.99 = 2.985 → 2.99 (not 3 × 1.00)', () => {
    assert.deepEqual(run(offer('percent_item_discount', 50, { max_recurrence: 3 }), basket([ln('a', '1.99', { qty: 3 })])), { amount: '2.99', lines: { a: '2.99' }, applied: 3 });
  });

  it('set price: discount = unit price − set price, never negative; units at or under it are not used', () => {
    const b = basket([ln('a', 5), ln('b', '1.5'), ln('c', 3)]);
    assert.deepEqual(run(offer('set_price', 2, { max_recurrence: 5 }), b), { amount: '4', lines: { a: '3', c: '1' }, applied: 2 });
    assert.deepEqual(run(offer('set_price', 5, { max_recurrence: 5 }), b), none('nothing_to_discount'));
    assert.deepEqual(run(offer('set_price', 0, { max_recurrence: 5 }), b), { amount: '9.5', lines: { a: '5', b: '1.5', c: '3' }, applied: 3 });
  });

  it('a unit is worth line amount ÷ quantity: modifiers and line discounts spread over the units', () => {
    // 2 × 4.00 + a 1.00 modifier = 9.00, a unit is 4.50
    assert.deepEqual(run(offer('percent_item_discount', 10), basket([ln('a', 4, { qty: 2, mods: [1] })])), { amount: '0.45', lines: { a: '0.45' }, applied: 1 });
    // sent subtotal 8 (10 less a 2.00 line discount)
    assert.deepEqual(run(offer('percent_item_discount', 50), basket([ln('a', 10, { subtotal: 8 })])), { amount: '4', lines: { a: '4' }, applied: 1 });
    // 10.00 for three: a unit is 3.333…
    const thirds = basket([ln('a', '3.34', { qty: 3, subtotal: 10 })]);
    assert.equal(run(offer('percent_item_discount', 100), thirds).amount, '3.33');
    assert.equal(run(offer('fixed_amount_item_discount', 5), thirds).amount, '3.33');
    assert.equal(run(offer('set_price', 0, { max_recurrence: 2 }), thirds).amount, '6.67');
    assert.equal(run(offer('set_price', 0, { max_recurrence: 3 }), thirds).amount, '10');
  });

  it('fractional quantities: whole units, then the measured rest as one more use, amounts pro rata', () => {
    const b = basket([ln('apples', 4, { qty: '1.5' })]); // 6.00
    const twice = computeDiscount(offer('fixed_amount_item_discount', 1, { max_recurrence: 2 }), b);
    invariants(twice, b);
    assert.deepEqual([toDecimal(twice.amount), twice.applied_count, quantities(twice)], ['1.5', 2, { apples: '1.5' }]);
    const once = computeDiscount(offer('fixed_amount_item_discount', 1), b);
    assert.deepEqual([toDecimal(once.amount), once.applied_count, quantities(once)], ['1', 1, { apples: '1' }]);
    assert.equal(run(offer('percent_item_discount', 10, { max_recurrence: 2 }), b).amount, '0.6');
    assert.equal(run(offer('set_price', 3, { max_recurrence: 2 }), b).amount, '1.5');
    assert.deepEqual(run(offer('fixed_amount_item_discount', 1), basket([ln('half', 4, { qty: '0.5' })])), { amount: '0.5', lines: { half: '0.5' }, applied: 1 });
  });

  it('ranks by the discount a unit gives: a whole kilo beats the rest of another line', () => {
    // 0.5 kg rest of a 10.00/kg line (worth 5.00, 1.00/kg off → 0.50) vs a 2.00 piece (1.00 off)
    const b = basket([ln('steak', 10, { qty: '1.5' }), ln('bread', 2)]);
    const result = computeDiscount(offer('fixed_amount_item_discount', 1, { max_recurrence: 2 }), b);
    invariants(result, b);
    assert.deepEqual(quantities(result), { steak: '1', bread: '1' });
  });

  it('catalog restriction by item id and by category id', () => {
    const b = basket([ln('a', 9, { item: 'burger', cat: 'food' }), ln('b', 3, { item: 'soda', cat: 'drinks' }), ln('c', 2, { item: 'water', cat: 'drinks' })]);
    assert.deepEqual(run(offer('percent_item_discount', 50, { eligible: { item_ids: ['soda'] } }), b), { amount: '1.5', lines: { b: '1.5' }, applied: 1 });
    assert.deepEqual(run(offer('percent_item_discount', 50, { max_recurrence: 5, eligible: { category_ids: ['drinks'] } }), b), { amount: '2.5', lines: { b: '1.5', c: '1' }, applied: 2 });
    assert.deepEqual(run(offer('percent_item_discount', 50, { eligible: { item_ids: [], category_ids: [] } }), b), { amount: '4.5', lines: { a: '4.5' }, applied: 1 });
    assert.deepEqual(run(offer('percent_item_discount', 50, { eligible: { item_ids: ['pizza'] } }), b), none('no_eligible_items'));
  });

  it('modifiers never match a restriction themselves', () => {
    const b = basket([ln('a', 5, { item: 'burger', mods: [1] })]);
    assert.deepEqual(run(offer('percent_item_discount', 50, { eligible: { item_ids: ['a-mod0'] } }), b), none('no_eligible_items'));
  });

  it('minimum subtotal over the eligible lines', () => {
    const b = basket([ln('a', 9, { item: 'burger' }), ln('b', 3, { item: 'soda' })]);
    assert.deepEqual(run(offer('percent_item_discount', 50, { eligible: { item_ids: ['soda'] }, minimum_subtotal: 4 }), b), none('below_minimum'));
    assert.equal(run(offer('percent_item_discount', 50, { eligible: { item_ids: ['soda'] }, minimum_subtotal: 3 }), b).amount, '1.5');
    assert.deepEqual(run(offer('percent_item_discount', 50, { minimum_subtotal: 13 }), b), none('below_minimum'));
  });

  it('a discount that rounds to nothing is nothing: 1% of 0.25', () => {
    assert.deepEqual(run(offer('percent_item_discount', 1), basket([ln('a', '0.25')])), none('nothing_to_discount'));
  });

  it('huge quantities and recurrence limits are counted, not enumerated', () => {
    const b = basket([ln('a', '0.01', { qty: 1_000_000_000 }), ln('b', '0.02', { qty: 500_000_000 })]);
    const result = computeDiscount(offer('set_price', 0, { max_recurrence: 1_200_000_000 }), b);
    invariants(result, b);
    assert.equal(toDecimal(result.amount), '17000000');
    assert.equal(result.applied_count, 1_200_000_000);
    assert.deepEqual(quantities(result), { a: '700000000', b: '500000000' });
  });
});

describe('buy X get Y', () => {
  const mixed = basket([ln('a', 10), ln('b', 5), ln('c', 7)]);

  it('buy 2 get 1 free: the cheapest of the three gets it', () => {
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 2 }), mixed), { amount: '5', lines: { b: '5' }, applied: 1 });
  });

  it('fixed off, percent off and set price on the cheapest', () => {
    assert.deepEqual(run(offer('buy_x_get_y_fixed', 1, { buy_count: 2 }), mixed), { amount: '1', lines: { b: '1' }, applied: 1 });
    assert.deepEqual(run(offer('buy_x_get_y_percent', 50, { buy_count: 2 }), mixed), { amount: '2.5', lines: { b: '2.5' }, applied: 1 });
    assert.deepEqual(run(offer('buy_x_get_y_set_price', 1, { buy_count: 2 }), mixed), { amount: '4', lines: { b: '4' }, applied: 1 });
    assert.deepEqual(run(offer('buy_x_get_y_set_price', 6, { buy_count: 2 }), mixed), none('nothing_to_discount'));
  });

  it('a fixed amount above the get unit’s price: capped unless overage', () => {
    assert.deepEqual(run(offer('buy_x_get_y_fixed', 8, { buy_count: 2 }), mixed), { amount: '5', lines: { b: '5' }, applied: 1 });
    assert.deepEqual(run(offer('buy_x_get_y_fixed', 8, { buy_count: 2, allow_overage: true }), mixed), { amount: '8', lines: { b: '8' }, applied: 1 });
    assert.deepEqual(run(offer('buy_x_get_y_percent', 120, { buy_count: 2, allow_overage: true }), mixed), { amount: '6', lines: { b: '6' }, applied: 1 });
  });

  it('an incomplete group gives nothing', () => {
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 2 }), basket([ln('a', 10), ln('b', 5)])), none('incomplete_group'));
    assert.deepEqual(run(offer('buy_x_get_y_percent', 50, { buy_count: 1, get_count: 2 }), basket([ln('a', 10), ln('b', 5)])), none('incomplete_group'));
  });

  it('several groups, from the most expensive down, limited by max_recurrence', () => {
    const six = basket([10, 9, 8, 3, 2, 1].map((p) => ln(`p${p}`, p)));
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 2 }), six), { amount: '8', lines: { p8: '8' }, applied: 1 });
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 2, max_recurrence: 0 }), six), { amount: '8', lines: { p8: '8' }, applied: 1 });
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 2, max_recurrence: 2 }), six), { amount: '9', lines: { p8: '8', p1: '1' }, applied: 2 });
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 2, max_recurrence: 3 }), six), { amount: '9', lines: { p8: '8', p1: '1' }, applied: 2 });
    assert.deepEqual(run(offer('buy_x_get_y_percent', 50, { buy_count: 2, max_recurrence: 9 }), six), { amount: '4.5', lines: { p8: '4', p1: '0.5' }, applied: 2 });
  });

  it('units of one line make groups: seven at 2.00, buy 2 get 1, up to 5 groups → 2 groups', () => {
    const b = basket([ln('a', 2, { qty: 7 })]);
    const result = computeDiscount(offer('free_item', 0, { buy_count: 2, max_recurrence: 5 }), b);
    invariants(result, b);
    assert.deepEqual([toDecimal(result.amount), result.applied_count, quantities(result)], ['4', 2, { a: '2' }]);
  });

  it('buy 1 get 2 at 50% off: the two cheaper units', () => {
    assert.deepEqual(run(offer('buy_x_get_y_percent', 50, { buy_count: 1, get_count: 2 }), basket([ln('a', 10), ln('b', 8), ln('c', 6)])), { amount: '7', lines: { b: '4', c: '3' }, applied: 1 });
  });

  it('buy_count defaults to 1 for buy_x_get_y_* (buy one get one)', () => {
    assert.deepEqual(run(offer('buy_x_get_y_percent', 50), basket([ln('a', 10), ln('b', 6)])), { amount: '3', lines: { b: '3' }, applied: 1 });
    assert.deepEqual(run(offer('buy_x_get_y_percent', 50), basket([ln('a', 10)])), none('incomplete_group'));
  });

  it('free_item with no buy_count: Y units free, the most expensive first', () => {
    const b = basket([ln('a', 4), ln('b', 6), ln('c', 5)]);
    assert.deepEqual(run(offer('free_item', 0), b), { amount: '6', lines: { b: '6' }, applied: 1 });
    assert.deepEqual(run(offer('free_item', 0, { get_count: 2 }), b), { amount: '11', lines: { b: '6', c: '5' }, applied: 1 });
    assert.deepEqual(run(offer('free_item', 0, { max_recurrence: 2 }), b), { amount: '11', lines: { b: '6', c: '5' }, applied: 2 });
  });

  it('qualifying and eligible items differ: buy 2 burgers get fries free', () => {
    const terms = offer('free_item', 0, { buy_count: 2, qualifying: { item_ids: ['burger'] }, eligible: { item_ids: ['fries'] }, max_recurrence: 3 });
    const b = basket([ln('burgers', 9, { item: 'burger', qty: 3 }), ln('fries', 3, { item: 'fries', qty: 2 }), ln('soda', 2, { item: 'soda' })]);
    const result = computeDiscount(terms, b);
    invariants(result, b);
    // three burgers make one group of two; the burgers themselves are never free
    assert.deepEqual([toDecimal(result.amount), result.applied_count, quantities(result)], ['3', 1, { fries: '1' }]);
    assert.deepEqual(run(terms, basket([ln('burgers', 9, { item: 'burger', qty: 2 })])), none('no_eligible_items'));
    assert.deepEqual(run(terms, basket([ln('burgers', 9, { item: 'burger' }), ln('fries', 3, { item: 'fries' })])), none('incomplete_group'));
  });

  it('with distinct get items the dearest eligible one is the get (best for the customer)', () => {
    const terms = offer('free_item', 0, { buy_count: 1, qualifying: { category_ids: ['food'] }, eligible: { category_ids: ['sides'] } });
    const b = basket([ln('burger', 9, { cat: 'food' }), ln('fries', 3, { cat: 'sides' }), ln('salad', 4, { cat: 'sides' })]);
    assert.deepEqual(run(terms, b), { amount: '4', lines: { salad: '4' }, applied: 1 });
  });

  it('a unit counts in one role per group; units that can only be bought are used as buys first', () => {
    // anything qualifies, drinks are the gets: the burger is the buy, the dearer drink is free
    const terms = offer('free_item', 0, { buy_count: 1, qualifying: { category_ids: ['food', 'drinks'] }, eligible: { category_ids: ['drinks'] }, max_recurrence: 2 });
    const b = basket([ln('burger', 10, { cat: 'food' }), ln('cola', 3, { cat: 'drinks' }), ln('water', 2, { cat: 'drinks' })]);
    assert.deepEqual(run(terms, b), { amount: '3', lines: { cola: '3' }, applied: 1 });
    // two more drinks: the burger buys the dearest drink (juice); then the dearest drink left
    // (cola) is bought and the next (water) is free
    const more = basket([...b.lines, ln('juice', 4, { cat: 'drinks' }), ln('tea', 1, { cat: 'drinks' })]);
    assert.deepEqual(run(terms, more), { amount: '6', lines: { water: '2', juice: '4' }, applied: 2 });
  });

  it('restriction by category for both roles (qualifying absent = eligible)', () => {
    const b = basket([ln('a', 4, { cat: 'shirts' }), ln('b', 5, { cat: 'shirts' }), ln('c', 50, { cat: 'coats' })]);
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 1, eligible: { category_ids: ['shirts'] } }), b), { amount: '4', lines: { a: '4' }, applied: 1 });
  });

  it('only whole units take part: a 1.5 kg line brings one unit, 0.5 kg none', () => {
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 1 }), basket([ln('a', 4, { qty: '1.5' }), ln('b', 2)])), { amount: '2', lines: { b: '2' }, applied: 1 });
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 1 }), basket([ln('a', 4, { qty: '0.5' }), ln('b', 2)])), none('incomplete_group'));
  });

  it('voided lines and returns are not units', () => {
    const b = basket([ln('a', 10), ln('v', 9, { voided: true }), ln('r', 8, { qty: -2 }), ln('c', 3)]);
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 1, max_recurrence: 5 }), b), { amount: '3', lines: { c: '3' }, applied: 1 });
  });

  it('modifiers make the unit dearer', () => {
    const b = basket([ln('a', 5, { mods: [3] }), ln('b', 6)]);
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 1 }), b), { amount: '6', lines: { b: '6' }, applied: 1 });
  });

  it('zero-priced gets give nothing; a free group stops the search', () => {
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 1 }), basket([ln('a', 0), ln('b', 0)])), none('nothing_to_discount'));
    // second group would be two zero-priced units: only the first counts
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 1, max_recurrence: 5 }), basket([ln('a', 4), ln('b', 2), ln('c', 0), ln('d', 0)])), { amount: '2', lines: { b: '2' }, applied: 1 });
  });

  it('minimum subtotal over the lines in play', () => {
    assert.deepEqual(run(offer('free_item', 0, { buy_count: 2, minimum_subtotal: 23 }), mixed), none('below_minimum'));
    assert.equal(run(offer('free_item', 0, { buy_count: 2, minimum_subtotal: 22 }), mixed).amount, '5');
  });

  it('rounds once on the total: 33.333% off two gets of 1.00 = 0.67', () => {
    const b = basket([ln('a', 1, { qty: 4 })]);
    assert.deepEqual(run(offer('buy_x_get_y_percent', '33.333', { buy_count: 1, max_recurrence: 2 }), b), { amount: '0.67', lines: { a: '0.67' }, applied: 2 });
  });

  it('huge quantities and recurrence limits are counted, not enumerated', () => {
    const b = basket([ln('a', '0.01', { qty: 3_000_000_000 })]);
    const result = computeDiscount(offer('free_item', 0, { buy_count: 2, max_recurrence: 2_000_000_000 }), b);
    invariants(result, b);
    assert.equal(result.applied_count, 1_000_000_000);
    assert.equal(toDecimal(result.amount), '10000000');
  });
});

describe('properties over random baskets (fast-check)', () => {
  const ITEMS = ['a', 'b', 'c', 'd'];
  const CATS = ['x', 'y'];
  const TYPES: OfferType[] = ['fixed_amount_discount', 'percent_discount', 'fixed_amount_item_discount', 'percent_item_discount', 'set_price', 'buy_x_get_y_fixed', 'buy_x_get_y_percent', 'buy_x_get_y_set_price', 'free_item', 'manual_fulfillment', 'points_exchange'];

  // ten-thousandths: mostly cents, sometimes sub-cent
  const money = (max: bigint) => fc.oneof(fc.bigInt({ min: 0n, max: max / 100n }).map((c) => c * 100n), fc.bigInt({ min: 0n, max }));
  const quantity = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 5 }).map((n) => BigInt(n) * 10_000n) },
    { weight: 2, arbitrary: fc.bigInt({ min: 1n, max: 40_000n }) },
    { weight: 1, arbitrary: fc.integer({ min: -3, max: 0 }).map((n) => BigInt(n) * 10_000n) },
  );
  const restriction = fc.option(fc.record({ item_ids: fc.option(fc.subarray(ITEMS), { nil: undefined }), category_ids: fc.option(fc.subarray(CATS), { nil: undefined }) }, { requiredKeys: [] }), { nil: undefined });
  const lineArb = fc.record({
    item_id: fc.constantFrom(...ITEMS),
    category_id: fc.option(fc.constantFrom(...CATS), { nil: undefined }),
    quantity,
    unit_price: money(500_000n),
    subtotal: fc.option(money(2_000_000n), { nil: undefined, freq: 4 }),
    modifiers: fc.option(fc.array(money(50_000n).map((subtotal) => ({ item_id: 'mod', subtotal })), { maxLength: 2 }), { nil: undefined }),
    voided: fc.option(fc.boolean(), { nil: undefined }),
  });
  const basketArb = fc.array(lineArb, { maxLength: 7 }).map((lines) => ({ lines: lines.map((l, i) => ({ ...l, line_id: `L${i}` })) }) as Basket);
  const offerArb = fc.record({
    type: fc.constantFrom(...TYPES),
    check_level: fc.boolean(),
    amount: fc.oneof(money(200_000n), fc.bigInt({ min: 0n, max: 1_500_000n })),
    max_recurrence: fc.integer({ min: 0, max: 6 }),
    allow_overage: fc.boolean(),
    buy_count: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    get_count: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
    eligible: restriction,
    qualifying: restriction,
    minimum_subtotal: fc.option(money(1_000_000n), { nil: undefined, freq: 4 }),
  }) as fc.Arbitrary<OfferTerms>;

  /** A line's amount × 10⁴ (exact: quantity × price has eight places). */
  const amount8 = (l: BasketLine) => (l.subtotal !== undefined ? l.subtotal * 10_000n : l.quantity * l.unit_price + (l.modifiers ?? []).reduce((s, m) => s + m.subtotal, 0n) * 10_000n);
  const hasIds = (r?: { item_ids?: string[]; category_ids?: string[] }) => Boolean(r?.item_ids?.length || r?.category_ids?.length);
  const matches = (l: BasketLine, r?: { item_ids?: string[]; category_ids?: string[] }) => !hasIds(r) || Boolean(r?.item_ids?.includes(l.item_id)) || (l.category_id !== undefined && Boolean(r?.category_ids?.includes(l.category_id)));

  it('never negative, whole cents, lines sum to the total, only eligible sale lines, within the recurrence limit', () => {
    fc.assert(
      fc.property(offerArb, basketArb, (terms, b) => {
        const result = computeDiscount(terms, b);
        invariants(result, b);
        assert.deepEqual(computeDiscount(terms, b), result, 'deterministic');
        if (result.amount > 0n) assert.ok(result.lines.length > 0, 'a discount on a basket with lines names its lines');
        for (const l of result.lines) assert.ok(matches(b.lines.find((x) => x.line_id === l.line_id)!, terms.eligible), 'an eligible line');
        const scope = offerScope(terms);
        if (scope === 'check') assert.ok(result.applied_count <= 1);
        else assert.ok(result.applied_count <= Math.max(1, terms.max_recurrence));
        if (scope === 'none') assert.equal(result.reason, 'not_a_discount');
      }),
      { numRuns: 3000 },
    );
  });

  it('without allow_overage: never more than the eligible amount, no line below zero', () => {
    fc.assert(
      fc.property(offerArb, basketArb, (raw, b) => {
        const terms = { ...raw, allow_overage: false };
        const result = computeDiscount(terms, b);
        invariants(result, b);
        const live = b.lines.filter((l) => !l.voided);
        const eligibleSales = live.filter((l) => l.quantity > 0n && matches(l, terms.eligible));
        const eligibleAmount8 = eligibleSales.reduce((s, l) => s + (amount8(l) > 0n ? amount8(l) : 0n), 0n);
        assert.ok(result.amount * 10_000n <= eligibleAmount8, `total ${result.amount} over the eligible ${eligibleAmount8}`);
        if (offerScope(terms) === 'check') {
          const net8 = live.filter((l) => matches(l, terms.eligible)).reduce((s, l) => s + amount8(l), 0n);
          assert.ok(result.amount * 10_000n <= (net8 > 0n ? net8 : 0n), 'check: within the eligible subtotal');
        }
        for (const l of result.lines) {
          const source = b.lines.find((x) => x.line_id === l.line_id)!;
          assert.ok(l.amount * 10_000n <= amount8(source), `line ${l.line_id} below zero`);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('with allow_overage the discount is at least what it is without', () => {
    fc.assert(
      fc.property(offerArb, basketArb, (raw, b) => {
        const without = computeDiscount({ ...raw, allow_overage: false }, b);
        const withOverage = computeDiscount({ ...raw, allow_overage: true }, b);
        invariants(withOverage, b);
        assert.ok(withOverage.amount >= without.amount);
      }),
      { numRuns: 2000 },
    );
  });

  it('a check-level percent never exceeds the percent of the subtotal rounded half up', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 1_000_000n }), basketArb, (percent, b) => {
        const terms: OfferTerms = { type: 'percent_discount', check_level: true, amount: percent, max_recurrence: 1, allow_overage: true };
        const result = computeDiscount(terms, b);
        invariants(result, b);
        const net8 = b.lines.filter((l) => !l.voided).reduce((s, l) => s + amount8(l), 0n);
        if (net8 <= 0n || !b.lines.some((l) => !l.voided && l.quantity > 0n)) return;
        // exact discount in 10⁻¹⁴ units: net8 (10⁻⁸) × percent (10⁻⁴) / 100; the result is within half a cent of it
        const exact14 = net8 * percent;
        const result14 = result.amount * 10_000n * 10_000n * 100n;
        const halfCent14 = 50n * 10_000n * 10_000n * 100n;
        assert.ok(result14 - exact14 <= halfCent14 && exact14 - result14 < halfCent14, `${result.amount} vs ${exact14}`);
      }),
      { numRuns: 2000 },
    );
  });
});
