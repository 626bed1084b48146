import type { Db } from '../../db/index.js';
import { memberState } from '../members/merge.js';
import { createMember, type Actor } from '../members/service.js';
import { mergeMembers } from './service.js';

/** The demo's finished merge (the environment's merge_account_id), read back by 1.2.2. */
export const DEMO_MERGE_ID = '3f9a7c21-5b8e-4d6f-a1c2-7e8d9f0a1b2c';
export const DEMO_SURVIVOR_ID = '5a1e3c2b-7f4d-4e8a-9b6c-1d2e3f4a5b01';
/** A third demo member, merged into the survivor when the demo loads. */
export const DEMO_EARLIER_VICTIM_ID = '5a1e3c2b-7f4d-4e8a-9b6c-1d2e3f4a5b03';
export const DEMO_EARLIER_VICTIM_EXTERNAL_ID = 'BRANDX-VICTIM-000';

/**
 * Creates the finished merge entry DEMO_MERGE_ID: a third demo member merged
 * into the survivor (BRANDX-SURVIVOR-001), in the caller's transaction. Does
 * nothing when the entry exists. The survivor must exist already.
 */
export async function seedDemoMerge(tx: Db, actor: Actor): Promise<void> {
  const existing = await tx.selectFrom('member_merges').select('id').where('retailer_id', '=', actor.retailerId).where('id', '=', DEMO_MERGE_ID).executeTakeFirst();
  if (existing) return;
  if (!(await memberState(tx, actor.retailerId, DEMO_EARLIER_VICTIM_ID))) {
    await createMember(tx, actor, {
      id: DEMO_EARLIER_VICTIM_ID,
      email: 'earlier.account@brandx.example',
      first_name: 'Sam',
      last_name: 'Survivor',
      identifiers: [{ external_id: DEMO_EARLIER_VICTIM_EXTERNAL_ID, external_id_type: 'merchant_identifier' }],
    });
  }
  await mergeMembers(tx, actor, { user_id: DEMO_SURVIVOR_ID }, { user_id: DEMO_EARLIER_VICTIM_ID }, { id: DEMO_MERGE_ID });
}
