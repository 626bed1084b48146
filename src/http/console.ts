// The console (console/, a React application built into console/dist during
// install): served at /console by this server, its assets from this machine
// only. Every path under /console that is not a file answers the
// application's page, which routes in the browser. When the console is not
// built the API serves as ever and /console says how to build it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** console/dist beside src/ and dist/ (LOYALIST_CONSOLE_DIST: another build, for development). */
export const CONSOLE_DIST = process.env.LOYALIST_CONSOLE_DIST ?? fileURLToPath(new URL('../../console/dist/', import.meta.url));

// Its own scripts and styles only; Mantine sets style attributes, hence 'unsafe-inline' for styles;
// offer media may be on the brand's own servers.
const POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: https:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

function secure(reply: FastifyReply): void {
  reply.header('content-security-policy', POLICY).header('x-content-type-options', 'nosniff').header('referrer-policy', 'same-origin').header('x-frame-options', 'DENY');
}

export async function registerConsole(app: FastifyInstance, dir = CONSOLE_DIST): Promise<void> {
  if (!existsSync(join(dir, 'index.html'))) {
    app.get('/console*', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(503).type('text/plain; charset=utf-8').send('The console is not built. Run `npm run build` (or `npm ci`, which builds it) and restart the server.\n'),
    );
    return;
  }
  await app.register(
    async (scope) => {
      await scope.register(fastifyStatic, {
        root: dir,
        prefix: '/',
        index: false,
        // hashed file names under assets/: cached for good; the page itself is asked for anew
        cacheControl: false,
        setHeaders: (res, path) => res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
        // the build writes .br and .gz beside each file (console/vite.config.ts)
        preCompressed: true,
      });
      scope.addHook('onSend', async (_request, reply) => secure(reply));
      // a path of the application (not a file): its page, which routes in the browser
      scope.setNotFoundHandler(async (request, reply) => {
        if (request.method !== 'GET' || request.url.startsWith('/console/assets/')) return reply.code(404).type('text/plain; charset=utf-8').send('Not found\n');
        return reply.sendFile('index.html');
      });
    },
    { prefix: '/console' },
  );
}
