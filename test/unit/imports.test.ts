// The layers import only downward (lib and the shared definitions < db <
// modules < flows and jobs < http < the application), and no source file
// reaches itself through its imports, type-only imports included.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [relative(root, path)] : [];
  });

/** Every source file's relative imports and re-exports, as source paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(join(root, 'src'))) {
    const text = readFileSync(join(root, file), 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)].map((m) => normalize(join(dirname(file), m[1].replace(/\.js$/, '.ts'))));
    graph.set(file, targets);
  }
  return graph;
}

const SHARED = new Set(['src/errors.ts', 'src/config.ts']);
function layer(file: string): number {
  if (file.startsWith('src/lib/') || SHARED.has(file)) return 0;
  if (file.startsWith('src/db/')) return 1;
  if (file.startsWith('src/modules/')) return 2;
  if (file.startsWith('src/flows/') || file.startsWith('src/jobs/')) return 3;
  if (file.startsWith('src/http/')) return 4;
  return 5;
}

/** The groups of files that import each other in a circle (Tarjan's strongly connected components). */
export function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (file: string) => {
    index.set(file, next);
    low.set(file, next++);
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (stack.includes(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!));
    }
    if (low.get(file) === index.get(file)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        group.push(member);
      } while (member !== file);
      if (group.length > 1) found.push(group.sort());
    }
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return found;
}

describe('imports', () => {
  it('go only downward through the layers', () => {
    const upward = [...importGraph()].flatMap(([file, targets]) => targets.filter((t) => layer(t) > layer(file)).map((t) => `${file} -> ${t}`));
    assert.deepEqual(upward, []);
  });

  it('leave transactions to the flows: no route file begins one', () => {
    // a route parses, calls one flow or module function, and renders; the flow owns the transaction (transact)
    const routes = [...importGraph()].filter(([file]) => file.startsWith('src/http/'));
    const beginning = routes.filter(([file, targets]) => targets.includes('src/db/unit-of-work.ts') || /\.transaction\(\)/.test(readFileSync(join(root, file), 'utf8'))).map(([file]) => file);
    assert.deepEqual(beginning, []);
  });

  it('form no circle', () => {
    assert.deepEqual(circles(importGraph()), []);
  });

  it('finds a circle when there is one', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    assert.deepEqual(circles(graph), [['a.ts', 'b.ts', 'c.ts']]);
  });
});
