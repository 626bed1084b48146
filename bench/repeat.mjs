#!/usr/bin/env node
// The hot-path targets over several runs (issue 23): runs the named benchmarks
// one after the other, round after round (alternated, so that a slow spell of
// the machine falls on all of them), keeps each run's summary lines, and prints
// every run's figure per target line and their median.
//
//   node bench/repeat.mjs [--runs 5] [--seconds N] [--warmup N] [--shared ../shared] [pos points events …]
//
// A target line is a summary line with "(target …)"; its figure is the ratio it
// prints (`= 71%` or `= 1.32x`). Needs what the benchmarks need (`npm run build`,
// a PostgreSQL server).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { root } from './lib.mjs';

const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, seconds: { type: 'string' }, warmup: { type: 'string' }, shared: { type: 'string', default: join(root, '..', 'shared') } },
  allowPositionals: true,
});
// --seconds and --warmup go to every benchmark (absent: each one's default)
const passed = ['seconds', 'warmup'].flatMap((name) => (values[name] === undefined ? [] : [`--${name}`, values[name]]));
const benches = positionals.length ? positionals : ['pos', 'points', 'events'];
const runs = Number(values.runs);

/** Target line label -> the figure of each run, in run order. */
const figures = new Map();
for (let round = 1; round <= runs; round++) {
  for (const bench of benches) {
    const started = Date.now();
    const lines = await runBench(bench);
    const targets = lines.filter((line) => line.includes('(target'));
    if (!targets.length) throw new Error(`${bench}: no target line in its output:\n${lines.slice(-20).join('\n')}`);
    for (const line of targets) {
      // the same line of every run (a rate offered, which follows the floor's, read as N/s)
      const label = `${bench}: ${line.slice(0, line.indexOf(':')).replace(/\d+\/s/g, 'N/s')}`;
      const figure = line.match(/= (-?[\d.]+)(%|x)/);
      if (!figure) continue;
      figures.set(label, [...(figures.get(label) ?? []), { value: Number(figure[1]), unit: figure[2], line }]);
    }
    console.log(`round ${round}/${runs} ${bench} (${Math.round((Date.now() - started) / 1000)} s)`);
    for (const line of targets) console.log(`  ${line}`);
  }
}

console.log(`\n${runs} runs each, alternated: every run's figure, then the median`);
for (const [label, list] of figures) {
  const sorted = list.map((f) => f.value).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const unit = list[0].unit;
  const target = list[0].line.match(/\(target ([^:)]*)/)?.[1];
  console.log(`${label}: ${list.map((f) => `${f.value}${unit}`).join(', ')}; median ${Number(median.toFixed(2))}${unit} (target ${target})`);
}

/** Runs bench/<name>.mjs and answers its output's lines (printed as they come). */
function runBench(name) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bench', `${name}.mjs`), '--shared', values.shared, ...passed], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out.split('\n')) : reject(new Error(`bench/${name}.mjs exited with ${code}:\n${out.slice(-2000)}`))));
  });
}
