import { Type, type FastifyPluginAsyncTypebox, type Static } from '@fastify/type-provider-typebox';
import type { Db } from '../../db/index.js';
import { moveMemberToLevel, qualifyMember } from '../../flows/points.js';
import { ZERO, toJson } from '../../modules/points/amount.js';
import { listPointAccounts } from '../../modules/points/accounts.js';
import { memberBalances } from '../../modules/points/queries.js';
import type { Member } from '../../modules/members/service.js';
import { listTierSystems, memberTiers, qualifyingPoints, type TierChange, type TierLevel, type TierSystem } from '../../modules/tiers/service.js';
import { DomainError } from '../../errors.js';
import { toErrorAnswer } from '../errors.js';
import { actorOf } from '../context.js';
import { fails, Nullable, Obj } from '../contract.js';
import { ConnectBase, isoTime, memberOf, ok } from './common.js';
import { renderBalances } from './points.js';
import { connectAnswer, ConnectMemberTierLevel, ConnectTierDetails, ItemError, ItemStatus } from './schemas.js';
import { Id, Opt } from '../inputs.js';


const overview = (system: TierSystem, level: TierLevel) => ({ id: level.id, tier_system_id: system.id, name: level.name, rank: level.rank, status: 'active' });

/**
 * The member's level in each tier system it has been placed in, with the next
 * level and the points still needed (tier_status, and tier_details of 1.1.3).
 */
export async function tierDetails(db: Db, member: Member, options: { progress?: boolean; overview?: boolean; balances?: boolean }): Promise<Static<typeof ConnectTierDetails>> {
  const systems = await listTierSystems(db, member.retailer_id);
  const placements = await memberTiers(db, member.retailer_id, member.id);
  const accounts = new Map((await listPointAccounts(db, member.retailer_id)).map((a) => [a.id, a.name]));
  const tier_levels: Static<typeof ConnectMemberTierLevel>[] = [];
  for (const placement of placements) {
    const system = systems.find((s) => s.id === placement.tier_system_id);
    if (!system) continue;
    const level = system.levels.find((l) => l.id === placement.tier_level_id);
    const next = system.levels.find((l) => l.rank > (level?.rank ?? -Infinity));
    const points = options.progress !== false ? await qualifyingPoints(db, member.retailer_id, member.id, system) : new Map();
    tier_levels.push({
      id: placement.id,
      tier_system_id: system.id,
      tier_system_name: system.name,
      tier_level_id: placement.tier_level_id,
      user_id: member.id,
      join_date: isoTime(placement.join_date),
      next_maintenance_eval_date: placement.next_maintenance_eval_date ? isoTime(placement.next_maintenance_eval_date) : null,
      tier_overview: level ? overview(system, level) : null,
      next_tier_overview: next ? overview(system, next) : null,
      ...(options.progress !== false
        ? {
            tier_progress: (next?.thresholds ?? []).map((t) => {
              const current = points.get(t.point_account_id) ?? ZERO;
              return {
                point_account_id: t.point_account_id,
                account_name: accounts.get(t.point_account_id) ?? null,
                current_balance: toJson(current),
                target_balance: toJson(t.points),
                points_needed: toJson(current >= t.points ? ZERO : t.points - current),
              };
            }),
          }
        : {}),
      ...(options.overview ? { tier_system_overview: system.levels.map((l) => overview(system, l)) } : {}),
    });
  }
  return {
    tier_levels,
    ...(options.balances !== false ? { point_account_balances: renderBalances(member.retailer_id, member.id, await memberBalances(db, member.retailer_id, member.id)) } : {}),
  };
}

const TierChangeFields = {
  user_id: Type.String({ description: "the member's id; in a list, the user_id sent" }),
  tier_system_id: Type.String(),
  previous_tier_level_id: Nullable(Type.String({ description: 'null when the member was not placed in the system before' })),
  tier_level_id: Type.String({ description: 'the level the member is at now' }),
  tier_level_name: Type.String(),
  changed: Type.Boolean({ description: 'whether the member changed level' }),
};
const QualifyingResult = Obj({
  ...TierChangeFields,
  tier_system_id: Nullable(Type.String({ description: 'null on a failed member when no tier_system_id was given' })),
  previous_tier_level_id: Type.Optional(TierChangeFields.previous_tier_level_id),
  tier_level_id: Type.Optional(TierChangeFields.tier_level_id),
  tier_level_name: Type.Optional(TierChangeFields.tier_level_name),
  changed: Type.Optional(TierChangeFields.changed),
  status: ItemStatus,
  errors: Nullable({ ...ItemError, description: 'why the member could not be evaluated; null when it was' }),
});

const renderChange = (userId: string, change: TierChange) => ({
  user_id: userId,
  tier_system_id: change.tier_system_id,
  previous_tier_level_id: change.from?.id ?? null,
  tier_level_id: change.to.id,
  tier_level_name: change.to.name,
  changed: change.changed,
});

/** /incentives/api/1.0/user_tiers and /movement (collection 4.1.x). */
export const tierRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  const tags = ['Connect: tiers'];

  app.post(
    '/1.0/user_tiers/tier_status',
    {
      schema: {
        summary: "A member's tier levels, next levels and progress (4.1.1)",
        tags,
        description:
          "The member's level in each tier system it is placed in, with the next level and, unless include_progress is false, the points each of its thresholds still needs; " +
          "every level of the system with include_tier_overview; the member's point balances unless include_point_account_balances is false. Changes nothing.",
        body: Type.Object({ ...ConnectBase, user_id: Id, include_progress: Opt(Type.Boolean()), include_tier_overview: Opt(Type.Boolean()), include_point_account_balances: Opt(Type.Boolean()) }),
        response: { 200: connectAnswer(ConnectTierDetails), ...fails('not_found', 'user_not_found', 'multiple_matches') },
      },
    },
    async (request) => {
      const b = request.body;
      const member = await memberOf(db, request, b.user_id);
      return ok(await tierDetails(db, member, { progress: b.include_progress, overview: b.include_tier_overview, balances: b.include_point_account_balances }));
    },
  );

  app.post(
    '/1.0/movement/qualifying',
    {
      schema: {
        summary: 'Evaluate qualifying rules for one member, or maintenance for a list in one tier system (4.1.2, 4.1.4)',
        tags,
        description:
          'Raises the member to the level its qualifying points reach in each tier system (or in tier_system_id), placing it in a system it is not in yet; ' +
          'a member never drops here but at its maintenance date, when it moves to the level its points then reach and its next period starts. ' +
          'With user_ids each member is evaluated in its own transaction and a failure is answered in its result, under the id sent.',
        body: Type.Object({ ...ConnectBase, user_id: Opt(Id), user_ids: Opt(Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 1000 })), tier_system_id: Opt(Id) }),
        response: { 200: connectAnswer(Obj({ results: Type.Array(QualifyingResult, { description: 'one per tier system evaluated, per member' }) })), ...fails('not_found', 'user_not_found', 'multiple_matches') },
      },
    },
    async (request) => {
      const b = request.body;
      const actor = actorOf(request);
      if (b.user_id && !b.user_ids) {
        const member = await memberOf(db, request, b.user_id);
        const changes = await qualifyMember(db, actor, member.id, b.tier_system_id);
        const results: Static<typeof QualifyingResult>[] = changes.map((c) => ({ ...renderChange(member.id, c), status: 'ok', errors: null }));
        return ok({ results });
      }
      if (!b.user_ids) throw new DomainError('missing_data', 'user_id: give user_id, or tier_system_id and user_ids', 'user_id');
      const results: Static<typeof QualifyingResult>[] = [];
      for (const userId of b.user_ids) {
        try {
          // a member id or an external id, like every Connect user_id (SPEC §4); anything else is user_not_found
          const member = await memberOf(db, request, userId);
          // answered under the id sent, as the failures are (and as the spend batch answers)
          for (const change of await qualifyMember(db, actor, member.id, b.tier_system_id)) results.push({ ...renderChange(userId, change), status: 'ok', errors: null });
        } catch (err) {
          const answer = toErrorAnswer(err);
          if (answer.status >= 500) throw err;
          results.push({ user_id: userId, tier_system_id: b.tier_system_id ?? null, status: 'error', errors: { code: answer.code, message: answer.message } });
        }
      }
      return ok({ results });
    },
  );

  app.post(
    '/1.0/movement/move_user',
    {
      schema: {
        summary: 'Move a member to a tier level (4.1.3)',
        tags,
        description:
          'Places the member at the level by hand (a CHANGE_TIER_MANUAL timeline entry), up or down, whatever its points; ' +
          'process_intermediate_levels records every level passed on the way (TIER_TRANSIT), and evaluate_qualifying_rules then raises the member further if its points qualify for more.',
        body: Type.Object({ ...ConnectBase, user_id: Id, tier_system_id: Id, tier_level_id: Id, process_intermediate_levels: Opt(Type.Boolean()), evaluate_qualifying_rules: Opt(Type.Boolean()) }),
        response: { 200: connectAnswer(Obj(TierChangeFields)), ...fails('not_found', 'user_not_found', 'multiple_matches') },
      },
    },
    async (request) => {
      const b = request.body;
      const member = await memberOf(db, request, b.user_id);
      const change = await moveMemberToLevel(db, actorOf(request), member.id, b.tier_system_id, b.tier_level_id, {
        processIntermediateLevels: b.process_intermediate_levels,
        evaluateQualifyingRules: b.evaluate_qualifying_rules,
      });
      return ok(renderChange(member.id, change));
    },
  );
};
