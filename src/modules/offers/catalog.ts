import { randomUUID } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { Db } from '../../db/index.js';
import type { OfferMedia, OfferRestrictions, OffersTable, OfferText } from '../../db/schema.js';
import { DomainError } from '../../errors.js';
import { ConfigCache } from '../../lib/config-cache.js';
import { isUuid } from '../../lib/ids.js';

export type Offer = Selectable<OffersTable>;

/** Offer status: 1 active (issuable), 0 inactive. */
export const OFFER_ACTIVE = 1;

/** What a program file says about an offer; applying it adds a version when anything changed. */
export interface OfferConfig {
  root_offer_id: string;
  /** The id of the version this configuration creates (a new random id when absent or already used). */
  id?: string;
  offer_type: string;
  check_level?: boolean;
  amount?: string;
  max_recurrence?: number;
  allow_overage?: boolean;
  buy_count?: number;
  get_count?: number;
  status?: number;
  internal_title: string;
  division_id?: string;
  acquisition_start_date?: string;
  acquisition_end_date?: string;
  redemption_start_date?: string;
  redemption_end_date?: string;
  redemption_days?: number;
  does_not_expire?: boolean;
  points?: string;
  monetary_value?: string;
  pos_discount_id?: string;
  requires_extended_data?: boolean;
  default_culture?: string;
  texts?: { culture: string; title: string; description?: string; terms?: string }[];
  media?: { uri: string; category_name?: string; content_type?: number; culture?: string }[];
  restrictions?: OfferRestrictions;
  parent_offer_ids?: string[];
  total_inventory?: number;
}

/** The columns a configuration decides (what a new version compares on). */
function columnsOf(c: OfferConfig) {
  const date = (v?: string) => (v ? new Date(v) : null);
  return {
    offer_type: c.offer_type,
    check_level: c.check_level ?? true,
    amount: c.amount ?? '0',
    max_recurrence: c.max_recurrence ?? 1,
    allow_overage: c.allow_overage ?? false,
    // buy X get Y buys at least one unless the configuration says otherwise
    buy_count: c.buy_count ?? (c.offer_type.startsWith('buy_x_get_y') ? 1 : 0),
    get_count: c.get_count ?? 1,
    status: c.status ?? OFFER_ACTIVE,
    internal_title: c.internal_title,
    division_id: c.division_id ?? 'root',
    acquisition_start_date: date(c.acquisition_start_date),
    acquisition_end_date: date(c.acquisition_end_date),
    redemption_start_date: date(c.redemption_start_date),
    redemption_end_date: date(c.redemption_end_date),
    redemption_days: c.redemption_days ?? null,
    does_not_expire: c.does_not_expire ?? (!c.redemption_end_date && !c.redemption_days),
    points: c.points ?? '0',
    monetary_value: c.monetary_value ?? '0',
    pos_discount_id: c.pos_discount_id ?? null,
    requires_extended_data: c.requires_extended_data ?? false,
    default_culture: c.default_culture ?? 'en',
    restrictions: c.restrictions ?? {},
    parent_offer_ids: (c.parent_offer_ids ?? []).map((id) => id.toLowerCase()),
    total_inventory: c.total_inventory ?? null,
    texts: (c.texts ?? []).map((t) => ({ culture: t.culture, title: t.title, description: t.description ?? '', terms: t.terms ?? '' })),
    media: (c.media ?? []).map((m) => ({ uri: m.uri, category_name: m.category_name ?? 'OffersStore', content_type: m.content_type ?? 1, culture: m.culture ?? 'en-US' })),
  };
}

/** A comparable form of an offer's configured content (numbers and dates normalized, object keys sorted: jsonb does not keep their order). */
function fingerprint(columns: ReturnType<typeof columnsOf>): string {
  return JSON.stringify(
    {
      ...columns,
      amount: Number(columns.amount),
      points: Number(columns.points),
      monetary_value: Number(columns.monetary_value),
      acquisition_start_date: columns.acquisition_start_date?.getTime() ?? null,
      acquisition_end_date: columns.acquisition_end_date?.getTime() ?? null,
      redemption_start_date: columns.redemption_start_date?.getTime() ?? null,
      redemption_end_date: columns.redemption_end_date?.getTime() ?? null,
    },
    (_key, value) => (value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, value[k]])) : value),
  );
}

/** The columns a configuration decides, and only those (not the id, version or timestamps). */
const CONFIGURED = Object.keys(columnsOf({ root_offer_id: '', offer_type: '', internal_title: '' }));

function fingerprintOf(offer: Offer): string {
  const row = offer as unknown as Record<string, unknown>;
  return fingerprint({
    ...Object.fromEntries(CONFIGURED.map((key) => [key, row[key]])),
    texts: offer.texts.map(({ culture, title, description, terms }) => ({ culture, title, description, terms })),
    media: offer.media.map(({ uri, category_name, content_type, culture }) => ({ uri, category_name, content_type, culture })),
  } as ReturnType<typeof columnsOf>);
}

/**
 * Program apply: each listed offer gets a first version, or a new version when
 * its configuration changed (the old versions stay, and so do the user offers
 * issued from them). Offers not listed are retired: no longer issued.
 */
export async function applyOfferConfig(tx: Db, retailerId: string, offers: OfferConfig[]): Promise<void> {
  versionsCache.invalidate(retailerId);
  for (const config of offers) {
    const root = config.root_offer_id.toLowerCase();
    const columns = columnsOf(config);
    const current = await tx.selectFrom('offers').selectAll().where('retailer_id', '=', retailerId).where('root_offer_id', '=', root).where('is_current', '=', true).executeTakeFirst();
    if (current && fingerprintOf(current) === fingerprint(columns)) {
      if (current.retired_at) await tx.updateTable('offers').set({ retired_at: null }).where('retailer_id', '=', retailerId).where('id', '=', current.id).execute();
      continue;
    }
    const wanted = config.id?.toLowerCase();
    const taken = wanted ? await tx.selectFrom('offers').select('id').where('retailer_id', '=', retailerId).where('id', '=', wanted).executeTakeFirst() : undefined;
    const id = wanted && !taken ? wanted : current ? randomUUID() : (wanted ?? root);
    if (current) await tx.updateTable('offers').set({ is_current: false }).where('retailer_id', '=', retailerId).where('id', '=', current.id).execute();
    await tx
      .insertInto('offers')
      .values({
        ...columns,
        retailer_id: retailerId,
        id,
        root_offer_id: root,
        version: (current?.version ?? 0) + 1,
        is_current: true,
        texts: JSON.stringify(columns.texts.map((t) => ({ id: randomUUID(), ...t }))),
        media: JSON.stringify(columns.media.map((m) => ({ id: randomUUID(), category_id: '00000000-0000-0000-0000-000000000000', ...m }))),
        restrictions: JSON.stringify(columns.restrictions),
      })
      .execute();
  }
  const keep = offers.map((o) => o.root_offer_id.toLowerCase());
  let retire = tx.updateTable('offers').set({ retired_at: new Date() }).where('retailer_id', '=', retailerId).where('is_current', '=', true).where('retired_at', 'is', null);
  if (keep.length) retire = retire.where('root_offer_id', 'not in', keep);
  await retire.execute();
}

/** An offer by version id or root id: the version named, or the current version of the root. */
export async function findOffer(db: Db, retailerId: string, offerId: string, options: { exactVersion?: boolean } = {}): Promise<Offer | undefined> {
  if (!isUuid(offerId)) return undefined;
  const id = offerId.toLowerCase();
  const byId = await db.selectFrom('offers').selectAll().where('retailer_id', '=', retailerId).where('id', '=', id).executeTakeFirst();
  if (byId && (options.exactVersion || byId.is_current)) return byId;
  const root = byId?.root_offer_id ?? id;
  return (await db.selectFrom('offers').selectAll().where('retailer_id', '=', retailerId).where('root_offer_id', '=', root).where('is_current', '=', true).executeTakeFirst()) ?? byId;
}

export async function getOffer(db: Db, retailerId: string, offerId: string, options: { exactVersion?: boolean } = {}): Promise<Offer> {
  const offer = await findOffer(db, retailerId, offerId, options);
  if (!offer) throw new DomainError('offer_not_found', `offer ${offerId} not found`, 'offer_id');
  return offer;
}

export async function offersByIds(db: Db, retailerId: string, ids: string[]): Promise<Map<string, Offer>> {
  const valid = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
  if (!valid.length) return new Map();
  const rows = await db.selectFrom('offers').selectAll().where('retailer_id', '=', retailerId).where('id', 'in', valid).execute();
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * The offers' current versions as a subquery for a caller's statement to join
 * (`.innerJoin(currentOffersQuery(db).as('o'), …)`, scoped by the join's
 * retailer_id); PostgreSQL flattens it into that statement's plan.
 */
export const currentOffersQuery = (db: Db) => db.selectFrom('offers').selectAll().where('is_current', '=', true);

/**
 * Offer versions by id, kept per retailer for a few seconds like the rest of
 * the program (the till prices every lookup with them). A version's configured
 * content never changes (a change adds a version with a new id), so a kept
 * version answers what the database would, except `is_current` and
 * `retired_at`, which a program apply may have changed since: callers must not
 * read those. Program apply in this process drops the retailer's entries.
 */
const versionsCache = new ConfigCache<Map<string, Offer>>();

/** `offersByIds` from the cache of versions: configured content only (not `is_current` nor `retired_at`, see above). */
export async function offerVersionsByIds(db: Db, retailerId: string, ids: string[]): Promise<Map<string, Offer>> {
  const versions = await versionsCache.get(retailerId, async () => new Map());
  const wanted = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
  const result = new Map<string, Offer>();
  const missing: string[] = [];
  for (const id of wanted) {
    const offer = versions.get(id);
    if (offer) result.set(offer.id, offer);
    else missing.push(id);
  }
  if (!missing.length) return result;
  // read here, on the caller's connection, and kept once read (see ConfigCache); a version not found is not kept: it may be created later
  const found = await offersByIds(db, retailerId, missing);
  if (versions.size + found.size > 10_000) versions.clear();
  for (const [id, offer] of found) {
    versions.set(id, offer);
    result.set(offer.id, offer);
  }
  return result;
}

export interface OfferQuery {
  offerIds?: string[];
  offerTypes?: string[];
  search?: string;
  /** 1 active, 2 inactive, 4 retired, 8 every status (flags add up). */
  statusFlags?: number;
  sort: 'title' | 'type' | 'start_date' | 'created' | 'points';
  descending: boolean;
  skip: number;
  take: number;
}

/** The catalog's current versions, filtered and paged. */
export async function listOffers(db: Db, retailerId: string, q: OfferQuery): Promise<{ total: number; offers: Offer[] }> {
  let base = db.selectFrom('offers').where('retailer_id', '=', retailerId).where('is_current', '=', true);
  if (q.offerIds?.length) {
    const ids = q.offerIds.filter(isUuid).map((id) => id.toLowerCase());
    // any version's id names the offer (its current version is listed)
    const roots = (list: string[]) => db.selectFrom('offers').select('root_offer_id').where('retailer_id', '=', retailerId).where('id', 'in', list);
    base = ids.length ? base.where((eb) => eb.or([eb('root_offer_id', 'in', roots(ids)), eb('root_offer_id', 'in', ids)])) : base.where(sql<boolean>`false`);
  }
  if (q.offerTypes?.length) base = base.where('offer_type', 'in', q.offerTypes);
  if (q.search) base = base.where(sql<boolean>`internal_title ILIKE ${`%${q.search.replace(/[%_\\]/g, (c) => `\\${c}`)}%`}`);
  const flags = q.statusFlags ?? 8;
  if (!(flags & 8)) {
    base = base.where((eb) =>
      eb.or([
        ...(flags & 1 ? [eb.and([eb('status', '=', OFFER_ACTIVE), eb('retired_at', 'is', null)])] : []),
        ...(flags & 2 ? [eb.and([eb('status', '!=', OFFER_ACTIVE), eb('retired_at', 'is', null)])] : []),
        ...(flags & 4 ? [eb('retired_at', 'is not', null)] : []),
        sql<boolean>`false`,
      ]),
    );
  }
  const { total } = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  const column = { title: 'internal_title', type: 'offer_type', start_date: 'acquisition_start_date', created: 'created_at', points: 'points' } as const;
  const offers = await base
    .selectAll()
    .orderBy(column[q.sort], q.descending ? 'desc' : 'asc')
    .orderBy('id')
    .offset(q.skip)
    .limit(q.take)
    .execute();
  return { total: Number(total), offers };
}

/** Acquisitions and redemptions per root offer. */
export async function offerCounts(db: Db, retailerId: string, rootIds: string[]): Promise<Map<string, { acquired: number; redeemed: number }>> {
  if (!rootIds.length) return new Map();
  const rows = await db
    .selectFrom('user_offers')
    .select(['root_offer_id', sql<number>`count(*)`.as('acquired'), sql<number>`count(*) FILTER (WHERE status = 2)`.as('redeemed')])
    .where('retailer_id', '=', retailerId)
    .where('root_offer_id', 'in', rootIds)
    .groupBy('root_offer_id')
    .execute();
  return new Map(rows.map((r) => [r.root_offer_id, { acquired: Number(r.acquired), redeemed: Number(r.redeemed) }]));
}

/** The offer's text in a culture (`en-US`, `en_US`, `en`), falling back to its default culture, then its first text. */
export function offerText(offer: Pick<Offer, 'texts' | 'default_culture' | 'internal_title'>, culture?: string): OfferText {
  const wanted = normalizeCulture(culture);
  const texts = offer.texts;
  const exact = texts.find((t) => normalizeCulture(t.culture) === wanted);
  const byDefault = texts.find((t) => normalizeCulture(t.culture) === normalizeCulture(offer.default_culture));
  // the same language: the default culture's text when it is in that language, else the first one
  const sameLanguage = (t?: OfferText) => !!t && normalizeCulture(t.culture).split('-')[0] === wanted.split('-')[0];
  const language = wanted ? (sameLanguage(byDefault) ? byDefault : texts.find(sameLanguage)) : undefined;
  return exact ?? language ?? byDefault ?? texts[0] ?? { id: '', culture: offer.default_culture, title: offer.internal_title, description: '', terms: '' };
}

export function offerMedia(offer: Pick<Offer, 'media' | 'id'>): (OfferMedia & { offer_id: string })[] {
  return offer.media.map((m) => ({ id: m.id, offer_id: offer.id, uri: m.uri, category_id: m.category_id, category_name: m.category_name, content_type: m.content_type, culture: m.culture }));
}

/** `en-US`, `en_us` and `EN-us` are one culture. */
export function normalizeCulture(culture?: string | null): string {
  return (culture ?? '').trim().replace('_', '-').toLowerCase();
}
