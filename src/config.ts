import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { availableParallelism } from 'node:os';

/** Every setting the server reads, with its environment variable and default. */
export const ConfigSchema = Type.Object({
  databaseUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'DATABASE_URL: PostgreSQL server; absent means the embedded database' })),
  databaseReplicaUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'DATABASE_REPLICA_URL: a streaming replica of DATABASE_URL; read-only requests read there (docs/scaling.md); needs DATABASE_URL' })),
  replicaMaxLagMs: Type.Integer({ minimum: 1000, maximum: 600_000, default: 2000, description: 'REPLICA_MAX_LAG_MS: while the replica is further behind than this (or does not answer), every read goes to the primary; from 1000, as the lag is measured in steps of 0.25 s and reads 0.25-0.5 s under steady writes' }),
  dataDir: Type.String({ minLength: 1, default: './data', description: 'DATA_DIR: directory of the embedded database' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'PORT' }),
  host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'HOST' }),
  adminToken: Type.Optional(Type.String({ minLength: 16, description: 'ADMIN_TOKEN: a break-glass superadmin token for the admin API (automation); operators sign in without it' })),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info', description: 'LOG_LEVEL' }),
  privacyGraceSeconds: Type.Integer({ minimum: 0, default: 86400, description: 'PRIVACY_GRACE_SECONDS' }),
  replayWindowSeconds: Type.Integer({ minimum: 1, default: 1800, description: 'MESSAGE_ID_REPLAY_SECONDS: how long a Message-ID answer is replayed' }),
  dbPoolSize: Type.Integer({ minimum: 1, maximum: 200, default: 3 * availableParallelism(), description: 'DB_POOL_SIZE: connections to PostgreSQL per process (default: 3 per CPU core)' }),
  dbConnectTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 2000, description: 'DB_CONNECT_TIMEOUT_MS: longest wait for a PostgreSQL connection before a request answers 503' }),
  dbRandomPageCost: Type.String({ pattern: '^(server|\\d{1,3}(\\.\\d{1,3})?)$', default: '1.1', description: "DB_RANDOM_PAGE_COST: the planner's random_page_cost on Loyalist's connections (1.1: pages read by key come from memory or SSD; server: the server's own setting)" }),
  dbStatementTimeoutMs: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 30_000, description: 'DB_STATEMENT_TIMEOUT_MS: longest PostgreSQL statement (statement_timeout; 0: none); migrations have none' }),
  eventRetentionDays: Type.Integer({ minimum: 1, maximum: 3650, default: 30, description: 'EVENT_RETENTION_DAYS: how long domain events stay in the outbox feed' }),
  webhookRetrySchedule: Type.String({ pattern: '^\\s*\\d+(\\s*,\\s*\\d+)*\\s*$', default: '5,300,1800,7200,18000,36000,36000', description: 'WEBHOOK_RETRY_SCHEDULE: seconds to wait before each retry of a webhook delivery (the first attempt is at once)' }),
  webhookAllowPrivateNetworks: Type.Boolean({ default: false, description: 'WEBHOOK_ALLOW_PRIVATE_NETWORKS: let webhooks reach loopback, private and link-local addresses (self-hosted setups, tests)' }),
  webhookHttpHosts: Type.String({ default: '', description: 'WEBHOOK_HTTP_HOSTS: comma-separated hosts webhook URLs may reach over plain http (otherwise https only)' }),
  webhookTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 15_000, description: 'WEBHOOK_TIMEOUT_MS: how long a receiver has to answer a delivery' }),
  natsUrl: Type.Optional(Type.String({ pattern: '^(nats|tls)://', description: 'NATS_URL: publish every outbox event to NATS JetStream there (absent: no broker)' })),
  natsStream: Type.String({ pattern: '^[A-Za-z0-9_-]+$', default: 'LOYALIST', description: 'NATS_STREAM: the JetStream stream (subjects loyalist.>), created when missing' }),
  trustProxy: Type.Boolean({ default: false, description: 'TRUST_PROXY: behind a reverse proxy, take the client address and protocol from X-Forwarded-For and X-Forwarded-Proto (sign-in limits per address, Secure cookies)' }),
  adminSessionIdleSeconds: Type.Integer({ minimum: 60, maximum: 7 * 86400, default: 1800, description: 'ADMIN_SESSION_IDLE_SECONDS: an operator\'s session ends after this long without a request' }),
  adminSessionMaxSeconds: Type.Integer({ minimum: 300, maximum: 30 * 86400, default: 43200, description: 'ADMIN_SESSION_MAX_SECONDS: and after this long at the latest' }),
  worker: Type.Boolean({ default: true, description: 'WORKER: run the background worker in this process' }),
  processes: Type.Integer({ minimum: 1, maximum: 64, default: 1, description: 'PROCESSES: server processes sharing the port (node:cluster; PostgreSQL only), each with its own pool and background worker' }),
  simulationConcurrency: Type.Integer({ minimum: 1, maximum: 16, default: 2, description: 'SIMULATION_CONCURRENCY: pooled connections a simulation job replays on at once (each rests as long as it works)' }),
});

export type Config = Static<typeof ConfigSchema>;

const ENV_NAMES: Record<keyof Config, string> = {
  databaseUrl: 'DATABASE_URL',
  databaseReplicaUrl: 'DATABASE_REPLICA_URL',
  replicaMaxLagMs: 'REPLICA_MAX_LAG_MS',
  dataDir: 'DATA_DIR',
  port: 'PORT',
  host: 'HOST',
  adminToken: 'ADMIN_TOKEN',
  logLevel: 'LOG_LEVEL',
  privacyGraceSeconds: 'PRIVACY_GRACE_SECONDS',
  replayWindowSeconds: 'MESSAGE_ID_REPLAY_SECONDS',
  dbPoolSize: 'DB_POOL_SIZE',
  dbConnectTimeoutMs: 'DB_CONNECT_TIMEOUT_MS',
  dbStatementTimeoutMs: 'DB_STATEMENT_TIMEOUT_MS',
  dbRandomPageCost: 'DB_RANDOM_PAGE_COST',
  eventRetentionDays: 'EVENT_RETENTION_DAYS',
  simulationConcurrency: 'SIMULATION_CONCURRENCY',
  webhookRetrySchedule: 'WEBHOOK_RETRY_SCHEDULE',
  webhookAllowPrivateNetworks: 'WEBHOOK_ALLOW_PRIVATE_NETWORKS',
  webhookHttpHosts: 'WEBHOOK_HTTP_HOSTS',
  webhookTimeoutMs: 'WEBHOOK_TIMEOUT_MS',
  natsUrl: 'NATS_URL',
  natsStream: 'NATS_STREAM',
  worker: 'WORKER',
  processes: 'PROCESSES',
  trustProxy: 'TRUST_PROXY',
  adminSessionIdleSeconds: 'ADMIN_SESSION_IDLE_SECONDS',
  adminSessionMaxSeconds: 'ADMIN_SESSION_MAX_SECONDS',
};

/** Reads the configuration from the environment (and overrides), validated at boot. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  Object.assign(raw, Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)));
  const withDefaults = Value.Default(ConfigSchema, raw);
  const config = Value.Convert(ConfigSchema, withDefaults);
  const errors = [...Value.Errors(ConfigSchema, config)];
  if (errors.length) {
    const first = errors[0];
    const key = first.path.replace(/^\//, '') as keyof Config;
    throw new Error(`invalid configuration: ${ENV_NAMES[key] ?? key} ${first.message}`);
  }
  // a replica of the embedded database does not exist: reads would go to a server the writes never reach
  const { databaseReplicaUrl, databaseUrl } = config as Config;
  if (databaseReplicaUrl && !databaseUrl) throw new Error('invalid configuration: DATABASE_REPLICA_URL needs DATABASE_URL (a replica of that PostgreSQL server)');
  return config as Config;
}
