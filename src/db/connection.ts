import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult } from 'kysely';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import type { Database } from './schema.js';
import { PreparedQuery, type Statement } from './prepared-query.js';
import { isDatabaseUnavailable } from './unavailable.js';

/**
 * Values read from the database keep their exact meaning: `numeric` stays a
 * string (amounts are never binary floats), `date` stays `YYYY-MM-DD`, and
 * `int8` (identity columns, counts) becomes a number, safe below 2^53.
 */
const OID = { INT8: 20, NUMERIC: 1700, DATE: 1082 } as const;
const identity = (v: string) => v;

export type Db = Kysely<Database>;

export interface DatabaseHandle {
  db: Db;
  kind: 'postgres' | 'embedded';
  close(): Promise<void>;
  /** The embedded instance, for dumping its data directory (tests). */
  pglite?: PGlite;
  /** The PostgreSQL pool, for metrics. */
  pool?: pg.Pool;
}

/** How long the server waits on PostgreSQL before it answers 503 instead. */
export interface DatabaseTimeouts {
  /** Waiting for a pooled connection, or for a new one to be established. */
  connectMs: number;
  /** One statement on the server (statement_timeout); the client gives up 2 s later. */
  statementMs: number;
}

let statements = 0;
/** Statements this process has sent to the database (the loyalist_db_statements_total metric; benchmarks divide it by requests). */
export const statementsSent = () => statements;

export const DEFAULT_TIMEOUTS: DatabaseTimeouts = { connectMs: 2000, statementMs: 30_000 };

/**
 * The planner's cost of reading a page out of order, relative to reading the next
 * one, on every connection of the pool (DB_RANDOM_PAGE_COST): `server` keeps the
 * server's. PostgreSQL's default of 4 models a disk that seeks; a loyalty
 * program's rows are read by key from memory or SSD, for which PostgreSQL's
 * documentation suggests about 1.1. With 4, a table of a few hundred members or
 * offers is scanned whole instead of probed by its key, and every connection keeps
 * that plan for the statement.
 */
export const DEFAULT_RANDOM_PAGE_COST = '1.1';

export function connectPostgres(url: string, poolSize: number, timeouts: DatabaseTimeouts = DEFAULT_TIMEOUTS, randomPageCost = DEFAULT_RANDOM_PAGE_COST): DatabaseHandle {
  const planner = randomPageCost === 'server' ? '' : ` -c random_page_cost=${Number(randomPageCost)}`;
  const pool = new pg.Pool({
    connectionString: url,
    // statements go on the wire as they are issued (PreparingPool sends BEGIN with the next one)
    pipeline: true,
    max: poolSize,
    connectionTimeoutMillis: timeouts.connectMs,
    // a server that stops answering without closing the connection (a partition) is noticed
    query_timeout: timeouts.statementMs ? timeouts.statementMs + 2000 : undefined,
    keepAlive: true,
    // every statement here is short and keyed by the retailer and the member: a plan made
    // once per connection serves all of them (PostgreSQL would otherwise plan some
    // statements anew on every execution, which costs more than running them).
    // A transaction left open by a stuck client is ended by the server after a minute.
    options: `-c plan_cache_mode=force_generic_plan${planner} -c statement_timeout=${timeouts.statementMs} -c idle_in_transaction_session_timeout=60000`,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === OID.INT8) return Number;
        if (oid === OID.NUMERIC || oid === OID.DATE) return identity;
        return pg.types.getTypeParser(oid, format);
      }) as typeof pg.types.getTypeParser,
    },
  });
  // A client that loses its server must not crash the process: pg-pool listens for
  // errors of idle clients only, so a checked-out client needs a listener of its own.
  // Its query fails, and the client is discarded when it is released.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new PreparingPool(pool) }) });
  return { db, kind: 'postgres', pool, close: () => db.destroy() };
}

const BEGUN = { command: 'BEGIN', rowCount: null, rows: [] } as unknown as PostgresQueryResult<never>;
const COMMITTED = { command: 'COMMIT', rowCount: null, rows: [] } as unknown as PostgresQueryResult<never>;
const ROLLED_BACK = { command: 'ROLLBACK', rowCount: null, rows: [] } as unknown as PostgresQueryResult<never>;

/**
 * Ends the text of a transaction's last statement (UnitOfWork.flush's, with `commit`):
 * the COMMIT goes on the wire right behind it, and the COMMIT Kysely sends next is
 * answered from that one. Should the statement fail, the COMMIT ends the transaction
 * as a ROLLBACK, and so does Kysely's ROLLBACK that follows.
 */
export const THEN_COMMIT = '\n-- then commit';

/**
 * Runs every parameterized query as a named prepared statement, so each
 * connection parses and plans a query text once instead of on every request
 * (the hot paths repeat a handful of texts). Texts without parameters (DDL,
 * migrations with several statements) run as plain queries.
 */
class PreparingPool implements PostgresPool {
  private readonly statements = new Map<string, Statement>();
  constructor(private readonly pool: pg.Pool) {}

  /** The statement of a text: its name, and its result shape once an execution has described it. */
  private statementOf(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= 5000) this.statements.clear();
      statement = { name: `k${createHash('sha1').update(sql).digest('base64url')}` };
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // a BEGIN asked for and not yet sent: it goes out with the transaction's first statement
    let beginning = false;
    // a COMMIT on the wire behind the transaction's last statement, not yet asked for
    let ending: Promise<pg.QueryResult> | undefined;
    // what is sent together goes out in one write (pg writes a BEGIN or a COMMIT on its own)
    const stream = (client as unknown as { connection: { stream: { cork(): void; uncork(): void } } }).connection.stream;
    const send = async (sql: string, parameters: readonly unknown[]) => {
      statements++;
      try {
        return await (parameters.length ? execute(client, new PreparedQuery(this.statementOf(sql), sql, parameters)) : client.query(sql));
      } catch (err) {
        // a connection that failed is never handed out again, even before pg notices it closed
        if (isDatabaseUnavailable(err)) broken = err as Error;
        throw err;
      }
    };
    const wrapped = {
      // A transaction's BEGIN is not waited for: it goes out with the statement after it,
      // in one write, and costs no round trip of its own; its failure (a lost connection)
      // is that statement's. Its COMMIT may likewise follow its last statement (THEN_COMMIT).
      query: async (sql: string, parameters: readonly unknown[]) => {
        if (sql === 'begin' && !parameters.length) {
          beginning = true;
          return BEGUN;
        }
        if (sql === 'commit' || sql === 'rollback') {
          // a transaction that ran no statement was never begun on the server
          if (beginning) {
            beginning = false;
            return sql === 'commit' ? COMMITTED : ROLLED_BACK;
          }
          if (ending) {
            const end = ending;
            ending = undefined;
            return sql === 'commit' ? await end : await end.then(() => ROLLED_BACK, () => ROLLED_BACK);
          }
        }
        let begun: Promise<unknown> | undefined;
        let answer: Promise<pg.QueryResult>;
        stream.cork();
        try {
          if (beginning) {
            beginning = false;
            begun = send('begin', []);
            begun.catch(() => {});
          }
          answer = send(sql, parameters);
          if (sql.endsWith(THEN_COMMIT)) {
            ending = send('commit', []);
            ending.catch(() => {});
          }
        } finally {
          stream.uncork();
        }
        if (begun) {
          answer.catch(() => {});
          await begun;
        }
        return await answer;
      },
      release: () => client.release(broken),
    };
    return wrapped as unknown as PostgresPoolClient;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

/** Runs a query object on the client, answering as `client.query(config)` does (a rejected promise on failure). */
function execute(client: pg.PoolClient, query: PreparedQuery): Promise<pg.QueryResult> {
  return new Promise((resolve, reject) => {
    query.callback = (err, result) => (err ? reject(err) : resolve(result));
    client.query(query as unknown as pg.Submittable);
  });
}

export async function openEmbedded(options: { dataDir?: string; loadDataDir?: Blob }): Promise<DatabaseHandle> {
  const pglite = await PGlite.create({
    dataDir: options.dataDir,
    loadDataDir: options.loadDataDir,
    parsers: { [OID.INT8]: Number, [OID.NUMERIC]: identity, [OID.DATE]: identity },
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new PGlitePool(pglite) }) });
  const close = async () => {
    await db.destroy();
    // Kysely ends the pool only if a query ever ran; the instance must close either way.
    if (!pglite.closed) await pglite.close();
  };
  return { db, kind: 'embedded', pglite, close };
}

/**
 * Presents PGlite's single connection as a pool of one: whoever holds it
 * (a query, or a whole transaction) releases it before the next caller runs.
 */
class PGlitePool implements PostgresPool {
  private tail: Promise<void> = Promise.resolve();
  constructor(private readonly pglite: PGlite) {}

  async connect(): Promise<PostgresPoolClient> {
    let release!: () => void;
    const previous = this.tail;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    const pglite = this.pglite;
    const client = {
      async query(sql: string, parameters: readonly unknown[]) {
        statements++;
        // Without parameters a text may hold several statements (migrations).
        const result = parameters.length
          ? await pglite.query(sql, parameters as unknown[])
          : (await pglite.exec(sql)).at(-1) ?? { rows: [], affectedRows: 0 };
        return {
          command: commandOf(sql),
          rowCount: result.affectedRows ?? result.rows.length,
          rows: result.rows,
        } as PostgresQueryResult<never>;
      },
      async release() {
        // a caller that failed inside a transaction it began itself must not leave the one
        // connection in it (every later query would fail as "current transaction is aborted")
        if (pglite.isInTransaction()) await pglite.exec('ROLLBACK').catch(() => {});
        release();
      },
    };
    // Kysely's client type also has a cursor overload, which streaming would need; nothing here streams.
    return client as unknown as PostgresPoolClient;
  }

  async end() {
    await this.tail;
    await this.pglite.close();
  }
}

/** Kysely reads the affected-row count only for these commands. */
function commandOf(sql: string): PostgresQueryResult<never>['command'] {
  const word = /^\s*(insert|update|delete|merge)\b/i.exec(sql)?.[1];
  return (word?.toUpperCase() ?? 'SELECT') as PostgresQueryResult<never>['command'];
}
