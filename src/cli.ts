import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from './config.js';
import { migrate, openDatabase } from './db/index.js';
import { endpointFor, loadDemo, writeEnvFile } from './demo.js';
import { serve } from './server.js';
import { applyProgram, parseProgramText } from './modules/program/service.js';
import { issueCredentials } from './modules/tenants/credentials.js';
import { isUuid } from './lib/ids.js';

const USAGE = `usage:
  loyalist serve [--port N] [--host H] [--data-dir DIR] [--demo] [--env-file FILE]
  loyalist migrate
  loyalist demo --env-file FILE
  loyalist program apply FILE --retailer ID

environment: DATABASE_URL (absent: embedded database in DATA_DIR, default ./data), PORT (8080),
HOST (127.0.0.1), DATA_DIR, ADMIN_TOKEN, LOG_LEVEL (info), PRIVACY_GRACE_SECONDS (86400),
MESSAGE_ID_REPLAY_SECONDS (1800), DB_POOL_SIZE (3 per CPU core), WORKER (true)`;

// bin/loyalist renames --env-file to --postman-env-file: Node 20 would take it for itself.
const ENV_FILE = { 'env-file': { type: 'string' }, 'postman-env-file': { type: 'string' } } as const;
const envFileOf = (values: { 'env-file'?: string; 'postman-env-file'?: string }) => values['env-file'] ?? values['postman-env-file'];

/** The `loyalist` command; its interface is fixed by SPEC §2. */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({
        args: rest,
        options: { port: { type: 'string' }, host: { type: 'string' }, 'data-dir': { type: 'string' }, demo: { type: 'boolean' }, ...ENV_FILE },
      });
      const config = loadConfig(process.env, {
        port: values.port === undefined ? undefined : Number(values.port),
        host: values.host,
        dataDir: values['data-dir'],
      } as Partial<Config>);
      return serve(config, { demo: values.demo, envFile: envFileOf(values) });
    }
    case 'migrate':
      return withDatabase(async (db) => {
        const applied = await migrate(db);
        console.log(applied.length ? `applied ${applied.join(', ')}` : 'the database is up to date');
      });
    case 'demo': {
      const { values } = parseArgs({ args: rest, options: ENV_FILE });
      const envFile = envFileOf(values);
      if (!envFile) throw new Error(USAGE);
      const config = loadConfig();
      return withDatabase(async (db) => {
        await migrate(db);
        const variables = await loadDemo(db, endpointFor(config.host, config.port));
        await writeEnvFile(envFile, variables);
        console.log(`demo program loaded for retailer ${variables.retailer_id}; environment written to ${envFile}`);
      });
    }
    case 'program': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { retailer: { type: 'string' } } });
      const [action, file] = positionals;
      if (action !== 'apply' || !file || !values.retailer || !isUuid(values.retailer)) throw new Error(USAGE);
      const program = parseProgramText(await readFile(file, 'utf8'));
      const retailerId = values.retailer.toLowerCase();
      return withDatabase(async (db) => {
        await migrate(db);
        const result = await db.transaction().execute(async (tx) => {
          const applied = await applyProgram(tx, retailerId, program);
          return { ...applied, credentials: applied.createdRetailer ? await issueCredentials(tx, retailerId) : undefined };
        });
        console.log(JSON.stringify({ retailer_id: retailerId, created_retailer: result.createdRetailer, ...result.credentials }, null, 2));
      });
    }
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return;
    default:
      throw new Error(`unknown command ${command}\n${USAGE}`);
  }
}

async function withDatabase(run: (db: import('./db/index.js').Db) => Promise<void>): Promise<void> {
  const database = await openDatabase(loadConfig());
  try {
    await run(database.db);
  } finally {
    await database.close();
  }
}
