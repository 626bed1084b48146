import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';
import { findOffer } from '../offers/catalog.js';
import { isUuid } from '../../lib/ids.js';
import { programPointAccounts } from '../points/accounts.js';
import { parseAmount, toDecimal, toJson, ZERO } from '../points/amount.js';

/** What a program file says about a reward store and the offers it sells. */
export interface RewardStoreConfig {
  id: string;
  internal_name: string;
  texts?: { culture: string; name: string; description?: string }[];
  point_account_id: string;
  start_date?: string;
  end_date?: string;
  eligibility?: { tier_level_ids?: string[]; tags?: string[] };
  offers: {
    id: string;
    /** The root id or a version id of an offer; the store sells the offer's current version. */
    offer_id: string;
    price: number | string;
    start_date?: string;
    end_date?: string;
    total_limit?: number;
    per_member_limit?: number;
  }[];
}

/**
 * Program apply: makes the retailer's reward stores and store offers match the
 * configuration. Stores and store offers not listed are retired (kept, with
 * the user offers bought from them), never deleted. Runs after the point
 * accounts and the offers of the same program are applied: a store names its
 * point account and its offers by id.
 */
export async function applyRewardStoreConfig(tx: Db, retailerId: string, stores: RewardStoreConfig[]): Promise<void> {
  const now = new Date();
  const storeIds = unique(stores.map((s) => s.id), 'reward_stores', 'id');
  unique(stores.flatMap((s) => s.offers.map((o) => o.id)), 'reward_stores[].offers', 'id');
  const accounts = new Set((await programPointAccounts(tx, retailerId)).map((a) => a.id));

  for (const [i, s] of stores.entries()) {
    const at = `reward_stores[${i}]`;
    const id = storeIds[i];
    const pointAccountId = s.point_account_id.toLowerCase();
    if (!accounts.has(pointAccountId)) throw invalid(`${at}.point_account_id: point account ${s.point_account_id} not found`);
    const window = dates(s, at);
    const values = {
      internal_name: s.internal_name,
      texts: JSON.stringify((s.texts ?? []).map((t) => ({ culture: t.culture, name: t.name, description: t.description ?? '' }))),
      point_account_id: pointAccountId,
      ...window,
      eligibility: JSON.stringify({ tier_level_ids: (s.eligibility?.tier_level_ids ?? []).map((l) => l.toLowerCase()), tags: s.eligibility?.tags ?? [] }),
      retired_at: null,
    };
    await tx.insertInto('reward_stores').values({ retailer_id: retailerId, id, ...values }).onConflict((oc) => oc.columns(['retailer_id', 'id']).doUpdateSet(values)).execute();

    const offerIds: string[] = [];
    for (const [j, o] of s.offers.entries()) {
      const where = `${at}.offers[${j}]`;
      const root = (await findOffer(tx, retailerId, o.offer_id))?.root_offer_id;
      if (!root) throw invalid(`${where}.offer_id: offer ${o.offer_id} not found`);
      const price = parseAmount(o.price, `${where}.price`);
      if (price < ZERO) throw invalid(`${where}.price: must not be negative`);
      for (const limit of ['total_limit', 'per_member_limit'] as const) {
        const value = o[limit];
        if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw invalid(`${where}.${limit}: a whole number of purchases, 0 or more`);
      }
      const offerValues = {
        reward_store_id: id,
        root_offer_id: root,
        price: toDecimal(price),
        ...dates(o, where),
        total_limit: o.total_limit ?? null,
        per_member_limit: o.per_member_limit ?? null,
        retired_at: null,
      };
      const offerId = o.id.toLowerCase();
      offerIds.push(offerId);
      await tx
        .insertInto('reward_store_offers')
        .values({ retailer_id: retailerId, id: offerId, ...offerValues })
        .onConflict((oc) => oc.columns(['retailer_id', 'id']).doUpdateSet(offerValues))
        .execute();
    }
    let retireOffers = tx.updateTable('reward_store_offers').set({ retired_at: now }).where('retailer_id', '=', retailerId).where('reward_store_id', '=', id).where('retired_at', 'is', null);
    if (offerIds.length) retireOffers = retireOffers.where('id', 'not in', offerIds);
    await retireOffers.execute();
  }

  let retireStores = tx.updateTable('reward_stores').set({ retired_at: now }).where('retailer_id', '=', retailerId).where('retired_at', 'is', null);
  if (storeIds.length) retireStores = retireStores.where('id', 'not in', storeIds);
  const retired = await retireStores.returning('id').execute();
  if (retired.length) {
    await tx
      .updateTable('reward_store_offers')
      .set({ retired_at: now })
      .where('retailer_id', '=', retailerId)
      .where('reward_store_id', 'in', retired.map((r) => r.id))
      .where('retired_at', 'is', null)
      .execute();
  }
}

/** The retailer's active reward stores and their active offers, as the program configuration that makes them (program export). */
export async function exportRewardStoreConfig(db: Db, retailerId: string): Promise<RewardStoreConfig[]> {
  const stores = await db.selectFrom('reward_stores').selectAll().where('retailer_id', '=', retailerId).where('retired_at', 'is', null).orderBy('id').execute();
  const offers = await db.selectFrom('reward_store_offers').selectAll().where('retailer_id', '=', retailerId).where('retired_at', 'is', null).orderBy('id').execute();
  const window = (w: { start_date: Date | null; end_date: Date | null }) => ({
    ...(w.start_date ? { start_date: w.start_date.toISOString() } : {}),
    ...(w.end_date ? { end_date: w.end_date.toISOString() } : {}),
  });
  return stores.map((s) => ({
    id: s.id,
    internal_name: s.internal_name,
    texts: s.texts.map(({ culture, name, description }) => ({ culture, name, ...(description ? { description } : {}) })),
    point_account_id: s.point_account_id,
    ...window(s),
    eligibility: { tier_level_ids: s.eligibility.tier_level_ids ?? [], tags: s.eligibility.tags ?? [] },
    offers: offers
      .filter((o) => o.reward_store_id === s.id)
      .map((o) => ({
        id: o.id,
        offer_id: o.root_offer_id,
        price: toJson(parseAmount(o.price, 'price', false)),
        ...window(o),
        ...(o.total_limit !== null ? { total_limit: o.total_limit } : {}),
        ...(o.per_member_limit !== null ? { per_member_limit: o.per_member_limit } : {}),
      })),
  }));
}

const invalid = (message: string) => new DomainError('validation', message);

/** Lower-cased ids, each a UUID and listed once. */
function unique(ids: string[], list: string, field: string): string[] {
  const seen = new Set<string>();
  return ids.map((raw) => {
    const id = raw.toLowerCase();
    if (!isUuid(id)) throw invalid(`${list}.${field}: ${raw} is not a UUID`);
    if (seen.has(id)) throw invalid(`${list}.${field}: ${raw} is listed twice`);
    seen.add(id);
    return id;
  });
}

function dates(c: { start_date?: string; end_date?: string }, at: string) {
  const parse = (value: string | undefined, field: string) => {
    if (!value) return null;
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) throw invalid(`${at}.${field}: not a date`);
    return date;
  };
  const start_date = parse(c.start_date, 'start_date');
  const end_date = parse(c.end_date, 'end_date');
  if (start_date && end_date && end_date < start_date) throw invalid(`${at}.end_date: before start_date`);
  return { start_date, end_date };
}
