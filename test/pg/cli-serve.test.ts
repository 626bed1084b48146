// `loyalist serve` says where it serves and on what: its start-up line carries the URL,
// the database (the embedded data directory, or the PostgreSQL server without its
// credentials) and whether the admin API is on, and how to turn it on when it is not.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { postgresDatabase } from '../support/harness.js';
import { startServer } from '../support/processes.js';

const work = mkdtempSync(join(tmpdir(), 'loyalist-serve-'));
after(() => rmSync(work, { recursive: true, force: true }));

const servingLine = (logs: Record<string, unknown>[]) => logs.find((l) => l.msg === 'loyalist is serving')!;

describe('the start-up line', { concurrency: true }, () => {
  it('names the URL and the embedded data directory, and how to enable the admin API', async () => {
    const dataDir = join(work, 'data');
    const server = await startServer({ DATABASE_URL: '', DATA_DIR: dataDir, ADMIN_TOKEN: '', WORKER: 'false' });
    try {
      const line = servingLine(server.logs);
      assert.equal(line.level, 30, 'info');
      assert.equal(line.url, server.url);
      assert.deepEqual(line.database, { kind: 'embedded', data_dir: dataDir });
      assert.equal(line.admin_token, false);
      assert.match(String(line.admin_api_hint), /loyalist operator create/);
      assert.equal(server.logs.filter((l) => l.msg === 'loyalist is serving').length, 1);
    } finally {
      await server.kill();
    }
  });

  it('names the PostgreSQL host, port and database, never the user or password', async () => {
    const { url } = await postgresDatabase();
    const withPassword = new URL(url);
    withPassword.password = 'never-logged-secret';
    const server = await startServer({ DATABASE_URL: withPassword.toString(), WORKER: 'false' });
    try {
      const line = servingLine(server.logs);
      assert.equal(line.url, server.url);
      assert.deepEqual(line.database, { kind: 'postgres', host: withPassword.hostname, port: Number(withPassword.port || 5432), name: withPassword.pathname.slice(1) });
      assert.equal(line.admin_token, true);
      assert.equal(line.admin_api_hint, undefined);
      const text = JSON.stringify(server.logs);
      assert.ok(!text.includes('never-logged-secret'), 'no password in the log');
      assert.ok(!text.includes(`${withPassword.username}@`) && !text.includes('postgres://'), 'no user or URL in the log');
    } finally {
      await server.kill();
    }
  });
});
