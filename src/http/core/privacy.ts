import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DomainError } from '../../errors.js';
import { askPrivacy, cancelPrivacy, setRestriction } from '../../flows/privacy.js';
import {
  findPrivacyRequest,
  listPrivacyRequests,
  partIds,
  type PrivacyRequest,
} from '../../modules/privacy/service.js';
import { actorOf, tenantOf } from '../context.js';
import { coreTime } from './render.js';
import { memberFromPath } from './users.js';
import { fails } from '../contract.js';
import { CoreOk, CorePrivacyExport, CorePrivacyExportDocument, CorePrivacyRequest, CorePrivacyRequestFiled, coreAnswer, memberLookup } from './schemas.js';

const FiledAnswer = coreAnswer({ privacy_request: CorePrivacyRequestFiled });

const time = (d: Date | null) => (d ? coreTime(d) : null);

/** A privacy request as 1.5.1 lists it. */
export function renderPrivacyRequest(r: PrivacyRequest) {
  return {
    id: Number(r.id),
    user_id: r.member_id,
    request_type: r.type,
    status: r.status,
    privacy_request_part_ids: partIds(r),
    parts: r.parts.map((p) => ({ id: p.id, name: p.name, status: p.status })),
    created_at: coreTime(r.created_at),
    due_at: coreTime(r.due_at),
    cancelled_at: time(r.cancelled_at),
    completed_at: time(r.completed_at),
  };
}

/** An export request as 1.5.3 lists it (gdpr_user_data), with where to fetch the file. */
function renderExport(r: PrivacyRequest, path: string) {
  return {
    ...renderPrivacyRequest(r),
    ready: r.status === 'completed' && r.document !== null,
    download_path: r.status === 'completed' && r.document !== null ? `${path}/${r.id}` : null,
  };
}

/** 1.5.4 sends no body: restrict. A body may say which: {restrict: bool}, {reinstate: bool} or {action}; POST …/reinstate reinstates. */
function restrictWish(body: unknown): boolean {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return true;
  const b = body as Record<string, unknown>;
  const flag = (v: unknown) => (v === true || v === 'true' ? true : v === false || v === 'false' ? false : undefined);
  const restrict = flag(b.restrict);
  if (restrict !== undefined) return restrict;
  const reinstate = flag(b.reinstate);
  if (reinstate !== undefined) return !reinstate;
  if (b.action === 'restrict' || b.action === 'reinstate') return b.action === 'restrict';
  return true;
}

/** Core privacy requests (collection 1.5.x) under /users/:user_id and /external/users/:external_id. */
export const privacyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, config } = app.deps;
  for (const [base, params, withRequest] of [
    ['/users/:user_id/privacy', Type.Object({ user_id: Type.String() }), Type.Object({ user_id: Type.String(), request_id: Type.String() })],
    ['/external/users/:external_id/privacy', Type.Object({ external_id: Type.String() }), Type.Object({ external_id: Type.String(), request_id: Type.String() })],
  ] as const) {
    const tags = ['Core: privacy'];
    const lookup = memberLookup(base);
    const grace = 'It waits the grace period (PRIVACY_GRACE_SECONDS), during which it can be cancelled; while one is pending, asking again answers the same request.';

    const listSchema = {
      summary: "A member's privacy requests with their status (1.5.1)",
      description: "The member's forget, export, restrict and reinstate requests, newest first, with their parts and status.",
      tags,
      params,
      response: { 200: coreAnswer({ privacy_requests: Type.Array(CorePrivacyRequest) }), ...fails(...lookup) },
    };
    app.get(base, { schema: listSchema }, async (request) => {
      const tenant = tenantOf(request);
      const member = await memberFromPath(db, tenant, request.params);
      return { status: 'ok' as const, privacy_requests: (await listPrivacyRequests(db, tenant.retailerId, member.id)).map(renderPrivacyRequest) };
    });

    const forgetSchema = {
      summary: "Forget the member's personal data after the grace period (1.5.2)",
      description: `Files a request to erase the member's personal data; once it is carried out the member is forgotten and no longer found. ${grace}`,
      tags,
      params,
      response: { 200: FiledAnswer, ...fails(...lookup) },
    };
    app.post(`${base}/forget`, { schema: forgetSchema }, async (request) => {
      const found = await memberFromPath(db, tenantOf(request), request.params);
      const actor = actorOf(request);
      const created = await askPrivacy(db, actor, found.id, 'forget', config.privacyGraceSeconds);
      return { status: 'ok' as const, privacy_request: { id: Number(created.id), privacy_request_part_ids: partIds(created) } };
    });

    const exportsSchema = {
      summary: "The member's data export requests (1.5.3)",
      description: "The member's export requests, newest first; a completed one gives the path to download its data.",
      tags,
      params,
      response: { 200: coreAnswer({ gdpr_user_data: Type.Array(CorePrivacyExport) }), ...fails(...lookup) },
    };
    app.get(`${base}/export`, { schema: exportsSchema }, async (request) => {
      const tenant = tenantOf(request);
      const member = await memberFromPath(db, tenant, request.params);
      const path = request.url.split('?')[0].replace(/\/+$/, '');
      return { status: 'ok' as const, gdpr_user_data: (await listPrivacyRequests(db, tenant.retailerId, member.id, 'export')).map((r) => renderExport(r, path)) };
    });

    const exportSchema = {
      summary: "Export the member's data after the grace period",
      description: `Files a request to gather everything kept about the member into one document. ${grace}`,
      tags,
      params,
      response: { 200: FiledAnswer, ...fails(...lookup) },
    };
    app.post(`${base}/export`, { schema: exportSchema }, async (request) => {
      const found = await memberFromPath(db, tenantOf(request), request.params);
      const actor = actorOf(request);
      const created = await askPrivacy(db, actor, found.id, 'export', config.privacyGraceSeconds);
      return { status: 'ok' as const, privacy_request: { id: Number(created.id), privacy_request_part_ids: partIds(created) } };
    });

    const downloadSchema = {
      summary: 'Download a finished data export',
      description: "An export request of the member with its data once completed (null before).",
      tags,
      params: withRequest,
      response: { 200: coreAnswer({ gdpr_user_data: CorePrivacyExportDocument }), ...fails(...lookup, 'privacy_request_not_found') },
    };
    app.get(`${base}/export/:request_id`, { schema: downloadSchema }, async (request) => {
      const tenant = tenantOf(request);
      const member = await memberFromPath(db, tenant, request.params);
      const found = await findPrivacyRequest(db, tenant.retailerId, member.id, request.params.request_id);
      if (found.type !== 'export') throw new DomainError('privacy_request_not_found', `privacy request ${found.id} is not an export`, 'request_id');
      return { status: 'ok' as const, gdpr_user_data: { ...renderPrivacyRequest(found), data: found.status === 'completed' ? found.document : null } };
    });

    for (const [action, summary, description] of [
      [
        'restrict',
        'Restrict the member at once (1.5.4); a body {reinstate: true} reinstates',
        'Restricts the processing of the member\'s data at once (account_status `restricted`: no campaigns, audiences or marketing), filed as a completed request. A body `{"restrict": false}`, `{"reinstate": true}` or `{"action": "reinstate"}` reinstates instead.',
      ],
      ['reinstate', 'Reinstate a restricted member at once', 'Lifts a restriction at once (account_status `good`), filed as a completed request; a member not restricted stays as it is.'],
    ] as const) {
      app.post(`${base}/${action}`, { schema: { summary, description, tags, params, response: { 200: CoreOk, ...fails(...lookup) } } }, async (request) => {
        const found = await memberFromPath(db, tenantOf(request), request.params);
        const actor = actorOf(request);
        const restrict = action === 'restrict' && restrictWish(request.body);
        await setRestriction(db, actor, found.id, restrict);
        return { status: 'ok' as const };
      });
    }

    const cancel = async (request: { params: { user_id?: string; external_id?: string; request_id: string } } & Parameters<typeof tenantOf>[0]) => {
      const found = await memberFromPath(db, tenantOf(request), request.params);
      const actor = actorOf(request);
      const cancelled = await cancelPrivacy(db, actor, found.id, request.params.request_id);
      return { status: 'ok' as const, privacy_request: renderPrivacyRequest(cancelled) };
    };
    const cancelSchema = {
      summary: 'Cancel a pending forget or export request',
      description: 'Cancels a forget or export request during its grace period: it will not be carried out. A request no longer pending is refused.',
      tags,
      params: withRequest,
      response: { 200: coreAnswer({ privacy_request: CorePrivacyRequest }), ...fails(...lookup, 'privacy_request_not_found', 'privacy_request_not_cancellable') },
    };
    app.delete(`${base}/:request_id`, { schema: cancelSchema }, (request) => cancel(request));
    app.post(`${base}/:request_id/cancel`, { schema: cancelSchema }, (request) => cancel(request));
  }
};
