// The console's first load: the JavaScript a browser fetches before the first screen shows
// (the entry script of console/dist/index.html and the modules it preloads), compressed as a
// server would send it (gzip level 9 and brotli), against the 400 KB budget; and each screen's
// own chunk, loaded when it is first opened. Run after `npm run build`.
// usage: node bench/console.mjs [--dist console/dist]
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { brotliCompressSync, gzipSync } from 'node:zlib';

const { values } = parseArgs({ options: { dist: { type: 'string', default: 'console/dist' } } });
const dist = values.dist;
const BUDGET = 400 * 1024;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const first = [...html.matchAll(/<(?:script[^>]*type="module"[^>]*src|link[^>]*rel="modulepreload"[^>]*href)="\/console\/([^"]+\.js)"/g)].map((m) => m[1]);
const sizes = (file) => {
  const bytes = readFileSync(join(dist, file));
  return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, brotli: brotliCompressSync(bytes).length };
};
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
let gzip = 0;
let brotli = 0;
for (const file of first) {
  const s = sizes(file);
  gzip += s.gzip;
  brotli += s.brotli;
  console.log(`first load  ${file.padEnd(40)} ${kb(s.raw).padStart(10)} raw ${kb(s.gzip).padStart(10)} gzip ${kb(s.brotli).padStart(10)} brotli`);
}
for (const file of readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js') && !first.includes(`assets/${f}`))) {
  const s = sizes(`assets/${file}`);
  console.log(`on demand   ${`assets/${file}`.padEnd(40)} ${kb(s.raw).padStart(10)} raw ${kb(s.gzip).padStart(10)} gzip ${kb(s.brotli).padStart(10)} brotli`);
}
// after signing in, the first screen is the dashboard: its chunk (with the chart library) comes next
const dashboard = readdirSync(join(dist, 'assets')).filter((f) => /^Dashboard-.*\.js$/.test(f)).reduce((sum, f) => sum + sizes(`assets/${f}`).gzip, 0);
console.log(`first load JavaScript: ${kb(gzip)} gzip, ${kb(brotli)} brotli; with the dashboard after sign-in ${kb(gzip + dashboard)} gzip; budget ${kb(BUDGET)} compressed: ${gzip + dashboard <= BUDGET ? 'within' : 'OVER'}`);
process.exitCode = gzip + dashboard <= BUDGET ? 0 : 1;
