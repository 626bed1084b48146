import { sql } from 'kysely';
import type { Db } from '../../src/db/index.js';

/** Every table's row count and a digest of its rows: two equal snapshots mean nothing was written in between. */
export async function tableSnapshot(db: Db): Promise<Record<string, string>> {
  const { rows: tables } = await sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`.execute(db);
  const counts: Record<string, string> = {};
  for (const { name } of tables) {
    const { rows } = await sql<{ n: string; sum: string }>`SELECT count(*)::text AS n, md5(coalesce(string_agg(x::text, '' ORDER BY x::text), '')) AS sum FROM ${sql.table(name)} x`.execute(db);
    counts[name] = `${rows[0].n} ${rows[0].sum}`;
  }
  return counts;
}
