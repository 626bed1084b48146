// The server's own list of operations, read from its OpenAPI document, with
// what it takes to call each: its surface, its path filled in, a body its schema
// accepts. The fuzz pass and the credentials table are generated from it, so a
// new route is covered the day it is added.
import type { FastifyInstance } from 'fastify';

export type SurfaceName = 'core' | 'connect' | 'pos' | 'admin';

export interface JsonSchema {
  type?: string;
  format?: string;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minimum?: number;
  minLength?: number;
  const?: unknown;
  enum?: unknown[];
}

export interface Operation {
  method: string;
  /** The OpenAPI path, with `{param}` placeholders. */
  path: string;
  surface: SurfaceName;
  pathParams: string[];
  query: { name: string; schema: JsonSchema }[];
  body?: JsonSchema;
}

export function surfaceOf(path: string): SurfaceName {
  if (path.startsWith('/priv/')) return 'core';
  if (path.startsWith('/offers/') || path.startsWith('/incentives/')) return 'connect';
  if (path.startsWith('/api/')) return 'pos';
  if (path.startsWith('/admin/')) return 'admin';
  throw new Error(`no surface serves ${path}`);
}

/** Every documented operation of the application, in document order. */
export async function operationsOf(app: FastifyInstance): Promise<Operation[]> {
  await app.ready();
  const doc = app.swagger() as { paths: Record<string, Record<string, any>> };
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      // the operations endpoints (/healthz …) take no credentials and belong to no surface
      if (!op.security?.length) continue;
      const parameters = (op.parameters ?? []) as { name: string; in: string; schema: JsonSchema }[];
      operations.push({
        method: method.toUpperCase(),
        path,
        surface: surfaceOf(path),
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query: parameters.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema })),
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return operations;
}

/** The path with each `{param}` replaced by `values[param]` (percent-encoded), or by `fallback(param)`. */
export function fillPath(path: string, values: Record<string, string>, fallback: (param: string) => string = () => 'x'): string {
  return path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(values[name] ?? fallback(name)));
}

/**
 * A value the schema accepts: the required fields of objects, known fields
 * (`known`, by name) where the schema has them, one item in arrays.
 */
export function sampleOf(schema: JsonSchema | undefined, known: Record<string, unknown> = {}, name?: string, depth = 0): unknown {
  if (!schema || depth > 12) return undefined;
  if (name && name in known) return known[name];
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.anyOf) return sampleOf(schema.anyOf[0], known, name, depth + 1);
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries(schema.properties ?? {})) {
        if (!schema.required?.includes(key) && !(key in known)) continue;
        out[key] = sampleOf(sub, known, key, depth + 1);
      }
      return out;
    }
    case 'array':
      return [sampleOf(schema.items, known, undefined, depth + 1)];
    case 'integer':
    case 'number':
      return Math.max(1, schema.minimum ?? 1);
    case 'boolean':
      return true;
    case 'string':
      if (schema.format === 'uuid') return '00000000-0000-4000-8000-000000000000';
      if (schema.format === 'date-time') return '2026-01-01T00:00:00Z';
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
    default:
      return 'x';
  }
}

/** The dotted paths of a schema's fields, nearest first (objects' properties and arrays' first items). */
export function fieldPaths(schema: JsonSchema | undefined, limit: number): string[][] {
  const paths: string[][] = [];
  const queue: [JsonSchema, string[]][] = schema ? [[schema, []]] : [];
  while (queue.length && paths.length < limit) {
    const [s, path] = queue.shift()!;
    const branches = s.anyOf ?? [s];
    for (const b of branches) {
      if (b.type === 'object') {
        for (const [key, sub] of Object.entries(b.properties ?? {})) {
          paths.push([...path, key]);
          queue.push([sub, [...path, key]]);
        }
      } else if (b.type === 'array' && b.items) {
        queue.push([b.items, [...path, '0']]);
      }
    }
  }
  return paths.slice(0, limit);
}

/** Sets `value` at `path` inside a copy of `body`, creating objects and arrays on the way. */
export function withValueAt(body: unknown, path: string[], value: unknown): unknown {
  const root: any = structuredClone(body ?? {});
  let at = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    if (at[key] === null || typeof at[key] !== 'object') at[key] = /^\d+$/.test(path[i + 1]) ? [] : {};
    at = at[key];
  }
  at[path[path.length - 1]] = value;
  return root;
}

/** Removes the field at `path` from a copy of `body`. */
export function withoutValueAt(body: unknown, path: string[]): unknown {
  const root: any = structuredClone(body ?? {});
  let at = root;
  for (const key of path.slice(0, -1)) {
    if (at[key] === null || typeof at[key] !== 'object') return root;
    at = at[key];
  }
  delete at[path[path.length - 1]];
  return root;
}
