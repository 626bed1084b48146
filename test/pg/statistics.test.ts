import { transact } from '../../src/db/unit-of-work.js';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Db } from '../../src/db/index.js';
import { jobHandlers } from '../../src/jobs/worker.js';
import { createMember } from '../../src/modules/members/service.js';
import { createTenant, postgresDatabase, type TestTenant } from '../support/harness.js';

// This machine's PostgreSQL, like PGlite, runs no autovacuum: the worker's
// db.analyze job keeps the planner's statistics, or the plans connections keep
// would go on treating a grown table as empty.
describe('planner statistics where autovacuum does not keep them', () => {
  let db: Db;
  let tenant: TestTenant;
  before(async () => {
    db = (await postgresDatabase()).db;
    tenant = await createTenant(db);
    for (let i = 0; i < 300; i++) await transact(db, (tx) => createMember(tx, tenant.actor, { first_name: 'Stats', email: `stats.${i}@example.com` }));
  });

  const lastAnalyzed = async (table: string) =>
    (await sql<{ at: Date | null }>`SELECT last_analyze AS at FROM pg_stat_user_tables WHERE relname = ${table}`.execute(db)).rows[0].at;
  const runJob = () => transact(db, (tx) => jobHandlers()['db.analyze'](tx, {}));

  it('analyzes a table once it has changed enough, and then plans lookups on it with its key', async () => {
    // the backends report their row counts to the statistics within a second or so
    for (let waited = 0; ; waited += 100) {
      const { rows } = await sql<{ n: number }>`SELECT n_mod_since_analyze::int AS n FROM pg_stat_user_tables WHERE relname = 'members'`.execute(db);
      if (rows[0].n >= 300) break;
      assert.ok(waited < 10_000, `members changes never reached the statistics (${rows[0].n})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await lastAnalyzed('members'), null);

    await runJob();
    const analyzed = await lastAnalyzed('members');
    assert.ok(analyzed, 'members was analyzed');

    const plan = await db.connection().execute(async (conn) => {
      await sql`PREPARE member_by_id (uuid, uuid) AS SELECT first_name FROM members WHERE retailer_id = $1 AND id = $2`.execute(conn);
      const { rows } = await sql<{ 'QUERY PLAN': string }>`EXPLAIN EXECUTE member_by_id (${sql.lit(tenant.retailer_id)}, ${sql.lit(tenant.retailer_id)})`.execute(conn);
      await sql`DEALLOCATE member_by_id`.execute(conn);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    assert.match(plan, /Index Scan using members_pkey/);

    await runJob();
    assert.deepEqual(await lastAnalyzed('members'), analyzed, 'nothing changed since: members is not analyzed again');
  });
});
