// The whole test suite: `npm test`.
//   1. Unit tests (test/unit, no database), the PostgreSQL suite (test/pg) and then, one file at a time, the
//      chaos suite (test/chaos: faults and hostile input): migrates a template database once, then every
//      test file clones its own database from it (CREATE DATABASE … TEMPLATE)
//      and drops it after; the template is dropped at the end.
//      Then the browser suite (test/browser): the console in headless Chromium against a server on
//      PostgreSQL, one file at a time. The console's component tests (Vitest, console/src) run first.
//   2. Embedded suite (test/embedded): migrates a PGlite database once and
//      hands its data-directory dump to every test file.
//   3. Every answer any test receives is checked against the API contract; a violation fails the run.
// TEST_DATABASE_URL names the PostgreSQL server (default: the local `test` database).
// usage: node --import tsx scripts/test.ts [--only pg|embedded] [files…]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { connectPostgres, openEmbedded } from '../src/db/connection.js';
import { migrate } from '../src/db/migrate.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { only: { type: 'string' } } });
const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const runId = `${process.pid}_${randomBytes(3).toString('hex')}`;

const files = (dir: string) =>
  positionals.length
    ? positionals.filter((f) => f.includes(`test/${dir}/`))
    : existsSync(join('test', dir))
      ? readdirSync(join('test', dir)).filter((f) => f.endsWith('.test.ts')).map((f) => join('test', dir, f))
      : [];

function runNodeTests(testFiles: string[], env: Record<string, string>, concurrency = 2): number {
  if (!testFiles.length) return 0;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...testFiles], { stdio: 'inherit', env: { ...process.env, ...env } });
  return result.status ?? 1;
}

/** The console's component tests (Vitest in console/: logic that lives in the UI). */
function componentTests(): number {
  const vitest = join('node_modules', 'vitest', 'vitest.mjs');
  return spawnSync(process.execPath, [vitest, 'run', '--root', 'console'], { stdio: 'inherit' }).status ?? 1;
}

function databaseUrl(name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function postgresSuite(): Promise<number> {
  const template = `loyalist_tpl_${runId}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${template}`);
    const handle = connectPostgres(databaseUrl(template), 1);
    await migrate(handle.db);
    await handle.close();
    const env = { LOYALIST_TEST_ADMIN_URL: adminUrl, LOYALIST_TEST_TEMPLATE: template, LOYALIST_TEST_RUN: runId };
    // the chaos suite loads servers and the database on purpose, and the browser suite drives Chromium:
    // each runs one file at a time, after the others
    return runNodeTests([...files('unit'), ...files('pg')], env) || runNodeTests(files('chaos'), env, 1) || runNodeTests(files('browser'), env, 1);
  } finally {
    // test files drop their own databases; this catches any a crashed file left
    const left = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`loyalist_t_${runId}_%`]);
    for (const { datname } of left.rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.end();
  }
}

/** Prints how many answers the contract check validated and every violation; 1 if there was any. */
function contractReport(dir: string): number {
  const checked = readdirSync(dir)
    .filter((f) => f.startsWith('checked-'))
    .reduce((sum, f) => sum + (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { checked: number }).checked, 0);
  const violations = existsSync(join(dir, 'violations.jsonl')) ? readFileSync(join(dir, 'violations.jsonl'), 'utf8').trim().split('\n') : [];
  for (const line of violations) console.log(`contract violation: ${line}`);
  console.log(`contract: ${checked} answers validated against their documented schemas, ${violations.length} violations`);
  return violations.length ? 1 : 0;
}

async function embeddedSuite(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'loyalist-embedded-'));
  try {
    const handle = await openEmbedded({});
    await migrate(handle.db);
    const dump = await handle.pglite!.dumpDataDir('none');
    await handle.close();
    const file = join(dir, 'migrated.tar');
    writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
    return runNodeTests(files('embedded'), { LOYALIST_TEST_PGLITE_DUMP: file });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// every answer any test receives is checked against the API contract (src/http/contract-check.ts)
const contractDir = mkdtempSync(join(tmpdir(), 'loyalist-contract-'));
process.env.LOYALIST_CONTRACT_CHECK = contractDir;
const componentStatus = values.only === 'embedded' || (positionals.length && !positionals.some((f) => f.startsWith('console/'))) ? 0 : componentTests();
const pgStatus = values.only === 'embedded' ? 0 : await postgresSuite();
const embeddedStatus = values.only === 'pg' ? 0 : await embeddedSuite();
const contractStatus = contractReport(contractDir);
rmSync(contractDir, { recursive: true, force: true });
process.exit(componentStatus || pgStatus || embeddedStatus || contractStatus);
