import { parse } from 'node:querystring';
import { componentOf } from './contract.js';

/**
 * Query strings as real integrations send them: a second `?` read as `&`
 * (`…show_identifiers=true?user[user_profile]=true`, or the whole query twice), bracketed keys raw or
 * percent-encoded, and `key[]=a&key[]=b` read as the list `key`.
 */
export function parseQueryString(text: string): Record<string, unknown> {
  const parsed = parse(text.replace(/\?/g, '&'));
  const query: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (key.endsWith('[]')) {
      const name = key.slice(0, -2);
      query[name] = [...((query[name] as string[] | undefined) ?? []), ...([] as string[]).concat(value ?? [])];
    } else {
      // a query string sent twice over (`?a=1&b=2?a=1&b=2`) repeats each key with the same value
      query[key] = Array.isArray(value) && new Set(value).size === 1 ? value[0] : value;
    }
  }
  return query;
}

/** Empty strings mean absent: drop them from objects, at any depth. */
export const withoutEmptyStrings = <T>(value: T): T => cleaned(value, false, NONE);

/**
 * Empty strings and null fields mean absent (strictly typed clients serialize
 * unset fields as `null`; schema coercion would otherwise turn a null into
 * `""`, `false` or `0`): both dropped from objects at any depth, in one copy.
 * Inside the free-form maps named in `freeForm` nulls are kept: there a null
 * removes an attribute.
 */
export const withoutAbsent = <T>(value: T, freeForm: ReadonlySet<string> = NONE): T => cleaned(value, true, freeForm);

const NONE: ReadonlySet<string> = new Set();

function cleaned<T>(value: T, dropNulls: boolean, freeForm: ReadonlySet<string>): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => cleaned(v, dropNulls, freeForm)) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (typeof v === 'string' ? v.trim() === '' : v === null && dropNulls) continue;
    out[key] = cleaned(v, dropNulls && !freeForm.has(key), freeForm);
  }
  return out as T;
}

/** Deeper client input is refused before any pass walks it. */
export const MAX_DEPTH = 64;

/**
 * What PostgreSQL could not store, or a recursive pass could not walk, in client
 * input: nesting deeper than MAX_DEPTH, a NUL character or a lone surrogate in a
 * string or key (text, json and jsonb refuse both), a number that is not finite
 * (`1e400`). Returns the first such thing as "field: problem"; undefined when
 * there is none. Its own recursion stops at MAX_DEPTH.
 */
export function inputProblem(value: unknown): string | undefined {
  // one path, pushed and popped as the walk goes: the field is named only when there is a problem
  const path: string[] = [];
  const problem = problemIn(value, path);
  return problem && `${fieldName(path)}: ${problem}`;
}

function problemIn(value: unknown, path: string[]): string | undefined {
  if (typeof value === 'string') return stringProblem(value);
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'must be a finite number';
  if (value === null || typeof value !== 'object') return undefined;
  if (path.length >= MAX_DEPTH) return `nested deeper than ${MAX_DEPTH} levels`;
  for (const key of Object.keys(value)) {
    path.push(key);
    const problem = stringProblem(key) ?? problemIn((value as Record<string, unknown>)[key], path);
    if (problem) return problem;
    path.pop();
  }
  return undefined;
}

function stringProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain NUL characters';
  if (!text.isWellFormed()) return 'must be well-formed Unicode (a lone surrogate is not)';
  return undefined;
}

const fieldName = (path: string[]) => path.join('.') || 'body';

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

export interface NumericSchema {
  type?: unknown;
  anyOf?: NumericSchema[];
  properties?: Record<string, NumericSchema>;
  items?: NumericSchema;
  minimum?: number;
  maximum?: number;
  $ref?: string;
}

/**
 * Where schema coercion would take a client's mistake for a number: `true` read
 * as 1, `"1e400"` as Infinity, or an integer no column holds. Integers are
 * 32-bit unless the schema gives its own bounds. Returns the first such field
 * as "field: problem" (numeric strings stay accepted, SPEC section 4).
 */
export function mistypedNumber(schema: NumericSchema | undefined, value: unknown): string | undefined {
  const path: string[] = [];
  const problem = mistypedIn(schema, value, path);
  return problem && `${fieldName(path)}: ${problem}`;
}

/** A schema as the walk reads it: its $ref resolved, its branches and whether any of them is numeric, worked out once. */
interface Shape {
  branches: NumericSchema[];
  types: unknown[];
  numeric: NumericSchema | undefined;
}
const shapes = new WeakMap<NumericSchema, Shape | null>();

function shapeOf(given: NumericSchema): Shape | undefined {
  let shape = shapes.get(given);
  if (shape === undefined) {
    const schema = given.$ref ? (componentOf(given.$ref) as NumericSchema | undefined) : given;
    const branches = schema ? (schema.anyOf ?? [schema]) : [];
    shape = schema ? { branches, types: branches.map((b) => b.type), numeric: branches.find((b) => b.type === 'integer' || b.type === 'number') } : null;
    shapes.set(given, shape);
  }
  return shape ?? undefined;
}

function mistypedIn(given: NumericSchema | undefined, value: unknown, path: string[]): string | undefined {
  const shape = given && shapeOf(given);
  if (!shape || value === null || value === undefined || path.length > MAX_DEPTH) return undefined;
  const problem = numberProblem(shape, value);
  if (problem) return problem;
  for (const branch of shape.branches) {
    if (branch.type === 'array' && branch.items) {
      const items = Array.isArray(value) ? value : [value];
      for (let i = 0; i < items.length; i++) {
        path.push(String(i));
        const found = mistypedIn(branch.items, items[i], path);
        if (found) return found;
        path.pop();
      }
    } else if (branch.properties && typeof value === 'object' && !Array.isArray(value)) {
      for (const key of Object.keys(value)) {
        path.push(key);
        const found = mistypedIn(branch.properties[key], (value as Record<string, unknown>)[key], path);
        if (found) return found;
        path.pop();
      }
    }
  }
  return undefined;
}

function numberProblem({ types, numeric }: Shape, value: unknown): string | undefined {
  if (!numeric) return undefined;
  if (typeof value === 'boolean') return types.includes('boolean') ? undefined : 'must be a number, not a boolean';
  if (typeof value === 'string' ? types.includes('string') || value.trim() === '' : typeof value !== 'number') return undefined;
  const n = Number(value);
  // not numeric at all: the schema refuses it
  if (Number.isNaN(n)) return undefined;
  if (!Number.isFinite(n)) return 'must be a finite number';
  if (numeric.type !== 'integer' || types.includes('number')) return undefined;
  const [min, max] = [numeric.minimum ?? INT_MIN, numeric.maximum ?? INT_MAX];
  return n < min || n > max ? `must be an integer from ${min} to ${max}` : undefined;
}

/** JSON text with `//` and `/* *\/` comments (outside strings) removed. */
export function withoutJsonComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else {
      out += c;
    }
  }
  return out;
}
