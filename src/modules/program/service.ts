import { FormatRegistry, Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';
import { findRetailer, listStores, retailerTimeZone } from '../tenants/service.js';
import { listCustomAttributes, type CustomAttributeType } from './custom-attributes.js';
import { listPointAccounts, listPointSources } from '../points/accounts.js';
import { parseAmount, toJson } from '../points/amount.js';
import { ExpiryNotice, ExpiryPolicySchema, PendingFor, policyProblem } from '../points/expiry.js';
import { listOffers, OFFER_ACTIVE } from '../offers/catalog.js';
import { exportRewardStoreConfig } from '../reward-stores/config.js';
import { CampaignsProgramSchema, checkCampaignConfig, exportCampaignConfig } from '../campaigns/index.js';
import { listRuleConfig, RulesProgramSchema } from '../rules/config.js';
import { listTierSystems } from '../tiers/service.js';
import { UUID_PATTERN } from '../../lib/ids.js';

const Uuid = Type.String({ pattern: UUID_PATTERN });
const Name = Type.String({ minLength: 1, maxLength: 200 });
/** Point amounts: JSON numbers or decimal strings, read exactly. */
const Points = Type.Union([Type.Number(), Type.String({ maxLength: 40 })]);

// program files are checked by TypeBox (the admin route by Ajv, which knows the format already)
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/i.test(v) && !Number.isNaN(Date.parse(v)));
const DateTime = Type.String({ format: 'date-time' });
const IdList = Type.Array(Type.String({ minLength: 1, maxLength: 200 }));
const OFFER_TYPES = [
  'fixed_amount_discount', 'percent_discount', 'fixed_amount_item_discount', 'percent_item_discount', 'set_price',
  'buy_x_get_y_fixed', 'buy_x_get_y_percent', 'buy_x_get_y_set_price', 'free_item', 'manual_fulfillment', 'points_exchange',
];

/** An offer: applying a changed one adds a version (`id` names the new version). */
const OfferSchema = Type.Object({
  root_offer_id: Uuid,
  id: Type.Optional(Uuid),
  offer_type: Type.Union(OFFER_TYPES.map((t) => Type.Literal(t))),
  internal_title: Name,
  check_level: Type.Optional(Type.Boolean()),
  amount: Type.Optional(Points),
  max_recurrence: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  allow_overage: Type.Optional(Type.Boolean()),
  buy_count: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  get_count: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('inactive')])),
  division_id: Type.Optional(Type.String({ maxLength: 100 })),
  acquisition_start_date: Type.Optional(DateTime),
  acquisition_end_date: Type.Optional(DateTime),
  redemption_start_date: Type.Optional(DateTime),
  redemption_end_date: Type.Optional(DateTime),
  redemption_days: Type.Optional(Type.Integer({ minimum: 0, maximum: 36600, description: 'the redemption window: this many days from acquisition' })),
  does_not_expire: Type.Optional(Type.Boolean()),
  points: Type.Optional(Points),
  monetary_value: Type.Optional(Points),
  pos_discount_id: Type.Optional(Type.String({ maxLength: 100 })),
  requires_extended_data: Type.Optional(Type.Boolean()),
  default_culture: Type.Optional(Type.String({ maxLength: 20 })),
  texts: Type.Optional(Type.Array(Type.Object({ culture: Type.String({ minLength: 2, maxLength: 20 }), title: Name, description: Type.Optional(Type.String({ maxLength: 4000 })), terms: Type.Optional(Type.String({ maxLength: 20000 })) }))),
  media: Type.Optional(Type.Array(Type.Object({ uri: Type.String({ minLength: 1, maxLength: 2048 }), category_name: Type.Optional(Type.String({ maxLength: 100 })), content_type: Type.Optional(Type.Integer()), culture: Type.Optional(Type.String({ maxLength: 20 })) }))),
  restrictions: Type.Optional(
    Type.Object(
      {
        location: Type.Optional(Type.Object({ store_ids: Type.Optional(Type.Array(Uuid)) }, { additionalProperties: false })),
        catalog: Type.Optional(Type.Object({ item_ids: Type.Optional(IdList), category_ids: Type.Optional(IdList), qualifying_item_ids: Type.Optional(IdList), qualifying_category_ids: Type.Optional(IdList) }, { additionalProperties: false })),
        purchase: Type.Optional(Type.Object({ max_per_member: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false })),
        redemption: Type.Optional(Type.Object({ minimum_subtotal: Type.Optional(Points) }, { additionalProperties: false })),
      },
      { additionalProperties: false },
    ),
  ),
  parent_offer_ids: Type.Optional(Type.Array(Uuid)),
  total_inventory: Type.Optional(Type.Integer({ minimum: 0 })),
});

/**
 * A retailer's configuration as a document (SPEC §6). Applying it makes the
 * retailer's configuration match: listed things are created or changed, things
 * not listed are retired (never deleted). Later domains add their sections.
 */
export const ProgramSchema = Type.Object({
  retailer: Type.Optional(
    Type.Object({
      name: Type.String({ minLength: 1, maxLength: 200 }),
      time_zone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA time zone point expiry rounds in where a policy names none, and whose days the admin dashboard reports (default UTC)' })),
    }),
  ),
  stores: Type.Optional(
    Type.Array(
      Type.Object({
        id: Uuid,
        name: Type.String({ minLength: 1, maxLength: 200 }),
        external_id: Type.Optional(Type.String({ maxLength: 200 })),
        time_zone: Type.Optional(Type.String({ maxLength: 64 })),
      }),
    ),
  ),
  custom_attributes: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String({ minLength: 1, maxLength: 100 }),
        type: Type.Union([Type.Literal('string'), Type.Literal('number'), Type.Literal('boolean'), Type.Literal('list'), Type.Literal('object')]),
        default: Type.Optional(Type.Unknown()),
      }),
    ),
  ),
  point_accounts: Type.Optional(
    Type.Array(
      Type.Object({
        id: Uuid,
        name: Name,
        grouping_label: Type.Optional(Type.String({ maxLength: 200 })),
        default: Type.Optional(Type.Boolean({ description: 'spends without accounts draw from the default accounts, in program order' })),
        allow_negative: Type.Optional(Type.Boolean()),
        maximum_balance: Type.Optional(Points),
        counts_toward_tiers: Type.Optional(Type.Boolean()),
        active: Type.Optional(Type.Boolean()),
        expiry: Type.Optional(ExpiryPolicySchema),
        pending_for: Type.Optional(PendingFor),
        expiry_notice: Type.Optional(ExpiryNotice),
      }),
    ),
  ),
  point_sources: Type.Optional(
    Type.Array(Type.Object({ id: Uuid, name: Name, point_account_ids: Type.Optional(Type.Array(Uuid, { description: 'accounts it may deposit into; absent or empty: any' })) })),
  ),
  tier_systems: Type.Optional(
    Type.Array(
      Type.Object({
        id: Uuid,
        name: Name,
        period_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3660, description: 'points count within this many days; members are re-evaluated when it ends; absent: lifetime' })),
        levels: Type.Array(
          Type.Object({
            id: Uuid,
            name: Name,
            rank: Type.Integer({ minimum: 0, maximum: 1000 }),
            thresholds: Type.Optional(Type.Array(Type.Object({ point_account_id: Uuid, points: Points }), { description: 'all must be met; the lowest rank is the start level' })),
          }),
          { minItems: 1 },
        ),
      }),
    ),
  ),
  offers: Type.Optional(Type.Array(OfferSchema)),
  campaigns: Type.Optional(CampaignsProgramSchema),
  rules: Type.Optional(RulesProgramSchema),
  reward_stores: Type.Optional(
    Type.Array(
      Type.Object({
        id: Uuid,
        internal_name: Name,
        texts: Type.Optional(Type.Array(Type.Object({ culture: Type.String({ minLength: 2, maxLength: 20 }), name: Name, description: Type.Optional(Type.String({ maxLength: 4000 })) }))),
        point_account_id: Uuid,
        start_date: Type.Optional(DateTime),
        end_date: Type.Optional(DateTime),
        eligibility: Type.Optional(Type.Object({ tier_level_ids: Type.Optional(Type.Array(Uuid)), tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }))) }, { additionalProperties: false })),
        offers: Type.Array(
          Type.Object({
            id: Uuid,
            offer_id: Uuid,
            price: Points,
            start_date: Type.Optional(DateTime),
            end_date: Type.Optional(DateTime),
            total_limit: Type.Optional(Type.Integer({ minimum: 0 })),
            per_member_limit: Type.Optional(Type.Integer({ minimum: 1 })),
          }),
        ),
      }),
    ),
  ),
}, { additionalProperties: false });

export type Program = Static<typeof ProgramSchema>;

/** Checks a program document, naming the first field that is wrong. */
export function validateProgram(document: unknown): Program {
  const first = Value.Errors(ProgramSchema, document).First();
  if (first) {
    const field = first.path.replace(/^\//, '').replace(/\//g, '.') || 'program';
    const message = first.schema === Uuid ? `${JSON.stringify(first.value)} is not a UUID (program ids are UUIDs you choose once and keep)` : first.message;
    throw new DomainError('validation', `${field}: ${message}`, field);
  }
  const program = document as Program;
  const duplicate = (names: string[]) => names.find((n, i) => names.indexOf(n) !== i);
  const store = duplicate((program.stores ?? []).map((s) => s.id.toLowerCase()));
  if (store) throw new DomainError('validation', `stores: store ${store} is listed twice`, 'stores');
  const attribute = duplicate((program.custom_attributes ?? []).map((a) => a.name));
  if (attribute) throw new DomainError('validation', `custom_attributes: ${attribute} is listed twice`, 'custom_attributes');
  (program.stores ?? []).forEach((s, i) => {
    if (s.time_zone !== undefined && !isTimeZone(s.time_zone)) {
      throw new DomainError('validation', `stores.${i}.time_zone: ${s.time_zone} is not an IANA time zone`, `stores.${i}.time_zone`);
    }
  });
  checkPointsAndTiers(program);
  checkOffers(program);
  if (program.campaigns) checkCampaignConfig(program.campaigns);
  (program.custom_attributes ?? []).forEach((a, i) => {
    if (a.default !== undefined && !DEFAULT_FITS[a.type](a.default)) {
      throw new DomainError('validation', `custom_attributes.${i}.default: must be a ${a.type}, like the attribute`, `custom_attributes.${i}.default`);
    }
  });
  return program;
}

function checkPointsAndTiers(program: Program): void {
  const fail = (field: string, message: string) => {
    throw new DomainError('validation', `${field}: ${message}`, field);
  };
  const duplicate = (ids: string[]) => ids.map((id) => id.toLowerCase()).find((id, i, all) => all.indexOf(id) !== i);
  const accounts = program.point_accounts;
  const known = accounts && new Set(accounts.map((a) => a.id.toLowerCase()));
  const checkAccount = (field: string, id: string) => known && !known.has(id.toLowerCase()) && fail(field, `point account ${id} is not among point_accounts`);
  const countsTowardTiers = accounts && new Set(accounts.filter((a) => a.counts_toward_tiers).map((a) => a.id.toLowerCase()));
  const amount = (field: string, value: string | number) => {
    try {
      if (parseAmount(value, field) < 0n) fail(field, 'must not be negative');
    } catch (err) {
      fail(field, (err as Error).message.replace(/^[^:]*: /, ''));
    }
  };

  const account = duplicate((accounts ?? []).map((a) => a.id));
  if (account) fail('point_accounts', `point account ${account} is listed twice`);
  (accounts ?? []).forEach((a, i) => a.maximum_balance !== undefined && amount(`point_accounts.${i}.maximum_balance`, a.maximum_balance));
  if (program.retailer?.time_zone !== undefined && !isTimeZone(program.retailer.time_zone)) fail('retailer.time_zone', `${program.retailer.time_zone} is not an IANA time zone`);
  (accounts ?? []).forEach((a, i) => {
    const problem = policyProblem(a.expiry, a);
    if (problem) fail(`point_accounts.${i}.${problem.field}`, problem.message);
  });
  const source = duplicate((program.point_sources ?? []).map((s) => s.id));
  if (source) fail('point_sources', `point source ${source} is listed twice`);
  (program.point_sources ?? []).forEach((s, i) => (s.point_account_ids ?? []).forEach((id, j) => checkAccount(`point_sources.${i}.point_account_ids.${j}`, id)));

  const systems = program.tier_systems ?? [];
  const system = duplicate(systems.map((t) => t.id));
  if (system) fail('tier_systems', `tier system ${system} is listed twice`);
  const level = duplicate(systems.flatMap((t) => t.levels.map((l) => l.id)));
  if (level) fail('tier_systems', `tier level ${level} is listed twice`);
  systems.forEach((t, i) => {
    const rank = t.levels.map((l) => l.rank).find((r, j, all) => all.indexOf(r) !== j);
    if (rank !== undefined) fail(`tier_systems.${i}.levels`, `two levels have rank ${rank}`);
    t.levels.forEach((l, j) =>
      (l.thresholds ?? []).forEach((th, k) => {
        checkAccount(`tier_systems.${i}.levels.${j}.thresholds.${k}.point_account_id`, th.point_account_id);
        // deposits re-evaluate tiers when they reach an account that counts toward tiers
        if (countsTowardTiers && known!.has(th.point_account_id.toLowerCase()) && !countsTowardTiers.has(th.point_account_id.toLowerCase())) {
          fail(`tier_systems.${i}.levels.${j}.thresholds.${k}.point_account_id`, `point account ${th.point_account_id} does not count toward tiers (set counts_toward_tiers)`);
        }
        amount(`tier_systems.${i}.levels.${j}.thresholds.${k}.points`, th.points);
      }),
    );
  });
}

function checkOffers(program: Program): void {
  const offers = program.offers ?? [];
  const root = offers.map((o) => o.root_offer_id.toLowerCase()).find((id, i, all) => all.indexOf(id) !== i);
  if (root) throw new DomainError('validation', `offers: offer ${root} is listed twice`, 'offers');
  offers.forEach((o, i) => {
    for (const key of ['amount', 'points', 'monetary_value'] as const) {
      const value = o[key];
      if (value === undefined) continue;
      let amount: bigint;
      try {
        amount = parseAmount(value, `offers.${i}.${key}`);
      } catch (err) {
        throw new DomainError('validation', (err as Error).message, `offers.${i}.${key}`);
      }
      if (amount < 0n) throw new DomainError('validation', `offers.${i}.${key}: must not be negative`, `offers.${i}.${key}`);
    }
    if (o.offer_type.includes('percent') && o.amount !== undefined && Number(o.amount) > 100) {
      throw new DomainError('validation', `offers.${i}.amount: a percent above 100`, `offers.${i}.amount`);
    }
    if (o.acquisition_start_date && o.acquisition_end_date && o.acquisition_end_date < o.acquisition_start_date) {
      throw new DomainError('validation', `offers.${i}.acquisition_end_date: before acquisition_start_date`, `offers.${i}.acquisition_end_date`);
    }
  });
}

/** A default must be a value of the attribute's type. */
const DEFAULT_FITS: Record<CustomAttributeType, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  boolean: (v) => typeof v === 'boolean',
  list: (v) => Array.isArray(v),
  object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
};

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Reads a program file's text: YAML (a superset of JSON) or JSON. */
export function parseProgramText(text: string): Program {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    throw new DomainError('validation', `program: not valid YAML or JSON (${(err as Error).message.split('\n')[0]})`, 'program');
  }
  return validateProgram(document);
}

/** The retailer's configuration as it is now, as a program document. */
export async function exportProgram(db: Db, retailerId: string): Promise<Program> {
  const retailer = await findRetailer(db, retailerId);
  if (!retailer) throw new DomainError('not_found', 'retailer not found');
  const [stores, timeZone] = await Promise.all([listStores(db, retailerId), retailerTimeZone(db, retailerId)]);
  return {
    retailer: { name: retailer.name, ...(timeZone ? { time_zone: timeZone } : {}) },
    stores: stores.map((s) => ({ id: s.id, name: s.name, ...(s.external_id ? { external_id: s.external_id } : {}), ...(s.time_zone ? { time_zone: s.time_zone } : {}) })),
    custom_attributes: await listCustomAttributes(db, retailerId),
    point_accounts: (await listPointAccounts(db, retailerId)).map((a) => ({
      id: a.id,
      name: a.name,
      grouping_label: a.grouping_label,
      default: a.is_default,
      allow_negative: a.allow_negative,
      ...(a.maximum_balance !== null ? { maximum_balance: toJson(a.maximum_balance) } : {}),
      counts_toward_tiers: a.counts_toward_tiers,
      active: a.active,
      ...(a.expiry ? { expiry: a.expiry } : {}),
      ...(a.pending_for ? { pending_for: a.pending_for } : {}),
      ...(a.expiry_notice ? { expiry_notice: a.expiry_notice } : {}),
    })),
    point_sources: (await listPointSources(db, retailerId)).map((s) => ({ id: s.id, name: s.name, point_account_ids: s.account_ids })),
    offers: (await listOffers(db, retailerId, { statusFlags: 3, sort: 'created', descending: false, skip: 0, take: 100000 })).offers.map((o) => ({
      root_offer_id: o.root_offer_id,
      id: o.id,
      offer_type: o.offer_type as Program['offers'] extends (infer T)[] | undefined ? (T extends { offer_type: infer K } ? K : never) : never,
      internal_title: o.internal_title,
      check_level: o.check_level,
      amount: toJson(parseAmount(o.amount, 'amount', false)),
      max_recurrence: o.max_recurrence,
      allow_overage: o.allow_overage,
      buy_count: o.buy_count,
      get_count: o.get_count,
      status: o.status === OFFER_ACTIVE ? ('active' as const) : ('inactive' as const),
      division_id: o.division_id,
      ...(o.acquisition_start_date ? { acquisition_start_date: o.acquisition_start_date.toISOString() } : {}),
      ...(o.acquisition_end_date ? { acquisition_end_date: o.acquisition_end_date.toISOString() } : {}),
      ...(o.redemption_start_date ? { redemption_start_date: o.redemption_start_date.toISOString() } : {}),
      ...(o.redemption_end_date ? { redemption_end_date: o.redemption_end_date.toISOString() } : {}),
      ...(o.redemption_days !== null ? { redemption_days: o.redemption_days } : {}),
      does_not_expire: o.does_not_expire,
      points: toJson(parseAmount(o.points, 'points', false)),
      monetary_value: toJson(parseAmount(o.monetary_value, 'monetary_value', false)),
      ...(o.pos_discount_id ? { pos_discount_id: o.pos_discount_id } : {}),
      requires_extended_data: o.requires_extended_data,
      default_culture: o.default_culture,
      texts: o.texts.map(({ culture, title, description, terms }) => ({ culture, title, description, terms })),
      media: o.media.map(({ uri, category_name, content_type, culture }) => ({ uri, category_name, content_type, culture })),
      restrictions: o.restrictions as never,
      parent_offer_ids: o.parent_offer_ids,
      ...(o.total_inventory !== null ? { total_inventory: o.total_inventory } : {}),
    })),
    reward_stores: await exportRewardStoreConfig(db, retailerId),
    campaigns: await exportCampaignConfig(db, retailerId),
    rules: await listRuleConfig(db, retailerId),
    tier_systems: (await listTierSystems(db, retailerId)).map((t) => ({
      id: t.id,
      name: t.name,
      ...(t.period_days !== null ? { period_days: t.period_days } : {}),
      levels: t.levels.map((l) => ({ id: l.id, name: l.name, rank: l.rank, thresholds: l.thresholds.map((th) => ({ point_account_id: th.point_account_id, points: toJson(th.points) })) })),
    })),
  };
}
