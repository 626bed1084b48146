import type { FastifyInstance } from 'fastify';
import { accessDenied, basicCredentials, messageIdKey, registerSurface, errorEnvelope, type Surface } from '../surface.js';
import { DomainError } from '../../errors.js';
import { tenantOf } from '../context.js';
import { eventConnectRoutes } from './events.js';
import { offerRoutes } from './offers.js';
import { pointRoutes } from './points.js';
import { rewardStoreRoutes } from './reward-stores.js';
import { tierRoutes } from './tiers.js';

/** Connect API (offers and incentives): /offers/api/... and /incentives/api/..., Basic auth. */
export function registerConnectApi(app: FastifyInstance): void {
  const surface: Surface = {
    name: 'connect',
    replayKey: messageIdKey('connect'),
    async authenticate(request) {
      const credentials = basicCredentials(request);
      const tenant = credentials && (await app.deps.verifier.verify('connect', credentials.key, credentials.secret));
      if (!tenant) throw accessDenied();
      return tenant;
    },
    errorBody: errorEnvelope,
    // every Connect body names its retailer (ConnectBase requires it): the credentials' one, compared case-insensitively
    checkTenancy(request) {
      const retailerId = (request.body as { retailer_id?: unknown } | undefined)?.retailer_id;
      if (typeof retailerId === 'string' && retailerId.toLowerCase() !== tenantOf(request).retailerId) {
        throw new DomainError('not_found', 'retailer_id: no such retailer for these credentials', 'retailer_id');
      }
    },
  };
  registerSurface(app, surface, '/offers/api', async (scope) => {
    await scope.register(offerRoutes);
    await scope.register(rewardStoreRoutes);
  });
  registerSurface(app, surface, '/incentives/api', async (scope) => {
    await scope.register(pointRoutes);
    await scope.register(tierRoutes);
    await scope.register(eventConnectRoutes);
  });
}
