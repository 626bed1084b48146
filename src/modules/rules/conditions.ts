/**
 * Rule conditions: a small typed condition language, evaluated by pure
 * functions over the facts of one event.
 *
 * A condition is `{all: [...]}`, `{any: [...]}`, `{not: ...}` or a comparison
 * `{fact, op, value}`. Facts name what a comparison reads:
 *   context.<path>       the event's context (purchases: the transaction)
 *   member.<attribute>   a standard attribute (email, gender, country, opted_in, account_status, ...)
 *   profile.<path>       the custom profile (user_profile)
 *   tags.<tag>           the tag's live count (0 when absent or expired)
 *   tier.level           the member's current tier level ids (any system)
 *   tier.rank            the member's highest current tier rank (-1 when not placed)
 *   events.<name>        how many events of that name the member had (this one included),
 *                        within the last `within_seconds` of the event's time when given
 * Why not a rules library: the facts are few and some must be fetched from
 * the database (tags, tiers, event counts); a tiny language whose needs can be
 * read before evaluation (`requirements`) keeps every rule one index lookup and
 * a few bounded queries, and validates fully at program apply.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in', 'contains', 'exists'] as const;
export type Op = (typeof OPS)[number];

export interface Comparison {
  fact: string;
  op: Op;
  value?: unknown;
  /** events.<name> only: count within this many seconds before the event. */
  within_seconds?: number;
}

export type Condition = { all: Condition[] } | { any: Condition[] } | { not: Condition } | Comparison;

const FACT_PATTERN = '^(context|member|profile|tags|events)\\.[^\\s].*$|^tier\\.(level|rank)$';

export const ComparisonSchema = Type.Object(
  {
    fact: Type.String({ pattern: FACT_PATTERN, maxLength: 300, description: 'context.<path>, member.<attribute>, profile.<path>, tags.<tag>, tier.level, tier.rank, events.<name>' }),
    op: Type.Union(OPS.map((o) => Type.Literal(o))),
    value: Type.Optional(Type.Unknown()),
    within_seconds: Type.Optional(Type.Integer({ minimum: 1, description: 'events.<name>: only events within this many seconds' })),
  },
  { additionalProperties: false },
);

/**
 * The condition schema, nested up to `depth` levels of all/any/not (a
 * non-recursive schema: it embeds in any program schema and compiles in Ajv
 * without a shared $id).
 */
function conditionSchema(depth: number): TSchema {
  if (depth === 0) return ComparisonSchema;
  const inner = conditionSchema(depth - 1);
  return Type.Union([
    ComparisonSchema,
    Type.Object({ all: Type.Array(inner, { minItems: 1, maxItems: 50 }) }, { additionalProperties: false }),
    Type.Object({ any: Type.Array(inner, { minItems: 1, maxItems: 50 }) }, { additionalProperties: false }),
    Type.Object({ not: inner }, { additionalProperties: false }),
  ]);
}

export const ConditionSchema = conditionSchema(3) as unknown as ReturnType<typeof Type.Unsafe<Condition>>;
export type ConditionDoc = Static<typeof ConditionSchema>;

/** Everything a comparison may read, gathered before evaluation. */
export interface Facts {
  context: Record<string, unknown>;
  member?: Record<string, unknown>;
  profile?: Record<string, unknown>;
  tags?: Record<string, number>;
  tierLevels?: string[];
  tierRank?: number;
  /** By eventCountKey(name, within_seconds). */
  eventCounts?: Map<string, number>;
}

/** What evaluating a condition needs fetched. */
export interface Requirements {
  member: boolean;
  tags: boolean;
  tiers: boolean;
  events: { name: string; within_seconds?: number }[];
}

export const eventCountKey = (name: string, withinSeconds?: number) => `${name.toLowerCase()}\u0000${withinSeconds ?? ''}`;

export function requirements(conditions: (Condition | null | undefined)[]): Requirements {
  const req: Requirements = { member: false, tags: false, tiers: false, events: [] };
  const seen = new Set<string>();
  const walk = (c: Condition) => {
    if ('all' in c) return c.all.forEach(walk);
    if ('any' in c) return c.any.forEach(walk);
    if ('not' in c) return walk(c.not);
    const [root, ...rest] = c.fact.split('.');
    if (root === 'member' || root === 'profile') req.member = true;
    else if (root === 'tags') req.tags = true;
    else if (root === 'tier') req.tiers = true;
    else if (root === 'events') {
      const name = rest.join('.');
      const key = eventCountKey(name, c.within_seconds);
      if (!seen.has(key)) {
        seen.add(key);
        req.events.push({ name, within_seconds: c.within_seconds });
      }
    }
  };
  for (const c of conditions) if (c) walk(c);
  return req;
}

/** The value a fact names; undefined when absent. */
export function factValue(c: Comparison, facts: Facts): unknown {
  const [root, ...rest] = c.fact.split('.');
  const path = rest.join('.');
  switch (root) {
    case 'context':
      return pathValue(facts.context, rest);
    case 'member':
      return pathValue(facts.member ?? {}, rest);
    case 'profile':
      return pathValue(facts.profile ?? {}, rest);
    case 'tags':
      return facts.tags?.[path] ?? 0;
    case 'tier':
      return path === 'rank' ? (facts.tierRank ?? -1) : (facts.tierLevels ?? []);
    case 'events':
      return facts.eventCounts?.get(eventCountKey(path, c.within_seconds)) ?? 0;
    default:
      return undefined;
  }
}

function pathValue(root: Record<string, unknown>, path: string[]): unknown {
  let value: unknown = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Evaluates a condition over the facts (absent condition: true). Pure. */
export function evaluate(condition: Condition | null | undefined, facts: Facts): boolean {
  if (!condition) return true;
  if ('all' in condition) return condition.all.every((c) => evaluate(c, facts));
  if ('any' in condition) return condition.any.some((c) => evaluate(c, facts));
  if ('not' in condition) return !evaluate(condition.not, facts);
  return compare(factValue(condition, facts), condition.op, condition.value);
}

/** A number from a JSON number or a numeric string (the collection sends "11.77"). */
function numeric(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/.test(v)) return Number(v);
  return undefined;
}

/** Scalars compare as numbers when both are numeric, as booleans when one is ("true"), else as case-insensitive text. */
function same(a: unknown, b: unknown): boolean {
  const [x, y] = [numeric(a), numeric(b)];
  if (x !== undefined && y !== undefined) return x === y;
  if (typeof a === 'boolean' || typeof b === 'boolean') return String(a).toLowerCase() === String(b).toLowerCase();
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  return JSON.stringify(a) === JSON.stringify(b);
}

function order(a: unknown, b: unknown): number | undefined {
  const [x, y] = [numeric(a), numeric(b)];
  if (x !== undefined && y !== undefined) return x - y;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

/** One comparison; a list fact matches eq/in/gt/... when any element does (ne/not_in: when none does). */
export function compare(actual: unknown, op: Op, expected: unknown): boolean {
  if (op === 'exists') {
    const present = actual !== undefined && actual !== null && !(Array.isArray(actual) && !actual.length);
    return expected === false || expected === 'false' ? !present : present;
  }
  if (op === 'ne') return !compare(actual, 'eq', expected);
  if (op === 'not_in') return !compare(actual, 'in', expected);
  if (op === 'contains') {
    if (Array.isArray(actual)) return actual.some((a) => same(a, expected));
    return typeof actual === 'string' && typeof expected === 'string' && actual.toLowerCase().includes(expected.toLowerCase());
  }
  if (actual === undefined || actual === null) return false;
  if (Array.isArray(actual)) return actual.some((a) => compare(a, op, expected));
  switch (op) {
    case 'eq':
      return same(actual, expected);
    case 'in':
      return Array.isArray(expected) && expected.some((e) => same(actual, e));
    default: {
      const d = order(actual, expected);
      if (d === undefined) return false;
      return op === 'gt' ? d > 0 : op === 'gte' ? d >= 0 : op === 'lt' ? d < 0 : d <= 0;
    }
  }
}
