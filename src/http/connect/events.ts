import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { dbOf } from '../surface.js';
import { ingestEvent } from '../../flows/ingest-event.js';
import { actorOf, tenantOf } from '../context.js';
import { fails, IsoTime, Obj } from '../contract.js';
import { ConnectBase, isoTime, ok, parseTime } from './common.js';
import { connectAnswer, ConnectRuleOutcome } from './schemas.js';

const TriggerBody = Type.Object({
  ...ConnectBase,
  user_id: Type.String({ minLength: 1, maxLength: 255 }),
  event_lookup: Type.String({ minLength: 1, maxLength: 200 }),
  include_progress: Type.Optional(Type.Boolean()),
  time_of_occurrence: Type.Optional(Type.String({ maxLength: 40, description: 'the event\'s own time; absent: now' })),
  context: Type.Optional(Type.Object({}, { additionalProperties: true })),
});

const TriggerAnswer = connectAnswer(
  Obj({
    user_event: Obj({
      id: Type.String(),
      time_of_occurrence: { ...IsoTime, description: "the event's own time" },
      retailer_id: Type.String(),
      event_lookup: Type.String({ description: "the event's name" }),
      user_id: Type.String({ description: "the member's id" }),
      is_session_m: Type.Boolean({ description: 'always false' }),
    }),
    event_saved_successfully: Type.Boolean({ description: 'always true: an event not saved is an error answer' }),
    rules_processed_successfully: Type.Boolean({ description: 'always true' }),
    outcomes: Type.Array(ConnectRuleOutcome, { description: 'every outcome of every rule the event achieved, and of the rules those outcomes triggered in turn' }),
  }),
);

/** POST /incentives/api/1.0/user_events/trigger_user_event (collection 4.3); register under '/incentives/api'. */
export const eventConnectRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/1.0/user_events/trigger_user_event',
    {
      config: { dryRun: true },
      schema: {
        summary: 'Trigger a loyalty event; answers the rule outcomes it produced (4.3)',
        description:
          "Records the member's event and, in the same transaction, runs the rules it triggers (within their limits) and counts it in the member's campaigns. " +
          'An outcome the domain refuses is answered not applied with its error; a campaign award that cannot be deposited refuses the whole event. ' +
          'A past time_of_occurrence counts at that time.',
        tags: ['Connect: events'],
        body: TriggerBody,
        response: { 200: TriggerAnswer, ...fails('not_found', 'user_not_found', 'multiple_matches', 'point_account_not_found', 'point_account_inactive', 'maximum_balance_exceeded') },
      },
    },
    async (request) => {
      const b = request.body;
      const occurredAt = b.time_of_occurrence ? parseTime(b.time_of_occurrence, 'time_of_occurrence') : undefined;
      const r = await ingestEvent(dbOf(request), actorOf(request), { userRef: b.user_id, name: b.event_lookup, occurredAt, context: b.context ?? {} });
      return ok({
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
      });
    },
  );
};
