import { resolve } from 'node:path';
import closeWithGrace from 'close-with-grace';
import pino from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { migrate, openDatabase } from './db/index.js';
import { endpointFor, loadDemo, writeEnvFile } from './demo.js';
import { startWorker } from './jobs/worker.js';
import { dispatcherOptions, startDispatcher } from './jobs/webhooks.js';
import { startPublisher } from './jobs/broker.js';
import { startSettler } from './jobs/points.js';
import { privacyJobHandlers } from './flows/privacy.js';

export interface ServeOptions {
  demo?: boolean;
  envFile?: string;
}

/** Opens the database, applies migrations, serves all surfaces and runs the worker until a signal arrives. */
export async function serve(config: Config, options: ServeOptions = {}): Promise<void> {
  const started = process.hrtime.bigint();
  const log = pino({ level: config.logLevel, redact: ['req.headers.authorization'] });
  const database = await openDatabase(config);
  const applied = await migrate(database.db);
  if (applied.length) log.info({ migrations: applied }, 'migrations applied');

  const app = await buildApp({ config, db: database.db, pool: database.pool, logger: log });
  const address = await app.listen({ port: config.port, host: config.host });
  const { port } = app.server.address() as { port: number };
  const worker = config.worker ? await startWorker(database.db, log, { replayWindowSeconds: config.replayWindowSeconds, eventRetentionDays: config.eventRetentionDays, handlers: privacyJobHandlers }) : undefined;
  const dispatcher = config.worker ? startDispatcher(database.db, log, dispatcherOptions(config)) : undefined;
  const publisher = config.worker && config.natsUrl ? startPublisher(database.db, log, { url: config.natsUrl, stream: config.natsStream }) : undefined;
  const settler = config.worker ? startSettler(database.db, log) : undefined;

  if (options.demo) {
    const variables = await loadDemo(database.db, endpointFor(config.host, port));
    if (options.envFile) await writeEnvFile(options.envFile, variables);
    log.info({ retailer_id: variables.retailer_id, env_file: options.envFile }, 'demo program loaded');
  }

  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  log.info(
    {
      url: endpointFor(config.host, port),
      address,
      database: databaseInUse(config),
      admin_token: config.adminToken !== undefined,
      ...(config.adminToken === undefined ? { admin_api_hint: 'operators sign in to the admin API (loyalist operator create); ADMIN_TOKEN (16+ characters) adds a break-glass superadmin token' } : {}),
      startup_ms: Math.round(ms),
    },
    'loyalist is serving',
  );

  closeWithGrace({ delay: 10_000, logger: log }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an error');
    else log.info({ signal }, 'shutting down: finishing in-flight requests');
    await app.close();
    await dispatcher?.stop();
    await publisher?.stop();
    await settler?.stop();
    await worker?.stop();
    await database.close();
  });
}

/** Which database the server uses, for the start-up line: never the user or password of DATABASE_URL. */
function databaseInUse(config: Config) {
  if (!config.databaseUrl) return { kind: 'embedded', data_dir: resolve(config.dataDir) };
  const url = new URL(config.databaseUrl);
  // a libpq URL may name the host (or a socket directory) in its query instead
  const host = decodeURIComponent(url.hostname) || url.searchParams.get('host') || 'localhost';
  return { kind: 'postgres', host, port: Number(url.port || url.searchParams.get('port') || 5432), name: decodeURIComponent(url.pathname.slice(1)) || url.searchParams.get('dbname') || undefined };
}
