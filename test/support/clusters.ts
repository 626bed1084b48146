// PostgreSQL clusters of a test's or a benchmark's own: initdb in a temporary
// directory, on a free port, and streaming replicas of them (pg_basebackup -R),
// which the caller may stop and start without touching the machine's shared
// cluster; and a cluster kept in a given directory between runs (keptCluster).
// Used by the chaos suite (test/support/processes.ts), by bench/scaleout.mjs
// and by bench/scale.mjs --tuned (through tsx); none registers anything with node:test here.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export interface Cluster {
  url: string;
  port: number;
  stop(mode?: 'fast' | 'immediate'): void;
  start(): void;
}

/** The clusters one caller made, each removed by dropAll. */
export class Clusters {
  private readonly dirs: string[] = [];

  /** fsync: off for tests (nothing survives them), on for a benchmark measuring what a server would do. */
  constructor(private readonly options: { fsync: boolean }) {}

  /** A new cluster with trust authentication (replication connections from 127.0.0.1 too), started. */
  async create(): Promise<Cluster> {
    const dir = this.dir();
    asPostgres('initdb', ['-D', join(dir, 'data'), '--auth=trust', '-U', 'postgres', '--no-sync']);
    return this.start(dir);
  }

  /** A streaming replica of `primary` (pg_basebackup -R: a hot standby following it), on a free port, started. */
  async replica(primary: Cluster): Promise<Cluster> {
    const dir = this.dir();
    asPostgres('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', join(dir, 'data'), '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
    return this.start(dir);
  }

  /** Stops and removes every cluster made here, the newest first (a replica before its primary). */
  dropAll(): void {
    for (const dir of this.dirs.splice(0).reverse()) {
      try {
        asPostgres('pg_ctl', ['-D', join(dir, 'data'), '-w', '-m', 'immediate', 'stop']);
      } catch {
        // never started, or already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** A directory for a cluster, owned by the postgres user when root. */
  private dir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'loyalist-pg-'));
    ownedByPostgres(dir);
    this.dirs.push(dir);
    return dir;
  }

  /** Starts the cluster in `dir` on a free port (streaming replicas may connect: wal_level replica). */
  private async start(dir: string): Promise<Cluster> {
    const cluster = clusterIn(dir, await freePort(), { wal_level: 'replica', ...(this.options.fsync ? {} : { fsync: 'off' }) });
    cluster.start();
    return cluster;
  }
}

/**
 * A cluster kept in `dir` between runs, never dropped (a benchmark's loaded
 * data): made there on first use, started on `port` with `settings` when it is
 * not running, and left running (a running one keeps the settings it has).
 */
export function keptCluster(dir: string, port: number, settings: Record<string, string>): Cluster {
  const data = join(dir, 'data');
  if (!existsSync(data)) {
    mkdirSync(dir, { recursive: true });
    ownedByPostgres(dir);
    asPostgres('initdb', ['-D', data, '--auth=trust', '-U', 'postgres']);
  }
  // a large cluster stopped uncleanly may take minutes of recovery to start
  const cluster = clusterIn(dir, port, settings, 600);
  if (runAsPostgres('pg_ctl', ['-D', data, 'status']).status !== 0) cluster.start();
  return cluster;
}

/** The cluster whose data directory is `dir`/data, started on `port` with `settings` (pg_ctl's wait, or `waitSeconds`), its log in `dir`. */
function clusterIn(dir: string, port: number, settings: Record<string, string>, waitSeconds?: number): Cluster {
  const data = join(dir, 'data');
  const options = [`-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
  const wait = waitSeconds ? ['-t', String(waitSeconds)] : [];
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start: () => asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', ...wait, '-o', options, 'start']),
    stop: (mode = 'fast') => asPostgres('pg_ctl', ['-D', data, '-w', '-m', mode, 'stop']),
  };
}

/** Gives `dir` to the postgres user when root (the server refuses to run as root), private to it. */
function ownedByPostgres(dir: string): void {
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout);
    chownSync(dir, id('-u'), id('-g'));
  }
  chmodSync(dir, 0o700);
}

/** The newest installed PostgreSQL's programs. */
function pgBin(name: string): string {
  const versions = readdirSync('/usr/lib/postgresql').filter((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', name)));
  if (!versions.length) throw new Error(`no PostgreSQL ${name} under /usr/lib/postgresql`);
  return join('/usr/lib/postgresql', versions.sort((a, b) => Number(b) - Number(a))[0], 'bin', name);
}

/** Runs a PostgreSQL program as the postgres user when root (the server refuses to run as root). */
function asPostgres(name: string, args: string[]): void {
  const result = runAsPostgres(name, args);
  if (result.status !== 0) throw new Error(`${name} ${args.join(' ')} failed: ${result.stderr}${result.stdout}`);
}

/** A PostgreSQL program's run, as the postgres user when root. */
const runAsPostgres = (name: string, args: string[]) =>
  process.getuid?.() === 0 ? spawnSync('runuser', ['-u', 'postgres', '--', pgBin(name), ...args], { encoding: 'utf8' }) : spawnSync(pgBin(name), args, { encoding: 'utf8' });
