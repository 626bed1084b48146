// dist/ (what bin/loyalist runs) built once for the CLI test files, which run at the same
// time: under a lock, and only when a source is newer than the last build, so that no
// file rewrites dist/ while another runs the command from it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const STAMP = join(ROOT, 'dist', '.build-stamp');
const LOCK = join(tmpdir(), `loyalist-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`);

/** The newest modification time among the build's inputs. */
function newestInput(): number {
  const walk = (dir: string): number[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [statSync(join(dir, e.name)).mtimeMs]));
  return Math.max(...walk(join(ROOT, 'src')), ...['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => statSync(join(ROOT, f)).mtimeMs));
}

/** Runs `npm run build` unless dist/ is newer than every source; throws with tsc's output when it fails. */
export async function buildDist(): Promise<void> {
  for (const started = Date.now(); ; ) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // a lock older than any build is one a killed run left
      const lock = statSync(LOCK, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > 5 * 60_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() - started > 10 * 60_000) throw new Error(`${LOCK}: waited 10 minutes for another build`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (existsSync(STAMP) && statSync(STAMP).mtimeMs >= newestInput()) return;
    const startedAt = new Date();
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
    // stamped with the build's start: a source changed during the build is built again next time
    writeFileSync(STAMP, '');
    utimesSync(STAMP, startedAt, startedAt);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
