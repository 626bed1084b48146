import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Db } from './connection.js';

/** Ordered SQL files at the package root; the same ones serve PGlite and PostgreSQL. */
export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'migrations');

export async function listMigrations(): Promise<{ name: string; text: string }[]> {
  const names = (await readdir(MIGRATIONS_DIR)).filter((n) => n.endsWith('.sql')).sort();
  return Promise.all(names.map(async (name) => ({ name, text: await readFile(join(MIGRATIONS_DIR, name), 'utf8') })));
}

/**
 * Applies the pending migrations, each in its own transaction, under an
 * advisory lock so that processes starting together apply each one once.
 * Returns the names applied.
 */
export async function migrate(db: Db): Promise<string[]> {
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`.execute(db);
  const applied: string[] = [];
  for (const migration of await listMigrations()) {
    const done = await db.transaction().execute(async (tx) => {
      // a migration may rewrite a large table: no statement timeout
      await sql`SET LOCAL statement_timeout = 0`.execute(tx);
      await sql`SELECT pg_advisory_xact_lock(72116001)`.execute(tx);
      const seen = await sql<{ name: string }>`SELECT name FROM schema_migrations WHERE name = ${migration.name}`.execute(tx);
      if (seen.rows.length) return false;
      await sql.raw(migration.text).execute(tx);
      await sql`INSERT INTO schema_migrations (name) VALUES (${migration.name})`.execute(tx);
      return true;
    });
    if (done) applied.push(migration.name);
  }
  return applied;
}

/** True once every migration in the package has been applied. */
export async function isMigrated(db: Db): Promise<boolean> {
  const expected = (await listMigrations()).map((m) => m.name);
  const rows = await sql<{ name: string }>`SELECT name FROM schema_migrations`.execute(db).catch(() => ({ rows: [] }));
  const have = new Set(rows.rows.map((r) => r.name));
  return expected.every((n) => have.has(n));
}
