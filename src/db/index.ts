import type { Config } from '../config.js';
import { connectPostgres, DEFAULT_TIMEOUTS, openEmbedded, type DatabaseHandle } from './connection.js';
import { lockDataDir } from './data-dir-lock.js';
import { ReplicaRouter, type ReplicaOptions } from './replica.js';

export type { Db, DatabaseHandle } from './connection.js';
export { migrate, isMigrated } from './migrate.js';

/** Opens the configured database: PostgreSQL when DATABASE_URL is set, else the locked embedded one. */
type DatabaseConfig = Pick<Config, 'databaseUrl' | 'dataDir' | 'dbPoolSize'> & Partial<Pick<Config, 'dbConnectTimeoutMs' | 'dbStatementTimeoutMs' | 'dbRandomPageCost'>>;

export async function openDatabase(config: DatabaseConfig): Promise<DatabaseHandle> {
  if (config.databaseUrl) return connectPostgres(config.databaseUrl, config.dbPoolSize, timeoutsOf(config), config.dbRandomPageCost);
  const release = lockDataDir(config.dataDir);
  try {
    const handle = await openEmbedded({ dataDir: config.dataDir });
    return {
      ...handle,
      async close() {
        await handle.close();
        release();
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

/** DB_CONNECT_TIMEOUT_MS and DB_STATEMENT_TIMEOUT_MS, for the primary's pool and the replica's. */
const timeoutsOf = (config: DatabaseConfig) => ({ connectMs: config.dbConnectTimeoutMs ?? DEFAULT_TIMEOUTS.connectMs, statementMs: config.dbStatementTimeoutMs ?? DEFAULT_TIMEOUTS.statementMs });

/** DATABASE_REPLICA_URL: the replica read-only routes read from, with the same pool settings as the primary's; undefined without one. */
export function openReplica(config: DatabaseConfig & Pick<Config, 'databaseReplicaUrl' | 'replicaMaxLagMs'>, log?: ReplicaOptions['log']): ReplicaRouter | undefined {
  if (!config.databaseUrl || !config.databaseReplicaUrl) return undefined;
  return new ReplicaRouter(config.databaseUrl, config.databaseReplicaUrl, { poolSize: config.dbPoolSize, timeouts: timeoutsOf(config), randomPageCost: config.dbRandomPageCost, maxLagMs: config.replicaMaxLagMs, log });
}
