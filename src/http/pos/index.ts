import type { FastifyInstance } from 'fastify';
import { accessDenied, headerValue, registerSurface, type Surface } from '../surface.js';

/** Cloud POS API: /api/2.0/..., an opaque token in the Authorization header. */
export function registerPosApi(app: FastifyInstance): void {
  const surface: Surface = {
    name: 'pos',
    messageIdReplay: false,
    async authenticate(request) {
      const token = headerValue(request, 'authorization');
      const tenant = token && (await app.deps.verifier.verifyPosToken(token));
      if (!tenant) throw accessDenied();
      return tenant;
    },
    errorBody: ({ code, message }) => ({ status: 'error', payload: null, errors: [{ code, message }] }),
  };
  registerSurface(app, surface, '/api', async () => {});
}
