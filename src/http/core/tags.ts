import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { getTags } from '../../modules/tags/service.js';
import { dropTags } from '../../flows/members.js';
import { actorOf, tenantOf } from '../context.js';
import { memberFromPath } from './users.js';

const TagsBody = Type.Object({
  tags: Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { minItems: 1, maxItems: 100 }),
  ttl: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 * 365 * 86400, description: 'seconds until the tags expire; absent: counter tags' })),
});

export const tagRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  for (const [base, params] of [
    ['/users/:user_id/tags', Type.Object({ user_id: Type.String() })],
    ['/external/users/:external_id/tags', Type.Object({ external_id: Type.String() })],
  ] as const) {
    const tags = ['Core: tags'];
    app.get(base, { schema: { summary: "A member's live tags with counts (1.6.1)", tags, params } }, async (request) => {
      const tenant = tenantOf(request);
      const member = await memberFromPath(db, tenant, request.params);
      return { status: 'ok', tags: await getTags(db, tenant.retailerId, member.id) };
    });
    app.post(base, { schema: { summary: 'Drop counter or expiring tags (1.6.2)', tags, params, body: TagsBody } }, async (request) => {
      const member = await memberFromPath(db, tenantOf(request), request.params);
      const result = await dropTags(db, actorOf(request), member.id, request.body.tags, request.body.ttl);
      return { status: 'ok', tags: result };
    });
  }
};
