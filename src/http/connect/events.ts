import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ingestEvent } from '../../flows/ingest-event.js';
import { actorOf, tenantOf } from '../context.js';
import { checkRetailer, ConnectBase, isoTime, parseTime } from './common.js';

const TriggerBody = Type.Object({
  ...ConnectBase,
  user_id: Type.String({ minLength: 1, maxLength: 255 }),
  event_lookup: Type.String({ minLength: 1, maxLength: 200 }),
  include_progress: Type.Optional(Type.Boolean()),
  time_of_occurrence: Type.Optional(Type.String({ maxLength: 40, description: 'the event\'s own time; absent: now' })),
  context: Type.Optional(Type.Object({}, { additionalProperties: true })),
});

/** POST /incentives/api/1.0/user_events/trigger_user_event (collection 4.3); register under '/incentives/api'. */
export const eventConnectRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  app.post(
    '/1.0/user_events/trigger_user_event',
    { schema: { summary: 'Trigger a loyalty event; answers the rule outcomes it produced (4.3)', tags: ['Connect: events'], body: TriggerBody } },
    async (request) => {
      const b = request.body;
      checkRetailer(request, b.retailer_id);
      const occurredAt = b.time_of_occurrence ? parseTime(b.time_of_occurrence, 'time_of_occurrence') : undefined;
      const r = await ingestEvent(db, actorOf(request), { userRef: b.user_id, name: b.event_lookup, occurredAt, context: b.context ?? {} });
      return {
        status: 'ok',
        payload: {
          user_event: {
            id: r.event.id,
            time_of_occurrence: isoTime(r.event.occurred_at),
            retailer_id: tenantOf(request).retailerId,
            event_lookup: r.event.name,
            user_id: r.member.id,
            is_session_m: false,
          },
          event_saved_successfully: true,
          rules_processed_successfully: true,
          outcomes: r.outcomes,
        },
      };
    },
  );
};
