import type { Db } from '../../db/index.js';
import { ConfigCache } from '../../lib/config-cache.js';

export type CustomAttributeType = 'string' | 'number' | 'boolean' | 'list' | 'object';

export interface CustomAttribute {
  name: string;
  type: CustomAttributeType;
  default?: unknown;
}

/** The defaults every member's custom profile starts from (list attributes default to []). */
export async function customProfileDefaults(db: Db, retailerId: string): Promise<Record<string, unknown>> {
  const defaults: Record<string, unknown> = {};
  for (const a of await listCustomAttributes(db, retailerId)) {
    const value = a.default ?? (a.type === 'list' ? [] : undefined);
    if (value !== undefined) defaults[a.name] = value;
  }
  return defaults;
}

// read on every profile answer (and once per member in lists): cached like the rest of the program
const attributesCache = new ConfigCache<CustomAttribute[]>();

export function listCustomAttributes(db: Db, retailerId: string): Promise<CustomAttribute[]> {
  return attributesCache.get(retailerId, () => loadCustomAttributes(db, retailerId));
}

async function loadCustomAttributes(db: Db, retailerId: string): Promise<CustomAttribute[]> {
  const rows = await db
    .selectFrom('custom_attributes')
    .select(['name', 'type', 'default_value'])
    .where('retailer_id', '=', retailerId)
    .where('retired_at', 'is', null)
    .orderBy('name')
    .execute();
  return rows.map((r) => ({ name: r.name, type: r.type, ...(r.default_value !== null ? { default: r.default_value } : {}) }));
}

/** Makes the retailer's attributes match the list; attributes not listed are retired (members keep their values). */
export async function applyCustomAttributes(tx: Db, retailerId: string, attributes: CustomAttribute[]): Promise<void> {
  attributesCache.invalidate(retailerId);
  for (const a of attributes) {
    const defaultValue = a.default === undefined ? null : JSON.stringify(a.default);
    await tx
      .insertInto('custom_attributes')
      .values({ retailer_id: retailerId, name: a.name, type: a.type, default_value: defaultValue })
      .onConflict((oc) => oc.columns(['retailer_id', 'name']).doUpdateSet({ type: a.type, default_value: defaultValue, retired_at: null }))
      .execute();
  }
  let retire = tx.updateTable('custom_attributes').set({ retired_at: new Date() }).where('retailer_id', '=', retailerId).where('retired_at', 'is', null);
  if (attributes.length) retire = retire.where('name', 'not in', attributes.map((a) => a.name));
  await retire.execute();
}
