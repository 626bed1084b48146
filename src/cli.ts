import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from './config.js';
import { migrate, openDatabase } from './db/index.js';
import { DataDirInUseError } from './db/data-dir-lock.js';
import { endpointFor, loadDemo, writeEnvFile } from './demo.js';
import { serve } from './server.js';
import { applyProgramDocument } from './flows/program-apply.js';
import { diffProgram } from './flows/program-preview.js';
import { planSimulation, runSimulation } from './flows/simulate.js';
import { diffText } from './modules/program/diff.js';
import { parseProgramText } from './modules/program/service.js';
import { findRetailer } from './modules/tenants/service.js';
import { issueCredentials } from './modules/tenants/credentials.js';
import { isUuid } from './lib/ids.js';
import { assertRole, createOperatorWithPassword } from './flows/operators.js';
import { generatedPassword } from './modules/operators/passwords.js';
import type { Role } from './modules/operators/roles.js';

const USAGE = `usage:
  loyalist serve [--port N] [--host H] [--data-dir DIR] [--processes N] [--demo] [--postman-env FILE]
  loyalist migrate
  loyalist demo --postman-env FILE
  loyalist program apply FILE --retailer ID [--server URL]
  loyalist program diff FILE --retailer ID [--server URL]
  loyalist program simulate FILE --retailer ID --from TIME --to TIME [--members N] [--server URL]
  loyalist operator create --email E [--name N] (--role ROLE --retailer ID | --superadmin)

  --processes N       N server processes sharing the port (PostgreSQL only; PROCESSES, default 1)
  --postman-env FILE  write the demo retailer's Postman environment to FILE (--env-file FILE is
                      accepted too where node lets it through: Node 20 takes it for itself on
                      npx's and npm's command lines)
  --retailer ID       the retailer's UUID (the retailer_id printed when the retailer was created)
  --server URL        go through a running server's admin API (ADMIN_TOKEN: its admin token),
                      e.g. while that server holds the embedded database
  diff                what applying FILE would create, change (old → new) and retire; applies nothing
  simulate            replays the events and POS transactions received from --from to --to against the
                      live program and FILE (a sample of --members N members), writes nothing, prints the report
  operator create     an operator who signs in to the admin API and the console (POST /admin/session) with
                      the password printed once; ROLE: owner, marketer, support or viewer at the retailer;
                      --superadmin: every retailer, and creating retailers. Owners invite the others.

environment: DATABASE_URL (absent: embedded database in DATA_DIR, default ./data), PORT (8080),
HOST (127.0.0.1), DATA_DIR, ADMIN_TOKEN, LOG_LEVEL (info), PRIVACY_GRACE_SECONDS (86400),
MESSAGE_ID_REPLAY_SECONDS (1800), DB_POOL_SIZE (3 per CPU core and process), WORKER (true), PROCESSES (1)`;

// Node 20 takes --env-file for itself wherever it stands on node's command line, so
// the documented name is --postman-env; bin/loyalist renames --env-file to --postman-env-file.
const POSTMAN_ENV = { 'postman-env': { type: 'string' }, 'env-file': { type: 'string' }, 'postman-env-file': { type: 'string' } } as const;
const postmanEnvOf = (values: { 'postman-env'?: string; 'env-file'?: string; 'postman-env-file'?: string }) =>
  values['postman-env'] ?? values['env-file'] ?? values['postman-env-file'];

/** The `loyalist` command; its interface is fixed by SPEC §2. */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({
        args: rest,
        options: { port: { type: 'string' }, host: { type: 'string' }, 'data-dir': { type: 'string' }, processes: { type: 'string' }, demo: { type: 'boolean' }, ...POSTMAN_ENV },
      });
      const config = loadConfig(process.env, {
        port: values.port === undefined ? undefined : Number(values.port),
        host: values.host,
        dataDir: values['data-dir'],
        processes: values.processes === undefined ? undefined : Number(values.processes),
      } as Partial<Config>);
      return serve(config, { demo: values.demo, envFile: postmanEnvOf(values) });
    }
    case 'migrate':
      return withDatabase(async (db) => {
        const applied = await migrate(db);
        console.log(applied.length ? `applied ${applied.join(', ')}` : 'the database is up to date');
      });
    case 'demo': {
      const { values } = parseArgs({ args: rest, options: POSTMAN_ENV });
      const envFile = postmanEnvOf(values);
      if (!envFile) throw new Error(`demo: --postman-env FILE is required (or --env-file FILE)\n${USAGE}`);
      const config = loadConfig();
      return withDatabase(async (db) => {
        await migrate(db);
        const variables = await loadDemo(db, endpointFor(config.host, config.port));
        await writeEnvFile(envFile, variables);
        console.log(`demo program loaded for retailer ${variables.retailer_id}; environment written to ${envFile}`);
      });
    }
    case 'program':
      return program(rest);
    case 'operator':
      return operator(rest);
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return;
    default:
      throw new Error(`unknown command ${command}\n${USAGE}`);
  }
}

async function operator(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { email: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, retailer: { type: 'string' }, superadmin: { type: 'boolean' } },
  });
  if (positionals[0] !== 'create' || !values.email || !/^[^@\s]+@[^@\s]+$/.test(values.email)) throw new Error(`operator create: --email is required\n${USAGE}`);
  if (!values.superadmin === !values.role) throw new Error(`operator create: give --role ROLE --retailer ID, or --superadmin\n${USAGE}`);
  if (values.role) assertRole(values.role);
  if (values.role && !(values.retailer && isUuid(values.retailer))) throw new Error(`operator create: --retailer must be the retailer's UUID\n${USAGE}`);
  const { email, superadmin, role } = values;
  return withDatabase(async (db) => {
    await migrate(db);
    const retailerId = values.retailer?.toLowerCase();
    if (retailerId && !(await findRetailer(db, retailerId))) throw new Error(`operator create: no retailer ${retailerId}`);
    const password = generatedPassword();
    const created = await createOperatorWithPassword(db, { email, name: values.name ?? email, password, role: role as Role | undefined, retailerId, superadmin });
    console.log(`operator ${created.email} (${created.id}) created: ${superadmin ? 'superadmin' : `${role} of retailer ${retailerId}`}`);
    console.log(`password (shown once; change it with PUT /admin/me/password): ${password}`);
  });
}

async function program(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { retailer: { type: 'string' }, server: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, members: { type: 'string' } },
  });
  const [action, file] = positionals;
  if (!['apply', 'diff', 'simulate'].includes(action) || !file || !values.retailer) throw new Error(USAGE);
  if (action === 'simulate' && (!values.from || !values.to)) throw new Error(`program simulate: --from and --to are required\n${USAGE}`);
  if (values.members !== undefined && !/^[1-9]\d*$/.test(values.members)) throw new Error(`--members: ${values.members} is not a number of members`);
  if (!isUuid(values.retailer)) throw new Error(`--retailer: ${values.retailer} is not a UUID (the retailer_id printed when the retailer was created)`);
  const retailerId = values.retailer.toLowerCase();
  const text = await readFile(file, 'utf8');
  const members = values.members === undefined ? undefined : Number(values.members);
  if (values.server) {
    const admin = adminClient(values.server, retailerId);
    if (action === 'apply') return applyThroughServer(admin, retailerId, file, text);
    if (action === 'diff') return console.log(diffText((await answerOf(await admin('/program/diff', { method: 'POST', headers: { 'content-type': typeOf(file) }, body: text }))) as never));
    return simulateThroughServer(admin, { program: parseProgramText(text), from: values.from, to: values.to, members });
  }

  const program = parseProgramText(text);
  const config = loadConfig();
  return withDatabase(async (db) => {
    await migrate(db);
    if (action === 'diff') return console.log(diffText(await diffProgram(db, retailerId, program)));
    if (action === 'simulate') {
      const retailer = await findRetailer(db, retailerId);
      if (!retailer) throw new Error(`--retailer: no retailer ${retailerId}`);
      const request = { draft: program, from: parseCliTime(values.from!, '--from'), to: parseCliTime(values.to!, '--to'), sample: members };
      const plan = await planSimulation(db, retailerId, request);
      const report = await runSimulation(db, { retailerId, retailerNumber: retailer.number, requestId: 'cli' }, request, plan, { onProgress: async (done) => progressBar(done) });
      process.stderr.write('\n');
      return console.log(JSON.stringify(report, null, 2));
    }
    const result = await applyProgramDocument(db, retailerId, program, async (tx, applied) => (applied.createdRetailer ? issueCredentials(tx, retailerId) : undefined));
    console.log(JSON.stringify({ retailer_id: retailerId, created_retailer: result.createdRetailer, ...result.also, diff: result.diff }, null, 2));
  }).catch((err) => {
    if (!(err instanceof DataDirInUseError)) throw err;
    throw new Error(
      `${err.message}\nA server holds the embedded database: go through its admin API instead, with ADMIN_TOKEN set to the server's admin token:\n` +
        `  loyalist ${['program', ...args].join(' ')} --server ${endpointFor(config.host, config.port)}`,
    );
  });
}

const typeOf = (file: string) => (extname(file).toLowerCase() === '.json' ? 'application/json' : 'application/yaml');

function parseCliTime(value: string, option: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`${option}: ${value} is not a time (ISO 8601, e.g. 2026-11-01T00:00:00Z)`);
  return date;
}

/** A progress bar on standard error (the report goes to standard output). */
function progressBar(done: number): void {
  const width = 30;
  const filled = Math.round(done * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(done * 100).toFixed(1)}%`);
}

type AdminClient = (path: string, init?: RequestInit) => Promise<Response>;

/** Calls the server's admin API for the retailer, with ADMIN_TOKEN. */
function adminClient(server: string, retailerId: string): AdminClient {
  const token = process.env.ADMIN_TOKEN;
  if (!token) throw new Error("--server: set ADMIN_TOKEN to the server's admin token");
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw new Error(`--server: ${server} is not a URL (e.g. http://127.0.0.1:8080)`);
  }
  return (path, init = {}) =>
    fetch(new URL(`${base.pathname.replace(/\/+$/, '')}/admin/tenants/${retailerId}${path}`, base), {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...init.headers },
    }).catch((err: Error & { cause?: { code?: string; message?: string } }) => {
      throw new Error(`--server: could not reach ${base.origin} (${err.cause?.code ?? err.cause?.message ?? err.message})`);
    });
}

/** `program simulate --server`: asks for the simulation, follows its progress, prints its report. */
async function simulateThroughServer(admin: AdminClient, body: Record<string, unknown>): Promise<void> {
  let answer = await answerOf(await admin('/program/simulate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));
  while (answer.status === 'running') {
    progressBar(Number(answer.percent_done) / 100);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    answer = await answerOf(await admin(`/simulations/${answer.simulation_id}`));
  }
  progressBar(1);
  process.stderr.write('\n');
  if (answer.status === 'failed') throw new Error(`the simulation failed: ${answer.error}`);
  console.log(JSON.stringify(answer.result, null, 2));
}

/** `program apply --server`: PUTs the file as it is to the server's admin API and prints its answer. */
async function applyThroughServer(admin: AdminClient, retailerId: string, file: string, text: string): Promise<void> {
  const answer = await answerOf(await admin('/program', { method: 'PUT', headers: { 'content-type': typeOf(file) }, body: text }));
  // as without --server: a retailer the program creates gets its first credentials
  const credentials = answer.created_retailer === true ? await answerOf(await admin('/credentials', { method: 'POST' })) : {};
  console.log(JSON.stringify({ retailer_id: retailerId, ...answer, ...credentials }, null, 2));
}

/** The server's JSON answer; an error answer ends the command with it. */
async function answerOf(res: Response): Promise<Record<string, unknown>> {
  const body = await res.text();
  if (!res.ok) throw new Error(`the server answered ${res.status}: ${body}`);
  return JSON.parse(body);
}

async function withDatabase(run: (db: import('./db/index.js').Db) => Promise<void>): Promise<void> {
  const database = await openDatabase(loadConfig());
  try {
    await run(database.db);
  } finally {
    await database.close();
  }
}
