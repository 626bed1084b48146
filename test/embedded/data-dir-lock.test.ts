// The embedded database must never be opened by two processes (SPEC §2): the data
// directory is locked, and a second process refuses to start with a clear message.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type DatabaseHandle } from '../../src/db/index.js';
import { DataDirInUseError } from '../../src/db/data-dir-lock.js';
import { embeddedDatabase } from '../support/harness.js';

const ENTRY = join(process.cwd(), 'test', 'support', 'loyalist-from-source.ts');
const dir = mkdtempSync(join(tmpdir(), 'loyalist-lock-'));
const lockFile = join(dir, 'loyalist.lock');
after(() => rmSync(dir, { recursive: true, force: true }));

const childEnv = () => {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info', WORKER: 'false' };
  delete env.DATABASE_URL;
  delete env.DATA_DIR;
  return env;
};

/** Runs `loyalist …` from source in another process until it exits. */
function loyalist(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', ENTRY, ...args], { encoding: 'utf8', env: { ...childEnv(), ...env }, timeout: 30_000 });
  return { code: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr };
}

const open = () => openDatabase({ dataDir: dir, dbPoolSize: 1 });

describe('the data-directory lock of the embedded database', () => {
  let first: DatabaseHandle | undefined;
  before(async () => {
    // start from the migrated database the suite prepared (a fresh directory would run initdb: seconds)
    const seeded = await embeddedDatabase(dir);
    await seeded.close();
    first = await open();
  });
  after(() => first?.close());

  it('is held by the process that opened the directory', () => {
    assert.equal(readFileSync(lockFile, 'utf8').trim(), String(process.pid));
  });

  it('makes a second process refuse to start, naming the directory and the other pid', () => {
    const run = loyalist(['serve', '--data-dir', dir, '--port', '0']);
    assert.equal(run.signal, null, 'it exited on its own instead of serving');
    assert.notEqual(run.code, 0);
    assert.ok(run.stderr.includes(dir), `the message names the data directory: ${run.stderr}`);
    assert.match(run.stderr, new RegExp(`pid ${process.pid}\\b`));
    assert.match(run.stderr, /in use/);
    assert.doesNotMatch(run.stderr, /^\s+at /m, 'a message, not a stack trace');
    assert.equal(readFileSync(lockFile, 'utf8').trim(), String(process.pid), 'the refused process left the lock alone');
  });

  it('refuses the CLI commands too (migrate)', () => {
    const run = loyalist(['migrate'], { DATA_DIR: dir });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, new RegExp(`pid ${process.pid}\\b`));
  });

  it('opens again once the first holder has closed', async () => {
    await first!.close();
    first = undefined;
    assert.equal(existsSync(lockFile), false, 'closing releases the lock');
    const run = loyalist(['migrate'], { DATA_DIR: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /the database is up to date/);
    assert.equal(existsSync(lockFile), false, 'the other process released it when it exited');

    const again = await open();
    await again.close();
  });

  it('takes over a stale lock left by a process that no longer runs', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    assert.throws(() => process.kill(dead, 0), 'that process is gone');
    writeFileSync(lockFile, String(dead));
    const handle = await open();
    try {
      assert.equal(readFileSync(lockFile, 'utf8').trim(), String(process.pid));
    } finally {
      await handle.close();
    }
    assert.equal(existsSync(lockFile), false);
  });

  it('is held by a running server until it shuts down on SIGTERM', async () => {
    const server: ChildProcess = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'serve', '--data-dir', dir, '--port', '0'], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    try {
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the server did not start: ${output}`)), 60_000);
        const onData = (chunk: Buffer) => {
          output += chunk;
          if (output.includes('loyalist is serving')) {
            clearTimeout(timer);
            resolve();
          }
        };
        server.stdout!.on('data', onData);
        server.stderr!.on('data', (chunk) => (output += chunk));
        server.once('exit', () => reject(new Error(`the server exited: ${output}`)));
      });

      await assert.rejects(open(), (err: Error) => {
        assert.ok(err instanceof DataDirInUseError);
        assert.ok(err.message.includes(dir));
        assert.match(err.message, new RegExp(`pid ${server.pid}\\b`));
        return true;
      });

      server.kill('SIGTERM');
      assert.equal(await exited, 0, 'a graceful shutdown');
      assert.equal(existsSync(lockFile), false, 'the server released the lock');
      const handle = await open();
      await handle.close();
    } finally {
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    }
  });
});
