import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { DomainError } from '../../errors.js';
import { accessDenied, basicCredentials, messageIdKey, registerSurface, errorEnvelope, type Surface } from '../surface.js';
import { campaignRoutesV1, campaignRoutesV2 } from './campaigns.js';
import { eventRoutes } from './events.js';
import { mergeRoutes } from './merge.js';
import { privacyRoutes } from './privacy.js';
import { tagRoutes } from './tags.js';
import { timelineRoutes } from './timelines.js';
import { userRoutes } from './users.js';

/** Core platform API: /priv/v1|v2/apps/:appkey/..., Basic auth appkey:secret. */
export function registerCoreApi(app: FastifyInstance): void {
  const surface: Surface = {
    name: 'core',
    replayKey: messageIdKey('core'),
    async authenticate(request) {
      const credentials = basicCredentials(request);
      if (!credentials) throw accessDenied();
      const tenant = await app.deps.verifier.verify('core', credentials.key, credentials.secret);
      if (!tenant) throw accessDenied();
      const pathKey = /^\/priv\/v\d+\/apps\/([^/?]+)/.exec(request.url)?.[1];
      if (!pathKey || decodeURIComponent(pathKey).toLowerCase() !== credentials.key.toLowerCase()) {
        throw new DomainError('invalid_api_key', 'the appkey in the path is not the one of these credentials');
      }
      return tenant;
    },
    errorBody: errorEnvelope,
    // in the custom profile a null removes an attribute
    freeForm: new Set(['user_profile']),
  };
  const v1: FastifyPluginAsync = async (scope) => {
    await scope.register(userRoutes);
    await scope.register(tagRoutes);
    await scope.register(timelineRoutes);
    await scope.register(campaignRoutesV1);
    await scope.register(privacyRoutes);
    await scope.register(mergeRoutes);
  };
  const v2: FastifyPluginAsync = async (scope) => {
    await scope.register(campaignRoutesV2);
    await scope.register(eventRoutes);
  };
  registerSurface(app, surface, '/priv', async (scope) => {
    await scope.register(v1, { prefix: '/v1/apps/:appkey' });
    await scope.register(v2, { prefix: '/v2/apps/:appkey' });
  });
}
