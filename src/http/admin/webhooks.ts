import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DomainError } from '../../errors.js';
import { addWebhook, changeWebhook, redeliver, removeWebhook, rotateWebhookSecret } from '../../flows/webhooks.js';
import { EVENT_TYPES } from '../../modules/outbox/catalog.js';
import { findRetailer } from '../../modules/tenants/service.js';
import { listDeliveries, type Delivery } from '../../modules/webhooks/deliveries.js';
import { endpointView, findEndpoint, listEndpoints, type UrlPolicy } from '../../modules/webhooks/endpoints.js';
import { dbOf } from '../surface.js';
import { fails, IsoTime, Nullable, Obj, Uuid } from '../contract.js';

const tags = ['Admin: webhooks'];
const RetailerPath = Type.Object({ retailer_id: Type.String({ format: 'uuid' }) });
const EndpointPath = Type.Object({ retailer_id: Type.String({ format: 'uuid' }), webhook_id: Type.String({ format: 'uuid' }) });
const EventTypes = Type.Array(Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))), { maxItems: 100, description: 'the event types it receives (docs/events.md); absent or empty: all' });
const Url = Type.String({ minLength: 1, maxLength: 2000, description: 'https (http only to the hosts WEBHOOK_HTTP_HOSTS allows)' });
const Endpoint = Obj({
  id: Uuid,
  retailer_id: Uuid,
  url: Type.String(),
  description: Nullable(Type.String()),
  event_types: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabled_reason: Nullable(Type.String({ description: 'why it stopped (a 410 from the receiver, the admin API)' })),
  created_at: IsoTime,
  updated_at: IsoTime,
});
const Secret = Type.String({ pattern: '^whsec_', description: 'the signing secret (Standard Webhooks), shown only here' });
const Attempt = Obj({ at: IsoTime, status_code: Nullable(Type.Integer()), duration_ms: Type.Integer(), error: Nullable(Type.String()) });
const DeliveryView = Obj({
  event_id: Uuid,
  event_type: Type.String(),
  position: Type.String(),
  user_id: Nullable(Uuid),
  status: Type.Union(['pending', 'delivering', 'succeeded', 'failed'].map((s) => Type.Literal(s))),
  next_attempt_at: Nullable(IsoTime),
  attempts: Type.Array(Attempt),
});

const deliveryView = (d: Delivery) => ({
  event_id: d.event_id,
  event_type: d.event_type,
  position: String(d.position),
  user_id: d.member_id,
  status: d.status,
  next_attempt_at: d.status === 'pending' ? d.next_attempt_at.toISOString() : null,
  attempts: d.attempts,
});

/** Webhook endpoints of a retailer, their secrets and their deliveries (docs/webhooks.md). */
export const webhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, config } = app.deps;
  const policy: UrlPolicy = { httpHosts: config.webhookHttpHosts.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean) };
  const retailer = async (id: string) => {
    const found = await findRetailer(db, id.toLowerCase());
    if (!found) throw new DomainError('not_found', `retailer ${id} not found`, 'retailer_id');
    return found.id;
  };

  app.post(
    '/tenants/:retailer_id/webhooks',
    {
      config: { allow: 'integrations', audit: 'webhook.create' },
      schema: {
        summary: 'Add a webhook endpoint',
        description: 'The endpoint receives the events recorded from now on, signed as Standard Webhooks 1.0 with the secret answered here (shown only once).',
        tags,
        params: RetailerPath,
        body: Type.Object({ url: Url, event_types: Type.Optional(EventTypes), description: Type.Optional(Type.String({ maxLength: 500 })) }),
        response: { 201: Obj({ ...Endpoint.properties, secret: Secret }), ...fails('not_found', 'validation') },
      },
    },
    async (request, reply) => reply.code(201).send(await addWebhook(dbOf(request), await retailer(request.params.retailer_id), request.body, policy)),
  );

  app.get(
    '/tenants/:retailer_id/webhooks',
    { schema: { summary: "The retailer's webhook endpoints", description: 'Every endpoint, oldest first (never a secret).', tags, params: RetailerPath, response: { 200: Obj({ webhooks: Type.Array(Endpoint) }), ...fails('not_found') } } },
    async (request) => ({ webhooks: await listEndpoints(db, await retailer(request.params.retailer_id)) }),
  );

  app.get(
    '/tenants/:retailer_id/webhooks/:webhook_id',
    { schema: { summary: 'One webhook endpoint', description: 'The endpoint (never its secret).', tags, params: EndpointPath, response: { 200: Endpoint, ...fails('not_found') } } },
    async (request) => endpointView(await findEndpoint(db, await retailer(request.params.retailer_id), request.params.webhook_id)),
  );

  app.patch(
    '/tenants/:retailer_id/webhooks/:webhook_id',
    {
      config: { allow: 'integrations', audit: 'webhook.change', clearable: ['description'] },
      schema: {
        summary: 'Change a webhook endpoint',
        description: 'Its URL, event types, description (null clears it), or whether it is enabled; enabling a disabled endpoint delivers what waited for it.',
        tags,
        params: EndpointPath,
        body: Type.Object({ url: Type.Optional(Url), event_types: Type.Optional(EventTypes), description: Type.Optional(Nullable(Type.String({ maxLength: 500 }))), enabled: Type.Optional(Type.Boolean()) }),
        response: { 200: Endpoint, ...fails('not_found', 'validation') },
      },
    },
    async (request) => changeWebhook(dbOf(request), await retailer(request.params.retailer_id), request.params.webhook_id, request.body, policy),
  );

  app.delete(
    '/tenants/:retailer_id/webhooks/:webhook_id',
    { config: { allow: 'integrations', audit: 'webhook.delete' }, schema: { summary: 'Remove a webhook endpoint', description: 'The endpoint and its deliveries go; nothing more is sent to it.', tags, params: EndpointPath, response: { 200: Obj({ status: Type.Literal('ok') }), ...fails('not_found') } } },
    async (request) => {
      await removeWebhook(dbOf(request), await retailer(request.params.retailer_id), request.params.webhook_id);
      return { status: 'ok' as const };
    },
  );

  app.post(
    '/tenants/:retailer_id/webhooks/:webhook_id/rotate_secret',
    {
      config: { allow: 'integrations', audit: 'webhook.rotate_secret' },
      schema: {
        summary: "Rotate a webhook endpoint's signing secret",
        description: 'A new secret, shown only here; deliveries carry a signature with the old one too until `previous_expires_at` (overlap_seconds, 24 h by default).',
        tags,
        params: EndpointPath,
        body: Type.Optional(Type.Object({ overlap_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400 })) })),
        response: { 200: Obj({ secret: Secret, previous_expires_at: IsoTime }), ...fails('not_found') },
      },
    },
    async (request) => {
      const rotated = await rotateWebhookSecret(dbOf(request), await retailer(request.params.retailer_id), request.params.webhook_id, request.body?.overlap_seconds ?? 86_400);
      return { secret: rotated.secret, previous_expires_at: rotated.previous_expires_at.toISOString() };
    },
  );

  app.get(
    '/tenants/:retailer_id/webhooks/:webhook_id/deliveries',
    {
      schema: {
        summary: "A webhook endpoint's deliveries, newest first",
        description: 'Each event sent (or to send) with its status and every attempt: its time, status code, duration and error.',
        tags,
        params: EndpointPath,
        querystring: Type.Object({ skip: Type.Integer({ minimum: 0, default: 0 }), take: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }), status: Type.Optional(Type.Union(['pending', 'delivering', 'succeeded', 'failed'].map((s) => Type.Literal(s)))) }),
        response: { 200: Obj({ deliveries: Type.Array(DeliveryView) }), ...fails('not_found', 'argument_error') },
      },
    },
    async (request) => ({ deliveries: (await listDeliveries(db, await retailer(request.params.retailer_id), request.params.webhook_id, request.query)).map(deliveryView) }),
  );

  app.post(
    '/tenants/:retailer_id/webhooks/:webhook_id/deliveries/:event_id/retry',
    {
      config: { allow: 'integrations', audit: 'webhook.redeliver' },
      schema: {
        summary: 'Send a delivery again now',
        description: 'Redelivers the event at once, also one whose retries ran out.',
        tags,
        params: Type.Object({ ...EndpointPath.properties, event_id: Type.String({ format: 'uuid' }) }),
        response: { 200: DeliveryView, ...fails('not_found') },
      },
    },
    async (request) => deliveryView(await redeliver(dbOf(request), await retailer(request.params.retailer_id), request.params.webhook_id, request.params.event_id)),
  );
};
