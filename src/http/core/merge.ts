import { Type, type FastifyPluginAsyncTypebox, type Static } from '@fastify/type-provider-typebox';
import { DomainError, memberNotFound } from '../../errors.js';
import { findByExternalId } from '../../modules/members/service.js';
import { mergeAccounts } from '../../flows/merge-members.js';
import { findMerge, type Merge } from '../../modules/merge/service.js';
import { actorOf, tenantOf } from '../context.js';
import { coreTime } from './render.js';
import { fails } from '../contract.js';
import { CoreMerge, coreAnswer } from './schemas.js';

type MergeEntry = Static<typeof CoreMerge>;
const MergeAnswer = coreAnswer({ merge_account: CoreMerge });

/** A merge entry (1.2.1, 1.2.2). */
export function renderMerge(m: Merge, survivorExternalId?: string): MergeEntry {
  // the summary mergeMembers wrote
  const moved = m.moved as MergeEntry['moved'];
  return {
    id: m.id,
    status: m.status,
    survivor_user_id: m.member_id,
    survivor_external_id: survivorExternalId ?? null,
    victim_user_id: m.victim_id,
    victim_external_id: moved.external_ids?.[0]?.external_id ?? null,
    moved,
    created_at: coreTime(m.created_at),
    finished_at: m.finished_at ? coreTime(m.finished_at) : null,
  };
}

const Params = Type.Object({ survivor_external_id: Type.String() });
const MergeBody = Type.Object({
  merge_account: Type.Object({
    external_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    user_id: Type.Optional(Type.String({ maxLength: 64 })),
  }),
});

/** Core account merge (collection 1.2.x): the victim named in the body into the survivor of the path. */
export const mergeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  const tags = ['Core: merge'];
  const mergeSchema = {
    summary: 'Merge the victim into the survivor (1.2.1)',
    description:
      "Moves the victim's points, offers, external ids, tags, campaign progress, events and transactions to the survivor, in one transaction; the victim is no longer found. The victim is named by external id (or user_id); merging it again is refused as already_merged.",
    tags,
    params: Params,
    body: MergeBody,
    response: { 200: MergeAnswer, ...fails('user_not_found', 'multiple_matches', 'merge_into_self', 'member_merged', 'member_forgotten', 'already_merged') },
  };
  app.post('/external/users/:survivor_external_id/merge_accounts', { schema: mergeSchema }, async (request) => {
    const victim = request.body.merge_account;
    if (!victim.external_id && !victim.user_id) throw new DomainError('missing_data', 'merge_account.external_id: name the account to merge', 'merge_account.external_id');
    const actor = actorOf(request);
    const merge = await mergeAccounts(db, actor, { external_id: request.params.survivor_external_id }, victim);
    return { status: 'ok' as const, merge_account: renderMerge(merge, request.params.survivor_external_id) };
  });
  app.get(
    '/external/users/:survivor_external_id/merge_accounts/:merge_id',
    {
      schema: {
        summary: 'Read a merge back (1.2.2)',
        description: 'A merge into this survivor, with what it moved.',
        tags,
        params: Type.Object({ survivor_external_id: Type.String(), merge_id: Type.String() }),
        response: { 200: MergeAnswer, ...fails('user_not_found', 'multiple_matches', 'merge_not_found') },
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const survivor = await findByExternalId(db, tenant.retailerId, request.params.survivor_external_id);
      if (!survivor) throw memberNotFound();
      return { status: 'ok' as const, merge_account: renderMerge(await findMerge(db, tenant.retailerId, survivor.id, request.params.merge_id), request.params.survivor_external_id) };
    },
  );
};
