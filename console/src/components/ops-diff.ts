// What an audit record changed: the leaves of `before` and `after` that differ, by path.

export interface Change {
  path: string;
  before: unknown;
  after: unknown;
  kind: 'added' | 'removed' | 'changed';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function flatten(value: unknown, path: string, into: Map<string, unknown>): void {
  if (isObject(value) && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value)) flatten(child, path ? (Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`) : Array.isArray(value) ? `[${key}]` : key, into);
  } else into.set(path, value);
}

/** The differing leaves, in the order they appear (before's first, then after's new ones). */
export function diffJson(before: unknown, after: unknown): Change[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  if (before !== null && before !== undefined) flatten(before, '', a);
  if (after !== null && after !== undefined) flatten(after, '', b);
  const changes: Change[] = [];
  for (const [path, value] of a) {
    if (!b.has(path)) changes.push({ path, before: value, after: undefined, kind: 'removed' });
    else if (JSON.stringify(value) !== JSON.stringify(b.get(path))) changes.push({ path, before: value, after: b.get(path), kind: 'changed' });
  }
  for (const [path, value] of b) if (!a.has(path)) changes.push({ path, before: undefined, after: value, kind: 'added' });
  return changes;
}

/** A leaf as one short line of text. */
export function showValue(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}
