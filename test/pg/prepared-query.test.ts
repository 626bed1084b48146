import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { connectPostgres, type DatabaseHandle } from '../../src/db/connection.js';
import { postgresDatabase } from '../support/harness.js';

// Every statement runs as a named prepared statement; after its first execution
// it goes without its text and without Describe (src/db/prepared-query.ts). Its
// answers must stay what pg gives for the same statement, execution after execution.
describe('prepared statements on one connection', () => {
  let handle: DatabaseHandle;
  let url: string;
  before(async () => {
    const database = await postgresDatabase();
    url = database.url;
    // one connection: every execution after the first reuses the statement it parsed
    handle = connectPostgres(url, 1);
    await sql`CREATE TABLE t (id int PRIMARY KEY, amount numeric NOT NULL, at timestamptz NOT NULL, note text, data jsonb)`.execute(handle.db);
  });
  after(() => handle.close());

  const select = (min: number) =>
    sql<{ id: number; amount: string; at: Date; note: string | null; data: unknown; n: number }>`SELECT id, amount, at, note, data, count(*) OVER ()::int8 AS n FROM t WHERE id >= ${min} ORDER BY id`.execute(handle.db);

  it('answers every execution with the columns, values and types pg gives', async () => {
    const at = new Date('2026-03-01T10:20:30.456Z');
    const insert = (id: number, amount: string, note: string | null) =>
      sql`INSERT INTO t (id, amount, at, note, data) VALUES (${id}, ${amount}::numeric, ${at}, ${note}, ${JSON.stringify({ id })}::jsonb)`.execute(handle.db);

    // no rows first: the shape is learned from an answer without rows
    assert.deepEqual((await select(0)).rows, []);
    for (let i = 1; i <= 3; i++) {
      const inserted = await insert(i, `${i}.10`, i === 2 ? null : `note ${i}`);
      assert.equal(inserted.numAffectedRows, 1n, `insert ${i} reports its row`);
    }
    const plain = new pg.Client({ connectionString: url });
    await plain.connect();
    try {
      const expected = await plain.query('SELECT id, amount, at, note, data, count(*) OVER ()::int8 AS n FROM t WHERE id >= $1 ORDER BY id', [2]);
      for (let run = 0; run < 3; run++) {
        const { rows } = await select(2);
        assert.deepEqual(Object.keys(rows[0]), expected.fields.map((f) => f.name), 'the columns in their order');
        assert.deepEqual(rows, [
          { id: 2, amount: '2.10', at, note: null, data: { id: 2 }, n: 2 },
          { id: 3, amount: '3.10', at, note: 'note 3', data: { id: 3 }, n: 2 },
        ]);
      }
      assert.deepEqual((await select(4)).rows, [], 'no rows once the shape is known');
    } finally {
      await plain.end();
    }
  });

  it('sends a Date parameter as the same instant, to the millisecond, on every execution', async () => {
    for (const at of [new Date('2026-12-06T23:59:59.999Z'), new Date('1970-01-01T00:00:00.000Z'), new Date('1901-01-01T00:00:00.000Z'), new Date('9999-12-31T23:59:59.999Z')]) {
      for (let run = 0; run < 2; run++) {
        const { rows } = await sql<{ ms: string; back: Date }>`SELECT (extract(epoch FROM ${at}::timestamptz) * 1000)::numeric(20, 0)::text AS ms, ${at}::timestamptz AS back`.execute(handle.db);
        assert.equal(rows[0].ms, String(at.getTime()), `${at.toISOString()} reaches PostgreSQL as itself`);
        assert.equal(rows[0].back.getTime(), at.getTime());
      }
    }
  });

  it('a failing execution rejects with PostgreSQL\'s error and the connection goes on', async () => {
    const insert = (id: number) => sql`INSERT INTO t (id, amount, at) VALUES (${id}, 1, now())`.execute(handle.db);
    await insert(10);
    await assert.rejects(insert(10), (err: { code?: string }) => err.code === '23505');
    await assert.rejects(insert(10), (err: { code?: string }) => err.code === '23505', 'again, once the statement is known');
    assert.equal((await insert(11)).numAffectedRows, 1n);
    assert.deepEqual((await select(10)).rows.map((r) => r.id), [10, 11]);
  });
});
