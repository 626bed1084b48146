// The console's build: `vite build console` (npm run build) writes console/dist, which the server
// serves at /console. `vite console` serves it with hot reload, the API proxied to a running server.
/// <reference types="vitest/config" />
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/** Writes a .br and a .gz beside each script, style sheet and page: the server sends them to browsers that take them. */
const precompress = (): Plugin => ({
  name: 'loyalist-precompress',
  apply: 'build',
  writeBundle(options, bundle) {
    for (const file of Object.keys(bundle).filter((f) => /\.(js|css|html)$/.test(f))) {
      const path = join(options.dir!, file);
      const bytes = readFileSync(path);
      writeFileSync(`${path}.br`, brotliCompressSync(bytes));
      writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
    }
  },
});

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [react(), precompress()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // the budget is on compressed JavaScript (scripts/console-size.ts); this only warns early
    chunkSizeWarningLimit: 600,
  },
  server: { proxy: { '/admin': process.env.LOYALIST_URL ?? 'http://127.0.0.1:8080' } },
  test: { environment: 'happy-dom', include: ['src/**/*.test.{ts,tsx}'] },
});
