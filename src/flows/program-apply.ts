/**
 * Program apply: the retailer's configuration made to match a program
 * document, each section by the module that owns it (stores, custom
 * attributes, point accounts and sources, offers, reward stores, campaigns,
 * tier systems, rules), in one transaction.
 */
import type { Db } from '../db/index.js';
import { transact } from '../db/unit-of-work.js';
import { describeWrite } from '../db/write-context.js';
import { applyCampaignConfig } from '../modules/campaigns/index.js';
import { applyOfferConfig, OFFER_ACTIVE } from '../modules/offers/catalog.js';
import { applyPointConfig } from '../modules/points/accounts.js';
import { parseAmount, toDecimal } from '../modules/points/amount.js';
import { withTimeZone } from '../modules/points/expiry.js';
import { applyCustomAttributes } from '../modules/program/custom-attributes.js';
import { diffPrograms, type ProgramDiff } from '../modules/program/diff.js';
import { exportProgram, type Program } from '../modules/program/service.js';
import { applyRewardStoreConfig } from '../modules/reward-stores/config.js';
import { applyRuleConfig } from '../modules/rules/config.js';
import { applyRetailer, applyStores, findRetailer } from '../modules/tenants/service.js';
import { applyTierConfig } from '../modules/tiers/config.js';

/**
 * Applies a program document in a transaction of its own, with `also` (the
 * CLI issues a new retailer's first credentials in it); answers the
 * configuration after, what applying changed, and what `also` answered.
 */
export async function applyProgramDocument<T = undefined>(
  db: Db,
  retailerId: string,
  program: Program,
  also?: (tx: Db, applied: { createdRetailer: boolean }) => Promise<T>,
): Promise<{ createdRetailer: boolean; program: Program; diff: ProgramDiff; also: T | undefined }> {
  const { createdRetailer, before, extra } = await transact(db, async (tx) => {
    const before = await currentProgram(tx, retailerId);
    const applied = await applyProgram(tx, retailerId, program);
    describeWrite(tx, { retailerId, objectId: retailerId, before, after: program });
    return { ...applied, before, extra: also ? await also(tx, applied) : undefined };
  });
  const after = await exportProgram(db, retailerId);
  return { createdRetailer, program: after, diff: diffPrograms(before, after), also: extra };
}

/**
 * Makes the retailer's configuration match the program, in the caller's
 * transaction; creates the retailer when it does not exist yet. Applying the
 * same program again changes nothing.
 */
export async function applyProgram(tx: Db, retailerId: string, program: Program): Promise<{ createdRetailer: boolean }> {
  const { created } = await applyRetailer(tx, retailerId, program.retailer?.name, program.retailer);
  if (program.stores) {
    await applyStores(tx, retailerId, program.stores.map((s) => ({ id: s.id, name: s.name, external_id: s.external_id ?? null, time_zone: s.time_zone ?? null })));
  }
  if (program.custom_attributes) await applyCustomAttributes(tx, retailerId, program.custom_attributes);
  if (program.point_accounts || program.point_sources) {
    await applyPointConfig(
      tx,
      retailerId,
      program.point_accounts?.map(({ maximum_balance, expiry, ...a }) => ({
        ...a,
        maximum_balance: maximum_balance === undefined ? undefined : parseAmount(maximum_balance),
        expiry: withTimeZone(expiry, program.retailer?.time_zone),
      })),
      program.point_sources?.map((s) => ({ id: s.id, name: s.name, account_ids: s.point_account_ids ?? [] })),
    );
  }
  if (program.offers) {
    await applyOfferConfig(
      tx,
      retailerId,
      program.offers.map((o) => ({
        ...o,
        status: o.status === 'inactive' ? 0 : OFFER_ACTIVE,
        amount: o.amount === undefined ? undefined : toDecimal(parseAmount(o.amount)),
        points: o.points === undefined ? undefined : toDecimal(parseAmount(o.points)),
        monetary_value: o.monetary_value === undefined ? undefined : toDecimal(parseAmount(o.monetary_value)),
        restrictions: o.restrictions && {
          ...o.restrictions,
          redemption: o.restrictions.redemption && { minimum_subtotal: o.restrictions.redemption.minimum_subtotal === undefined ? undefined : toDecimal(parseAmount(o.restrictions.redemption.minimum_subtotal)) },
        },
      })),
    );
  }
  if (program.reward_stores) await applyRewardStoreConfig(tx, retailerId, program.reward_stores);
  if (program.campaigns) await applyCampaignConfig(tx, retailerId, program.campaigns);
  if (program.tier_systems) {
    await applyTierConfig(
      tx,
      retailerId,
      program.tier_systems.map((t) => ({
        ...t,
        levels: t.levels.map((l) => ({ ...l, thresholds: (l.thresholds ?? []).map((th) => ({ point_account_id: th.point_account_id, points: parseAmount(th.points) })) })),
      })),
    );
  }
  if (program.rules) await applyRuleConfig(tx, retailerId, program.rules);
  return { createdRetailer: created };
}

/** The retailer's configuration as a program, or an empty one for a retailer not created yet. */
export async function currentProgram(db: Db, retailerId: string): Promise<Program> {
  return (await findRetailer(db, retailerId)) ? exportProgram(db, retailerId) : {};
}
