import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/index.js';
import { isUuid } from '../../lib/ids.js';
import { issueCredentials, type IssuedCredentials } from './credentials.js';

export interface Store {
  id: string;
  name: string;
  external_id: string | null;
  time_zone: string | null;
}

export interface CreatedTenant extends IssuedCredentials {
  retailer_id: string;
  store_id: string;
}

/** Creates a retailer with one store and a set of credentials, in the caller's transaction. */
export async function createRetailer(tx: Db, input: { name: string; id?: string; storeId?: string }): Promise<CreatedTenant> {
  const retailerId = input.id ?? randomUUID();
  const storeId = input.storeId ?? randomUUID();
  await tx.insertInto('retailers').values({ id: retailerId, name: input.name }).execute();
  await tx.insertInto('stores').values({ retailer_id: retailerId, id: storeId, name: `${input.name} store` }).execute();
  const credentials = await issueCredentials(tx, retailerId);
  return { retailer_id: retailerId, store_id: storeId, ...credentials };
}

export async function findRetailer(db: Db, id: string) {
  return db.selectFrom('retailers').select(['id', 'name', 'number', 'created_at']).where('id', '=', id).executeTakeFirst();
}

/** The retailer's number (its numeric rewards_system_id, which a Tenant carries); throws when there is no such retailer. */
export async function retailerNumber(db: Db, id: string): Promise<number> {
  return (await db.selectFrom('retailers').select('number').where('id', '=', id).executeTakeFirstOrThrow()).number;
}

/** The retailer's IANA time zone (the program's retailer.time_zone), null when it names none (UTC). */
export async function retailerTimeZone(db: Db, id: string): Promise<string | null> {
  return (await db.selectFrom('retailers').select('time_zone').where('id', '=', id).executeTakeFirst())?.time_zone ?? null;
}

/**
 * Program apply: creates the retailer (without stores or credentials) when it
 * does not exist yet, else renames it when `name` differs. Given a retailer
 * section (`section`), its time zone is the section's (none: UTC).
 */
export async function applyRetailer(tx: Db, id: string, name: string | undefined, section?: { time_zone?: string }): Promise<{ created: boolean }> {
  const existing = await findRetailer(tx, id);
  const zone = section ? { time_zone: section.time_zone ?? null } : {};
  if (!existing) {
    await tx.insertInto('retailers').values({ id, name: name ?? 'Retailer', ...zone }).execute();
  } else if ((name && name !== existing.name) || section) {
    await tx.updateTable('retailers').set({ ...(name ? { name } : {}), ...zone }).where('id', '=', id).execute();
  }
  return { created: !existing };
}

/** Retailers, oldest first, a page at a time, with how many there are. */
/** A page of the retailers, oldest first; `only`: of these ids. */
export async function listRetailers(db: Db, page: { skip: number; take: number }, only?: string[]) {
  const base = only ? db.selectFrom('retailers').where('id', 'in', only.length ? only : ['00000000-0000-0000-0000-000000000000']) : db.selectFrom('retailers');
  const [retailers, count] = await Promise.all([
    base.select(['id', 'name', 'created_at']).orderBy('created_at').orderBy('id').offset(page.skip).limit(page.take).execute(),
    base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { retailers, total: Number(count.n) };
}

export async function listStores(db: Db, retailerId: string): Promise<Store[]> {
  return db
    .selectFrom('stores')
    .select(['id', 'name', 'external_id', 'time_zone'])
    .where('retailer_id', '=', retailerId)
    .where('retired_at', 'is', null)
    .orderBy('created_at')
    .execute();
}

export async function findStore(db: Db, retailerId: string, storeId: string): Promise<Store | undefined> {
  if (!isUuid(storeId)) return undefined;
  return db
    .selectFrom('stores')
    .select(['id', 'name', 'external_id', 'time_zone'])
    .where('retailer_id', '=', retailerId)
    .where('id', '=', storeId.toLowerCase())
    .where('retired_at', 'is', null)
    .executeTakeFirst();
}

/** Makes the retailer's active stores match `stores` (program apply); stores not listed are retired. */
export async function applyStores(tx: Db, retailerId: string, stores: Store[]): Promise<void> {
  for (const store of stores) {
    await tx
      .insertInto('stores')
      .values({ retailer_id: retailerId, ...store, id: store.id.toLowerCase() })
      .onConflict((oc) =>
        oc.columns(['retailer_id', 'id']).doUpdateSet({
          name: store.name,
          external_id: store.external_id,
          time_zone: store.time_zone,
          retired_at: null,
          updated_at: new Date(),
        }),
      )
      .execute();
  }
  const keep = stores.map((s) => s.id.toLowerCase());
  let retire = tx.updateTable('stores').set({ retired_at: new Date() }).where('retailer_id', '=', retailerId).where('retired_at', 'is', null);
  if (keep.length) retire = retire.where('id', 'not in', keep);
  await retire.execute();
}
