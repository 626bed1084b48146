// Real processes for the chaos suite: a Loyalist server run from the sources,
// and a PostgreSQL cluster of the test's own (initdb in a temporary directory,
// on a free port), and streaming replicas of it, which the test may stop and
// start without touching the machine's shared cluster. All are ended when the
// test file ends.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..', '..');

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

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Every log line the server wrote, parsed. */
  logs: Record<string, unknown>[];
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

const running = new Set<ServerProcess>();
after(async () => {
  for (const server of running) await server.kill('SIGKILL');
});

/** Starts `loyalist serve` from the sources (on a free port unless given one); resolves once it serves. */
export async function startServer(env: Record<string, string>, options: { port?: number } = {}): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/loyalist-from-source.ts'), 'serve', '--port', String(port)], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ADMIN_TOKEN: 'chaos-admin-token-0123456789', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((done) => child.once('exit', (code, signal) => done(code ?? signal ?? -1)));
  const server: ServerProcess = {
    url: `http://127.0.0.1:${port}`,
    child,
    logs,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const result = await exited;
      running.delete(server);
      return result;
    },
  };
  running.add(server);
  const started = Date.now();
  while (!logs.some((l) => l.msg === 'loyalist is serving')) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() - started > 60_000) throw new Error(`the server did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return server;
}

export interface Cluster {
  url: string;
  port: number;
  stop(mode?: 'fast' | 'immediate'): void;
  start(): void;
}

const clusters = new Set<string>();
after(() => {
  for (const dir of clusters) dropCluster(dir);
});

/** The newest installed PostgreSQL's programs. */
function pgBin(name: string): string {
  const versions = readdirSync('/usr/lib/postgresql').filter((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', name)));
  if (!versions.length) throw new Error(`no PostgreSQL ${name} under /usr/lib/postgresql`);
  return join('/usr/lib/postgresql', versions.sort((a, b) => Number(b) - Number(a))[0], 'bin', name);
}

/** Runs a PostgreSQL program as the postgres user (the server refuses to run as root). */
function asPostgres(name: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const result = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', pgBin(name), ...args], { encoding: 'utf8' }) : spawnSync(pgBin(name), args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${name} ${args.join(' ')} failed: ${result.stderr}${result.stdout}`);
}

/** A directory for a cluster of this test's own, owned by the postgres user; removed at the end. */
function clusterDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'loyalist-pg-'));
  if (process.getuid?.() === 0) {
    const user = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const group = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(user.stdout), Number(group.stdout));
  }
  chmodSync(dir, 0o700);
  clusters.add(dir);
  return dir;
}

/** Starts the cluster in `dir` on a free port (streaming replicas may connect: wal_level replica). */
async function startCluster(dir: string): Promise<Cluster> {
  const data = join(dir, 'data');
  const port = await freePort();
  const start = () => asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c wal_level=replica`, 'start']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop: (mode = 'fast') => asPostgres('pg_ctl', ['-D', data, '-w', '-m', mode, 'stop']),
  };
}

/** A new PostgreSQL cluster of this test's own, with trust authentication (replication connections from 127.0.0.1 too), started; removed at the end. */
export async function createCluster(): Promise<Cluster> {
  const dir = clusterDir();
  asPostgres('initdb', ['-D', join(dir, 'data'), '--auth=trust', '-U', 'postgres', '--no-sync']);
  return startCluster(dir);
}

/** A streaming replica of `primary` (pg_basebackup -R: a hot standby following it), on a free port, started; removed at the end. */
export async function createReplica(primary: Cluster): Promise<Cluster> {
  const dir = clusterDir();
  asPostgres('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', join(dir, 'data'), '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
  return startCluster(dir);
}

function dropCluster(dir: string): void {
  try {
    asPostgres('pg_ctl', ['-D', join(dir, 'data'), '-w', '-m', 'immediate', 'stop']);
  } catch {
    // already stopped
  }
  rmSync(dir, { recursive: true, force: true });
  clusters.delete(dir);
}
