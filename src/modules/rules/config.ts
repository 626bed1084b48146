import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';
import { ConfigCache } from '../../lib/config-cache.js';
import { findOffer } from '../offers/catalog.js';
import { parseAmount, ZERO } from '../points/amount.js';
import { programPointAccounts } from '../points/accounts.js';
import { programTierLevels } from '../tiers/config.js';
import { ConditionSchema, type Condition } from './conditions.js';

export const TRIGGERS = ['event', 'purchase', 'signup', 'profile_change', 'tag', 'tier_change'] as const;
export type TriggerType = (typeof TRIGGERS)[number];

const Uuid = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });
const Amount = Type.Union([Type.Number(), Type.String({ maxLength: 40 })]);
const Path = Type.String({ minLength: 1, maxLength: 200, description: 'a dotted path into the event context' });

const PointsOutcome = Type.Object(
  {
    type: Type.Literal('points'),
    point_account_id: Uuid,
    amount: Type.Union([
      Amount,
      Type.Object(
        {
          per: Amount,
          of: Path,
          points: Type.Optional(Amount),
        },
        { additionalProperties: false, description: '`points` (default 1) for every `per` units of the context value `of`, rounded down to whole points' },
      ),
    ]),
    point_source_id: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);
const OfferOutcome = Type.Object({ type: Type.Literal('offer'), offer_id: Uuid }, { additionalProperties: false });
const TagOutcome = Type.Object(
  { type: Type.Literal('tag'), tag: Type.String({ minLength: 1, maxLength: 255 }), ttl: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 * 365 * 86400, description: 'seconds; absent: a counter tag' })) },
  { additionalProperties: false },
);
const TierOutcome = Type.Object({ type: Type.Literal('tier'), tier_level_id: Uuid, tier_system_id: Type.Optional(Uuid) }, { additionalProperties: false });
const AttributeOutcome = Type.Object(
  {
    type: Type.Literal('attribute'),
    name: Type.String({ minLength: 1, maxLength: 100, description: 'a custom profile attribute' }),
    value: Type.Optional(Type.Unknown()),
    from: Type.Optional(Path),
  },
  { additionalProperties: false, description: 'sets the attribute to `value`, or to the context value at `from`' },
);

export const OutcomeSchema = Type.Union([PointsOutcome, OfferOutcome, TagOutcome, TierOutcome, AttributeOutcome]);
export type OutcomeConfig = Static<typeof OutcomeSchema>;

export const LimitsSchema = Type.Object(
  {
    total: Type.Optional(Type.Integer({ minimum: 1, description: 'times per member, ever' })),
    per_period: Type.Optional(Type.Object({ count: Type.Integer({ minimum: 1 }), seconds: Type.Integer({ minimum: 1 }) }, { additionalProperties: false, description: 'times per member within any `seconds` ending at the event' })),
    min_seconds_between: Type.Optional(Type.Integer({ minimum: 1, description: 'at least this long between two achievements' })),
    consecutive_days: Type.Optional(Type.Integer({ minimum: 2, maximum: 366, description: 'achieved when the trigger happened on this many consecutive (UTC) days, the event\'s day last; a streak counts once' })),
  },
  { additionalProperties: false },
);
export type RuleLimits = Static<typeof LimitsSchema>;

export const RuleSchema = Type.Object(
  {
    id: Uuid,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    active: Type.Optional(Type.Boolean()),
    trigger: Type.Object(
      {
        type: Type.Union(TRIGGERS.map((t) => Type.Literal(t))),
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'event: the event name (required); tag: the tag; tier_change: the level id reached; absent: any' })),
      },
      { additionalProperties: false },
    ),
    conditions: Type.Optional(ConditionSchema),
    limits: Type.Optional(LimitsSchema),
    outcomes: Type.Array(OutcomeSchema, { minItems: 1, maxItems: 20 }),
  },
  { additionalProperties: false },
);
export type RuleConfig = Static<typeof RuleSchema>;

/** The program section `rules`: a list of rules (SPEC §5.8). */
export const RulesProgramSchema = Type.Array(RuleSchema, { description: 'rules: a trigger, conditions, limits and outcomes; rules not listed are retired' });

/** A rule as the engine uses it. */
export interface Rule {
  id: string;
  name: string;
  trigger: TriggerType;
  triggerName: string;
  conditions: Condition | null;
  limits: RuleLimits;
  outcomes: OutcomeConfig[];
  position: number;
}

const invalid = (field: string, message: string) => new DomainError('validation', `${field}: ${message}`, field);

/**
 * Program apply: makes the retailer's rules match the list, in the caller's
 * transaction. Rules not listed are retired (their achievements stay). Runs
 * after the program's point accounts, offers and tier systems: outcomes name
 * them by id and are checked here. Checks the list against RulesProgramSchema
 * too, so it may be called with an unchecked document.
 */
export async function applyRuleConfig(tx: Db, retailerId: string, rules: RuleConfig[]): Promise<void> {
  const first = Value.Errors(RulesProgramSchema, rules).First();
  if (first) {
    const field = `rules${first.path.replace(/\//g, '.')}`;
    throw invalid(field, first.message);
  }
  rulesCache.invalidate(retailerId);
  const accounts = new Set((await programPointAccounts(tx, retailerId)).map((a) => a.id));
  const levels = await programTierLevels(tx, retailerId);
  const seen = new Set<string>();
  const now = new Date();
  for (const [i, r] of rules.entries()) {
    const at = `rules.${i}`;
    const id = r.id.toLowerCase();
    if (seen.has(id)) throw invalid(`${at}.id`, `rule ${r.id} is listed twice`);
    seen.add(id);
    if (r.trigger.type === 'event' && !r.trigger.name?.trim()) throw invalid(`${at}.trigger.name`, 'an event rule names its event');
    for (const [j, o] of r.outcomes.entries()) await checkOutcome(tx, retailerId, `${at}.outcomes.${j}`, o, accounts, levels);
    const values = {
      name: r.name,
      trigger: r.trigger.type,
      trigger_name: r.trigger.type === 'tier_change' ? (r.trigger.name ?? '').toLowerCase() : (r.trigger.name ?? '').trim(),
      conditions: JSON.stringify(r.conditions ?? null),
      limits: JSON.stringify(r.limits ?? {}),
      outcomes: JSON.stringify(r.outcomes.map((o) => normalizeOutcome(o))),
      position: i,
      active: r.active ?? true,
      updated_at: now,
      retired_at: null,
    };
    await tx.insertInto('rules').values({ retailer_id: retailerId, id, ...values }).onConflict((oc) => oc.columns(['retailer_id', 'id']).doUpdateSet(values)).execute();
  }
  let retire = tx.updateTable('rules').set({ retired_at: now }).where('retailer_id', '=', retailerId).where('retired_at', 'is', null);
  if (seen.size) retire = retire.where('id', 'not in', [...seen]);
  await retire.execute();
  rulesCache.invalidate(retailerId);
}

async function checkOutcome(tx: Db, retailerId: string, at: string, o: OutcomeConfig, accounts: Set<string>, levels: { id: string; tier_system_id: string }[]): Promise<void> {
  const amount = (field: string, value: string | number, positive = true) => {
    let parsed: bigint;
    try {
      parsed = parseAmount(value, field);
    } catch (err) {
      throw invalid(field, (err as Error).message.replace(/^[^:]*: /, ''));
    }
    if (positive ? parsed <= ZERO : parsed < ZERO) throw invalid(field, 'must be greater than 0');
  };
  switch (o.type) {
    case 'points':
      if (!accounts.has(o.point_account_id.toLowerCase())) throw invalid(`${at}.point_account_id`, `point account ${o.point_account_id} not found`);
      if (typeof o.amount === 'object') {
        amount(`${at}.amount.per`, o.amount.per);
        if (o.amount.points !== undefined) amount(`${at}.amount.points`, o.amount.points);
      } else amount(`${at}.amount`, o.amount);
      return;
    case 'offer':
      if (!(await findOffer(tx, retailerId, o.offer_id))) throw invalid(`${at}.offer_id`, `offer ${o.offer_id} not found`);
      return;
    case 'tier': {
      const level = levels.find((l) => l.id === o.tier_level_id.toLowerCase());
      if (!level || (o.tier_system_id && level.tier_system_id !== o.tier_system_id.toLowerCase())) throw invalid(`${at}.tier_level_id`, `tier level ${o.tier_level_id} not found`);
      return;
    }
    case 'attribute':
      if ((o.value === undefined) === (o.from === undefined)) throw invalid(`${at}.value`, 'give either value or from');
      if (o.name === '_version') throw invalid(`${at}.name`, '_version is the server\'s counter');
      return;
    case 'tag':
      return;
  }
}

function normalizeOutcome(o: OutcomeConfig): OutcomeConfig {
  switch (o.type) {
    case 'points':
      return { ...o, point_account_id: o.point_account_id.toLowerCase(), ...(o.point_source_id ? { point_source_id: o.point_source_id.toLowerCase() } : {}) };
    case 'offer':
      return { ...o, offer_id: o.offer_id.toLowerCase() };
    case 'tier':
      return { ...o, tier_level_id: o.tier_level_id.toLowerCase(), ...(o.tier_system_id ? { tier_system_id: o.tier_system_id.toLowerCase() } : {}) };
    default:
      return o;
  }
}

/** The retailer's rules as a program section (export). */
export async function listRuleConfig(db: Db, retailerId: string): Promise<RuleConfig[]> {
  const rows = await db.selectFrom('rules').selectAll().where('retailer_id', '=', retailerId).where('retired_at', 'is', null).orderBy('position').execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    active: r.active,
    trigger: { type: r.trigger as TriggerType, ...(r.trigger_name ? { name: r.trigger_name } : {}) },
    ...(r.conditions ? { conditions: r.conditions as Condition } : {}),
    ...(Object.keys(r.limits).length ? { limits: r.limits as RuleLimits } : {}),
    outcomes: r.outcomes as OutcomeConfig[],
  }));
}

type RuleIndex = Map<string, Rule[]>;

const indexKey = (type: string, name: string) => `${type}\u0000${name.toLowerCase()}`;

/** The retailer's active rules by trigger and name; invalidated by applyRuleConfig. */
export const rulesCache = new ConfigCache<RuleIndex>();

async function loadRuleIndex(db: Db, retailerId: string): Promise<RuleIndex> {
  const rows = await db.selectFrom('rules').selectAll().where('retailer_id', '=', retailerId).where('retired_at', 'is', null).where('active', '=', true).orderBy('position').execute();
  const index: RuleIndex = new Map();
  for (const r of rows) {
    const rule: Rule = {
      id: r.id,
      name: r.name,
      trigger: r.trigger as TriggerType,
      triggerName: r.trigger_name,
      conditions: (r.conditions as Condition | null) ?? null,
      limits: r.limits as RuleLimits,
      outcomes: r.outcomes as unknown as OutcomeConfig[],
      position: r.position,
    };
    const key = indexKey(rule.trigger, rule.triggerName);
    index.set(key, [...(index.get(key) ?? []), rule]);
  }
  return index;
}

/** The rules a trigger matches: those naming it, and (but for events) those of its type naming nothing. */
export async function matchingRules(db: Db, retailerId: string, trigger: { type: TriggerType; name?: string | null }): Promise<Rule[]> {
  const index = await rulesCache.get(retailerId, () => loadRuleIndex(db, retailerId));
  const named = trigger.name ? (index.get(indexKey(trigger.type, trigger.name)) ?? []) : [];
  const any = trigger.type === 'event' ? [] : (index.get(indexKey(trigger.type, '')) ?? []);
  return [...named, ...any].sort((a, b) => a.position - b.position);
}
