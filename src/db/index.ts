import type { Config } from '../config.js';
import { connectPostgres, openEmbedded, type DatabaseHandle } from './connection.js';
import { lockDataDir } from './data-dir-lock.js';

export type { Db, DatabaseHandle } from './connection.js';
export { migrate, isMigrated } from './migrate.js';

/** Opens the configured database: PostgreSQL when DATABASE_URL is set, else the locked embedded one. */
export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'dbPoolSize'>): Promise<DatabaseHandle> {
  if (config.databaseUrl) return connectPostgres(config.databaseUrl, config.dbPoolSize);
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
