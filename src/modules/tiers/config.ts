import type { Db } from '../../db/index.js';
import { toDecimal, type Amount } from '../points/amount.js';
import { tierSystemsCache } from './service.js';

export interface TierSystemConfig {
  id: string;
  name: string;
  period_days?: number;
  levels: { id: string; name: string; rank: number; thresholds?: { point_account_id: string; points: Amount }[] }[];
}

/** Program apply: makes the retailer's tier systems and levels match; the ones not listed are retired. */
export async function applyTierConfig(tx: Db, retailerId: string, systems: TierSystemConfig[]): Promise<void> {
  tierSystemsCache.invalidate(retailerId);
  const now = new Date();
  for (const s of systems) {
    const systemId = s.id.toLowerCase();
    const values = { name: s.name, period_days: s.period_days ?? null, retired_at: null };
    await tx.insertInto('tier_systems').values({ retailer_id: retailerId, id: systemId, ...values }).onConflict((oc) => oc.columns(['retailer_id', 'id']).doUpdateSet(values)).execute();
    for (const l of s.levels) {
      const level = {
        tier_system_id: systemId,
        name: l.name,
        rank: l.rank,
        thresholds: JSON.stringify((l.thresholds ?? []).map((t) => ({ point_account_id: t.point_account_id.toLowerCase(), points: toDecimal(t.points) }))),
        retired_at: null,
      };
      await tx.insertInto('tier_levels').values({ retailer_id: retailerId, id: l.id.toLowerCase(), ...level }).onConflict((oc) => oc.columns(['retailer_id', 'id']).doUpdateSet(level)).execute();
    }
    let retireLevels = tx.updateTable('tier_levels').set({ retired_at: now }).where('retailer_id', '=', retailerId).where('tier_system_id', '=', systemId).where('retired_at', 'is', null);
    if (s.levels.length) retireLevels = retireLevels.where('id', 'not in', s.levels.map((l) => l.id.toLowerCase()));
    await retireLevels.execute();
  }
  let retire = tx.updateTable('tier_systems').set({ retired_at: now }).where('retailer_id', '=', retailerId).where('retired_at', 'is', null);
  if (systems.length) retire = retire.where('id', 'not in', systems.map((s) => s.id.toLowerCase()));
  await retire.execute();
}

/**
 * The retailer's tier levels as a program apply checks names against: read in
 * its transaction, not through the cache, since the same program may have
 * written them there.
 */
export function programTierLevels(tx: Db, retailerId: string): Promise<{ id: string; tier_system_id: string }[]> {
  return tx.selectFrom('tier_levels').select(['id', 'tier_system_id']).where('retailer_id', '=', retailerId).where('retired_at', 'is', null).execute();
}
