import { parse } from 'node:querystring';

/**
 * Query strings as real integrations send them: a second `?` read as `&`
 * (`…show_identifiers=true?user[user_profile]=true`), bracketed keys raw or
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
      query[key] = value;
    }
  }
  return query;
}

/** Empty strings mean absent: drop them from objects, at any depth. */
export function withoutEmptyStrings<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutEmptyStrings) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string' && v.trim() === '') continue;
    out[key] = withoutEmptyStrings(v);
  }
  return out as T;
}

/**
 * The dotted path of the first string (value or key) holding a NUL character,
 * which PostgreSQL text and jsonb cannot store; undefined when there is none.
 */
export function fieldWithNul(value: unknown, path: string[] = []): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path.join('.') || 'body' : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, v] of Object.entries(value)) {
    const here = [...path, key];
    if (key.includes('\u0000')) return here.join('.');
    const found = fieldWithNul(v, here);
    if (found) return found;
  }
  return undefined;
}

/**
 * Strictly typed clients serialize unset fields as `null`: like an empty
 * string, a null field means absent (schema coercion would otherwise turn it
 * into `""`, `false` or `0`). Inside the free-form maps named in `freeForm`
 * nulls are kept: there a null removes an attribute.
 */
export function withoutNullFields<T>(value: T, freeForm: ReadonlySet<string> = new Set()): T {
  if (Array.isArray(value)) return value.map((v) => withoutNullFields(v, freeForm)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === null) continue;
    out[key] = freeForm.has(key) ? v : withoutNullFields(v, freeForm);
  }
  return out as T;
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
