import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import { resolve } from 'node:path';
import closeWithGrace from 'close-with-grace';
import pino from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { migrate, openDatabase, openReplica } from './db/index.js';
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

/**
 * Opens the database, applies migrations, serves all surfaces and runs the
 * worker until a signal arrives; with PROCESSES above 1, starts that many
 * server processes sharing the port instead (superviseProcesses).
 */
export async function serve(config: Config, options: ServeOptions = {}): Promise<void> {
  if (config.processes > 1 && cluster.isPrimary) return superviseProcesses(config, options);
  const started = process.hrtime.bigint();
  const log = pino({ level: config.logLevel, redact: ['req.headers.authorization'] });
  // one of several server processes: the primary loads the demo, says where they serve and passes signals on
  const oneOfSeveral = cluster.isWorker;
  const database = await openDatabase(config);
  const applied = await migrate(database.db);
  if (applied.length) log.info({ migrations: applied }, 'migrations applied');

  const replica = openReplica(config, log);
  const app = await buildApp({ config, db: database.db, pool: database.pool, replica, logger: log });
  const address = await app.listen({ port: config.port, host: config.host });
  const { port } = app.server.address() as { port: number };
  const worker = config.worker ? await startWorker(database.db, log, { replayWindowSeconds: config.replayWindowSeconds, eventRetentionDays: config.eventRetentionDays, handlers: privacyJobHandlers }) : undefined;
  const dispatcher = config.worker ? startDispatcher(database.db, log, dispatcherOptions(config)) : undefined;
  const publisher = config.worker && config.natsUrl ? startPublisher(database.db, log, { url: config.natsUrl, stream: config.natsStream }) : undefined;
  const settler = config.worker ? startSettler(database.db, log) : undefined;

  if (options.demo && !oneOfSeveral) {
    const variables = await loadDemo(database.db, endpointFor(config.host, port));
    if (options.envFile) await writeEnvFile(options.envFile, variables);
    log.info({ retailer_id: variables.retailer_id, env_file: options.envFile }, 'demo program loaded');
  }

  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (oneOfSeveral) log.info({ address, startup_ms: Math.round(ms) }, 'server process is serving');
  else log.info({ ...servingLine(config, port), address, startup_ms: Math.round(ms) }, 'loyalist is serving');

  // Ctrl-C reaches every process of the terminal's group: here only the primary's SIGTERM counts (a second signal would cut the shutdown short)
  if (oneOfSeveral) process.on('SIGINT', () => {});
  closeWithGrace({ delay: 10_000, logger: log, skip: oneOfSeveral ? ['SIGINT'] : [] }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an error');
    else log.info({ signal }, 'shutting down: finishing in-flight requests');
    await app.close();
    await dispatcher?.stop();
    await publisher?.stop();
    await settler?.stop();
    await worker?.stop();
    await replica?.close();
    await database.close();
  });
}

const servingLine = (config: Config, port: number) => ({
  url: endpointFor(config.host, port),
  database: databaseInUse(config),
  admin_token: config.adminToken !== undefined,
  ...(config.adminToken === undefined ? { admin_api_hint: 'operators sign in to the admin API (loyalist operator create); ADMIN_TOKEN (16+ characters) adds a break-glass superadmin token' } : {}),
});

/** A server process that exits within this long of its start again and again is restarted ever more slowly. */
const STEADY_MS = 10_000;
/** How long the processes have to finish their in-flight requests after SIGTERM (each gives itself 10 s). */
const SHUTDOWN_MS = 15_000;

/**
 * PROCESSES=N: applies the migrations (and loads the demo) once, then runs N
 * server processes (node:cluster) that share the port, each with its own
 * pool and background worker; they coordinate through the database (job
 * claims, leases, advisory locks), and keep program configuration for 5 s
 * each (docs/scaling.md). A process that dies is replaced; SIGTERM or SIGINT
 * is passed on to every process, which finishes its in-flight requests.
 */
async function superviseProcesses(config: Config, options: ServeOptions): Promise<void> {
  const started = process.hrtime.bigint();
  const log = pino({ level: config.logLevel });
  if (!config.databaseUrl) throw new Error(`PROCESSES=${config.processes} (--processes) needs PostgreSQL (DATABASE_URL): the embedded database belongs to one process`);
  const database = await openDatabase({ ...config, dbPoolSize: 1 });
  try {
    const applied = await migrate(database.db);
    if (applied.length) log.info({ migrations: applied }, 'migrations applied');
  } catch (err) {
    await database.close();
    throw err;
  }

  /** The server processes running now, with when each started. */
  const running = new Map<ClusterWorker, number>();
  let stopping = false;
  let serving = false;
  let quickExits = 0;
  let allGone: (() => void) | undefined;
  const fork = () => running.set(cluster.fork(), Date.now());
  const signalAll = (signal: NodeJS.Signals) => {
    for (const server of running.keys()) server.process.kill(signal);
  };

  const listening = new Promise<number>((resolve, reject) => {
    let count = 0;
    cluster.on('listening', (_server, address) => {
      if (++count === config.processes) resolve(address.port);
    });
    cluster.on('exit', (gone, code, signal) => {
      const lived = Date.now() - (running.get(gone) ?? 0);
      running.delete(gone);
      if (stopping) return running.size || allGone?.();
      // one that cannot even start (its port, its database) is not started again and again
      if (!serving) return reject(new Error(`a server process exited while starting (${signal ?? `exit code ${code}`})`));
      quickExits = lived < STEADY_MS ? quickExits + 1 : 0;
      const wait = quickExits ? Math.min(30_000, 500 * 2 ** quickExits) : 0;
      log.error({ server_pid: gone.process.pid, code, signal, restart_in_ms: wait }, 'a server process exited; starting another');
      setTimeout(() => stopping || fork(), wait);
    });
  });
  for (let i = 0; i < config.processes; i++) fork();

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, async () => {
      // a second signal: no more waiting
      if (stopping) {
        signalAll('SIGKILL');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal, processes: running.size }, 'shutting down: every server process finishes its in-flight requests');
      const gone = new Promise<void>((resolve) => (running.size ? (allGone = resolve) : resolve()));
      signalAll('SIGTERM');
      const late = setTimeout(() => {
        log.error('server processes still running after the shutdown delay: killed');
        signalAll('SIGKILL');
      }, SHUTDOWN_MS);
      await gone;
      clearTimeout(late);
      process.exit(0);
    });
  }

  let port: number;
  try {
    port = await listening;
  } catch (err) {
    stopping = true;
    signalAll('SIGKILL');
    await database.close();
    throw err;
  }
  serving = true;
  if (options.demo) {
    const variables = await loadDemo(database.db, endpointFor(config.host, port));
    if (options.envFile) await writeEnvFile(options.envFile, variables);
    log.info({ retailer_id: variables.retailer_id, env_file: options.envFile }, 'demo program loaded');
  }
  await database.close();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  log.info({ ...servingLine(config, port), processes: config.processes, pids: [...running.keys()].map((w) => w.process.pid), startup_ms: Math.round(ms) }, 'loyalist is serving');
}

/** Which database the server uses, for the start-up line: never the user or password of DATABASE_URL. */
function databaseInUse(config: Config) {
  if (!config.databaseUrl) return { kind: 'embedded', data_dir: resolve(config.dataDir) };
  return { kind: 'postgres', ...serverOf(config.databaseUrl), ...(config.databaseReplicaUrl ? { replica: serverOf(config.databaseReplicaUrl) } : {}) };
}

function serverOf(databaseUrl: string) {
  const url = new URL(databaseUrl);
  // a libpq URL may name the host (or a socket directory) in its query instead
  const host = decodeURIComponent(url.hostname) || url.searchParams.get('host') || 'localhost';
  return { host, port: Number(url.port || url.searchParams.get('port') || 5432), name: decodeURIComponent(url.pathname.slice(1)) || url.searchParams.get('dbname') || undefined };
}
