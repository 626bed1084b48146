// The README's quickstart, run as written against a fresh server: every command
// of its `sh` block runs in bash, in order, and its answer must match the
// `# → …` line under it (`…` stands for anything), so the README cannot drift
// from the product. The one line that starts the server (`npm start &`) is
// replaced by a server this test starts on the same port, with a fresh
// embedded database.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { startServer } from '../support/processes.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

interface Step {
  command: string;
  answer?: string;
}

/** The commands of the README's quickstart block, each with the answer it shows. */
function quickstart(): { env: Record<string, string>; steps: Step[] } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = /^## Quickstart\n([\s\S]*?)^## /m.exec(readme)?.[1];
  assert.ok(section, 'the README has a Quickstart section');
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  const env: Record<string, string> = {};
  const steps: Step[] = [];
  for (const block of blocks) {
    let pending = '';
    for (const line of block.split('\n')) {
      if (pending) {
        pending += `\n${line}`;
        if (!line.endsWith('\\')) steps.push({ command: pending }), (pending = '');
      } else if (line.startsWith('# → ')) {
        steps.at(-1)!.answer = line.slice(4);
      } else if (/^export ADMIN_TOKEN=/.test(line)) {
        env.ADMIN_TOKEN = line.split('=')[1];
        steps.push({ command: line });
      } else if (/^npm start\b/.test(line)) {
        // the server: started by the test
      } else if (line.trim() && !line.startsWith('#')) {
        if (line.endsWith('\\')) pending = line;
        else steps.push({ command: line.replace(/\s+#.*$/, '') });
      }
    }
  }
  return { env, steps };
}

/** The answer line as a pattern: `…` stands for anything, the rest is literal. */
const pattern = (answer: string) => new RegExp(`^${answer.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');

describe('the README quickstart', () => {
  it('works as written against a fresh server, each answer as the README shows it', async () => {
    const { env, steps } = quickstart();
    assert.ok(env.ADMIN_TOKEN, 'the quickstart sets ADMIN_TOKEN');
    assert.ok(steps.filter((s) => s.answer).length >= 7, 'every step shows its answer');
    const dataDir = mkdtempSync(join(tmpdir(), 'loyalist-quickstart-'));
    const server = await startServer({ ADMIN_TOKEN: env.ADMIN_TOKEN, DATA_DIR: join(dataDir, 'data'), PORT: '8080', DATABASE_URL: '' }, { port: 8080 });
    // the commands run where a newcomer runs them: a checkout (here a copy of what they read)
    const work = join(dataDir, 'checkout');
    mkdirSync(work);
    cpSync(join(ROOT, 'examples'), join(work, 'examples'), { recursive: true });
    // one bash runs the steps in turn, so that what one exports the next one reads
    const script = steps.map((s, i) => `${s.command}\nprintf '\\n@@step ${i}@@\\n'`).join('\n');
    const run = spawnSync('bash', ['-e', '-c', script], { cwd: work, encoding: 'utf8', env: { ...process.env, ADMIN_TOKEN: '' } });
    await server.kill();
    assert.equal(run.status, 0, `the quickstart failed: ${run.stderr}\n${run.stdout}`);
    const outputs = run.stdout.split(/\n@@step \d+@@\n/);
    steps.forEach((step, i) => {
      if (!step.answer) return;
      const output = outputs[i].trim();
      assert.match(output, pattern(step.answer), `step ${i + 1}: ${step.command}`);
    });
  });
});
