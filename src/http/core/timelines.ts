import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DomainError } from '../../errors.js';
import { listTimeline } from '../../modules/timeline/service.js';
import { tenantOf } from '../context.js';
import { dbOf } from '../surface.js';
import { EVENT_TYPE_LIST, renderTimelineEntry } from './render.js';
import { memberRowFromPath } from './users.js';
import { fails, Nullable } from '../contract.js';
import { CoreTimelineEntry, CoreTimelineEventType, coreAnswer, memberLookup } from './schemas.js';

const TimelineAnswer = coreAnswer({
  result: Type.Array(CoreTimelineEntry, { description: 'newest first' }),
  grouping_field: Type.Null(),
  count: Type.Integer({ description: 'entries in this page' }),
  next_cursor: Nullable(Type.String({ description: 'the cursor of the next page; null on the last one' })),
  event_types: Type.Array(CoreTimelineEventType, { description: 'the catalog of event types' }),
});

const TimelineQuery = Type.Object({
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'page size (default 100)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'same as count' })),
  since: Type.Optional(Type.String({ description: 'only events after this time: epoch seconds or milliseconds, or ISO 8601' })),
  event_types: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())], { description: 'slugs or ids, comma separated' })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'next_cursor of the previous page' })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000 })),
});

/** Epoch seconds, epoch milliseconds, or an ISO 8601 / `YYYY-MM-DD HH:MM:SS` time. */
function parseSince(value: string): Date {
  const date = /^\d+$/.test(value) ? new Date(value.length > 11 ? Number(value) : Number(value) * 1000) : new Date(value.includes('T') || value.endsWith('Z') ? value : `${value.replace(' ', 'T')}Z`);
  if (Number.isNaN(date.getTime())) throw new DomainError('argument_error', 'since: expected epoch seconds or an ISO 8601 time', 'since');
  return date;
}

export const timelineRoutes: FastifyPluginAsyncTypebox = async (app) => {
  for (const [base, params] of [
    ['/users/:user_id/timelines/:view', Type.Object({ user_id: Type.String(), view: Type.String() })],
    ['/external/users/:external_id/timelines/:view', Type.Object({ external_id: Type.String(), view: Type.String() })],
  ] as const) {
    app.get(
      base,
      {
        config: { replica: true },
        schema: {
          summary: "A member's timeline, newest first (1.4.1): END_USER_MEMBER_STATEMENT or ACCOUNT_AUDIT_LOG",
          description:
            "One page of the member's timeline entries in the view named (any case), newest first, optionally only since a time and of some event types. Page on with `next_cursor` (or `offset`).",
          tags: ['Core: timeline'],
          params,
          querystring: TimelineQuery,
          response: { 200: TimelineAnswer, ...fails(...memberLookup(base), 'not_found') },
        },
      },
      async (request) => {
        const tenant = tenantOf(request);
        const db = dbOf(request);
        const member = await memberRowFromPath(db, tenant, request.params);
        const q = request.query;
        const eventTypes = ([] as string[]).concat(q.event_types ?? []).flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
        const page = await listTimeline(db, tenant.retailerId, member.id, {
          view: request.params.view.toUpperCase(),
          limit: q.count ?? q.limit ?? 100,
          since: q.since ? parseSince(q.since) : undefined,
          eventTypes: eventTypes.length ? eventTypes : undefined,
          cursor: q.cursor,
          offset: q.offset,
        });
        const result = page.rows.map((row) => renderTimelineEntry(row, member.player_id, tenant.retailerNumber));
        return { status: 'ok' as const, result, grouping_field: null, count: result.length, next_cursor: page.nextCursor, event_types: EVENT_TYPE_LIST };
      },
    );
  }
};
