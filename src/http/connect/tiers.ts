import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
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
import { checkRetailer, ConnectBase, isoTime, memberOf } from './common.js';
import { renderBalances } from './points.js';

const Opt = Type.Optional;
const Id = Type.String({ minLength: 1, maxLength: 64 });

const overview = (system: TierSystem, level: TierLevel | undefined) =>
  level ? { id: level.id, tier_system_id: system.id, name: level.name, rank: level.rank, status: 'active' } : null;

/**
 * The member's level in each tier system it has been placed in, with the next
 * level and the points still needed (tier_status, and tier_details of 1.1.3).
 */
export async function tierDetails(db: Db, member: Member, options: { progress?: boolean; overview?: boolean; balances?: boolean }) {
  const systems = await listTierSystems(db, member.retailer_id);
  const placements = await memberTiers(db, member.retailer_id, member.id);
  const accounts = new Map((await listPointAccounts(db, member.retailer_id)).map((a) => [a.id, a.name]));
  const tier_levels = [];
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
      tier_overview: overview(system, level),
      next_tier_overview: overview(system, next),
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
        body: Type.Object({ ...ConnectBase, user_id: Id, include_progress: Opt(Type.Boolean()), include_tier_overview: Opt(Type.Boolean()), include_point_account_balances: Opt(Type.Boolean()) }),
      },
    },
    async (request) => {
      const b = request.body;
      checkRetailer(request, b.retailer_id);
      const member = await memberOf(db, request, b.user_id);
      return { status: 'ok', payload: await tierDetails(db, member, { progress: b.include_progress, overview: b.include_tier_overview, balances: b.include_point_account_balances }) };
    },
  );

  app.post(
    '/1.0/movement/qualifying',
    {
      schema: {
        summary: 'Evaluate qualifying rules for one member, or maintenance for a list in one tier system (4.1.2, 4.1.4)',
        tags,
        body: Type.Object({ ...ConnectBase, user_id: Opt(Id), user_ids: Opt(Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 1000 })), tier_system_id: Opt(Id) }),
      },
    },
    async (request) => {
      const b = request.body;
      checkRetailer(request, b.retailer_id);
      const actor = actorOf(request);
      if (b.user_id && !b.user_ids) {
        const member = await memberOf(db, request, b.user_id);
        const changes = await qualifyMember(db, actor, member.id, b.tier_system_id);
        return { status: 'ok', payload: { results: changes.map((c) => ({ ...renderChange(member.id, c), status: 'ok', errors: null })) } };
      }
      if (!b.user_ids) throw new DomainError('missing_data', 'user_id: give user_id, or tier_system_id and user_ids', 'user_id');
      const results = [];
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
      return { status: 'ok', payload: { results } };
    },
  );

  app.post(
    '/1.0/movement/move_user',
    {
      schema: {
        summary: 'Move a member to a tier level (4.1.3)',
        tags,
        body: Type.Object({ ...ConnectBase, user_id: Id, tier_system_id: Id, tier_level_id: Id, process_intermediate_levels: Opt(Type.Boolean()), evaluate_qualifying_rules: Opt(Type.Boolean()) }),
      },
    },
    async (request) => {
      const b = request.body;
      checkRetailer(request, b.retailer_id);
      const member = await memberOf(db, request, b.user_id);
      const change = await moveMemberToLevel(db, actorOf(request), member.id, b.tier_system_id, b.tier_level_id, {
        processIntermediateLevels: b.process_intermediate_levels,
        evaluateQualifyingRules: b.evaluate_qualifying_rules,
      });
      return { status: 'ok', payload: renderChange(member.id, change) };
    },
  );
};
