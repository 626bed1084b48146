import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { getTags } from '../../modules/tags/service.js';
import { dropTags } from '../../flows/members.js';
import { actorOf, tenantOf } from '../context.js';
import { memberFromPath } from './users.js';
import { fails } from '../contract.js';
import { CoreTags, coreAnswer, memberLookup } from './schemas.js';

const TagsAnswer = coreAnswer({ tags: CoreTags });

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
    const response = { 200: TagsAnswer, ...fails(...memberLookup(base)) };
    const listSchema = { summary: "A member's live tags with counts (1.6.1)", description: "The member's tags that have not expired, with how many times each counter tag was dropped.", tags, params, response };
    app.get(base, { schema: listSchema }, async (request) => {
      const tenant = tenantOf(request);
      const member = await memberFromPath(db, tenant, request.params);
      return { status: 'ok' as const, tags: await getTags(db, tenant.retailerId, member.id) };
    });
    const dropSchema = {
      summary: 'Drop counter or expiring tags (1.6.2)',
      description:
        "Drops tags on the member: without `ttl` a counter tag counts one more, with `ttl` the tag expires after that many seconds. The tag rules of each run. Answers all the member's live tags, as GET does.",
      tags,
      params,
      body: TagsBody,
      response,
    };
    app.post(base, { schema: dropSchema }, async (request) => {
      const member = await memberFromPath(db, tenantOf(request), request.params);
      const result = await dropTags(db, actorOf(request), member.id, request.body.tags, request.body.ttl);
      return { status: 'ok' as const, tags: result };
    });
  }
};
