// The admin API's member administration (what support needs): search, the
// member's whole picture, and the changes an agent makes, each through the
// domain's own flows, so that the ledger, the timeline and the domain events
// record them as the other surfaces' changes are recorded.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../../errors.js';
import { mergeAccounts } from '../../flows/merge-members.js';
import { findMembersForAdmin, memberLedgerPage, memberTimelinePage, memberView } from '../../flows/member-view.js';
import { privacyRequestQueue } from '../../flows/privacy-queue.js';
import { issueToMembers } from '../../flows/offers.js';
import { adjustPoints, moveMemberToLevel } from '../../flows/points.js';
import { askPrivacy, setRestriction } from '../../flows/privacy.js';
import { revokeOffer } from '../../flows/redemptions.js';
import type { Actor } from '../../modules/members/service.js';
import { findUserOffer } from '../../modules/offers/user-offers.js';
import { parseAmount, toDecimal, ZERO } from '../../modules/points/amount.js';
import { MODIFICATION_TYPES } from '../../modules/points/ledger.js';
import { findRetailer } from '../../modules/tenants/service.js';
import { dbOf } from '../surface.js';
import { fails, IsoTime, Nullable, Obj, OneOf, Uuid } from '../contract.js';
import { AmountInput } from '../inputs.js';
import { AdminLedgerPage, AdminMemberList, AdminMemberView, AdminPrivacyQueue, AdminTimelinePage, PRIVACY_STATUSES } from './member-schemas.js';

const tags = ['Admin: members'];
const MemberPath = Type.Object({ retailer_id: Type.String({ format: 'uuid' }), user_id: Type.String({ format: 'uuid' }) });
const Reason = Type.String({ minLength: 1, maxLength: 500, description: 'why: kept in the ledger, the timeline and the audit trail' });
const memberLookup = ['not_found', 'user_not_found', 'forbidden'] as const;

/**
 * Who acts on a member, as the ledger and the timeline record it: the
 * retailer, and for a request id the operator (`operator:<email>`) or the ADMIN_TOKEN.
 */
async function actorOf(request: FastifyRequest): Promise<Actor> {
  const retailer = await findRetailer(request.server.deps.db, (request.params as { retailer_id: string }).retailer_id.toLowerCase());
  if (!retailer) throw new DomainError('not_found', 'retailer not found', 'retailer_id');
  const principal = request.principal!;
  return { retailerId: retailer.id, retailerNumber: retailer.number, requestId: principal.email ? `operator:${principal.email}` : 'admin-token' };
}

export const memberRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, config } = app.deps;
  const base = '/tenants/:retailer_id/members';

  app.get(
    base,
    {
      schema: {
        summary: "Search the retailer's members",
        description:
          '`q`, one search box: an email, an external id or a phone number exactly, or the start of a name. Without it, every field given must match exactly (case-insensitive). Active members only; at most `limit` (100 by default).',
        tags,
        params: Type.Object({ retailer_id: Type.String({ format: 'uuid' }) }),
        querystring: Type.Object({
          q: Type.Optional(Type.String({ maxLength: 255 })),
          email: Type.Optional(Type.String({ maxLength: 320 })),
          phone: Type.Optional(Type.String({ maxLength: 40 })),
          external_id: Type.Optional(Type.String({ maxLength: 255 })),
          first_name: Type.Optional(Type.String({ maxLength: 255 })),
          last_name: Type.Optional(Type.String({ maxLength: 255 })),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
        }),
        response: { 200: AdminMemberList, ...fails('not_found', 'forbidden') },
      },
    },
    async (request) => {
      const { retailerId } = await actorOf(request);
      return findMembersForAdmin(db, retailerId, request.query);
    },
  );

  app.get(
    `${base}/:user_id`,
    {
      schema: {
        summary: "A member's whole picture",
        description: 'Profile, identifiers, tags, tiers, point accounts with their lots, the newest ledger entries, offers, campaign progress, the newest timeline entries and privacy requests.',
        tags,
        params: MemberPath,
        response: { 200: AdminMemberView, ...fails(...memberLookup) },
      },
    },
    async (request) => memberView(db, (await actorOf(request)).retailerId, request.params.user_id.toLowerCase()),
  );

  app.get(
    `${base}/:user_id/ledger`,
    {
      schema: {
        summary: "A member's point ledger, a page at a time",
        description:
          'Every change of the member\'s balances, newest first (by effective time, then id), in the entries of the member view. ' +
          'Filtered by `point_account_id` and `modification_type` (each may repeat: any of them). Ask again with `before` = `next_before` for the next page, until `next_before` is null; ' +
          'a `before` that is not one of the member\'s entries is refused (400 argument_error, before).',
        tags,
        params: MemberPath,
        querystring: Type.Object({
          before: Type.Optional(Type.Integer({ minimum: 1, description: '`next_before` of the page before: only entries after it (older)' })),
          limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          point_account_id: Type.Optional(Type.Array(Uuid, { description: 'only entries of these point accounts' })),
          modification_type: Type.Optional(Type.Array(OneOf(MODIFICATION_TYPES), { description: 'only entries of these kinds' })),
        }),
        response: { 200: AdminLedgerPage, ...fails(...memberLookup, 'argument_error') },
      },
    },
    async (request) => {
      const q = request.query;
      return memberLedgerPage(db, (await actorOf(request)).retailerId, request.params.user_id.toLowerCase(), {
        before: q.before,
        limit: q.limit,
        point_account_id: q.point_account_id?.map((id) => id.toLowerCase()),
        modification_type: q.modification_type,
      });
    },
  );

  app.get(
    `${base}/:user_id/timeline`,
    {
      schema: {
        summary: "A member's timeline, a page at a time",
        description:
          'Every timeline entry of the member (each category), newest first, as the member view shows them, for infinite scroll: ask again with `before` = `next_before` until it is null. ' +
          'The cursor is opaque and keyed on (occurred_at, id), so pages neither repeat nor skip entries however many are added meanwhile.',
        tags,
        params: MemberPath,
        querystring: Type.Object({
          before: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: '`next_before` of the page before' })),
          limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
        }),
        response: { 200: AdminTimelinePage, ...fails(...memberLookup, 'argument_error') },
      },
    },
    async (request) => memberTimelinePage(db, (await actorOf(request)).retailerId, request.params.user_id.toLowerCase(), request.query),
  );

  app.post(
    `${base}/:user_id/points`,
    {
      config: { allow: 'members', audit: 'points.adjust' },
      schema: {
        summary: "Adjust a member's points by hand, with a reason",
        description:
          'A deposit into or a deduction from one point account, recorded in the ledger and the timeline as a manual_adjustment (reference_id: the reason; request_id: who) and in the audit trail. A deduction never overdraws (422 insufficient_points). ' +
          'A retry with the same idempotency_id applies nothing and answers as the first.',
        tags,
        params: MemberPath,
        body: Type.Object({
          point_account_id: Uuid,
          kind: OneOf(['deposit', 'deduct'] as const),
          amount: { ...AmountInput, description: 'a positive amount (decimal text or a number)' },
          reason: Reason,
          idempotency_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
        }),
        response: {
          200: Obj({ user_id: Uuid, point_account_id: Uuid, kind: OneOf(['deposit', 'deduct'] as const), amount: Type.String(), balance_after: Type.String({ description: 'the account balance after, exact decimal text' }), replayed: Type.Boolean() }),
          ...fails(...memberLookup, 'point_account_not_found', 'point_account_inactive', 'insufficient_points', 'maximum_balance_exceeded', 'idempotency_conflict'),
        },
      },
    },
    async (request) => {
      const b = request.body;
      const amount = parseAmount(b.amount);
      if (amount <= ZERO) throw new DomainError('argument_error', 'amount: must be positive', 'amount');
      if (!b.reason.trim()) throw new DomainError('missing_data', 'reason: is required', 'reason');
      const outcome = await adjustPoints(dbOf(request), await actorOf(request), request.params.user_id.toLowerCase(), {
        pointAccountId: b.point_account_id.toLowerCase(),
        kind: b.kind,
        amount,
        reason: b.reason.trim(),
        idempotencyId: b.idempotency_id,
      });
      const result = outcome.results[0];
      const line = result.lines[0];
      return { user_id: outcome.member.id, point_account_id: line.point_account_id, kind: b.kind, amount: toDecimal(amount), balance_after: toDecimal(line.available_balance), replayed: result.replayed };
    },
  );

  app.post(
    `${base}/:user_id/offers`,
    {
      config: { allow: 'members', audit: 'offer.issue' },
      schema: {
        summary: 'Issue an offer to the member',
        description: "The offer's current version, as Connect's issue_offer does, with its limits.",
        tags,
        params: MemberPath,
        body: Type.Object({ offer_id: Uuid, reason: Type.Optional(Reason) }),
        response: { 200: Obj({ user_offer_id: Uuid, offer_id: Uuid, user_id: Uuid, acquired_at: IsoTime }), ...fails(...memberLookup, 'offer_not_found', 'offer_not_available', 'purchase_limit_reached', 'member_not_eligible') },
      },
    },
    async (request) => {
      const { issued } = await issueToMembers(dbOf(request), await actorOf(request), request.body.offer_id.toLowerCase(), [request.params.user_id.toLowerCase()], { quantity: 1, exactVersion: false });
      const [one] = issued;
      if (one.error) throw new DomainError(one.error.code as never, one.error.message);
      return { user_offer_id: one.userOffer!.id, offer_id: one.userOffer!.offer_id, user_id: one.member!.id, acquired_at: one.userOffer!.acquired_at.toISOString() };
    },
  );

  app.delete(
    `${base}/:user_id/offers/:user_offer_id`,
    {
      config: { allow: 'members', audit: 'offer.revoke' },
      schema: {
        summary: "Revoke one of the member's offers",
        description: 'The offer can no longer be redeemed; the reason is kept with it.',
        tags,
        params: Type.Object({ ...MemberPath.properties, user_offer_id: Type.String({ format: 'uuid' }) }),
        body: Type.Optional(Type.Union([Type.Object({ reason: Type.Optional(Reason) }), Type.Null()])),
        response: { 200: Obj({ user_offer_id: Uuid, status: Type.Literal('revoked') }), ...fails(...memberLookup, 'user_offer_not_found', 'offer_revoked', 'already_redeemed') },
      },
    },
    async (request) => {
      const actor = await actorOf(request);
      const id = request.params.user_offer_id.toLowerCase();
      const found = await findUserOffer(db, actor.retailerId, id);
      if (!found || found.member_id !== request.params.user_id.toLowerCase()) throw new DomainError('user_offer_not_found', 'user offer not found', 'user_offer_id');
      const { userOffer } = await revokeOffer(dbOf(request), actor, id, request.body?.reason);
      return { user_offer_id: userOffer.id, status: 'revoked' as const };
    },
  );

  app.put(
    `${base}/:user_id/tiers/:tier_system_id`,
    {
      config: { allow: 'members', audit: 'tier.move' },
      schema: {
        summary: 'Move the member to a tier level',
        description: 'The member is placed at the level whatever its points; maintenance goes on from there.',
        tags,
        params: Type.Object({ ...MemberPath.properties, tier_system_id: Type.String({ format: 'uuid' }) }),
        body: Type.Object({ tier_level_id: Uuid, reason: Type.Optional(Reason) }),
        response: { 200: Obj({ tier_system_id: Uuid, from_level_id: Nullable(Uuid), to_level_id: Uuid, to_level_name: Type.String(), changed: Type.Boolean() }), ...fails(...memberLookup, 'validation') },
      },
    },
    async (request) => {
      const p = request.params;
      const change = await moveMemberToLevel(dbOf(request), await actorOf(request), p.user_id.toLowerCase(), p.tier_system_id.toLowerCase(), request.body.tier_level_id.toLowerCase(), {});
      return { tier_system_id: change.tier_system_id, from_level_id: change.from?.id ?? null, to_level_id: change.to.id, to_level_name: change.to.name, changed: change.changed };
    },
  );

  for (const [action, restrict] of [['restrict', true], ['reinstate', false]] as const) {
    app.post(
      `${base}/:user_id/${action}`,
      {
        config: { allow: 'members', audit: `privacy.${action}` },
        schema: {
          summary: restrict ? "Restrict processing of the member's data" : "Reinstate processing of the member's data",
          description: restrict ? 'Recorded as a privacy request; the member keeps their data but rules and campaigns stop acting on them.' : 'Recorded as a privacy request; processing resumes.',
          tags,
          params: MemberPath,
          body: Type.Optional(Type.Union([Type.Object({ reason: Type.Optional(Reason) }), Type.Null()])),
          response: { 200: Obj({ user_id: Uuid, restricted: Type.Boolean(), privacy_request_id: Type.String() }), ...fails(...memberLookup) },
        },
      },
      async (request) => {
        const { request: filed, restricted } = await setRestriction(dbOf(request), await actorOf(request), request.params.user_id.toLowerCase(), restrict);
        return { user_id: request.params.user_id.toLowerCase(), restricted, privacy_request_id: String(filed.id) };
      },
    );
  }

  app.post(
    `${base}/:user_id/forget`,
    {
      config: { allow: 'members', audit: 'privacy.forget' },
      schema: {
        summary: "Forget the member's personal data after the grace period",
        description: 'Files a forget request, carried out after PRIVACY_GRACE_SECONDS (it can be cancelled until then through the Core API).',
        tags,
        params: MemberPath,
        body: Type.Optional(Type.Union([Type.Object({ reason: Type.Optional(Reason) }), Type.Null()])),
        response: { 200: Obj({ user_id: Uuid, privacy_request_id: Type.String(), due_at: IsoTime }), ...fails(...memberLookup) },
      },
    },
    async (request) => {
      const filed = await askPrivacy(dbOf(request), await actorOf(request), request.params.user_id.toLowerCase(), 'forget', config.privacyGraceSeconds);
      return { user_id: filed.member_id, privacy_request_id: String(filed.id), due_at: filed.due_at.toISOString() };
    },
  );

  app.post(
    `${base}/:user_id/merge`,
    {
      config: { allow: 'members', audit: 'member.merge' },
      schema: {
        summary: 'Merge another member into this one',
        description: "The other member's points, offers, tags, tiers, campaign progress, events and transactions move to this member, and the other is merged away (as Core's merge_accounts).",
        tags,
        params: MemberPath,
        body: Type.Object({ user_id: Type.Optional(Uuid), external_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })), reason: Type.Optional(Reason) }, { description: 'the member merged away: its user_id or its external_id' }),
        response: { 200: Obj({ merge_id: Uuid, survivor_id: Uuid, victim_id: Uuid, finished_at: Nullable(IsoTime) }), ...fails(...memberLookup, 'merge_into_self', 'member_merged', 'member_forgotten', 'already_merged', 'multiple_matches') },
      },
    },
    async (request) => {
      const b = request.body;
      if (!b.user_id && !b.external_id) throw new DomainError('missing_data', 'user_id: name the member to merge (user_id or external_id)', 'user_id');
      const merge = await mergeAccounts(dbOf(request), await actorOf(request), { user_id: request.params.user_id }, { user_id: b.user_id, external_id: b.external_id });
      return { merge_id: merge.id, survivor_id: merge.member_id, victim_id: merge.victim_id, finished_at: merge.finished_at?.toISOString() ?? null };
    },
  );

  app.get(
    '/tenants/:retailer_id/privacy-requests',
    {
      schema: {
        summary: "The retailer's privacy request queue",
        description:
          'Privacy requests (forget, export, restrict, reinstate) across the retailer\'s members, with whom each is about (email and name, null once forgotten). ' +
          'With `status=pending`: the soonest due first, the order to work them in; otherwise (another status, or none: all) the newest first. ' +
          'Ask again with `before` = `next_before` until it is null (a cursor is valid for the order it came from).',
        tags: ['Admin: privacy'],
        params: Type.Object({ retailer_id: Type.String({ format: 'uuid' }) }),
        querystring: Type.Object({
          status: Type.Optional(OneOf(PRIVACY_STATUSES)),
          before: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: '`next_before` of the page before' })),
          limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
        }),
        response: { 200: AdminPrivacyQueue, ...fails('not_found', 'forbidden', 'argument_error') },
      },
    },
    async (request) => privacyRequestQueue(db, (await actorOf(request)).retailerId, request.query),
  );
};
