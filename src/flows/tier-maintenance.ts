import type { Db } from '../db/index.js';
import { lockMember } from '../modules/members/service.js';
import { findRetailer } from '../modules/tenants/service.js';
import { evaluateTier, listTierSystems, membersDueForMaintenance, stopMaintenance } from '../modules/tiers/service.js';

/**
 * Tier maintenance (the worker): members whose period has ended are
 * re-evaluated and drop to the level their points in the period qualify for.
 * Handles at most `limit` members per call, in the caller's transaction.
 */
export async function runTierMaintenance(tx: Db, now = new Date(), limit = 100): Promise<number> {
  const due = await membersDueForMaintenance(tx, now, limit);
  for (const placement of due) {
    const retailer = await findRetailer(tx, placement.retailer_id);
    const member = retailer && (await lockMember(tx, placement.retailer_id, placement.member_id).catch(() => undefined));
    const system = member && (await listTierSystems(tx, placement.retailer_id)).find((s) => s.id === placement.tier_system_id);
    if (!retailer || !member || !system) {
      // a closed account or a retired tier system: nothing to maintain any more
      await stopMaintenance(tx, placement.retailer_id, placement.member_id, placement.tier_system_id);
      continue;
    }
    await evaluateTier(tx, { retailerId: retailer.id, retailerNumber: retailer.number, requestId: 'tier-maintenance' }, member, system, 'qualify', now);
  }
  return due.length;
}
