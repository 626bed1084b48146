import { transact } from '../../src/db/unit-of-work.js';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pino from 'pino';
import { connectPostgres, type DatabaseHandle } from '../../src/db/connection.js';
import type { Db } from '../../src/db/index.js';
import { enqueue, queueDepth, runNextJob, type JobHandler } from '../../src/modules/jobs/queue.js';
import { startWorker } from '../../src/jobs/worker.js';
import { createMember } from '../../src/modules/members/service.js';
import { addTags, getTags } from '../../src/modules/tags/service.js';
import { createTenant, postgresDatabase } from '../support/harness.js';

const silent = pino({ level: 'silent' });

/** The queue's rows for one queue name, oldest first. */
const jobsOf = (db: Db, queue: string) => db.selectFrom('jobs').selectAll().where('queue', '=', queue).orderBy('id').execute();

/** Runs due jobs of these handlers until none is left; returns how many ran. */
async function drainQueue(db: Db, handlers: Record<string, JobHandler>, now?: Date): Promise<number> {
  let n = 0;
  while (await runNextJob(db, handlers, now)) n++;
  return n;
}

describe('table-backed job queue on PostgreSQL', () => {
  let database: DatabaseHandle & { url: string };
  let db: Db;
  before(async () => {
    database = await postgresDatabase();
    db = database.db;
    await sql`CREATE TABLE job_effects (queue text NOT NULL, n integer NOT NULL, ran_at timestamptz NOT NULL DEFAULT clock_timestamp())`.execute(db);
  });

  const effects = async (queue: string) =>
    (await sql<{ n: number }>`SELECT n FROM job_effects WHERE queue = ${queue} ORDER BY n`.execute(db)).rows.map((r) => r.n);
  const recordEffect =
    (queue: string): JobHandler =>
    async (tx, payload) =>
      void (await sql`INSERT INTO job_effects (queue, n) VALUES (${queue}, ${payload.n as number})`.execute(tx));

  it('does not keep a job enqueued in a transaction that rolls back', async () => {
    await assert.rejects(
      transact(db, async (tx) => {
        await enqueue(tx, { queue: 'rollback', payload: { n: 1 } });
        assert.equal((await jobsOf(tx, 'rollback')).length, 1, 'the job is visible inside its transaction');
        throw new Error('the work that asked for the job failed');
      }),
      /the work that asked for the job failed/,
    );
    assert.deepEqual(await jobsOf(db, 'rollback'), []);
    assert.equal(await runNextJob(db, { rollback: recordEffect('rollback') }), undefined);
    assert.deepEqual(await effects('rollback'), []);
  });

  it('keeps a job enqueued in a transaction that commits', async () => {
    await transact(db, (tx) => enqueue(tx, { queue: 'commit', payload: { n: 7 } }));
    const rows = await jobsOf(db, 'commit');
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0].payload, { n: 7 });
    assert.equal(rows[0].attempts, 0);
  });

  it('runs a due job with its payload and deletes it', async () => {
    const seen: unknown[] = [];
    await enqueue(db, { queue: 'due', payload: { n: 42, word: 'hello' } });
    const outcome = await runNextJob(db, { due: async (_tx, payload) => void seen.push(payload) });
    assert.ok(outcome);
    assert.equal(outcome.ok, true);
    assert.equal(outcome.queue, 'due');
    assert.deepEqual(seen, [{ n: 42, word: 'hello' }]);
    assert.deepEqual(await jobsOf(db, 'due'), []);
    assert.equal(await runNextJob(db, { due: async () => assert.fail('a deleted job ran again') }), undefined);
  });

  it('leaves jobs of queues it has no handler for', async () => {
    await enqueue(db, { queue: 'someone-else', payload: { n: 1 } });
    assert.equal(await runNextJob(db, { unrelated: async () => assert.fail('ran a job of another queue') }), undefined);
    assert.equal((await jobsOf(db, 'someone-else')).length, 1);
  });

  it('does not run a job before its run_at, and runs it once the time has come', async () => {
    const runAt = new Date(Date.now() + 3600_000);
    await enqueue(db, { queue: 'later', payload: { n: 1 }, runAt });
    const handlers = { later: recordEffect('later') };
    assert.equal(await runNextJob(db, handlers), undefined);
    assert.equal(await runNextJob(db, handlers, new Date(runAt.getTime() - 1000)), undefined);
    assert.deepEqual(await effects('later'), []);
    assert.equal((await jobsOf(db, 'later')).length, 1);

    const outcome = await runNextJob(db, handlers, new Date(runAt.getTime() + 1000));
    assert.equal(outcome?.ok, true);
    assert.deepEqual(await effects('later'), [1]);
    assert.deepEqual(await jobsOf(db, 'later'), []);
  });

  it('runs due jobs oldest run_at first', async () => {
    const now = Date.now();
    await enqueue(db, { queue: 'order', payload: { n: 3 }, runAt: new Date(now - 1000) });
    await enqueue(db, { queue: 'order', payload: { n: 1 }, runAt: new Date(now - 3000) });
    await enqueue(db, { queue: 'order', payload: { n: 2 }, runAt: new Date(now - 2000) });
    const order: number[] = [];
    assert.equal(await drainQueue(db, { order: async (_tx, p) => void order.push(p.n as number) }), 3);
    assert.deepEqual(order, [1, 2, 3]);
  });

  it("rolls a failing handler's writes back and retries the job later with attempts and last_error", async () => {
    let calls = 0;
    const handlers: Record<string, JobHandler> = {
      flaky: async (tx, payload) => {
        calls++;
        await recordEffect('flaky')(tx, payload);
        if (calls < 3) throw new Error(`remote answered 503 (call ${calls})`);
      },
    };
    await enqueue(db, { queue: 'flaky', payload: { n: 5 } });

    const start = new Date();
    const first = await runNextJob(db, handlers, start);
    assert.deepEqual(first && { ok: first.ok, error: first.error }, { ok: false, error: 'remote answered 503 (call 1)' });
    assert.deepEqual(await effects('flaky'), [], "the failed handler's insert was rolled back");
    let [row] = await jobsOf(db, 'flaky');
    assert.equal(row.attempts, 1);
    assert.equal(row.last_error, 'remote answered 503 (call 1)');
    assert.ok(row.run_at.getTime() > start.getTime(), 'the retry is scheduled later');
    assert.deepEqual(row.payload, { n: 5 });

    // not due again right away
    assert.equal(await runNextJob(db, handlers, start), undefined);
    assert.equal(calls, 1);

    const second = await runNextJob(db, handlers, new Date(row.run_at.getTime() + 1));
    assert.equal(second?.ok, false);
    [row] = await jobsOf(db, 'flaky');
    assert.equal(row.attempts, 2);
    assert.equal(row.last_error, 'remote answered 503 (call 2)');
    assert.deepEqual(await effects('flaky'), []);
    const secondStart = row.run_at.getTime();

    const third = await runNextJob(db, handlers, new Date(secondStart + 1));
    assert.equal(third?.ok, true);
    assert.deepEqual(await effects('flaky'), [5], 'the successful attempt wrote once');
    assert.deepEqual(await jobsOf(db, 'flaky'), []);
  });

  it('backs off: a second failure waits longer than the first', async () => {
    const failing = { backoff: async () => Promise.reject(new Error('down')) };
    await enqueue(db, { queue: 'backoff' });
    const t0 = new Date();
    await runNextJob(db, failing, t0);
    const [afterOne] = await jobsOf(db, 'backoff');
    const t1 = new Date(afterOne.run_at.getTime() + 1);
    await runNextJob(db, failing, t1);
    const [afterTwo] = await jobsOf(db, 'backoff');
    assert.ok(afterTwo.run_at.getTime() - t1.getTime() > afterOne.run_at.getTime() - t0.getTime());
  });

  it('stops retrying after max_attempts and keeps the job with its last error', async () => {
    let calls = 0;
    const handlers = { doomed: async () => void (calls++, assert.fail('always fails')) };
    await enqueue(db, { queue: 'doomed', maxAttempts: 2 });
    const far = new Date(Date.now() + 365 * 86400_000);
    assert.equal((await runNextJob(db, handlers))?.ok, false);
    assert.equal((await runNextJob(db, handlers, far))?.ok, false);
    assert.equal(await runNextJob(db, handlers, new Date(far.getTime() + 365 * 86400_000)), undefined);
    assert.equal(calls, 2);
    const [row] = await jobsOf(db, 'doomed');
    assert.equal(row.attempts, 2);
    assert.equal(row.max_attempts, 2);
    assert.equal(row.last_error, 'always fails');
  });

  it('keeps one pending job per dedupe_key, and lets a new one in once it has run', async () => {
    await enqueue(db, { queue: 'dedupe', dedupeKey: 'member-1', payload: { n: 1 } });
    await transact(db, (tx) => enqueue(tx, { queue: 'dedupe', dedupeKey: 'member-1', payload: { n: 2 } }));
    await enqueue(db, { queue: 'dedupe', dedupeKey: 'member-2', payload: { n: 3 } });
    await enqueue(db, { queue: 'dedupe', payload: { n: 4 } });
    await enqueue(db, { queue: 'dedupe', payload: { n: 5 } });
    const rows = await jobsOf(db, 'dedupe');
    assert.deepEqual(
      rows.map((r) => [r.dedupe_key, r.payload.n]),
      [
        ['member-1', 1],
        ['member-2', 3],
        [null, 4],
        [null, 5],
      ],
    );
    // the same key on another queue is another job
    await enqueue(db, { queue: 'dedupe-other', dedupeKey: 'member-1' });
    assert.equal((await jobsOf(db, 'dedupe-other')).length, 1);

    assert.equal(await drainQueue(db, { dedupe: recordEffect('dedupe') }), 4);
    assert.deepEqual(await effects('dedupe'), [1, 3, 4, 5]);
    await enqueue(db, { queue: 'dedupe', dedupeKey: 'member-1', payload: { n: 6 } });
    assert.deepEqual((await jobsOf(db, 'dedupe')).map((r) => r.payload.n), [6]);
  });

  it('never lets two workers on separate connections claim the same job', async () => {
    const second = connectPostgres(database.url, 2);
    try {
      for (let n = 1; n <= 20; n++) await enqueue(db, { queue: 'race', payload: { n } });
      const handler: JobHandler = async (tx, payload) => {
        await sql`INSERT INTO job_effects (queue, n) VALUES ('race', ${payload.n as number})`.execute(tx);
        // hold the claim long enough for the other worker to look for work meanwhile
        await sql`SELECT pg_sleep(0.02)`.execute(tx);
      };
      const [a, b] = await Promise.all([drainQueue(db, { race: handler }), drainQueue(second.db, { race: handler })]);
      assert.equal(a + b, 20, 'every job ran, and no run was counted twice');
      assert.ok(a > 0 && b > 0, `both workers took jobs (got ${a} and ${b})`);
      assert.deepEqual(await effects('race'), Array.from({ length: 20 }, (_, i) => i + 1), 'each job ran exactly once');
      assert.deepEqual(await jobsOf(db, 'race'), []);
    } finally {
      await second.close();
    }
  });

  it('lets another worker run the next job while one job is held by a slow handler (SKIP LOCKED)', async () => {
    const second = connectPostgres(database.url, 2);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    try {
      await enqueue(db, { queue: 'slow', payload: { n: 1 }, runAt: new Date(Date.now() - 2000) });
      await enqueue(db, { queue: 'slow', payload: { n: 2 }, runAt: new Date(Date.now() - 1000) });
      let started!: () => void;
      const slowStarted = new Promise<void>((resolve) => (started = resolve));
      const slow = runNextJob(db, {
        slow: async (tx, payload) => {
          started();
          await gate;
          await recordEffect('slow')(tx, payload);
        },
      });
      await slowStarted;
      const other = runNextJob(second.db, { slow: recordEffect('slow') });
      const winner = await Promise.race([other.then((o) => o?.ok && 'other'), new Promise((r) => setTimeout(() => r('timeout'), 2000))]);
      open();
      assert.equal(winner, 'other', 'the second worker ran job 2 without waiting for job 1');
      assert.equal((await slow)?.ok, true);
      assert.deepEqual(await effects('slow'), [1, 2]);
    } finally {
      open();
      await second.close();
    }
  });

  it('counts waiting jobs, not dead ones, as the queue depth', async () => {
    const before = await queueDepth(db);
    await enqueue(db, { queue: 'depth-waiting', payload: { n: 1 } });
    await enqueue(db, { queue: 'depth-dying', payload: { n: 2 }, maxAttempts: 1 });
    assert.equal(await queueDepth(db), before + 2);
    assert.equal((await runNextJob(db, { 'depth-dying': async () => Promise.reject(new Error('no')) }))?.ok, false);
    assert.equal(await queueDepth(db), before + 1, 'a job that used up its attempts no longer waits');
  });

  describe('the worker', () => {
    // first: a worker started earlier would have run (and re-scheduled) the housekeeping already
    it('purges expired tags as periodic housekeeping and schedules the next run', async () => {
      const tenant = await createTenant(db);
      const member = await transact(db, (tx) => createMember(tx, tenant.actor, { first_name: 'Expiring', email: 'expiring@example.com' }));
      await transact(db, async (tx) => {
        await addTags(tx, tenant.actor, member.id, ['counter']);
        await addTags(tx, tenant.actor, member.id, ['still-live'], 3600);
        await addTags(tx, tenant.actor, member.id, ['gone'], 60);
      });
      // the ttl of `gone` has run out
      await db.updateTable('member_tags').set({ expires_at: new Date(Date.now() - 1000) }).where('member_id', '=', member.id).where('tag', '=', 'gone').execute();
      assert.deepEqual(await getTags(db, tenant.retailer_id, member.id), { counter: 1, 'still-live': 1 });
      const stored = async () =>
        (await db.selectFrom('member_tags').select('tag').where('member_id', '=', member.id).orderBy('tag').execute()).map((r) => r.tag);
      assert.deepEqual(await stored(), ['counter', 'gone', 'still-live']);

      const worker = await startWorker(db, silent, { pollMs: 60_000 });
      try {
        assert.ok((await worker.drain()) >= 1);
      } finally {
        await worker.stop();
      }
      assert.deepEqual(await stored(), ['counter', 'still-live']);

      const next = await jobsOf(db, 'tags.purge-expired');
      assert.equal(next.length, 1, 'one pending housekeeping job');
      assert.ok(next[0].run_at.getTime() > Date.now() + 60_000, 'the next purge is scheduled for later');

      // starting another worker does not add a second housekeeping job
      const again = await startWorker(db, silent, { pollMs: 60_000 });
      await again.stop();
      assert.equal((await jobsOf(db, 'tags.purge-expired')).length, 1);
    });

    it('keeps retrying housekeeping that has failed many times: it never gives up for good', async () => {
      const tenant = await createTenant(db);
      const member = await transact(db, (tx) => createMember(tx, tenant.actor, { first_name: 'Later', email: 'later@example.com' }));
      await transact(db, (tx) => addTags(tx, tenant.actor, member.id, ['gone-too'], 60));
      await db.updateTable('member_tags').set({ expires_at: new Date(Date.now() - 1000) }).where('member_id', '=', member.id).execute();
      // the pending purge has failed ten times (say the database was away for hours) and is due
      await db.updateTable('jobs').set({ attempts: 10, last_error: 'connection refused', run_at: new Date(Date.now() - 1000) }).where('queue', '=', 'tags.purge-expired').execute();

      const worker = await startWorker(db, silent, { pollMs: 60_000 });
      try {
        await worker.drain();
      } finally {
        await worker.stop();
      }
      const left = await db.selectFrom('member_tags').select('tag').where('member_id', '=', member.id).execute();
      assert.deepEqual(left, [], 'the expired tag was purged');
      const [next] = await jobsOf(db, 'tags.purge-expired');
      assert.equal(next.attempts, 0);
    });

    it('runs its handlers on drain() and keeps polling until stopped', async () => {
      const seen: number[] = [];
      await enqueue(db, { queue: 'worker-custom', payload: { n: 1 } });
      const worker = await startWorker(db, silent, { pollMs: 20, handlers: { 'worker-custom': async (_tx, p) => void seen.push(p.n as number) } });
      try {
        assert.ok((await worker.drain()) >= 1);
        assert.deepEqual(seen, [1]);
        // a job enqueued later is picked up by the poller without another drain()
        await enqueue(db, { queue: 'worker-custom', payload: { n: 2 } });
        const deadline = Date.now() + 3000;
        while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(seen, [1, 2]);
      } finally {
        await worker.stop();
      }
    });
  });
});
