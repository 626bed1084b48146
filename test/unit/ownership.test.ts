// Modules own their tables: each declares them in its tables.ts, and no SQL
// outside a module names one of its tables (Kysely's table arguments and raw
// SQL alike). Flows, routes and the worker reach data only through modules'
// functions. Every table belongs to exactly one module.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const modulesDir = join(root, 'src', 'modules');
// the database layer itself: the schema's types, the migrator, the planner statistics of every table
const INFRASTRUCTURE = new Set(['src/db/schema.ts', 'src/db/migrate.ts', 'src/db/statistics.ts']);

async function ownership(): Promise<Map<string, string>> {
  const owner = new Map<string, string>();
  for (const module of readdirSync(modulesDir)) {
    const { TABLES } = (await import(join(modulesDir, module, 'tables.ts'))) as { TABLES: readonly string[] };
    for (const table of TABLES) {
      assert.ok(!owner.has(table), `${table} is owned by ${owner.get(table)} and ${module}`);
      owner.set(table, module);
    }
  }
  return owner;
}

const TABLE_NAMED = /(?:(?:selectFrom|insertInto|updateTable|deleteFrom|innerJoin|leftJoin|rightJoin|fullJoin|mergeInto|sql\.table)\(|memberRows\(\s*\w+,)\s*['"`]([a-z_]+)|\b(?:FROM|JOIN|INTO|UPDATE|TABLE|from|join|into|update)\s+([a-z_]+)\b/g;

/** Where a file's SQL names a table its module does not own: "file: table". */
export function violations(owner: Map<string, string>, file: string, text: string): string[] {
  if (INFRASTRUCTURE.has(file)) return [];
  const module = /^src\/modules\/([^/]+)\//.exec(file)?.[1];
  const found = new Set<string>();
  for (const match of text.matchAll(TABLE_NAMED)) {
    const table = match[1] ?? match[2];
    if (owner.has(table) && owner.get(table) !== module) found.add(`${file}: ${table} (owned by ${owner.get(table)})`);
  }
  return [...found];
}

const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });

describe('table ownership', () => {
  it('gives every table of the schema exactly one owning module', async () => {
    const owner = await ownership();
    const schema = readFileSync(join(root, 'src', 'db', 'schema.ts'), 'utf8');
    const tables = [...schema.slice(schema.indexOf('export interface Database')).matchAll(/^\s+(\w+): \w+Table;/gm)].map((m) => m[1]);
    assert.ok(tables.length > 30);
    assert.deepEqual(tables.filter((t) => !owner.has(t)), [], 'tables no module owns');
  });

  it('finds a table named outside its module, in Kysely calls and raw SQL', async () => {
    const owner = await ownership();
    assert.deepEqual(violations(owner, 'src/modules/merge/service.ts', "await tx.insertInto('point_ledger').values(rows)"), ['src/modules/merge/service.ts: point_ledger (owned by points)']);
    assert.deepEqual(violations(owner, 'src/flows/x.ts', 'sql`SELECT 1 FROM offer_redemptions r JOIN user_offers u ON true`'), [
      'src/flows/x.ts: offer_redemptions (owned by offers)',
      'src/flows/x.ts: user_offers (owned by offers)',
    ]);
    assert.deepEqual(violations(owner, 'src/modules/merge/service.ts', "sql`UPDATE ${sql.table('member_goals')} SET member_id = 1`"), ['src/modules/merge/service.ts: member_goals (owned by campaigns)']);
    assert.deepEqual(violations(owner, 'src/modules/tags/privacy.ts', "await memberRows(db, 'point_ledger', retailerId, memberId)"), ['src/modules/tags/privacy.ts: point_ledger (owned by points)']);
    assert.deepEqual(violations(owner, 'src/modules/points/ledger.ts', "tx.insertInto('point_ledger')"), [], 'the owner may');
  });

  it('finds no SQL outside a module naming its tables', async () => {
    const owner = await ownership();
    const found = sources(join(root, 'src')).flatMap((path) => violations(owner, relative(root, path), readFileSync(path, 'utf8')));
    assert.deepEqual(found, []);
  });
});
