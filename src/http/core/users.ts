import { Type, type FastifyPluginAsyncTypebox, type Static } from '@fastify/type-provider-typebox';
import { DomainError, memberNotFound } from '../../errors.js';
import {
  findByEmail,
  findByExternalId,
  findByPhone,
  getMember,
  getMemberRow,
  getMembers,
  searchMembers,
  type Member,
  type MemberRow,
  type MemberInput,
} from '../../modules/members/service.js';
import { customProfileDefaults } from '../../modules/program/custom-attributes.js';
import type { Db } from '../../db/index.js';
import type { Tenant } from '../../modules/tenants/credentials.js';
import { DEFAULT_PHOTO, renderPlayer, renderUser, type UserRenderOptions } from './render.js';
import { availablePoints } from '../../modules/points/queries.js';
import { toJson } from '../../modules/points/amount.js';
import { tierDetails } from '../connect/tiers.js';
import { actorOf, tenantOf } from '../context.js';
import { dbOf } from '../surface.js';
import { changeProfile, closeMember, enrollMember } from '../../flows/members.js';
import { fails } from '../contract.js';
import { CoreOk, CorePlayer, CoreUser, CoreUserAnswer, coreAnswer, memberLookup } from './schemas.js';
import { Opt } from '../inputs.js';

const Str = (max = 255) => Type.String({ maxLength: max });

const PhoneNumber = Type.Object({
  phone_number: Type.String({ minLength: 1, maxLength: 40 }),
  phone_type: Opt(Str(40)),
  preference_flags: Opt(Type.Array(Str(40), { maxItems: 20 })),
  verified_ownership: Opt(Type.Boolean()),
});

const UserFields = Type.Object({
  external_id: Opt(Type.String({ minLength: 1, maxLength: 255 })),
  external_id_type: Opt(Str(100)),
  identifiers: Opt(Type.Array(Type.Object({ external_id: Type.String({ minLength: 1, maxLength: 255 }), external_id_type: Opt(Str(100)) }), { maxItems: 20 })),
  email: Opt(Str(254)),
  first_name: Opt(Str()),
  last_name: Opt(Str()),
  gender: Opt(Str(20)),
  dob: Opt(Str(40)),
  address: Opt(Str()),
  address2: Opt(Str()),
  city: Opt(Str()),
  state: Opt(Str(100)),
  zip: Opt(Str(20)),
  country: Opt(Str(100)),
  dma: Opt(Str(20)),
  locale: Opt(Str(20)),
  opted_in: Opt(Type.Boolean()),
  activated: Opt(Type.Boolean()),
  test_account: Opt(Type.Boolean()),
  profile_photo_url: Opt(Str(2048)),
  phone_numbers: Opt(Type.Array(PhoneNumber, { maxItems: 10 })),
  user_profile: Opt(Type.Object({}, { additionalProperties: true })),
  referrer_code: Opt(Str(100)),
  referral_code: Opt(Str(100)),
  /** With identifiers: keep only those listed (a plate moving to its next owner). */
  clear_identifiers: Opt(Type.Boolean()),
});
type UserFields = Static<typeof UserFields>;

const UserBody = Type.Object({ user: UserFields });

const ProfileQuery = Type.Object({
  show_identifiers: Opt(Type.Boolean()),
  'user[user_profile]': Opt(Type.Boolean()),
  expand_incentives: Opt(Type.Boolean()),
});
type ProfileQuery = Static<typeof ProfileQuery>;

const MemberPath = { user: Type.Object({ user_id: Type.String() }), external: Type.Object({ external_id: Type.String() }) };

function memberInput(user: UserFields, creating: boolean): MemberInput {
  const { external_id, external_id_type, identifiers, referrer_code, referral_code, phone_numbers, user_profile, clear_identifiers, ...fields } = user;
  return {
    ...fields,
    clearIdentifiers: creating ? undefined : clear_identifiers,
    identifiers: [...(external_id ? [{ external_id, external_id_type }] : []), ...(identifiers ?? [])],
    phone_numbers,
    user_profile,
    // on create, referrer_code names the member who referred this one
    referral_code: creating ? (referral_code ?? referrer_code) : undefined,
  };
}

/** memberFromPath for the reads that need only the member's own row, not its identifiers and phone numbers. */
export async function memberRowFromPath(db: Db, tenant: Tenant, params: { user_id?: string; external_id?: string }): Promise<MemberRow> {
  const member = params.user_id !== undefined ? await getMemberRow(db, tenant.retailerId, params.user_id) : await findByExternalId(db, tenant.retailerId, params.external_id!);
  if (!member) throw memberNotFound();
  return member;
}

/** Resolves `:user_id` or `:external_id` to an active member of the tenant. */
export async function memberFromPath(db: Db, tenant: Tenant, params: { user_id?: string; external_id?: string }): Promise<Member> {
  const member = params.user_id !== undefined ? await getMember(db, tenant.retailerId, params.user_id) : await findByExternalId(db, tenant.retailerId, params.external_id!);
  if (!member) throw memberNotFound();
  return member;
}

async function renderOptions(db: Db, tenant: Tenant, member: Member, query: ProfileQuery, always: { profile?: boolean } = {}): Promise<UserRenderOptions> {
  return {
    identifiers: query.show_identifiers,
    profileDefaults: query['user[user_profile]'] || always.profile ? await customProfileDefaults(db, tenant.retailerId) : undefined,
    tierDetails: query.expand_incentives ? await tierDetails(db, member, { progress: true, balances: true }) : undefined,
    availablePoints: toJson(await availablePoints(db, tenant.retailerId, member.id)),
  };
}


export const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;

  const createSchema = {
    summary: 'Create a member profile (1.1.1)',
    description:
      'Enrols a member with its standard and custom attributes, external ids and phone numbers, and runs the signup rules. A `referrer_code` names the member who referred this one. The answer shows the identifiers and the custom profile.',
    tags: ['Core: members'],
    body: UserBody,
    response: { 200: CoreUserAnswer, ...fails('validation', 'duplicate_email', 'duplicate_external_id') },
  };
  app.post('/users', { schema: createSchema }, async (request) => {
    const tenant = tenantOf(request);
    const member = await enrollMember(db, actorOf(request), memberInput(request.body.user, true));
    return { status: 'ok' as const, user: renderUser(member, { identifiers: true, profileDefaults: await customProfileDefaults(db, tenant.retailerId) }) };
  });

  app.get(
    '/users/search',
    {
      schema: {
        summary: 'Find one member by email, external id or mobile number (1.1.2)',
        description:
          'Finds the member with this email, external id (of any type unless `external_id_type` is given) or mobile number, tried in that order. An external id or number that several members share is refused.',
        tags: ['Core: members'],
        querystring: Type.Composite([ProfileQuery, Type.Object({ email: Opt(Str(254)), external_id: Opt(Str()), external_id_type: Opt(Str(100)), mobile_number: Opt(Str(40)) })]),
        response: { 200: CoreUserAnswer, ...fails('user_not_found', 'multiple_matches') },
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const { email, external_id, external_id_type, mobile_number } = request.query;
      let member: Member | undefined;
      if (email) member = await findByEmail(db, tenant.retailerId, email);
      else if (external_id) member = await findByExternalId(db, tenant.retailerId, external_id, external_id_type);
      else if (mobile_number) member = await findByPhone(db, tenant.retailerId, mobile_number);
      else throw new DomainError('missing_data', 'email: give email, external_id or mobile_number', 'email');
      if (!member) throw memberNotFound();
      return { status: 'ok' as const, user: renderUser(member, await renderOptions(db, tenant, member, request.query)) };
    },
  );

  app.get(
    '/users/search_users',
    {
      schema: {
        summary: 'Advanced member search (1.7.1)',
        description: 'The members matching every criterion given (exact, case-insensitive), sorted, at most `limit` of them, with the number of all matches.',
        tags: ['Core: members'],
        querystring: Type.Object({
          first_name: Opt(Str()),
          last_name: Opt(Str()),
          email: Opt(Str(254)),
          external_id: Opt(Str()),
          phone: Opt(Str(40)),
          mobile_number: Opt(Str(40)),
          sort: Opt(Type.Union(['user_id', 'player_id', 'first_name', 'last_name', 'email', 'created_at'].map((s) => Type.Literal(s)))),
          limit: Opt(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
          'advanced_search_params[user_profile]': Opt(Type.Boolean()),
        }),
        response: { 200: coreAnswer({ total_count: Type.Integer({ description: 'every match, not only those answered' }), players: Type.Array(CorePlayer) }) },
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const q = request.query;
      const phone = q.phone ?? q.mobile_number;
      if (!q.first_name && !q.last_name && !q.email && !q.external_id && !phone) {
        throw new DomainError('missing_data', 'first_name: give at least one of first_name, last_name, email, external_id, phone', 'first_name');
      }
      const result = await searchMembers(db, tenant.retailerId, {
        first_name: q.first_name,
        last_name: q.last_name,
        email: q.email,
        external_id: q.external_id,
        phone,
        sort: q.sort as never,
        limit: q.limit ?? 10,
      });
      const defaults = q['advanced_search_params[user_profile]'] ? await customProfileDefaults(db, tenant.retailerId) : undefined;
      return { status: 'ok' as const, total_count: result.total, players: result.members.map((m) => renderPlayer(m, defaults)) };
    },
  );

  app.get(
    '/users',
    {
      schema: {
        summary: 'Several members by id',
        description: 'The members with these ids, in enrolment order; an id that names no active member is left out.',
        tags: ['Core: members'],
        querystring: Type.Composite([ProfileQuery, Type.Object({ user_ids: Type.Array(Str(64), { minItems: 1, maxItems: 100 }) })]),
        response: { 200: coreAnswer({ users: Type.Array(CoreUser) }) },
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const members = await getMembers(db, tenant.retailerId, request.query.user_ids);
      const users = await Promise.all(members.map(async (m) => renderUser(m, await renderOptions(db, tenant, m, request.query))));
      return { status: 'ok' as const, users };
    },
  );

  for (const [base, params] of [
    ['/users/:user_id', MemberPath.user],
    ['/external/users/:external_id', MemberPath.external],
  ] as const) {
    const tags = ['Core: members'];
    const lookup = memberLookup(base);
    const getSchema = {
      summary: 'Get a member profile (1.1.3)',
      description: 'The member profile; `show_identifiers`, `user[user_profile]` and `expand_incentives` add its external ids, custom profile and tier details.',
      tags,
      params,
      querystring: ProfileQuery,
      response: { 200: CoreUserAnswer, ...fails(...lookup) },
    };
    app.get(base, { schema: getSchema, config: { replica: true } }, async (request) => {
      const tenant = tenantOf(request);
      const db = dbOf(request);
      const member = await memberFromPath(db, tenant, request.params);
      return { status: 'ok' as const, user: renderUser(member, await renderOptions(db, tenant, member, request.query)) };
    });

    const putSchema = {
      summary: 'Update standard and custom attributes (1.1.4)',
      description:
        'Changes the attributes given, merges the custom ones into the profile (a null removes one) and adds external ids (`clear_identifiers` keeps only those listed); the profile_change rules of every changed attribute run. Sending the answer back changes nothing.',
      tags,
      params,
      querystring: ProfileQuery,
      body: UserBody,
      response: { 200: CoreUserAnswer, ...fails(...lookup, 'validation', 'duplicate_email', 'duplicate_external_id') },
    };
    app.put(base, { schema: putSchema }, async (request) => {
      const tenant = tenantOf(request);
      const found = await memberFromPath(db, tenant, request.params);
      const user = { ...request.body.user };
      // the default photo the answer shows is no change when sent back
      if (user.profile_photo_url === DEFAULT_PHOTO && found.profile_photo_url === null) delete user.profile_photo_url;
      const member = await changeProfile(db, actorOf(request), found.id, memberInput(user, false));
      return { status: 'ok' as const, user: renderUser(member, await renderOptions(db, tenant, member, request.query, { profile: true })) };
    });

    const deleteSchema = {
      summary: 'Close a member account',
      description: 'Closes the account: the member is no longer found, its email and external ids are free for a new enrolment, its history stays.',
      tags,
      params,
      response: { 200: CoreOk, ...fails(...lookup) },
    };
    app.delete(base, { schema: deleteSchema }, async (request) => {
      const tenant = tenantOf(request);
      const found = await memberFromPath(db, tenant, request.params);
      await closeMember(db, actorOf(request), found.id);
      return { status: 'ok' as const };
    });
  }
};
