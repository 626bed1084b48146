// Simulations (flows/simulate.ts) rewind a member to an instant in a sandbox and replay what came after.
import type { Db } from '../../db/index.js';

/** Puts the member back on the level it held in a tier system (none: not placed in it). */
export async function rewindTier(tx: Db, retailerId: string, memberId: string, tierSystemId: string, levelId: string | null): Promise<void> {
  if (levelId === null) await tx.deleteFrom('member_tiers').where('retailer_id', '=', retailerId).where('member_id', '=', memberId).where('tier_system_id', '=', tierSystemId).execute();
  else await tx.updateTable('member_tiers').set({ tier_level_id: levelId }).where('retailer_id', '=', retailerId).where('member_id', '=', memberId).where('tier_system_id', '=', tierSystemId).execute();
}
