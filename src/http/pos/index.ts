import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';
import { ConfigCache } from '../../lib/config-cache.js';
import { findStore } from '../../modules/tenants/service.js';
import { tenantOf } from '../context.js';
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
    // every POS body names its client and store (the schemas require both)
    checkTenancy: (request) => checkEnvelope(app.deps.db, request),
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

/** The retailer's stores the tills name, kept for a few seconds like other configuration (every POS request checks its store); a retired store is refused within the cache's lifetime. */
const storesCache = new ConfigCache<Set<string>>();

async function knownStore(db: Db, retailerId: string, storeId: string): Promise<boolean> {
  const stores = await storesCache.get(retailerId, async () => new Set());
  const key = storeId.toLowerCase();
  if (stores.has(key)) return true;
  // only found stores are kept: a store added meanwhile is known at once
  const known = (await findStore(db, retailerId, key)) !== undefined;
  if (known && stores.size < 1000) stores.add(key);
  return known;
}

/** The envelope's client_id must be the token's retailer and store_id one of its stores. */
async function checkEnvelope(db: Db, request: FastifyRequest): Promise<void> {
  const body = request.body as { client_id?: unknown; store_id?: unknown } | undefined;
  // a path no route serves (answered 404 by the scope) has no envelope to check
  if (typeof body?.client_id !== 'string' || typeof body.store_id !== 'string') return;
  const tenant = tenantOf(request);
  if (body.client_id.toLowerCase() !== tenant.retailerId) throw new DomainError('not_found', 'client_id: no such client for this token', 'client_id');
  if (!(await knownStore(db, tenant.retailerId, body.store_id))) throw new DomainError('store_not_found', `store_id: store ${body.store_id} not found`, 'store_id');
}
