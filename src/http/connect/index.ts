import type { FastifyInstance } from 'fastify';
import { accessDenied, basicCredentials, messageIdKey, registerSurface, errorEnvelope, type Surface } from '../surface.js';
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
