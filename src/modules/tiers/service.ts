import { randomUUID } from 'node:crypto';
import { ConfigCache } from '../../lib/config-cache.js';
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';
import { subjectOf, type Actor, type MemberSummary } from '../members/service.js';
import { recordDomainEvent } from '../outbox/service.js';
import { recordTimeline, type TimelineEntry } from '../timeline/service.js';
import { ZERO, fromDb, type Amount } from '../points/amount.js';
import { memberLifetimePoints, memberLifetimePointsJson, pointsDepositedAfter } from '../points/queries.js';

export interface Threshold {
  point_account_id: string;
  points: Amount;
}

export interface TierLevel {
  id: string;
  tier_system_id: string;
  name: string;
  rank: number;
  /** All must be met to qualify; the start level has none. */
  thresholds: Threshold[];
}

export interface TierSystem {
  id: string;
  name: string;
  /** Points count within this many days; null: lifetime. Members are re-evaluated (and may drop) when a period ends. */
  period_days: number | null;
  /** By rank, lowest (the start level) first. */
  levels: TierLevel[];
}

export interface MemberTier {
  id: string;
  tier_system_id: string;
  tier_level_id: string;
  join_date: Date;
  next_maintenance_eval_date: Date | null;
}

export const tierSystemsCache = new ConfigCache<TierSystem[]>();

export function listTierSystems(db: Db, retailerId: string): Promise<TierSystem[]> {
  return tierSystemsCache.get(retailerId, () => loadTierSystems(db, retailerId));
}

async function loadTierSystems(db: Db, retailerId: string): Promise<TierSystem[]> {
  const systems = await db.selectFrom('tier_systems').select(['id', 'name', 'period_days']).where('retailer_id', '=', retailerId).where('retired_at', 'is', null).orderBy('name').execute();
  if (!systems.length) return [];
  const levels = await db
    .selectFrom('tier_levels')
    .select(['id', 'tier_system_id', 'name', 'rank', 'thresholds'])
    .where('retailer_id', '=', retailerId)
    .where('retired_at', 'is', null)
    .orderBy('rank')
    .execute();
  return systems.map((s) => ({
    ...s,
    levels: levels
      .filter((l) => l.tier_system_id === s.id)
      .map((l) => ({ ...l, thresholds: l.thresholds.map((t) => ({ point_account_id: t.point_account_id, points: fromDb(t.points) })) })),
  }));
}

export async function findTierSystem(db: Db, retailerId: string, id: string): Promise<TierSystem> {
  const system = (await listTierSystems(db, retailerId)).find((s) => s.id === id.toLowerCase());
  if (!system) throw new DomainError('not_found', `tier_system_id: tier system ${id} not found`, 'tier_system_id');
  return system;
}

export async function memberTiers(db: Db, retailerId: string, memberId: string): Promise<MemberTier[]> {
  return db
    .selectFrom('member_tiers')
    .select(['id', 'tier_system_id', 'tier_level_id', 'join_date', 'next_maintenance_eval_date'])
    .where('retailer_id', '=', retailerId)
    .where('member_id', '=', memberId)
    .execute();
}

/** The member's qualifying points per account of the system's thresholds. */
export async function qualifyingPoints(db: Db, retailerId: string, memberId: string, system: TierSystem, now = new Date()): Promise<Map<string, Amount>> {
  const accountIds = [...new Set(system.levels.flatMap((l) => l.thresholds.map((t) => t.point_account_id)))];
  const points = new Map<string, Amount>(accountIds.map((id) => [id, ZERO]));
  if (!accountIds.length) return points;
  const counted =
    system.period_days === null
      ? await memberLifetimePoints(db, retailerId, memberId, accountIds)
      : await pointsDepositedAfter(db, retailerId, memberId, accountIds, new Date(now.getTime() - system.period_days * 86_400_000));
  for (const [account, value] of counted) points.set(account, value);
  return points;
}

/** What evaluating a member in tier systems reads (tierFacts). */
export interface TierFacts {
  tiers: MemberTier[];
  /** Lifetime points of the accounts the systems' thresholds name. */
  lifetime: Map<string, Amount>;
}

const thresholdAccounts = (system: TierSystem) => [...new Set(system.levels.flatMap((l) => l.thresholds.map((t) => t.point_account_id)))];

function lifetimePoints(system: TierSystem, lifetime: Map<string, Amount>): Map<string, Amount> {
  return new Map(thresholdAccounts(system).map((id) => [id, lifetime.get(id) ?? ZERO]));
}

/** The member's placements and the lifetime points of the systems' threshold accounts, in one statement. */
export async function tierFacts(db: Db, retailerId: string, memberId: string, systems: TierSystem[]): Promise<TierFacts> {
  const { rows } = await tierFactsQuery(retailerId, memberId, systems).execute(db);
  return tierFactsOf(rows[0]);
}

interface TierFactsRow {
  tiers: { id: string; tier_system_id: string; tier_level_id: string; join_date: string; next_maintenance_eval_date: string | null }[];
  lifetime: { point_account_id: string; value: string }[];
}

/** The SELECT of tierFacts, for a caller that sends it with its own writes (read it with tierFactsOf). */
export function tierFactsQuery(retailerId: string, memberId: string, systems: TierSystem[]) {
  const accounts = [...new Set(systems.filter((s) => s.period_days === null).flatMap(thresholdAccounts))];
  return sql<TierFactsRow>`
    SELECT (SELECT coalesce(json_agg(json_build_object('id', id, 'tier_system_id', tier_system_id, 'tier_level_id', tier_level_id, 'join_date', join_date, 'next_maintenance_eval_date', next_maintenance_eval_date)), '[]'::json)
              FROM member_tiers WHERE retailer_id = ${retailerId} AND member_id = ${memberId}) AS tiers,
           ${memberLifetimePointsJson(retailerId, memberId, accounts)} AS lifetime`;
}

export function tierFactsOf(row: object): TierFacts {
  const { tiers, lifetime } = row as unknown as TierFactsRow;
  return {
    tiers: tiers.map((t) => ({ ...t, join_date: new Date(t.join_date), next_maintenance_eval_date: t.next_maintenance_eval_date === null ? null : new Date(t.next_maintenance_eval_date) })),
    lifetime: new Map(lifetime.map((r) => [r.point_account_id, fromDb(r.value)])),
  };
}

/**
 * Evaluates the member in each of `systems` (in order), reading what they
 * need once (or given them): a system's evaluation writes only its own placement.
 */
export async function evaluateTierSystems(
  tx: Db,
  actor: Actor,
  member: MemberSummary,
  systems: TierSystem[],
  mode: EvaluationMode,
  now = new Date(),
  given?: TierFacts,
): Promise<TierChange[]> {
  if (!systems.length) return [];
  const known = given ?? (await tierFacts(tx, actor.retailerId, member.id, systems));
  const changes: TierChange[] = [];
  for (const system of systems) changes.push(await evaluateTier(tx, actor, member, system, mode, now, known));
  return changes;
}

/** The highest level whose thresholds the points meet. */
export function qualifiedLevel(system: TierSystem, points: Map<string, Amount>): TierLevel {
  let best = system.levels[0];
  for (const level of system.levels) {
    if (level.thresholds.every((t) => (points.get(t.point_account_id) ?? ZERO) >= t.points)) best = level;
  }
  return best;
}

export type EvaluationMode =
  /** After a deposit or a manual move: only ever up. */
  | 'promote'
  /**
   * Qualifying and maintenance: up at any time; down (maintenance) only once
   * the member's period has ended (next_maintenance_eval_date passed), so a
   * level earned or given by hand holds for its period.
   */
  | 'qualify';

export interface TierChange {
  tier_system_id: string;
  from: TierLevel | null;
  to: TierLevel;
  changed: boolean;
}

/**
 * Places the member at the level its points qualify for, in the caller's
 * transaction (the caller holds the member's lock). A member is placed in a
 * system on its first evaluation.
 */
export async function evaluateTier(tx: Db, actor: Actor, member: MemberSummary, system: TierSystem, mode: EvaluationMode, now = new Date(), known?: TierFacts): Promise<TierChange> {
  if (!system.levels.length) throw new DomainError('validation', `tier system ${system.id} has no levels`);
  const current = (known?.tiers ?? (await memberTiers(tx, actor.retailerId, member.id))).find((t) => t.tier_system_id === system.id);
  const from = current ? system.levels.find((l) => l.id === current.tier_level_id) ?? system.levels[0] : null;
  const points = known && system.period_days === null ? lifetimePoints(system, known.lifetime) : await qualifyingPoints(tx, actor.retailerId, member.id, system, now);
  const target = qualifiedLevel(system, points);
  const maintenanceDue = mode === 'qualify' && !!current?.next_maintenance_eval_date && current.next_maintenance_eval_date.getTime() <= now.getTime();
  let to = target;
  if (from && (maintenanceDue ? target.id === from.id : target.rank <= from.rank)) to = from;
  const changed = !from || to.id !== from.id;
  const dueDate = system.period_days === null ? null : new Date(now.getTime() + system.period_days * 86_400_000);
  if (changed) {
    await placeMember(tx, actor, member, system, to, now, dueDate);
    tierChanged(tx, actor, member, system, from, to, mode, now);
  } else if (maintenanceDue && current) {
    // maintained: the next period starts
    await tx.updateTable('member_tiers').set({ next_maintenance_eval_date: dueDate, updated_at: now }).where('retailer_id', '=', actor.retailerId).where('id', '=', current.id).execute();
  }
  if (changed && (from || to.rank > system.levels[0].rank)) {
    const up = !from || to.rank > from.rank;
    await recordTimeline(tx, subjectOf(actor, member), [tierEntry(actor, up ? 'TIER_ADVANCED' : 'TIER_RESET', system, from, to, now)]);
  }
  return { tier_system_id: system.id, from, to, changed };
}

/**
 * Moves the member to a level by hand (CHANGE_TIER_MANUAL); with
 * `processIntermediateLevels` every level passed on the way is recorded
 * (TIER_TRANSIT); with `evaluateQualifyingRules` the member then rises further
 * if its points qualify for more.
 */
export async function moveMember(
  tx: Db,
  actor: Actor,
  member: MemberSummary,
  system: TierSystem,
  levelId: string,
  options: { processIntermediateLevels?: boolean; evaluateQualifyingRules?: boolean },
  now = new Date(),
): Promise<TierChange> {
  const to = system.levels.find((l) => l.id === levelId.toLowerCase());
  if (!to) throw new DomainError('not_found', `tier_level_id: level ${levelId} is not in tier system ${system.id}`, 'tier_level_id');
  const current = (await memberTiers(tx, actor.retailerId, member.id)).find((t) => t.tier_system_id === system.id);
  const from = current ? system.levels.find((l) => l.id === current.tier_level_id) ?? null : null;
  const entries: TimelineEntry[] = [];
  if (options.processIntermediateLevels) {
    // a member not placed yet stands at the start level
    const fromRank = from?.rank ?? system.levels[0].rank;
    const [low, high] = fromRank < to.rank ? [fromRank, to.rank] : [to.rank, fromRank];
    const passed = system.levels.filter((l) => l.rank > low && l.rank < high);
    if (fromRank > to.rank) passed.reverse();
    let previous = from;
    for (const level of passed) {
      entries.push(tierEntry(actor, 'TIER_TRANSIT', system, previous, level, now));
      previous = level;
    }
  }
  entries.push(tierEntry(actor, 'CHANGE_TIER_MANUAL', system, from, to, now));
  await placeMember(tx, actor, member, system, to, now, system.period_days === null ? null : new Date(now.getTime() + system.period_days * 86_400_000));
  await recordTimeline(tx, subjectOf(actor, member), entries);
  if (from?.id !== to.id) tierChanged(tx, actor, member, system, from, to, 'manual', now);
  const moved: TierChange = { tier_system_id: system.id, from, to, changed: from?.id !== to.id };
  if (!options.evaluateQualifyingRules) return moved;
  const after = await evaluateTier(tx, actor, member, system, 'promote', now);
  return { ...moved, to: after.to, changed: moved.changed || after.changed };
}

/** tier.changed: the member's level in a tier system, before and after. */
function tierChanged(tx: Db, actor: Actor, member: MemberSummary, system: TierSystem, from: TierLevel | null, to: TierLevel, reason: string, now: Date): void {
  const direction = !from || to.rank > from.rank ? 'up' : to.rank < from.rank ? 'down' : 'same';
  recordDomainEvent(tx, {
    type: 'tier.changed',
    retailerId: actor.retailerId,
    memberId: member.id,
    occurredAt: now,
    payload: { tier_system_id: system.id, from_tier_level_id: from?.id ?? null, to_tier_level_id: to.id, direction, reason },
  });
}

async function placeMember(tx: Db, actor: Actor, member: MemberSummary, system: TierSystem, level: TierLevel, now: Date, dueDate: Date | null) {
  await tx
    .insertInto('member_tiers')
    .values({ retailer_id: actor.retailerId, member_id: member.id, tier_system_id: system.id, id: randomUUID(), tier_level_id: level.id, join_date: now, next_maintenance_eval_date: dueDate, updated_at: now })
    .onConflict((oc) => oc.columns(['retailer_id', 'member_id', 'tier_system_id']).doUpdateSet({ tier_level_id: level.id, join_date: now, next_maintenance_eval_date: dueDate, updated_at: now }))
    .execute();
}

function tierEntry(actor: Actor, type: 'TIER_ADVANCED' | 'TIER_RESET' | 'TIER_TRANSIT' | 'CHANGE_TIER_MANUAL', system: TierSystem, from: TierLevel | null, to: TierLevel, now: Date): TimelineEntry {
  return {
    type,
    requestId: actor.requestId,
    occurredAt: now,
    payload: {
      tier_system_id: system.id,
      tier_system_name: system.name,
      from_tier_level_id: from?.id ?? null,
      from_tier_level_name: from?.name ?? null,
      to_tier_level_id: to.id,
      to_tier_level_name: to.name,
    },
  };
}

/** Members of the retailer whose maintenance period has ended (for the worker). */
export async function membersDueForMaintenance(db: Db, now: Date, limit: number) {
  return db
    .selectFrom('member_tiers')
    .select(['retailer_id', 'member_id', 'tier_system_id'])
    .where('next_maintenance_eval_date', '<=', now)
    .orderBy('next_maintenance_eval_date')
    .limit(limit)
    .execute();
}

/** Stops maintaining a member's placement in a tier system (a closed account or a retired system): it is no longer due. */
export async function stopMaintenance(tx: Db, retailerId: string, memberId: string, tierSystemId: string): Promise<void> {
  await tx
    .updateTable('member_tiers')
    .set({ next_maintenance_eval_date: null })
    .where('retailer_id', '=', retailerId)
    .where('member_id', '=', memberId)
    .where('tier_system_id', '=', tierSystemId)
    .execute();
}


/** How far a member is from the level above its own: the threshold it is furthest from meeting, and its qualifying points toward it. */
export interface NextLevelProgress {
  level: TierLevel;
  /** null: the level names no threshold (the member qualifies at its next evaluation). */
  point_account_id: string | null;
  threshold: Amount;
  current: Amount;
}

/**
 * The level ranked next above `levelId` in the system and the member's
 * progress toward it, as qualifying counts it (qualifyingPoints: the
 * account's lifetime points, or for a system with a period those deposited
 * within it); of several thresholds (all must be met), the one least met.
 * Undefined at the top level or for a level the system no longer has.
 */
export async function nextLevelProgress(db: Db, retailerId: string, memberId: string, system: TierSystem, levelId: string, now = new Date()): Promise<NextLevelProgress | undefined> {
  const level = system.levels.find((l) => l.id === levelId);
  const next = level && system.levels.find((l) => l.rank > level.rank);
  if (!next) return undefined;
  if (!next.thresholds.length) return { level: next, point_account_id: null, threshold: ZERO, current: ZERO };
  const points = await qualifyingPoints(db, retailerId, memberId, system, now);
  const progress = next.thresholds.map((t) => ({ point_account_id: t.point_account_id, threshold: t.points, current: points.get(t.point_account_id) ?? ZERO }));
  // the least met: the smallest current/threshold, compared without division (a zero threshold is met)
  const share = (p: (typeof progress)[number]) => (p.threshold <= ZERO ? [1n, 1n] : [p.current < ZERO ? ZERO : p.current, p.threshold]);
  const least = progress.reduce((a, b) => {
    const [an, ad] = share(a);
    const [bn, bd] = share(b);
    return bn * ad < an * bd ? b : a;
  });
  return { level: next, ...least };
}
