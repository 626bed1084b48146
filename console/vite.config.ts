// The console's build: `vite build console` (npm run build) writes console/dist, which the server
// serves at /console. `vite console` serves it with hot reload, the API proxied to a running server.
/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // the budget is on compressed JavaScript (scripts/console-size.ts); this only warns early
    chunkSizeWarningLimit: 600,
  },
  server: { proxy: { '/admin': process.env.LOYALIST_URL ?? 'http://127.0.0.1:8080' } },
  test: { environment: 'happy-dom', include: ['src/**/*.test.{ts,tsx}'] },
});
