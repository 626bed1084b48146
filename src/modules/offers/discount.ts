/**
 * The discount an offer gives on a basket: pure functions, no I/O, exact money
 * (see money.ts). Redeem, lock and the POS lookup all call `computeDiscount`.
 *
 * Rules every offer type follows:
 * - Voided lines are ignored. Lines with a quantity ≤ 0 (returns) are never
 *   discounted; returns do count, negatively, in the check subtotal a check-level
 *   offer works from when the basket carries no `subtotal` of its own.
 * - A line's amount is its `subtotal` as the POS sent it, or else
 *   quantity × unit price + its modifiers' subtotals. Modifiers belong to their
 *   parent line: they are discounted with it and never match a catalog
 *   restriction themselves. A unit is worth line amount ÷ quantity, so modifiers
 *   and existing line discounts are spread evenly over the line's units.
 * - A catalog restriction (`eligible`, `qualifying`) matches a line whose
 *   item_id is among `item_ids` or whose category_id is among `category_ids`. A
 *   restriction that names no ids restricts nothing.
 * - Rounding happens once: the offer's total discount is rounded to the minor
 *   unit half up (money.ts `roundToMinorUnit`), never per unit or per line. The
 *   lines then share that rounded total exactly (money.ts `allocate`).
 * - Without `allow_overage` the discount never exceeds the eligible amount and no
 *   line is discounted below zero: when rounding up would pass that limit, the
 *   discount is the limit in whole minor units (a line of 0.015 gives at most
 *   0.01).
 * - A unit or group that would give no discount is not used and not counted; a
 *   result with amount 0 has applied_count 0, no lines, and a `reason`.
 */
import {
  ONE,
  allocate,
  compare,
  divideByQuantity,
  exact,
  floorToMinorUnit,
  isPositive,
  isZero,
  maxOf,
  minOf,
  multiplyByQuantity,
  percentOf,
  roundToMinorUnit,
  sum,
  subtract,
  times,
  type Amount,
  type Exact,
} from './money.js';

export type OfferType =
  | 'fixed_amount_discount'
  | 'percent_discount'
  | 'fixed_amount_item_discount'
  | 'percent_item_discount'
  | 'set_price'
  | 'buy_x_get_y_fixed'
  | 'buy_x_get_y_percent'
  | 'buy_x_get_y_set_price'
  | 'free_item'
  | 'manual_fulfillment'
  | 'points_exchange';

export interface CatalogRestriction {
  item_ids?: string[];
  category_ids?: string[];
}

export interface OfferTerms {
  type: OfferType;
  /** true: the discount applies to the whole check; false: to eligible items only. */
  check_level: boolean;
  /** money off (fixed), percent (percent types, e.g. 5 = 5%), or the price the item is sold at (set_price types). */
  amount: Amount;
  /** how many times one basket can use the offer (each use discounts one more unit / one more buy-X-get-Y group); 0 or 1: once. */
  max_recurrence: number;
  /** the discount may exceed the eligible amount (never below zero per line otherwise). */
  allow_overage: boolean;
  /** buy-X-get-Y: X and Y (get_count default 1). */
  buy_count?: number;
  get_count?: number;
  /** catalog restriction: items eligible for the discount (ids or category ids); absent: all items. For buy-X-get-Y, the "get" items. */
  eligible?: CatalogRestriction;
  /** buy-X-get-Y: items that count toward X (absent: same as eligible). */
  qualifying?: CatalogRestriction;
  /** minimum eligible subtotal before the offer applies. */
  minimum_subtotal?: Amount;
}

export interface BasketLine {
  line_id: string;
  item_id: string;
  category_id?: string;
  /** may be fractional; negative quantity = a returned line (never discounted) */
  quantity: Amount;
  unit_price: Amount;
  /** line subtotal as the POS sent it (quantity × unit price + modifiers − existing line discounts); computed when absent */
  subtotal?: Amount;
  /** modifier lines: part of their parent line's amount */
  modifiers?: { item_id: string; subtotal: Amount }[];
  /** voided lines are ignored */
  voided?: boolean;
}

export interface Basket {
  lines: BasketLine[];
  /** check subtotal as sent; defaults to the sum of line amounts */
  subtotal?: Amount;
}

export interface DiscountLine {
  line_id: string;
  quantity: Amount;
  amount: Amount;
}

export interface DiscountResult {
  /** total discount, rounded to the minor unit (2 places) */
  amount: Amount;
  /**
   * which lines are discounted, how many units, by how much; sums exactly to `amount`. For
   * check-level offers the discount is spread by amount over the eligible sale lines (every
   * non-void, non-return line when the offer has no catalog restriction), each line's
   * quantity in full; empty when the basket was sent as a subtotal without lines.
   */
  lines: DiscountLine[];
  /** how many times the offer applied (recurrences) */
  applied_count: number;
  /** when amount is 0: why ('no_eligible_items' | 'below_minimum' | 'no_basket' | 'not_a_discount' …) */
  reason?: string;
}

/** Every `reason` a zero discount can carry. */
export const NO_DISCOUNT_REASONS = [
  /** manual_fulfillment, or points_exchange that is not check level */
  'not_a_discount',
  /** no line that is not voided, and no check subtotal */
  'no_basket',
  /** no line the offer may discount (restriction matches nothing, only returns, check with no lines) */
  'no_eligible_items',
  /** the eligible subtotal is below `minimum_subtotal` */
  'below_minimum',
  /** a fixed or percent offer whose amount is 0 or less */
  'zero_amount',
  /** buy X get Y: not enough qualifying and eligible units for one group */
  'incomplete_group',
  /** everything that could be discounted is free already, or the discount rounds to 0 */
  'nothing_to_discount',
] as const;
export type NoDiscountReason = (typeof NO_DISCOUNT_REASONS)[number];

/** How an offer applies: to the check, per unit, per buy-X-get-Y group, or not at all. */
export type OfferScope = 'check' | 'item' | 'group' | 'none';
type Benefit = 'fixed' | 'percent' | 'set_price' | 'free';

/**
 * fixed_amount_discount and percent_discount follow `check_level`; the item,
 * set price, buy-X-get-Y and free item types are always per unit / per group;
 * points_exchange is money off the check when check level ("pay with points"),
 * otherwise, like manual_fulfillment, not a discount.
 */
export function offerScope(offer: Pick<OfferTerms, 'type' | 'check_level'>): OfferScope {
  switch (offer.type) {
    case 'fixed_amount_discount':
    case 'percent_discount':
      return offer.check_level ? 'check' : 'item';
    case 'fixed_amount_item_discount':
    case 'percent_item_discount':
    case 'set_price':
      return 'item';
    case 'buy_x_get_y_fixed':
    case 'buy_x_get_y_percent':
    case 'buy_x_get_y_set_price':
    case 'free_item':
      return 'group';
    case 'points_exchange':
      return offer.check_level ? 'check' : 'none';
    default:
      return 'none';
  }
}

function benefitOf(type: OfferType): Benefit {
  switch (type) {
    case 'percent_discount':
    case 'percent_item_discount':
    case 'buy_x_get_y_percent':
      return 'percent';
    case 'set_price':
    case 'buy_x_get_y_set_price':
      return 'set_price';
    case 'free_item':
      return 'free';
    default:
      return 'fixed';
  }
}

/** A line's amount: its subtotal as sent, or quantity × unit price + modifiers. Exact. */
export function lineAmount(line: BasketLine): Exact {
  if (line.subtotal !== undefined) return exact(line.subtotal);
  return sum([multiplyByQuantity(line.unit_price, line.quantity), ...(line.modifiers ?? []).map((m) => m.subtotal)]);
}

const restricts = (r: CatalogRestriction | undefined): boolean => Boolean(r?.item_ids?.length || r?.category_ids?.length);

/** Whether a catalog restriction matches a line (no restriction matches every line). */
export function matchesRestriction(line: Pick<BasketLine, 'item_id' | 'category_id'>, r: CatalogRestriction | undefined): boolean {
  if (!restricts(r)) return true;
  if (r?.item_ids?.includes(line.item_id)) return true;
  return line.category_id !== undefined && Boolean(r?.category_ids?.includes(line.category_id));
}

/** How many units / groups one basket may use: max_recurrence, at least 1. */
export function recurrenceLimit(maxRecurrence: number): bigint {
  if (maxRecurrence === Number.POSITIVE_INFINITY) return BigInt(Number.MAX_SAFE_INTEGER);
  if (!Number.isFinite(maxRecurrence) || maxRecurrence < 1) return 1n;
  return BigInt(Math.floor(Math.min(maxRecurrence, Number.MAX_SAFE_INTEGER)));
}

interface Line {
  index: number;
  line: BasketLine;
  amount: Exact;
  /** not a return and not an empty line: may receive a discount */
  discountable: boolean;
}

const none = (reason: NoDiscountReason): DiscountResult => ({ amount: 0n, lines: [], applied_count: 0, reason });

/**
 * The discount `offer` gives on `basket`. Never throws for a well-typed input;
 * a zero discount carries a `reason` (see NO_DISCOUNT_REASONS).
 */
export function computeDiscount(offer: OfferTerms, basket: Basket): DiscountResult {
  const scope = offerScope(offer);
  if (scope === 'none') return none('not_a_discount');
  const lines: Line[] = (basket?.lines ?? [])
    .filter((line) => !line.voided)
    .map((line, index) => ({ index, line, amount: lineAmount(line), discountable: line.quantity > 0n }));
  if (!lines.length && basket?.subtotal === undefined) return none('no_basket');
  const context = { offer, basket, lines, benefit: benefitOf(offer.type) };
  if (scope === 'check') return checkDiscount(context);
  if (scope === 'item') return itemDiscount(context);
  return groupDiscount(context);
}

interface Context {
  offer: OfferTerms;
  basket: Basket;
  lines: Line[];
  benefit: Benefit;
}

/**
 * The subtotal `minimum_subtotal` and check-level offers work from: for an
 * unrestricted offer the check subtotal (the basket's own, or the sum of every
 * non-void line, returns negative); otherwise the sum of the matching non-void
 * lines. Never below zero.
 */
function eligibleSubtotal({ basket, lines }: Context, match: (line: BasketLine) => boolean, unrestricted: boolean): Exact {
  if (unrestricted && basket?.subtotal !== undefined) return maxOf(basket.subtotal, 0n);
  return maxOf(sum(lines.filter((l) => match(l.line)).map((l) => l.amount)), 0n);
}

const belowMinimum = (offer: OfferTerms, subtotal: Exact): boolean =>
  offer.minimum_subtotal !== undefined && compare(subtotal, offer.minimum_subtotal) < 0;

/** Fixed and percent offers need a positive amount; a set price of 0 means free. */
const zeroAmount = (offer: OfferTerms, benefit: Benefit): boolean => (benefit === 'fixed' || benefit === 'percent') && offer.amount <= 0n;

/** The most whole minor units a line can give up without going below zero. */
const lineCap = (line: Line): Amount => floorToMinorUnit(maxOf(line.amount, 0n));

/** Spreads a rounded total over lines by weight: capped at each line's amount unless overage. */
function spread(total: Amount, targets: { line: Line; weight: Exact; quantity: Amount }[], overage: boolean): DiscountLine[] {
  const parts = allocate(
    total,
    targets.map((t) => t.weight),
    overage ? undefined : targets.map((t) => lineCap(t.line)),
  );
  return targets.flatMap((t, i) => (parts[i] > 0n ? [{ line_id: t.line.line.line_id, quantity: t.quantity, amount: parts[i] }] : []));
}

/**
 * Check level: a fixed amount off the check (never more than the eligible
 * subtotal unless allow_overage), or a percent of the eligible subtotal; applied
 * once. With a catalog restriction the eligible subtotal is the matching lines';
 * the discount is spread over the discountable eligible lines in proportion to
 * their amounts. A basket with only a subtotal (no lines) gets the discount with
 * no lines.
 */
function checkDiscount(context: Context): DiscountResult {
  const { offer, basket, lines, benefit } = context;
  const unrestricted = !restricts(offer.eligible);
  const matching = (line: BasketLine) => matchesRestriction(line, offer.eligible);
  const targets = lines.filter((l) => l.discountable && matching(l.line));
  const fromCheck = unrestricted && basket?.subtotal !== undefined;
  if (!targets.length && !fromCheck) return none('no_eligible_items');
  const subtotal = eligibleSubtotal(context, matching, unrestricted);
  if (belowMinimum(offer, subtotal)) return none('below_minimum');
  if (zeroAmount(offer, benefit)) return none('zero_amount');

  const overage = offer.allow_overage;
  const raw = benefit === 'percent' ? percentOf(subtotal, offer.amount) : exact(offer.amount);
  let total = roundToMinorUnit(overage ? raw : minOf(raw, subtotal));
  if (!overage) {
    let limit = floorToMinorUnit(subtotal);
    // the check subtotal as sent is authoritative; otherwise the lines must be able to hold the discount
    if (!fromCheck) limit = minAmount(limit, targets.reduce((a, l) => a + lineCap(l), 0n));
    total = minAmount(total, limit);
  }
  if (total <= 0n) return none('nothing_to_discount');
  const discounted = spread(
    total,
    targets.map((line) => ({ line, weight: maxOf(line.amount, 0n), quantity: line.line.quantity })),
    overage,
  );
  return { amount: total, lines: discounted, applied_count: 1 };
}

const minAmount = (a: Amount, b: Amount): Amount => (a < b ? a : b);

/** The discount on one unit of `size` (ONE = a whole unit; less = the measured rest of a line) worth `value`. */
function unitDiscount(offer: OfferTerms, benefit: Benefit, value: Exact, size: Amount): Exact {
  const worth = maxOf(value, 0n);
  let off: Exact;
  switch (benefit) {
    case 'free':
      return worth;
    case 'set_price':
      return maxOf(subtract(worth, multiplyByQuantity(maxOf(offer.amount, 0n), size)), 0n);
    case 'percent':
      off = percentOf(worth, offer.amount);
      break;
    case 'fixed':
      off = multiplyByQuantity(offer.amount, size);
      break;
  }
  return maxOf(offer.allow_overage ? off : minOf(off, worth), 0n);
}

/** Per-line accumulation of a per-unit or per-group discount. */
class Tally {
  private readonly byLine = new Map<number, { line: Line; quantity: Amount; raw: Exact }>();
  count = 0n;

  add(line: Line, quantity: Amount, raw: Exact): void {
    const entry = this.byLine.get(line.index) ?? { line, quantity: 0n, raw: exact(0n) };
    entry.quantity += quantity;
    entry.raw = sum([entry.raw, raw]);
    this.byLine.set(line.index, entry);
  }

  result(offer: OfferTerms): DiscountResult {
    const entries = [...this.byLine.values()].sort((a, b) => a.line.index - b.line.index);
    let total = roundToMinorUnit(sum(entries.map((e) => e.raw)));
    if (!offer.allow_overage) total = minAmount(total, entries.reduce((a, e) => a + lineCap(e.line), 0n));
    if (total <= 0n || this.count === 0n) return none('nothing_to_discount');
    const discounted = spread(
      total,
      entries.map((e) => ({ line: e.line, weight: e.raw, quantity: e.quantity })),
      offer.allow_overage,
    );
    return { amount: total, lines: discounted, applied_count: Number(this.count) };
  }
}

/**
 * Item level (fixed or percent off per unit, set price per unit): each eligible
 * unit is discounted on its own, up to max_recurrence units, the units giving
 * the largest discount first — for whole units that is the most expensive unit
 * first, the best order for the customer. A fractional quantity (1.5 kg) is one
 * unit per whole kilogram plus one measured unit for the rest (0.5 kg), which
 * counts as one use; on it the fixed amount and the set price apply pro rata
 * (the offer's amounts are per unit of quantity).
 */
function itemDiscount(context: Context): DiscountResult {
  const { offer, lines, benefit } = context;
  const unrestricted = !restricts(offer.eligible);
  const matching = (line: BasketLine) => matchesRestriction(line, offer.eligible);
  const targets = lines.filter((l) => l.discountable && matching(l.line));
  if (!targets.length) return none('no_eligible_items');
  if (belowMinimum(offer, eligibleSubtotal(context, matching, unrestricted))) return none('below_minimum');
  if (zeroAmount(offer, benefit)) return none('zero_amount');

  const batches = targets.flatMap((line) => {
    const perUnit = divideByQuantity(maxOf(line.amount, 0n), line.line.quantity);
    const whole = line.line.quantity / ONE;
    const rest = line.line.quantity % ONE;
    const batch = (count: bigint, size: Amount) => {
      const value = multiplyByQuantity(perUnit, size);
      return { line, count, size, value, discount: unitDiscount(offer, benefit, value, size) };
    };
    return [...(whole > 0n ? [batch(whole, ONE)] : []), ...(rest > 0n ? [batch(1n, rest)] : [])];
  });
  batches.sort((a, b) => compare(b.discount, a.discount) || compare(b.value, a.value) || a.line.index - b.line.index || (b.size > a.size ? 1 : b.size < a.size ? -1 : 0));

  const tally = new Tally();
  let remaining = recurrenceLimit(offer.max_recurrence);
  for (const batch of batches) {
    if (remaining === 0n || !isPositive(batch.discount)) break;
    const take = batch.count < remaining ? batch.count : remaining;
    tally.add(batch.line, batch.size * take, times(batch.discount, take));
    tally.count += take;
    remaining -= take;
  }
  return tally.result(offer);
}

interface Stock {
  line: Line;
  value: Exact;
  left: bigint;
}

/**
 * Buy X get Y (fixed off, percent off, set price, or free for free_item): each
 * group is X qualifying units plus Y eligible units, a unit in one role only;
 * up to max_recurrence groups. Groups are formed from the most expensive units
 * down, so the customer gets the most: the buys are the most expensive
 * qualifying units (those that cannot be a "get" first), and the Y gets are the
 * most expensive eligible units left — which makes them the Y cheapest units of
 * their group when the same items both qualify and are eligible. Only whole
 * units take part (a measured 1.5 kg line brings 1 unit). X defaults to 1 for
 * buy_x_get_y_* and to 0 for free_item (Y units free, most expensive first).
 */
function groupDiscount(context: Context): DiscountResult {
  const { offer, lines, benefit } = context;
  const buyCount = countOf(offer.buy_count, offer.type === 'free_item' ? 0n : 1n, 0n);
  const getCount = countOf(offer.get_count, 1n, 1n);
  const qualifyingRule = restricts(offer.qualifying) ? offer.qualifying : offer.eligible;
  const isEligible = (line: BasketLine) => matchesRestriction(line, offer.eligible);
  const isQualifying = (line: BasketLine) => matchesRestriction(line, qualifyingRule);
  const gets = lines.filter((l) => l.discountable && isEligible(l.line));
  if (!gets.length) return none('no_eligible_items');
  const inPlay = (line: BasketLine) => isEligible(line) || (buyCount > 0n && isQualifying(line));
  const unrestricted = !restricts(offer.eligible) || (buyCount > 0n && !restricts(qualifyingRule));
  if (belowMinimum(offer, eligibleSubtotal(context, inPlay, unrestricted))) return none('below_minimum');
  if (zeroAmount(offer, benefit)) return none('zero_amount');

  const byValue = (a: Stock, b: Stock) => compare(b.value, a.value) || a.line.index - b.line.index;
  const stock = (line: Line): Stock => ({ line, value: divideByQuantity(maxOf(line.amount, 0n), line.line.quantity), left: line.line.quantity / ONE });
  const units = lines.filter((l) => l.discountable && l.line.quantity >= ONE && inPlay(l.line)).map(stock);
  const qualifyingOnly = units.filter((s) => buyCount > 0n && isQualifying(s.line.line) && !isEligible(s.line.line)).sort(byValue);
  const both = units.filter((s) => buyCount > 0n && isQualifying(s.line.line) && isEligible(s.line.line)).sort(byValue);
  const eligibleOnly = units.filter((s) => isEligible(s.line.line) && !(buyCount > 0n && isQualifying(s.line.line))).sort(byValue);
  // on equal value a unit that can only be a "get" goes first, keeping the others free to be buys
  const getOnly = new Set(eligibleOnly);
  const getOrder = [...eligibleOnly, ...both].sort((a, b) => compare(b.value, a.value) || (getOnly.has(a) ? 0 : 1) - (getOnly.has(b) ? 0 : 1) || a.line.index - b.line.index);

  const tally = new Tally();
  const limit = recurrenceLimit(offer.max_recurrence);
  let groups = 0n;
  let reason: NoDiscountReason | undefined;
  while (groups < limit) {
    // plan one group without touching the stock, then repeat it while it stays the same
    const plan = new Map<Stock, { buy: bigint; get: bigint }>();
    const taken = (s: Stock) => (plan.get(s)?.buy ?? 0n) + (plan.get(s)?.get ?? 0n);
    const draw = (from: Stock[], need: bigint, role: 'buy' | 'get'): bigint => {
      for (const s of from) {
        if (need === 0n) break;
        const free = s.left - taken(s);
        if (free <= 0n) continue;
        const take = free < need ? free : need;
        const entry = plan.get(s) ?? { buy: 0n, get: 0n };
        entry[role] += take;
        plan.set(s, entry);
        need -= take;
      }
      return need;
    };
    if (draw([...qualifyingOnly, ...both], buyCount, 'buy') > 0n || draw(getOrder, getCount, 'get') > 0n) {
      reason ??= 'incomplete_group';
      break;
    }
    let groupRaw = exact(0n);
    for (const [s, { get }] of plan) if (get) groupRaw = sum([groupRaw, times(unitDiscount(offer, benefit, s.value, ONE), get)]);
    // later groups get units no dearer than this one's, so they would give nothing either
    if (isZero(groupRaw)) {
      reason = 'nothing_to_discount';
      break;
    }
    let repeat = limit - groups;
    for (const [s, use] of plan) {
      const fits = s.left / (use.buy + use.get);
      if (fits < repeat) repeat = fits;
    }
    for (const [s, use] of plan) {
      s.left -= repeat * (use.buy + use.get);
      if (use.get) tally.add(s.line, use.get * repeat * ONE, times(unitDiscount(offer, benefit, s.value, ONE), use.get * repeat));
    }
    groups += repeat;
  }
  tally.count = groups;
  if (groups === 0n) return none(reason ?? 'incomplete_group');
  return tally.result(offer);
}

/** A whole count from an optional number: its floor, at least `min`, `fallback` when absent or not a number. */
function countOf(value: number | undefined, fallback: bigint, min: bigint): bigint {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  const n = BigInt(Math.floor(Math.min(value, Number.MAX_SAFE_INTEGER)));
  return n < min ? min : n;
}
