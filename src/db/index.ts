import type { Config } from '../config.js';
import { connectPostgres, DEFAULT_TIMEOUTS, openEmbedded, type DatabaseHandle } from './connection.js';
import { lockDataDir } from './data-dir-lock.js';

export type { Db, DatabaseHandle } from './connection.js';
export { migrate, isMigrated } from './migrate.js';

/** Opens the configured database: PostgreSQL when DATABASE_URL is set, else the locked embedded one. */
type DatabaseConfig = Pick<Config, 'databaseUrl' | 'dataDir' | 'dbPoolSize'> & Partial<Pick<Config, 'dbConnectTimeoutMs' | 'dbStatementTimeoutMs'>>;

export async function openDatabase(config: DatabaseConfig): Promise<DatabaseHandle> {
  if (config.databaseUrl) {
    const timeouts = { connectMs: config.dbConnectTimeoutMs ?? DEFAULT_TIMEOUTS.connectMs, statementMs: config.dbStatementTimeoutMs ?? DEFAULT_TIMEOUTS.statementMs };
    return connectPostgres(config.databaseUrl, config.dbPoolSize, timeouts);
  }
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
