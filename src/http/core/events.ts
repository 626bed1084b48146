import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { dbOf } from '../surface.js';
import { DomainError } from '../../errors.js';
import { ingestEvent, type IngestInput } from '../../flows/ingest-event.js';
import { eventName } from '../../modules/events/service.js';
import { parseTime } from '../connect/common.js';
import { actorOf } from '../context.js';
import { coreTime } from './render.js';
import { fails } from '../contract.js';
import { CoreEventResult, coreAnswer } from './schemas.js';

const MAX_EVENTS = 100;

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function quantity(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : typeof value === 'boolean' && value ? 1 : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new DomainError('argument_error', `${field}: a whole number from 1`, field);
  return n;
}

function date(value: unknown, field: string): Date | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new DomainError('argument_error', `${field}: expected an ISO 8601 time or YYYY-MM-DD HH:MM:SS`, field);
  return parseTime(value, field);
}

function context(value: unknown, field: string): Obj {
  if (value === undefined) return {};
  if (!isObject(value)) throw new DomainError('argument_error', `${field}: expected an object`, field);
  return value;
}

function userRef(item: Obj, body: Obj, field: string): string {
  const ref = item.user_id ?? item.external_id ?? body.user_id ?? body.external_id;
  if (ref === undefined) throw new DomainError('missing_data', `${field}user_id: give user_id or external_id`, 'user_id');
  if (typeof ref !== 'string' && typeof ref !== 'number') throw new DomainError('argument_error', `${field}user_id: expected a string`, 'user_id');
  return String(ref).trim();
}

/**
 * The events of a POST /events body, in every form integrations send:
 *  - `{"events": {"name", "user_id" | "external_id", "context", "date"?, "qty" | "by"?}}` (the collection's 1.3.1);
 *  - `{"events": {"<name>": {"qty", "date", "transaction_id", ...}}, "user_id": ..., "context"?: {...}}`:
 *    the per-event fields other than qty and date join the flat `context`;
 *  - the shorthand `{"events": {"<name>": 1}}` (the number is the qty);
 *  - `"events"` as a list of these, or the body as a list of bodies.
 */
export function parseEventsBody(body: unknown): IngestInput[] {
  if (Array.isArray(body)) {
    if (!body.length) throw new DomainError('missing_data', 'events: give at least one event', 'events');
    return limit(body.flatMap((b, i) => parseOne(b, `[${i}].`)));
  }
  return limit(parseOne(body, ''));
}

function limit(events: IngestInput[]): IngestInput[] {
  if (events.length > MAX_EVENTS) throw new DomainError('argument_error', `events: at most ${MAX_EVENTS} events per request`, 'events');
  return events;
}

function parseOne(body: unknown, at: string): IngestInput[] {
  if (!isObject(body) || body.events === undefined) throw new DomainError('missing_data', `${at}events: give the events`, 'events');
  const events = body.events;
  const items = Array.isArray(events) ? events : [events];
  if (!items.length) throw new DomainError('missing_data', `${at}events: give at least one event`, 'events');
  return items.flatMap((item, i) => {
    const where = Array.isArray(events) ? `${at}events[${i}]` : `${at}events`;
    if (!isObject(item)) throw new DomainError('argument_error', `${where}: expected an object`, 'events');
    // the collection's form: the event's name is a field
    if (typeof item.name === 'string') {
      const { name, user_id: _u, external_id: _e, context: ctx, date: d, occurred_at, qty, by, ...rest } = item;
      return [
        {
          userRef: userRef(item, body, `${where}.`),
          name: eventName(name, `${where}.name`),
          occurredAt: date(d ?? occurred_at, `${where}.date`),
          context: { ...context(body.context, `${at}context`), ...rest, ...context(ctx, `${where}.context`) },
          qty: quantity(qty ?? by, `${where}.qty`),
        },
      ];
    }
    // keyed by event name
    const names = Object.keys(item).filter((k) => k !== 'user_id' && k !== 'external_id' && k !== 'context');
    if (!names.length) throw new DomainError('missing_data', `${where}: give at least one event`, 'events');
    return names.map((key) => {
      const spec = item[key];
      const field = `${where}.${key}`;
      const base = { userRef: userRef(item, body, `${where}.`), name: eventName(key, field) };
      const flat = { ...context(body.context, `${at}context`), ...context(item.context, `${where}.context`) };
      if (!isObject(spec)) return { ...base, context: flat, qty: quantity(spec, `${field}`) ?? 1 };
      const { qty, date: d, occurred_at, context: ctx, ...rest } = spec;
      return { ...base, occurredAt: date(d ?? occurred_at, `${field}.date`), context: { ...flat, ...rest, ...context(ctx, `${field}.context`) }, qty: quantity(qty, `${field}.qty`) };
    });
  });
}

/** POST /priv/v2/apps/:appkey/events (collection 1.3.1); register under the Core v2 prefix. */
export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/events',
    {
      config: { dryRun: true },
      schema: {
        summary: 'Record custom events for members; matching rules apply their outcomes (1.3.1)',
        description:
          "Records up to 100 custom events, each for the member its user_id (a member id or an external id) names, in its own transaction: the rules it triggers apply their outcomes and it counts toward the member's campaigns. The whole body is checked before any event is recorded.",
        tags: ['Core: events'],
        params: Type.Object({ appkey: Type.String() }),
        body: Type.Unknown({ description: '{"events": {"name", "user_id" | "external_id", "context"}}, {"events": {"<name>": {"qty", "date", ...}}, "user_id": ...}, {"events": {"<name>": 1}}, or a list of these' }),
        response: {
          200: coreAnswer({ events: Type.Array(CoreEventResult, { description: 'one per event, in the order given' }) }),
          // a campaign award that cannot be deposited refuses its event
          ...fails('user_not_found', 'multiple_matches', 'point_account_not_found', 'point_account_inactive', 'maximum_balance_exceeded'),
        },
      },
    },
    async (request) => {
      const inputs = parseEventsBody(request.body);
      const actor = actorOf(request);
      const events = [];
      // each event is its own transaction (its member's lock, its rules); the body is checked whole first
      for (const input of inputs) {
        const r = await ingestEvent(dbOf(request), actor, input);
        events.push({
          id: r.event.id,
          name: r.event.name,
          user_id: r.member.id,
          qty: r.event.qty,
          occurred_at: coreTime(r.event.occurred_at),
          outcomes: r.outcomes,
        });
      }
      return { status: 'ok' as const, events };
    },
  );
};
