import { sql } from 'kysely';
import type { Db } from './connection.js';

/**
 * Keeps the planner's statistics current where autovacuum does not: PGlite runs
 * no autovacuum, and a server may run with it turned off. Without ANALYZE the
 * planner keeps estimating from what it saw while a table was nearly empty, and
 * the plan each connection keeps for a statement never changes: a sequential
 * scan over all of a retailer's transactions, or the first index that starts
 * with retailer_id, on every request. Analyzes each table changed by more rows
 * than autovacuum's own threshold (50 plus 10% of its rows) since it was last
 * analyzed, which also makes every connection plan the statements over that
 * table anew. Statistics from a sample of 3,000 rows (a statistics target of
 * 10, for the columns without their own) are plenty for choosing between a
 * key and a scan, and cost a tenth of the default sample's: this runs while
 * the tables take traffic. Runs in the caller's transaction (the worker's
 * job); returns the tables it analyzed.
 */
export async function analyzeChangedTables(db: Db): Promise<string[]> {
  const { rows } = await sql<{ relname: string }>`
    SELECT relname FROM pg_stat_user_tables
     WHERE schemaname = current_schema()
       AND n_mod_since_analyze > 50 + 0.1 * n_live_tup
       AND NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'autovacuum launcher')
     ORDER BY relname`.execute(db);
  const tables = rows.map((r) => r.relname);
  if (!tables.length) return tables;
  await sql`SELECT set_config('default_statistics_target', '10', true)`.execute(db);
  await sql`ANALYZE ${sql.join(tables.map((t) => sql.id(t)))}`.execute(db);
  return tables;
}
