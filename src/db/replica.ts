// Read replicas (docs/scaling.md, "Read replicas"): a route that only reads may be answered
// from a PostgreSQL streaming replica of DATABASE_URL (DATABASE_REPLICA_URL). A member this
// process wrote is read from the primary until the replica has replayed that write
// (read-your-writes within the process), and every read goes to the primary while the
// replica is further behind than REPLICA_MAX_LAG_MS or does not answer.
//
// Knowing what the replica has replayed costs no statement on a write: transact() tells
// writesCommitted() which members a committed transaction touched, and this process numbers
// its commits (memory only). Four times a second a watcher reads, on connections of its own,
// the primary's WAL insert position and the replica's replay position. A commit numbered
// before a sample of the primary's position lies before that position in the WAL, so once the
// replica has replayed up to the sample, that commit is visible there.
import { sql, type KyselyPlugin } from 'kysely';
import { connectPostgres, type DatabaseHandle, type DatabaseTimeouts, type Db } from './connection.js';

/** Commits noted in this process; each written member maps to the number of its last one, oldest first. */
let commits = 0;
const written = new Map<string, number>();
const routers = new Set<ReplicaRouter>();
/** Past this many members the memory is dropped, and the replica is read again only once it has replayed everything before. */
const MAX_WRITTEN = 200_000;

/** Whether writes are noted: only while this process reads from a replica. */
export const notingWrites = () => routers.size > 0;

/** Called by transact() once a transaction that touched these members has committed (memory only). */
export function writesCommitted(memberIds: Iterable<string>): void {
  commits++;
  for (const id of memberIds) {
    // re-inserted, so the map stays in commit order and pruning stops at the first entry it keeps
    written.delete(id);
    written.set(id, commits);
  }
  if (written.size > MAX_WRITTEN) {
    written.clear();
    for (const router of routers) router.notBefore(commits);
  }
}

/** What one request read through a replica handle: the commits the replica had replayed when it began, and whether it met a member written since. */
interface ReplicaRead {
  caughtUp: number;
  stale: boolean;
}
const reads = new WeakMap<Db, ReplicaRead>();

/** Thrown inside a replica read that met a member this process wrote after the replica's position: the request is answered from the primary. */
export class StaleOnReplica extends Error {}

/**
 * A member's data is being read through `db`. On a replica's handle, a member this process
 * wrote after the replica's replay position makes the read stale there: it stops, and the
 * request is answered from the primary. Elsewhere it does nothing.
 */
export function noteMemberRead(db: Db, memberId: string): void {
  const read = reads.get(db);
  if (!read) return;
  const last = written.get(memberId);
  if (last !== undefined && last > read.caughtUp) {
    read.stale = true;
    throw new StaleOnReplica(`member ${memberId} was written by this process after the replica's position`);
  }
}

/** How a routed read was answered (the loyalist_replica_reads_total metric). */
export type ReadOutcome = 'replica' | 'written' | 'behind' | 'failed';

export interface ReplicaOptions {
  poolSize: number;
  timeouts: DatabaseTimeouts;
  /** DB_RANDOM_PAGE_COST, as on the primary's pool. */
  randomPageCost?: string;
  /** Past this, every read goes to the primary. */
  maxLagMs: number;
  checkMs?: number;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

const SAME: KyselyPlugin = { transformQuery: (args) => args.node, transformResult: async (args) => args.result };
const WAL_PAGE = 8192n;

/** The replica's pool, the watcher of its replay position, and the choice, for each routed read, of where it runs. */
export class ReplicaRouter {
  readonly replica: DatabaseHandle;
  readonly outcomes: Record<ReadOutcome, number> = { replica: 0, written: 0, behind: 0, failed: 0 };
  private readonly watch: { primary: DatabaseHandle; replica: DatabaseHandle };
  private readonly timer: NodeJS.Timeout;
  private readonly checkMs: number;
  /** Samples of the primary's WAL position: `at` commits had been noted before it was read at time `t`. */
  private samples: { at: number; t: number; lsn: bigint }[] = [];
  /** The newest sample the replica has replayed: its commit number and time. */
  private caughtUp = -1;
  private caughtUpAt = 0;
  /** The replica is not read until it has replayed past this commit number (after a failed check, or a dropped memory). */
  private floor = 0;
  private lastOk = 0;
  private recovering = false;
  private checking = false;
  private usableBefore: boolean | undefined;
  private bytesBehind: bigint | undefined;

  constructor(primaryUrl: string, replicaUrl: string, private readonly options: ReplicaOptions) {
    this.replica = connectPostgres(replicaUrl, options.poolSize, options.timeouts, options.randomPageCost);
    // the watcher has connections of its own: a busy pool must not make the replica look behind
    const quick: DatabaseTimeouts = { connectMs: 1000, statementMs: 1000 };
    this.watch = { primary: connectPostgres(primaryUrl, 1, quick), replica: connectPostgres(replicaUrl, 1, quick) };
    this.checkMs = options.checkMs ?? 250;
    routers.add(this);
    this.timer = setInterval(() => void this.check(), this.checkMs);
    this.timer.unref();
    void this.check();
  }

  /** A handle on the replica for one request, or undefined while the replica is behind or away (read from the primary). */
  readHandle(): Db | undefined {
    if (!this.usable()) {
      this.outcomes.behind++;
      return undefined;
    }
    const db = this.replica.db.withPlugin(SAME);
    reads.set(db, { caughtUp: this.caughtUp, stale: false });
    return db;
  }

  /** Whether what was read through `db` stands as the answer (failed: the handler threw); counted. */
  settle(db: Db, failed: boolean): ReadOutcome {
    const outcome: ReadOutcome = reads.get(db)?.stale ? 'written' : failed ? 'failed' : 'replica';
    this.outcomes[outcome]++;
    return outcome;
  }

  /** How far behind the replica is, in seconds (as measured by the last check, to its interval); undefined before a check succeeded. */
  lagSeconds(): number | undefined {
    return this.caughtUp < 0 ? undefined : (Date.now() - this.caughtUpAt) / 1000;
  }

  /** The primary's WAL the replica had not replayed at the last check, in bytes. */
  behindBytes(): number | undefined {
    return this.bytesBehind === undefined ? undefined : Number(this.bytesBehind);
  }

  notBefore(commit: number): void {
    this.floor = Math.max(this.floor, commit);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    routers.delete(this);
    await Promise.all([this.watch.primary.close(), this.watch.replica.close(), this.replica.close()]);
  }

  private usable(): boolean {
    const now = Date.now();
    return this.recovering && now - this.lastOk <= Math.max(1000, 4 * this.checkMs) && this.caughtUp >= this.floor && now - this.caughtUpAt <= this.options.maxLagMs;
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    const at = commits;
    const t = Date.now();
    try {
      const [primary, replica] = await Promise.all([
        sql<{ lsn: string }>`SELECT pg_current_wal_insert_lsn()::text AS lsn`.execute(this.watch.primary.db),
        sql<{ lsn: string | null; recovering: boolean }>`SELECT pg_last_wal_replay_lsn()::text AS lsn, pg_is_in_recovery() AS recovering`.execute(this.watch.replica.db),
      ]);
      const lsn = parseLsn(primary.rows[0].lsn);
      const replayed = replica.rows[0].lsn === null ? undefined : parseLsn(replica.rows[0].lsn);
      this.samples.push({ at, t, lsn });
      while (this.samples.length > 1 && t - this.samples[0].t > this.options.maxLagMs + 5000) this.samples.shift();
      // a server that is not in recovery is no replica (promoted, or the wrong URL): its data may go its own way
      this.recovering = replica.rows[0].recovering && replayed !== undefined;
      if (replayed !== undefined) {
        for (let i = this.samples.length - 1; i >= 0; i--) {
          const sample = this.samples[i];
          if (!replayedPast(replayed, sample.lsn)) continue;
          if (sample.at >= this.caughtUp) [this.caughtUp, this.caughtUpAt] = [sample.at, sample.t];
          break;
        }
        this.bytesBehind = lsn > replayed ? lsn - replayed : 0n;
      }
      this.lastOk = Date.now();
      this.prune();
    } catch {
      // what was written so far may be missing there (a replica restarted from an older restart point)
      this.floor = commits;
      this.recovering = false;
    } finally {
      this.checking = false;
      this.logChange();
    }
  }

  /** Drops the members every router's replica has replayed. */
  private prune(): void {
    const replayed = Math.min(...[...routers].map((r) => r.caughtUp));
    for (const [id, commit] of written) {
      if (commit > replayed) break;
      written.delete(id);
    }
  }

  private logChange(): void {
    const usable = this.usable();
    if (usable === this.usableBefore) return;
    this.usableBefore = usable;
    if (usable) this.options.log?.info({ replica_lag_ms: Math.round((this.lagSeconds() ?? 0) * 1000) }, 'reading from the replica');
    else this.options.log?.warn({ reachable: this.recovering, replica_lag_ms: this.lagSeconds() === undefined ? null : Math.round(this.lagSeconds()! * 1000), max_lag_ms: this.options.maxLagMs }, 'reading from the primary only: the replica is behind or does not answer');
  }
}

/** A WAL position `X/Y` as a number of bytes. */
function parseLsn(text: string): bigint {
  const [high, low] = text.split('/');
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/**
 * Whether a replica that has replayed up to `replayed` holds everything before the primary's
 * insert position `sample`. After a record that ends on a page boundary the insert position
 * points past the next page's header, where no record has been written yet.
 */
function replayedPast(replayed: bigint, sample: bigint): boolean {
  const inPage = sample % WAL_PAGE;
  return replayed >= sample || (inPage <= 40n && replayed >= sample - inPage);
}
