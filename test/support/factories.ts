// Program factories: a tenant's point accounts, sources and tier systems in a few lines.
import { transact } from '../../src/db/unit-of-work.js';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db/index.js';
import { applyPointConfig, type PointAccountConfig } from '../../src/modules/points/accounts.js';
import { parseAmount } from '../../src/modules/points/amount.js';
import { applyTierConfig, type TierSystemConfig } from '../../src/modules/tiers/config.js';

export interface PointsProgram {
  /** Spendable, default. */
  spendable: string;
  /** A second default account, after spendable ("oldest first"). */
  bonus: string;
  /** Counts toward tiers, not default. */
  tier: string;
  /** allow_negative. */
  overdraft: string;
  /** maximum_balance 100. */
  capped: string;
  /** A source that may deposit into any account ("API"). */
  source: string;
  /** A source that may deposit only into spendable ("Store"). */
  storeSource: string;
}

/** Five point accounts, a source that may deposit into any of them and one limited to spendable. */
export async function pointsProgram(db: Db, retailerId: string): Promise<PointsProgram> {
  const p: PointsProgram = { spendable: randomUUID(), bonus: randomUUID(), tier: randomUUID(), overdraft: randomUUID(), capped: randomUUID(), source: randomUUID(), storeSource: randomUUID() };
  const accounts: PointAccountConfig[] = [
    { id: p.spendable, name: 'Spendable', grouping_label: 'spend', default: true },
    { id: p.bonus, name: 'Bonus', default: true },
    { id: p.tier, name: 'Tier Points', grouping_label: 'Tier', counts_toward_tiers: true },
    { id: p.overdraft, name: 'Overdraft', allow_negative: true },
    { id: p.capped, name: 'Capped', maximum_balance: parseAmount(100) },
  ];
  const sources = [
    { id: p.source, name: 'API', account_ids: [] },
    { id: p.storeSource, name: 'Store', account_ids: [p.spendable] },
  ];
  await transact(db, (tx) => applyPointConfig(tx, retailerId, accounts, sources));
  return p;
}

export interface TierProgram {
  system: string;
  levels: { base: string; silver: string; gold: string; platinum: string };
  /** What was applied, so a later tierProgram can keep this system alongside its own. */
  config: TierSystemConfig;
}

/**
 * A tier system on the tier account: base 0, silver 100, gold 500, platinum
 * 1000 points (within `periodDays` when given, else lifetime). Applying the
 * program retires the retailer's other tier systems, except those in `alongside`.
 */
export async function tierProgram(db: Db, retailerId: string, tierAccount: string, periodDays?: number, alongside: TierProgram[] = []): Promise<TierProgram> {
  const system = randomUUID();
  const levels = { base: randomUUID(), silver: randomUUID(), gold: randomUUID(), platinum: randomUUID() };
  const level = (id: string, name: string, rank: number, points: number) => ({ id, name, rank, thresholds: points ? [{ point_account_id: tierAccount, points: parseAmount(points) }] : [] });
  const config: TierSystemConfig = {
    id: system,
    name: alongside.length ? `Status ${alongside.length + 1}` : 'Status',
    period_days: periodDays,
    levels: [level(levels.base, 'Base', 0, 0), level(levels.silver, 'Silver', 1, 100), level(levels.gold, 'Gold', 2, 500), level(levels.platinum, 'Platinum', 3, 1000)],
  };
  await transact(db, (tx) => applyTierConfig(tx, retailerId, [...alongside.map((a) => a.config), config]));
  return { system, levels, config };
}

/**
 * Makes `offers` the retailer's offer catalog through the admin API (PUT
 * /admin/tenants/:id/program with only an `offers` section): a changed offer
 * gets a new version, offers not listed are retired. Answers the exported
 * program's offers (current versions).
 */
export async function offersProgram(app: import('fastify').FastifyInstance, retailerId: string, offers: Record<string, unknown>[]): Promise<Record<string, any>[]> {
  const res = await app.inject({ method: 'PUT', url: `/admin/tenants/${retailerId}/program`, headers: { authorization: 'Bearer test-admin-token-0123456789' }, payload: { offers } });
  if (res.statusCode !== 200) throw new Error(`program apply failed: ${res.statusCode} ${res.body}`);
  return res.json().program.offers;
}

/**
 * Makes `rules` the retailer's rules (applyRuleConfig in its own
 * transaction): rules not listed are retired. Apply the point accounts,
 * offers and tier systems the outcomes name first.
 */
export async function rulesProgram(db: Db, retailerId: string, rules: import('../../src/modules/rules/config.js').RuleConfig[]): Promise<void> {
  const { applyRuleConfig } = await import('../../src/modules/rules/config.js');
  await transact(db, (tx) => applyRuleConfig(tx, retailerId, rules));
}
