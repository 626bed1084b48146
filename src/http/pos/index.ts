import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { accessDenied, headerValue, registerSurface, posErrorEnvelope, type Surface } from '../surface.js';
import { posRoutes } from './routes.js';

const UNKEPT = /\/(lookup|send_transaction)$/;

/** Cloud POS API: /api/2.0/..., an opaque token in the Authorization header. */
export function registerPosApi(app: FastifyInstance): void {
  const surface: Surface = {
    name: 'pos',
    async authenticate(request) {
      const token = headerValue(request, 'authorization');
      const tenant = token && (await app.deps.verifier.verifyPosToken(token));
      if (!tenant) throw accessDenied();
      return tenant;
    },
    errorBody: posErrorEnvelope,
    // lookup changes nothing, and send_transaction is kept once per (store, transaction_id)
    // and answers with its id: answering either again is the same as replaying it
    unreplayed: UNKEPT,
    // the same request_id with the same body, store and operation gets the stored answer;
    // with another body it is a new request (integrations send "1" every time)
    replayKey(request) {
      const body = request.body as { request_id?: unknown; store_id?: unknown } | undefined;
      if (typeof body?.request_id !== 'string' && typeof body?.request_id !== 'number') return undefined;
      const digest = createHash('sha256').update(request.rawBody ?? '').digest('base64url');
      return `pos:${request.url.split('?')[0]}:${String(body.store_id ?? '').toLowerCase()}:${body.request_id}:${digest}`;
    },
  };
  registerSurface(app, surface, '/api', posRoutes);
}
