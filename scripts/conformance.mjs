#!/usr/bin/env node
// Starts a server with the Brand X demo on a fresh embedded database, runs the
// seed Postman collection against it with ../shared/conformance/seed-run.mjs
// and conformance/expectations.json, and stops the server.
//
// Requests of issues not built yet are listed in the expectations with
// `not_built`. Two of them (3.1.1, 5.4) carry collection scripts that read
// fields of the success answer, so they also report a script failure until
// their issue lands; for requests marked not_built, and only for them, that
// failure is accepted. Every other miss fails the run.
//
// Every answer the server gives is checked against the OpenAPI contract; a
// violation fails the run.
//
// usage: node scripts/conformance.mjs [--port N] [--shared DIR] [--keep]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { port: { type: 'string', default: '18181' }, shared: { type: 'string', default: join(root, '..', 'shared') }, keep: { type: 'boolean' } } });
const work = mkdtempSync(join(tmpdir(), 'loyalist-conformance-'));
const envFile = join(work, 'env.json');
const reportFile = join(work, 'report.json');
const expectFile = join(root, 'conformance', 'expectations.json');

// the server checks every answer it gives against the API contract (src/http/contract-check.ts)
const contractDir = join(work, 'contract');
mkdirSync(contractDir);
const env = { ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: '', LOYALIST_CONTRACT_CHECK: contractDir };
const server = spawn(join(root, 'bin', 'loyalist'), ['serve', '--demo', '--env-file', envFile, '--port', values.port, '--data-dir', join(work, 'data')], { env, stdio: ['ignore', 'inherit', 'inherit'] });
const stop = () => server.exitCode === null && server.kill('SIGTERM');
process.on('exit', () => {
  stop();
  if (!values.keep) rmSync(work, { recursive: true, force: true });
});

let code = 1;
try {
  await waitForDemo();
  const run = spawn(process.execPath, [join(values.shared, 'conformance', 'seed-run.mjs'), '--env', envFile, '--expect', expectFile, '--report', reportFile], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  run.stdout.on('data', (chunk) => {
    out += chunk;
    process.stdout.write(chunk);
  });
  const runCode = await new Promise((res) => run.on('exit', res));
  code = runCode === 0 ? 0 : verdict(out);
} finally {
  stop();
}
if (server.exitCode === null) await new Promise((res) => server.on('exit', res));
process.exit(code || contractVerdict());

/** The contract check's count of answers the collection received and its violations. */
function contractVerdict() {
  const checked = readdirSync(contractDir)
    .filter((f) => f.startsWith('checked-'))
    .reduce((sum, f) => sum + JSON.parse(readFileSync(join(contractDir, f), 'utf8')).checked, 0);
  const file = join(contractDir, 'violations.jsonl');
  const violations = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
  for (const line of violations) console.log(`contract violation: ${line}`);
  console.log(`contract: ${checked} answers validated against their documented schemas, ${violations.length} violations`);
  return violations.length || !checked ? 1 : 0;
}

async function waitForDemo() {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error('the server exited during start-up');
    try {
      readFileSync(envFile);
      const res = await fetch(`http://127.0.0.1:${values.port}/readyz`);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the server did not become ready within 60 s');
}

function verdict(output) {
  if (!/\d+ passed, \d+ failed/.test(output)) return 1;
  const expectations = JSON.parse(readFileSync(expectFile, 'utf8'));
  const results = JSON.parse(readFileSync(reportFile, 'utf8'));
  const misses = results.filter((r) => r.problems.length && !(expectations[r.name]?.not_built && r.problems.every((p) => p.startsWith('collection script failed'))));
  for (const r of misses) console.log(`MISS ${r.name}: ${r.problems.join(' | ')}`);
  console.log(misses.length ? `conformance: ${misses.length} requests missed their expectations` : 'conformance: every request met its expectation (script failures accepted only for requests not built yet)');
  return misses.length ? 1 : 0;
}
