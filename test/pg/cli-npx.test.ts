// The documented commands exactly as a user types them, from the repository root:
// `npx loyalist serve --demo --postman-env FILE` and `npm start -- --demo --postman-env FILE`
// (Node 20 takes `--env-file` on npx's and npm's own command lines, hence the flag's name),
// and `npx loyalist demo --postman-env FILE`. They run the built dist/, built first.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../support/processes.js';
import { postgresDatabase } from '../support/harness.js';
import { buildDist } from './cli-build.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'loyalist-npx-'));
const DEMO_RETAILER = 'e59fdc7e-2413-442e-8e38-077a2d150a5e';
const DEMO_MEMBER = '8e588453-1693-11ea-94c7-0242ac11000b';
const CREDENTIALS = ['appkey', 'secret', 'appkey_connect', 'secret_connect', 'cloudpos_authorization', 'retailer_id', 'store_id', 'endpoint'];

/** The caller's environment without any loyalist setting. */
const cleanEnv = (extra: Record<string, string> = {}) => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !['PORT', 'HOST', 'DATA_DIR', 'ADMIN_TOKEN', 'DATABASE_URL', 'LOG_LEVEL'].includes(k))),
  LOG_LEVEL: 'warn',
  ...extra,
});

const groups = new Set<ChildProcess>();
/** Ends a command's whole process group (npx or npm, the shell of bin/loyalist, node), and waits for it. */
async function stop(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
  groups.delete(child);
}
after(async () => {
  for (const child of groups) process.kill(-child.pid!, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const readEnv = (file: string): Record<string, string> =>
  Object.fromEntries(JSON.parse(readFileSync(file, 'utf8')).values.map((v: { key: string; value: string }) => [v.key, v.value]));

/** Runs a serving command until it answers /readyz and has written its Postman environment; answers the variables. */
async function serveUntilReady(command: string, args: string[], port: number, envFile: string): Promise<Record<string, string>> {
  const child = spawn(command, args, { cwd: ROOT, env: cleanEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  groups.add(child);
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const exited = new Promise((done) => child.once('exit', done));
  try {
    const started = Date.now();
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${command} ${args.join(' ')} exited with ${child.exitCode}:\n${output}`);
      if (Date.now() - started > 180_000) throw new Error(`${command} did not get ready:\n${output}`);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
      // the environment file is written once the demo is loaded, after the server listens
      const variables = ready ? (() => { try { return readEnv(envFile); } catch { return undefined; } })() : undefined;
      if (variables) {
        const basic = `Basic ${Buffer.from(`${variables.appkey}:${variables.secret}`).toString('base64')}`;
        const member = await fetch(`http://127.0.0.1:${port}/priv/v1/apps/${variables.appkey}/users/${DEMO_MEMBER}`, { headers: { authorization: basic } });
        assert.equal(member.status, 200, 'the environment\'s credentials reach the demo members on this server');
        return variables;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await stop(child, exited);
  }
}

const checkVariables = (variables: Record<string, string>, port: number) => {
  for (const key of CREDENTIALS) assert.ok(variables[key]?.length > 0, `${key} is in the environment`);
  assert.equal(variables.retailer_id, DEMO_RETAILER);
  assert.equal(variables.endpoint, `http://127.0.0.1:${port}`);
};

// One command at a time: each builds an embedded database and loads the demo, which is
// most of what this 2-core machine can do while the rest of the suite runs beside it.
describe('the documented commands through npx and npm', () => {
  before(buildDist);

  it('npx loyalist serve --demo --postman-env FILE --port N --data-dir DIR', async () => {
    const [port, file] = [await freePort(), join(work, 'npx.postman_environment.json')];
    const variables = await serveUntilReady('npx', ['loyalist', 'serve', '--demo', '--postman-env', file, '--port', String(port), '--data-dir', join(work, 'npx-data')], port, file);
    checkVariables(variables, port);
  });

  it('npm start -- --demo --postman-env FILE --port N --data-dir DIR', async () => {
    const [port, file] = [await freePort(), join(work, 'npm.postman_environment.json')];
    const variables = await serveUntilReady('npm', ['start', '--', '--demo', '--postman-env', file, '--port', String(port), '--data-dir', join(work, 'npm-data')], port, file);
    checkVariables(variables, port);
  });

  it('npx loyalist demo --postman-env FILE (and --env-file FILE through bin/loyalist)', async () => {
    const { url } = await postgresDatabase();
    const run = (command: string, args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) =>
        execFile(command, args, { cwd: ROOT, env: cleanEnv({ DATABASE_URL: url }), timeout: 180_000 }, (err, stdout, stderr) => done({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout, stderr })),
      );
    const [viaNpx, viaBin] = [join(work, 'demo-npx.json'), join(work, 'demo-bin.json')];
    const first = await run('npx', ['loyalist', 'demo', '--postman-env', viaNpx]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`environment written to ${viaNpx}`));
    checkVariables(readEnv(viaNpx), 8080);
    const second = await run(join(ROOT, 'bin', 'loyalist'), ['demo', '--env-file', viaBin]);
    assert.equal(second.code, 0, second.stderr);
    checkVariables(readEnv(viaBin), 8080);
  });
});
