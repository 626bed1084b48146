import type { Db } from '../../db/index.js';
import { ConfigCache } from '../../lib/config-cache.js';
import { fromDb, toDecimal, type Amount } from './amount.js';
import type { ExpiryPolicy } from './expiry.js';

export interface PointAccount {
  id: string;
  name: string;
  grouping_label: string;
  is_default: boolean;
  allow_negative: boolean;
  maximum_balance: Amount | null;
  counts_toward_tiers: boolean;
  active: boolean;
  /** When deposits expire (null: never), with its time zone settled. */
  expiry: ExpiryPolicy | null;
  /** ISO 8601 duration deposits stay pending (null: available at once). */
  pending_for: string | null;
  /** ISO 8601 duration before an expiry that points.expiring is recorded (null: none). */
  expiry_notice: string | null;
}

export interface PointSource {
  id: string;
  name: string;
  /** Accounts the source may deposit into; empty: any. */
  account_ids: string[];
}

const accountsCache = new ConfigCache<PointAccount[]>();
const sourcesCache = new ConfigCache<PointSource[]>();

/** The retailer's point accounts in program order (the order "oldest first" spends follow). */
export function listPointAccounts(db: Db, retailerId: string): Promise<PointAccount[]> {
  return accountsCache.get(retailerId, () => loadPointAccounts(db, retailerId));
}

export function listPointSources(db: Db, retailerId: string): Promise<PointSource[]> {
  return sourcesCache.get(retailerId, () => db.selectFrom('point_sources').select(['id', 'name', 'account_ids']).where('retailer_id', '=', retailerId).where('retired_at', 'is', null).orderBy('name').execute());
}

async function loadPointAccounts(db: Db, retailerId: string): Promise<PointAccount[]> {
  const rows = await db
    .selectFrom('point_accounts')
    .select(['id', 'name', 'grouping_label', 'is_default', 'allow_negative', 'maximum_balance', 'counts_toward_tiers', 'active', 'expiry', 'pending_for', 'expiry_notice'])
    .where('retailer_id', '=', retailerId)
    .where('retired_at', 'is', null)
    .orderBy('position')
    .execute();
  return rows.map((r) => ({ ...r, expiry: r.expiry as ExpiryPolicy | null, maximum_balance: r.maximum_balance === null ? null : fromDb(r.maximum_balance) }));
}

/**
 * The retailer's point accounts as a program apply checks names against:
 * read in its transaction, not through the cache, since the same program may
 * have written them there.
 */
export function programPointAccounts(tx: Db, retailerId: string): Promise<Pick<PointAccount, 'id' | 'is_default' | 'active'>[]> {
  return tx.selectFrom('point_accounts').select(['id', 'is_default', 'active']).where('retailer_id', '=', retailerId).where('retired_at', 'is', null).execute();
}

export interface PointAccountConfig {
  id: string;
  name: string;
  grouping_label?: string;
  default?: boolean;
  allow_negative?: boolean;
  maximum_balance?: Amount;
  counts_toward_tiers?: boolean;
  active?: boolean;
  /** With its time zone settled (withTimeZone). */
  expiry?: ExpiryPolicy;
  pending_for?: string;
  expiry_notice?: string;
}

/** Program apply: makes the retailer's accounts and sources match; the ones not listed are retired. */
export async function applyPointConfig(tx: Db, retailerId: string, accounts: PointAccountConfig[] | undefined, sources: PointSource[] | undefined): Promise<void> {
  accountsCache.invalidate(retailerId);
  sourcesCache.invalidate(retailerId);
  if (accounts) {
    for (const [position, a] of accounts.entries()) {
      const values = {
        name: a.name,
        grouping_label: a.grouping_label ?? '',
        is_default: a.default ?? false,
        allow_negative: a.allow_negative ?? false,
        maximum_balance: a.maximum_balance === undefined ? null : toDecimal(a.maximum_balance),
        counts_toward_tiers: a.counts_toward_tiers ?? false,
        active: a.active ?? true,
        // a policy change applies to what is earned from now on: lots keep the expiry they were given
        expiry: a.expiry && a.expiry.policy !== 'never' ? JSON.stringify(a.expiry) : null,
        pending_for: a.pending_for ?? null,
        expiry_notice: a.expiry_notice ?? null,
        position,
        retired_at: null,
      };
      await tx
        .insertInto('point_accounts')
        .values({ retailer_id: retailerId, id: a.id.toLowerCase(), ...values })
        .onConflict((oc) => oc.columns(['retailer_id', 'id']).doUpdateSet(values))
        .execute();
    }
    await retire(tx, 'point_accounts', retailerId, accounts.map((a) => a.id.toLowerCase()));
  }
  if (sources) {
    for (const s of sources) {
      const values = { name: s.name, account_ids: s.account_ids.map((id) => id.toLowerCase()), retired_at: null };
      await tx
        .insertInto('point_sources')
        .values({ retailer_id: retailerId, id: s.id.toLowerCase(), ...values })
        .onConflict((oc) => oc.columns(['retailer_id', 'id']).doUpdateSet(values))
        .execute();
    }
    await retire(tx, 'point_sources', retailerId, sources.map((s) => s.id.toLowerCase()));
  }
}

async function retire(tx: Db, table: 'point_accounts' | 'point_sources', retailerId: string, keep: string[]) {
  let q = tx.updateTable(table).set({ retired_at: new Date() }).where('retailer_id', '=', retailerId).where('retired_at', 'is', null);
  if (keep.length) q = q.where('id', 'not in', keep);
  await q.execute();
}
