// Real processes for the chaos suite: a Loyalist server run from the sources,
// and PostgreSQL clusters of the test's own and streaming replicas of them
// (test/support/clusters.ts), which the test may stop and start without
// touching the machine's shared cluster. All are ended when the test file ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { after } from 'node:test';
import { Clusters, freePort, type Cluster } from './clusters.js';

export { freePort, type Cluster };

const ROOT = resolve(import.meta.dirname, '..', '..');

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

const clusters = new Clusters({ fsync: false });
after(() => clusters.dropAll());

/** A new PostgreSQL cluster of this test's own (test/support/clusters.ts), started; removed when the test file ends. */
export const createCluster = (): Promise<Cluster> => clusters.create();

/** A streaming replica of `primary`, started; removed when the test file ends. */
export const createReplica = (primary: Cluster): Promise<Cluster> => clusters.replica(primary);
