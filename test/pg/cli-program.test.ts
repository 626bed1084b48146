// `loyalist program apply` while a server runs on the embedded database: the data
// directory is the server's, so the command says to go through the server, and
// `--server URL` PUTs the file (YAML or JSON, as it is) to the server's admin API.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, startServer, type ServerProcess } from '../support/processes.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const ADMIN_TOKEN = 'cli-program-admin-token-0123456789';
const PROGRAM = 'examples/brand-x/program.yaml';
const work = mkdtempSync(join(tmpdir(), 'loyalist-cli-program-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `loyalist` from the sources, with no loyalist setting of the caller's but `env`. */
function loyalist(args: string[], env: Record<string, string>): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['PORT', 'HOST', 'DATA_DIR', 'ADMIN_TOKEN', 'DATABASE_URL', 'LOG_LEVEL'].includes(k)));
  return new Promise((done) =>
    execFile(process.execPath, ['--import', 'tsx', 'test/support/loyalist-from-source.ts', ...args], { cwd: ROOT, env: { ...clean, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout, stderr }),
    ),
  );
}

const basic = (key: string, secret: string) => `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;

describe('program apply while a server holds the embedded database', () => {
  const dataDir = join(work, 'data');
  let server: ServerProcess;
  before(async () => {
    server = await startServer({ DATABASE_URL: '', DATA_DIR: dataDir, ADMIN_TOKEN, WORKER: 'false' });
  });
  after(() => server?.kill());

  it('says that a server holds the database and how to apply through it', async () => {
    const run = await loyalist(['program', 'apply', PROGRAM, '--retailer', randomUUID()], { DATA_DIR: dataDir });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /in use by another loyalist process/);
    assert.match(run.stderr, /A server holds the embedded database/);
    assert.match(run.stderr, /--server http:\/\/127\.0\.0\.1:8080/);
    assert.match(run.stderr, /ADMIN_TOKEN/);
    assert.doesNotMatch(run.stderr, /^\s+at /m, 'a message, not a stack trace');
  });

  it('applies a YAML file through --server, creating the retailer with working credentials, then changes nothing', async () => {
    const retailer = randomUUID();
    const first = await loyalist(['program', 'apply', PROGRAM, '--retailer', retailer, '--server', server.url], { ADMIN_TOKEN });
    assert.equal(first.code, 0, first.stderr);
    const printed = JSON.parse(first.stdout);
    assert.equal(printed.retailer_id, retailer);
    assert.equal(printed.status, 'ok');
    assert.equal(printed.created_retailer, true);
    assert.equal(printed.program.retailer.name, 'Brand X');
    assert.equal(printed.program.reward_stores.length, 1);
    for (const key of ['appkey', 'secret', 'appkey_connect', 'secret_connect', 'cloudpos_authorization']) assert.equal(typeof printed[key], 'string', key);
    // accepted credentials reach the 404 of a member that does not exist
    const probe = await fetch(`${server.url}/priv/v1/apps/${printed.appkey}/users/${randomUUID()}`, { headers: { authorization: basic(printed.appkey, printed.secret) } });
    assert.equal(probe.status, 404);

    const again = await loyalist(['program', 'apply', PROGRAM, '--retailer', retailer.toUpperCase(), '--server', `${server.url}/`], { ADMIN_TOKEN });
    assert.equal(again.code, 0, again.stderr);
    const second = JSON.parse(again.stdout);
    assert.equal(second.created_retailer, false);
    assert.equal(second.secret, undefined, 'no new credentials for a retailer that exists');
    assert.deepEqual(second.program, printed.program);
  });

  it('applies a JSON file through --server', async () => {
    const file = join(work, 'program.json');
    const store = randomUUID();
    writeFileSync(file, JSON.stringify({ retailer: { name: 'Brand J' }, stores: [{ id: store, name: 'J store' }] }, null, 2));
    const run = await loyalist(['program', 'apply', file, '--retailer', randomUUID(), '--server', server.url], { ADMIN_TOKEN });
    assert.equal(run.code, 0, run.stderr);
    const printed = JSON.parse(run.stdout);
    assert.equal(printed.program.retailer.name, 'Brand J');
    assert.deepEqual(printed.program.stores, [{ id: store, name: 'J store' }]);
  });

  it('diffs a draft and simulates it through --server: the diff as lines, the report with a progress bar', async () => {
    const retailer = randomUUID();
    const applied = JSON.parse((await loyalist(['program', 'apply', PROGRAM, '--retailer', retailer, '--server', server.url], { ADMIN_TOKEN })).stdout);
    const draft = join(work, 'draft.yaml');
    writeFileSync(draft, readFileSync(join(ROOT, PROGRAM), 'utf8').replace('amount: { per: 1, of: subtotal } }', 'amount: { per: 1, of: subtotal, points: 3 } }'));
    const diff = await loyalist(['program', 'diff', draft, '--retailer', retailer, '--server', server.url], { ADMIN_TOKEN });
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /^rules:\n  ~ Purchase earning \(0e0d5ac3-65c2-4a7f-83e7-4a121908e91c\)\n      outcomes\[0\]\.amount\.points: null → 3\n/);
    assert.match(diff.stdout, /\n1 change$/m);

    const from = new Date(Date.now() - 1000).toISOString();
    const member = await fetch(`${server.url}/priv/v1/apps/${applied.appkey}/users`, {
      method: 'POST',
      headers: { authorization: basic(applied.appkey, applied.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ user: { external_id: `CLI-${randomUUID()}`, email: `cli.${randomUUID()}@example.com`, opted_in: true } }),
    }).then((r) => r.json() as Promise<{ user: { id: string } }>);
    const sent = await fetch(`${server.url}/api/2.0/send_transaction`, {
      method: 'POST',
      headers: { authorization: applied.cloudpos_authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ store_id: '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01', client_id: retailer, user_id: member.user.id, request_payload: { transaction_id: 'CLI-1', subtotal: 20, items: [] } }),
    });
    assert.equal(sent.status, 200, await sent.text());
    const to = new Date(Date.now() + 1000).toISOString();
    const run = await loyalist(['program', 'simulate', draft, '--retailer', retailer, '--from', from, '--to', to, '--server', server.url], { ADMIN_TOKEN });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /\[#+\] 100\.0%/);
    const report = JSON.parse(run.stdout);
    assert.deepEqual(report.replayed, { events: 0, transactions: 1, members: 1 });
    // the draft triples the purchase rule's first outcome: its Spendable points
    assert.equal(report.current.points_by_account['f4d91345-bbe8-4ca7-864d-771761be873e'], '20.0000');
    assert.equal(report.draft.points_by_account['f4d91345-bbe8-4ca7-864d-771761be873e'], '60.0000');
    assert.equal(report.draft.points_by_account['3d1c4e93-8b93-432f-a9c9-ab6854b57b7f'], '20.0000');
  });

  it("refuses, with the server's answer or the reason, what the server cannot apply", async () => {
    const broken = join(work, 'broken.yaml');
    writeFileSync(broken, 'stores: [unclosed\n');
    const invalid = join(work, 'invalid.yaml');
    writeFileSync(invalid, 'stores:\n  - id: store-one\n    name: Downtown\n');
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    const id = randomUUID();
    const [noToken, wrongToken, badYaml, badProgram, down] = await Promise.all([
      loyalist(['program', 'apply', PROGRAM, '--retailer', id, '--server', server.url], {}),
      loyalist(['program', 'apply', PROGRAM, '--retailer', id, '--server', server.url], { ADMIN_TOKEN: 'not-the-admin-token-at-all' }),
      loyalist(['program', 'apply', broken, '--retailer', id, '--server', server.url], { ADMIN_TOKEN }),
      loyalist(['program', 'apply', invalid, '--retailer', id, '--server', server.url], { ADMIN_TOKEN }),
      loyalist(['program', 'apply', PROGRAM, '--retailer', id, '--server', unreachable], { ADMIN_TOKEN }),
    ]);
    for (const run of [noToken, wrongToken, badYaml, badProgram, down]) {
      assert.notEqual(run.code, 0, run.stdout);
      assert.doesNotMatch(run.stderr, /^\s+at /m, 'a message, not a stack trace');
    }
    assert.match(noToken.stderr, /--server: set ADMIN_TOKEN/);
    assert.match(wrongToken.stderr, /the server answered 401: .*access_denied/);
    assert.match(badYaml.stderr, /the server answered 400: .*body: not valid YAML \(/);
    assert.match(badProgram.stderr, /the server answered 400: .*stores\.0\.id/);
    assert.match(down.stderr, new RegExp(`--server: could not reach ${unreachable}`));
    const retailer = await fetch(`${server.url}/admin/tenants/${id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(retailer.status, 404, 'nothing was created');
  });
});

describe('program apply arguments', () => {
  it('diffs a draft against the embedded database without a server: a new retailer is all created', async () => {
    const run = await loyalist(['program', 'diff', PROGRAM, '--retailer', randomUUID()], { DATA_DIR: join(work, 'fresh') });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^retailer:\n  \+ Brand X \(retailer\)\n/);
    assert.match(run.stdout, /^rules:\n(  \+ .*\n){4}/m);
  });

  it('says that simulate needs --from and --to', async () => {
    const run = await loyalist(['program', 'simulate', PROGRAM, '--retailer', randomUUID()], { DATA_DIR: join(work, 'unused') });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /program simulate: --from and --to are required/);
  });

  it('says that --retailer must be a UUID', async () => {
    const run = await loyalist(['program', 'apply', PROGRAM, '--retailer', 'brand-x'], { DATA_DIR: join(work, 'unused') });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /^--retailer: brand-x is not a UUID \(the retailer_id printed when the retailer was created\)/);
  });
});
