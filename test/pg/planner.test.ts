import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { connectPostgres, DEFAULT_TIMEOUTS, type DatabaseHandle } from '../../src/db/connection.js';
import { postgresDatabase } from '../support/harness.js';

// DB_RANDOM_PAGE_COST: a small program's tables (a few hundred members) are probed by
// their keys, not scanned whole, on the till's hot reads; `server` keeps the server's setting.
describe('the planner settings of the pool', () => {
  let url: string;
  const handles: DatabaseHandle[] = [];
  before(async () => {
    const { url: u, db } = await postgresDatabase();
    url = u;
    await sql`CREATE TABLE phones (retailer_id uuid NOT NULL, member_id uuid NOT NULL, digits text NOT NULL, PRIMARY KEY (retailer_id, member_id))`.execute(db);
    await sql`CREATE INDEX phones_digits ON phones (retailer_id, digits)`.execute(db);
    await sql`INSERT INTO phones SELECT '00000000-0000-4000-8000-000000000001', gen_random_uuid(), lpad(i::text, 10, '6') FROM generate_series(1, 300) i`.execute(db);
    await sql`ANALYZE phones`.execute(db);
  });
  after(() => Promise.all(handles.map((h) => h.close())));

  const pool = (randomPageCost?: string) => {
    const handle = connectPostgres(url, 1, DEFAULT_TIMEOUTS, randomPageCost);
    handles.push(handle);
    return handle.db;
  };
  const planOf = async (db: DatabaseHandle['db']) => {
    const { rows } = await sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT member_id FROM phones WHERE retailer_id = ${'00000000-0000-4000-8000-000000000001'} AND digits = ${'6666666150'}`.execute(db);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  };

  it('probes a table of a few hundred rows by its key by default', async () => {
    const db = pool();
    assert.match(await planOf(db), /Index (Only )?Scan using phones_digits/);
  });

  it('keeps the server\'s own setting with `server`', async () => {
    const plain = new pg.Client({ connectionString: url });
    await plain.connect();
    const server = (await plain.query('SHOW random_page_cost')).rows[0].random_page_cost;
    await plain.end();
    const db = pool('server');
    assert.equal((await sql<{ random_page_cost: string }>`SHOW random_page_cost`.execute(db)).rows[0].random_page_cost, server);
  });
});
