import { Type, type Static } from '@sinclair/typebox';
import type { Db } from '../../db/index.js';
import type { CampaignAudience } from '../../db/schema.js';
import { DomainError } from '../../errors.js';
import { ConfigCache } from '../../lib/config-cache.js';
import { programPointAccounts } from '../points/accounts.js';

const Uuid = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });
const Name = Type.String({ minLength: 1, maxLength: 200 });
/** ISO 8601 or the Core API's `YYYY-MM-DD HH:MM:SS` (UTC when no zone is given). */
const When = Type.String({ pattern: '^\\d{4}-\\d\\d-\\d\\d([T ]\\d\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?(Z|[+-]\\d\\d:?\\d\\d)?)?$', description: 'ISO 8601 or YYYY-MM-DD HH:MM:SS (UTC)' });
/** A repetition limit: null or -1 is unlimited. */
const Limit = Type.Optional(Type.Union([Type.Integer({ minimum: -1, maximum: 2_000_000_000 }), Type.Null()]));
const Repetition = {
  max_times_repeatable: Limit,
  max_times_repeatable_per_period: Limit,
  period: Type.Optional(Type.Union([Type.Integer({ minimum: -1, maximum: 2_000_000_000, description: 'seconds' }), Type.Null()])),
  min_time_between_events: Type.Optional(Type.Union([Type.Integer({ minimum: -1, maximum: 2_000_000_000, description: 'seconds' }), Type.Null()])),
  consecutive: Type.Optional(Type.Boolean({ description: 'occurrences count on consecutive days only (a gap starts over)' })),
};
const EventName = Type.String({ minLength: 1, maxLength: 255 });
const PointsValue = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });

const GoalSchema = Type.Object({
  name: Name,
  event_name: EventName,
  earn_count: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  required: Type.Optional(Type.Boolean({ description: 'needed to complete the behaviour (default true)' })),
  points: Type.Optional(PointsValue),
  group_id: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Integer({ minimum: 0 })])),
  ...Repetition,
});

const BehaviorSchema = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
  name: Name,
  external_behavior_id: Uuid,
  event_name: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: "the behaviour's own event id (default: external_behavior_id)" })),
  type: Type.Union([Type.Literal('composite'), Type.Literal('count'), Type.Literal('unique')]),
  points: Type.Optional(PointsValue),
  ...Repetition,
  goals: Type.Optional(Type.Array(GoalSchema, { description: 'composite: the goals, in groups' })),
  count_event: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'count / unique: the event counted' })),
  earn_count: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'count / unique: occurrences (distinct stores for unique) needed' })),
});

const CampaignSchema = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
  permalink: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  name: Name,
  start_date: When,
  end_date: Type.Optional(When),
  division_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  group_id: Type.Optional(Type.Integer({ minimum: 0 })),
  creative_id: Type.Optional(Type.Integer({ minimum: 0 })),
  creative_ids: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 100 })),
  template_type: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  audience: Type.Optional(
    Type.Object(
      {
        tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { description: 'the member holds any of these live tags' })),
        tier_level_ids: Type.Optional(Type.Array(Uuid, { description: 'the member is at any of these tier levels' })),
        attributes: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 100 }), Type.Unknown(), { description: 'custom profile attribute = value (a list attribute contains it; a list of values: any of them)' })),
      },
      { additionalProperties: false },
    ),
  ),
  opt_in_required: Type.Optional(Type.Boolean()),
  opt_in_start: Type.Optional(When),
  opt_in_end: Type.Optional(When),
  point_account_id: Type.Optional(Uuid),
  behaviors: Type.Optional(Type.Array(BehaviorSchema)),
});

/** The program's `campaigns` section (SPEC §5.8, §6). */
export const CampaignsProgramSchema = Type.Array(CampaignSchema);
export type CampaignConfig = Static<typeof CampaignSchema>;
export type BehaviorConfig = Static<typeof BehaviorSchema>;
export type GoalConfig = Static<typeof GoalSchema>;

export interface Limits {
  max_times_repeatable: number | null;
  max_times_repeatable_per_period: number | null;
  period: number | null;
  min_time_between_events: number | null;
  consecutive: boolean;
}

export interface GoalDef extends Limits {
  name: string;
  group_id: string;
  event_name: string;
  earn_count: number;
  required: boolean;
  points: number;
}

export interface BehaviorDef extends Limits {
  id: number;
  campaign_id: number;
  name: string;
  external_behavior_id: string;
  event_name: string;
  type: 'composite' | 'count' | 'unique';
  points: number;
  goals: GoalDef[];
}

export interface CampaignDef {
  id: number;
  permalink: string;
  name: string;
  start_date: Date;
  end_date: Date | null;
  division_id: string | null;
  group_id: number | null;
  creative_id: number | null;
  creative_ids: number[];
  template_type: string;
  audience: CampaignAudience;
  opt_in_required: boolean;
  opt_in_start: Date | null;
  opt_in_end: Date | null;
  point_account_id: string | null;
  behaviors: BehaviorDef[];
}

export interface GoalRef {
  campaign: CampaignDef;
  behavior: BehaviorDef;
  goal: GoalDef;
}

/** A retailer's campaigns (not retired) in program order, and the goals counting each event. */
export interface CampaignCatalog {
  campaigns: CampaignDef[];
  byId: Map<number, CampaignDef>;
  byPermalink: Map<string, CampaignDef>;
  /** Lower-cased event name → the goals counting it. */
  byEvent: Map<string, GoalRef[]>;
}

const catalogCache = new ConfigCache<CampaignCatalog>();

export function campaignCatalog(db: Db, retailerId: string): Promise<CampaignCatalog> {
  return catalogCache.get(retailerId, () => loadCatalog(db, retailerId));
}

async function loadCatalog(db: Db, retailerId: string): Promise<CampaignCatalog> {
  const [campaigns, behaviors, goals] = await Promise.all([
    db.selectFrom('campaigns').selectAll().where('retailer_id', '=', retailerId).where('retired_at', 'is', null).orderBy('position').orderBy('id').execute(),
    db.selectFrom('campaign_behaviors').selectAll().where('retailer_id', '=', retailerId).where('retired_at', 'is', null).orderBy('position').orderBy('id').execute(),
    db.selectFrom('campaign_goals').selectAll().where('retailer_id', '=', retailerId).orderBy('behavior_id').orderBy('position').execute(),
  ]);
  const limits = (r: Limits): Limits => ({
    max_times_repeatable: r.max_times_repeatable,
    max_times_repeatable_per_period: r.max_times_repeatable_per_period,
    period: r.period,
    min_time_between_events: r.min_time_between_events,
    consecutive: r.consecutive,
  });
  const goalsOf = new Map<number, GoalDef[]>();
  for (const g of goals) {
    const list = goalsOf.get(g.behavior_id) ?? [];
    list.push({ name: g.name, group_id: g.group_id, event_name: g.event_name, earn_count: g.earn_count, required: g.required, points: g.points, ...limits(g) });
    goalsOf.set(g.behavior_id, list);
  }
  const behaviorsOf = new Map<number, BehaviorDef[]>();
  for (const b of behaviors) {
    const list = behaviorsOf.get(b.campaign_id) ?? [];
    list.push({
      id: b.id,
      campaign_id: b.campaign_id,
      name: b.name,
      external_behavior_id: b.external_behavior_id,
      event_name: b.event_name,
      type: b.type,
      points: b.points,
      ...limits(b),
      goals: goalsOf.get(b.id) ?? [],
    });
    behaviorsOf.set(b.campaign_id, list);
  }
  const catalog: CampaignCatalog = { campaigns: [], byId: new Map(), byPermalink: new Map(), byEvent: new Map() };
  for (const c of campaigns) {
    const def: CampaignDef = {
      id: c.id,
      permalink: c.permalink,
      name: c.name,
      start_date: c.start_date,
      end_date: c.end_date,
      division_id: c.division_id,
      group_id: c.group_id,
      creative_id: c.creative_id,
      creative_ids: c.creative_ids,
      template_type: c.template_type,
      audience: c.audience,
      opt_in_required: c.opt_in_required,
      opt_in_start: c.opt_in_start,
      opt_in_end: c.opt_in_end,
      point_account_id: c.point_account_id,
      behaviors: behaviorsOf.get(c.id) ?? [],
    };
    catalog.campaigns.push(def);
    catalog.byId.set(def.id, def);
    catalog.byPermalink.set(def.permalink.toLowerCase(), def);
    for (const behavior of def.behaviors) {
      for (const goal of behavior.goals) {
        const key = goal.event_name.toLowerCase();
        const refs = catalog.byEvent.get(key) ?? [];
        refs.push({ campaign: def, behavior, goal });
        catalog.byEvent.set(key, refs);
      }
    }
  }
  return catalog;
}

/** A campaign by integer id or permalink; undefined for anything else (an unresolved `:campaign_id`). */
export function findCampaign(catalog: CampaignCatalog, ref: string): CampaignDef | undefined {
  const text = ref.trim();
  if (/^\d{1,10}$/.test(text)) {
    const byId = catalog.byId.get(Number(text));
    if (byId) return byId;
  }
  return catalog.byPermalink.get(text.toLowerCase());
}

/** Reads a configuration time: ISO 8601, or `YYYY-MM-DD[ HH:MM:SS]` in UTC. */
export function parseWhen(value: string, field: string): Date {
  let text = value.trim().replace(' ', 'T');
  if (!/T/.test(text)) text += 'T00:00:00';
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(text)) text += 'Z';
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw invalid(field, `${value} is not a date`);
  return date;
}

const invalid = (field: string, message: string) => new DomainError('validation', `${field}: ${message}`, field);

/** A limit as stored: -1 and null both mean unlimited; stored as given so answers echo the program. */
const limitsOf = (c: { max_times_repeatable?: number | null; max_times_repeatable_per_period?: number | null; period?: number | null; min_time_between_events?: number | null; consecutive?: boolean }): Limits => ({
  max_times_repeatable: c.max_times_repeatable ?? null,
  max_times_repeatable_per_period: c.max_times_repeatable_per_period ?? null,
  period: c.period ?? null,
  min_time_between_events: c.min_time_between_events ?? null,
  consecutive: c.consecutive ?? false,
});

/**
 * Checks a `campaigns` section beyond its schema (ids and permalinks unique,
 * behaviours well formed, windows inside the run); throws a `validation`
 * DomainError naming the field. Pure: program validation may call it.
 */
export function checkCampaignConfig(campaigns: CampaignConfig[], section = 'campaigns'): void {
  const seen = { campaign: new Set<number>(), permalink: new Set<string>(), behavior: new Set<number>() };
  campaigns.forEach((c, i) => {
    const at = `${section}.${i}`;
    if (seen.campaign.has(c.id)) throw invalid(`${at}.id`, `campaign ${c.id} is listed twice`);
    seen.campaign.add(c.id);
    const permalink = (c.permalink ?? String(c.id)).toLowerCase();
    if (seen.permalink.has(permalink)) throw invalid(`${at}.permalink`, `permalink ${permalink} is used twice`);
    seen.permalink.add(permalink);
    const start = parseWhen(c.start_date, `${at}.start_date`);
    const end = c.end_date === undefined ? null : parseWhen(c.end_date, `${at}.end_date`);
    if (end && end <= start) throw invalid(`${at}.end_date`, 'must be after start_date');
    const optStart = c.opt_in_start === undefined ? null : parseWhen(c.opt_in_start, `${at}.opt_in_start`);
    const optEnd = c.opt_in_end === undefined ? null : parseWhen(c.opt_in_end, `${at}.opt_in_end`);
    if (optStart && (optStart < start || (end && optStart >= end))) throw invalid(`${at}.opt_in_start`, 'the opt-in window lies within the campaign run');
    if (optEnd && (optEnd <= start || (end && optEnd > end))) throw invalid(`${at}.opt_in_end`, 'the opt-in window lies within the campaign run');
    if (optStart && optEnd && optEnd <= optStart) throw invalid(`${at}.opt_in_end`, 'must be after opt_in_start');
    (c.behaviors ?? []).forEach((b, j) => {
      const bat = `${at}.behaviors.${j}`;
      if (seen.behavior.has(b.id)) throw invalid(`${bat}.id`, `behavior ${b.id} is listed twice`);
      seen.behavior.add(b.id);
      if (b.type === 'composite') {
        if (!b.goals?.length) throw invalid(`${bat}.goals`, 'a composite behavior needs at least one goal');
        const names = new Set<string>();
        b.goals.forEach((g, k) => {
          if (names.has(g.name)) throw invalid(`${bat}.goals.${k}.name`, `goal ${g.name} is listed twice`);
          names.add(g.name);
        });
      } else {
        if (b.goals?.length) throw invalid(`${bat}.goals`, `a ${b.type} behavior has no goals: give count_event and earn_count`);
        if (!b.count_event) throw invalid(`${bat}.count_event`, `a ${b.type} behavior names the event it counts`);
      }
    });
  });
}

/** The goals stored for a behaviour: a count or unique behaviour is one goal named like it. */
function goalsFor(b: BehaviorConfig): GoalDef[] {
  if (b.type !== 'composite') {
    return [{ name: b.name, group_id: '0', event_name: b.count_event!, earn_count: b.earn_count ?? 1, required: true, points: 0, ...limitsOf({}) }];
  }
  return (b.goals ?? []).map((g) => ({
    name: g.name,
    group_id: String(g.group_id ?? '0'),
    event_name: g.event_name,
    earn_count: g.earn_count ?? 1,
    required: g.required ?? true,
    points: g.points ?? 0,
    ...limitsOf(g),
  }));
}

/**
 * Program apply: makes the retailer's campaigns, behaviours and goals match
 * the section, in the caller's transaction. Campaigns and behaviours not
 * listed are retired (members keep their progress); goals not listed are
 * removed from their behaviour. Run after the point accounts of the same
 * program: a campaign may name its point account.
 */
export async function applyCampaignConfig(tx: Db, retailerId: string, campaigns: CampaignConfig[]): Promise<void> {
  catalogCache.invalidate(retailerId);
  checkCampaignConfig(campaigns);
  const now = new Date();
  const accounts = await programPointAccounts(tx, retailerId);
  const known = new Set(accounts.map((a) => a.id));
  const hasDefault = accounts.some((a) => a.is_default && a.active);

  // retire first: a new campaign may take the permalink of one that leaves
  const ids = campaigns.map((c) => c.id);
  let retireCampaigns = tx.updateTable('campaigns').set({ retired_at: now }).where('retailer_id', '=', retailerId).where('retired_at', 'is', null);
  if (ids.length) retireCampaigns = retireCampaigns.where('id', 'not in', ids);
  await retireCampaigns.execute();
  const behaviorIds = campaigns.flatMap((c) => (c.behaviors ?? []).map((b) => b.id));
  let retireBehaviors = tx.updateTable('campaign_behaviors').set({ retired_at: now }).where('retailer_id', '=', retailerId).where('retired_at', 'is', null);
  if (behaviorIds.length) retireBehaviors = retireBehaviors.where('id', 'not in', behaviorIds);
  await retireBehaviors.execute();

  for (const [i, c] of campaigns.entries()) {
    const at = `campaigns.${i}`;
    const pointAccountId = c.point_account_id?.toLowerCase() ?? null;
    if (pointAccountId && !known.has(pointAccountId)) throw invalid(`${at}.point_account_id`, `point account ${c.point_account_id} not found`);
    const awards = (c.behaviors ?? []).some((b) => (b.points ?? 0) > 0 || (b.goals ?? []).some((g) => (g.points ?? 0) > 0));
    if (awards && !pointAccountId && !hasDefault) throw invalid(`${at}.point_account_id`, 'the campaign awards points: name a point account or make one default');
    const values = {
      permalink: c.permalink ?? String(c.id),
      name: c.name,
      start_date: parseWhen(c.start_date, `${at}.start_date`),
      end_date: c.end_date === undefined ? null : parseWhen(c.end_date, `${at}.end_date`),
      division_id: c.division_id ?? null,
      group_id: c.group_id ?? null,
      creative_id: c.creative_id ?? null,
      creative_ids: JSON.stringify(c.creative_ids ?? []),
      template_type: c.template_type ?? 'internal_behavior',
      audience: JSON.stringify({
        ...(c.audience?.tags?.length ? { tags: c.audience.tags } : {}),
        ...(c.audience?.tier_level_ids?.length ? { tier_level_ids: c.audience.tier_level_ids.map((l) => l.toLowerCase()) } : {}),
        ...(c.audience?.attributes && Object.keys(c.audience.attributes).length ? { attributes: c.audience.attributes } : {}),
      }),
      opt_in_required: c.opt_in_required ?? false,
      opt_in_start: c.opt_in_start === undefined ? null : parseWhen(c.opt_in_start, `${at}.opt_in_start`),
      opt_in_end: c.opt_in_end === undefined ? null : parseWhen(c.opt_in_end, `${at}.opt_in_end`),
      point_account_id: pointAccountId,
      position: i,
      retired_at: null,
    };
    await tx.insertInto('campaigns').values({ retailer_id: retailerId, id: c.id, ...values }).onConflict((oc) => oc.columns(['retailer_id', 'id']).doUpdateSet(values)).execute();

    for (const [j, b] of (c.behaviors ?? []).entries()) {
      const bValues = {
        campaign_id: c.id,
        position: j,
        name: b.name,
        external_behavior_id: b.external_behavior_id.toLowerCase(),
        event_name: b.event_name ?? b.external_behavior_id.toLowerCase(),
        type: b.type,
        points: b.points ?? 0,
        ...limitsOf(b),
        retired_at: null,
      };
      await tx.insertInto('campaign_behaviors').values({ retailer_id: retailerId, id: b.id, ...bValues }).onConflict((oc) => oc.columns(['retailer_id', 'id']).doUpdateSet(bValues)).execute();
      const goals = goalsFor(b);
      await tx.deleteFrom('campaign_goals').where('retailer_id', '=', retailerId).where('behavior_id', '=', b.id).where('name', 'not in', goals.map((g) => g.name)).execute();
      for (const [k, g] of goals.entries()) {
        const gValues = { ...g, position: k };
        await tx
          .insertInto('campaign_goals')
          .values({ retailer_id: retailerId, behavior_id: b.id, ...gValues })
          .onConflict((oc) => oc.columns(['retailer_id', 'behavior_id', 'name']).doUpdateSet(gValues))
          .execute();
      }
    }
  }
  catalogCache.invalidate(retailerId);
}

const iso = (d: Date | null) => (d ? d.toISOString() : undefined);
const orNull = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

/** The retailer's campaigns as a program section (program export). */
export async function exportCampaignConfig(db: Db, retailerId: string): Promise<CampaignConfig[]> {
  const catalog = await loadCatalog(db, retailerId);
  const limits = (l: Limits) => ({ max_times_repeatable: l.max_times_repeatable, max_times_repeatable_per_period: l.max_times_repeatable_per_period, period: l.period, min_time_between_events: l.min_time_between_events, consecutive: l.consecutive });
  return catalog.campaigns.map((c) => {
    const out: CampaignConfig = {
      id: c.id,
      permalink: c.permalink,
      name: c.name,
      start_date: c.start_date.toISOString(),
      end_date: iso(c.end_date),
      division_id: orNull(c.division_id),
      group_id: orNull(c.group_id),
      creative_id: orNull(c.creative_id),
      creative_ids: c.creative_ids,
      template_type: c.template_type,
      audience: c.audience,
      opt_in_required: c.opt_in_required,
      opt_in_start: iso(c.opt_in_start),
      opt_in_end: iso(c.opt_in_end),
      point_account_id: orNull(c.point_account_id),
      behaviors: c.behaviors.map((b) => ({
        id: b.id,
        name: b.name,
        external_behavior_id: b.external_behavior_id,
        event_name: b.event_name,
        type: b.type,
        points: b.points,
        ...limits(b),
        ...(b.type === 'composite'
          ? { goals: b.goals.map((g) => ({ name: g.name, event_name: g.event_name, earn_count: g.earn_count, required: g.required, points: g.points, group_id: g.group_id, ...limits(g) })) }
          : { count_event: b.goals[0]?.event_name, earn_count: b.goals[0]?.earn_count }),
      })),
    };
    return JSON.parse(JSON.stringify(out)) as CampaignConfig;
  });
}

/** Whether the campaign runs at `at` (from its start, until its end when it has one). */
export const isRunning = (c: CampaignDef, at: Date) => c.start_date <= at && (c.end_date === null || at < c.end_date);
