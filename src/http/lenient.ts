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
