import { Type, type FastifyPluginAsyncTypebox, type Static } from '@fastify/type-provider-typebox';
import { dbOf } from '../surface.js';
import { DomainError, notFound } from '../../errors.js';
import type { Db } from '../../db/index.js';
import { optInToCampaign, recordCampaignEvents } from '../../flows/campaigns.js';
import type { Tenant } from '../../modules/tenants/credentials.js';
import { campaignCatalog, findCampaign, parseWhen, type CampaignDef, type Limits } from '../../modules/campaigns/config.js';
import {
  behaviorView,
  isRunning,
  memberCampaignView,
  memberCampaignViews,
  type BehaviorView,
  type CampaignOccurrence,
  type CampaignView,
  type MemberProgress,
} from '../../modules/campaigns/index.js';
import { actorOf, tenantOf } from '../context.js';
import { coreTime } from './render.js';
import { memberFromPath, memberRowFromPath } from './users.js';
import { fails, Obj } from '../contract.js';
import { CoreCampaignBehavior, CoreCampaignV1, CoreCampaignV2, CoreOk, coreAnswer, memberLookup } from './schemas.js';

const PromotionsAnswer = coreAnswer({ campaigns: Obj({ promotions: Type.Array(CoreCampaignV1) }) });
/** A campaign award that cannot be deposited refuses the events that earned it. */
const AWARD_FAILS = ['point_account_not_found', 'point_account_inactive', 'maximum_balance_exceeded'] as const;

const limits = (l: Limits) => ({
  max_times_repeatable: l.max_times_repeatable,
  max_times_repeatable_per_period: l.max_times_repeatable_per_period,
  period: l.period,
  min_time_between_events: l.min_time_between_events,
});

/** A behaviour in the `behaviors` object of the 2.1 / 2.3 / 2.4 examples. */
function renderBehavior(b: BehaviorView): Static<typeof CoreCampaignBehavior> {
  const def = b.def;
  const head = { external_behavior_id: def.external_behavior_id, type: def.type, points: def.points, achieved: b.achieved, can_skip: true, skipped: 0, ...limits(def), consecutive: def.consecutive };
  if (def.type !== 'composite') {
    const g = b.goals[0];
    return { ...head, event_name: g?.def.event_name ?? '', current_count: g?.state.current_count ?? 0, total_count: g?.def.earn_count ?? 1, goals: {}, groups: {} };
  }
  return {
    ...head,
    goals: Object.fromEntries(
      b.goals.map((g) => [
        g.def.name,
        {
          type: 'goal',
          points: g.def.points,
          completed: g.state.completed,
          required: g.def.required,
          earn_count: g.def.earn_count,
          group_id: g.def.group_id,
          skus: null,
          progress: {
            event_name: g.def.event_name,
            type: 'count',
            points: g.def.points,
            ...limits(g.def),
            min_time_between_events_count: 1,
            consecutive: g.def.consecutive,
            achieved: g.state.achieved,
            current_count: g.state.current_count,
            total_count: g.def.earn_count,
          },
        },
      ]),
    ),
    groups: Object.fromEntries(b.groups.map((g) => [g.id, { type: 'group', current_count: g.current_count, total_count: g.total_count, num_goals: g.num_goals, completed: g.completed }])),
  };
}

const behaviorsObject = (v: CampaignView) => Object.fromEntries(v.behaviors.map((b) => [b.def.name, renderBehavior(b)]));

/** The v1 promotion (2.1); `progress: false` for the retailer's list. */
function renderV1(v: CampaignView, options: { progress: boolean } = { progress: true }): Static<typeof CoreCampaignV1> {
  const c = v.campaign;
  return {
    campaign_id: c.id,
    name: c.name,
    group_id: c.group_id ?? 0,
    creative_id: c.creative_id ?? 0,
    start_date: coreTime(c.start_date),
    end_date: c.end_date ? coreTime(c.end_date) : null,
    permalink: c.permalink,
    template: { type: c.template_type },
    ...(options.progress
      ? {
          progress: {
            state: v.state,
            ...(v.behaviors.length
              ? {
                  behaviors: v.behaviors.map((b) => ({
                    behavior_id: b.def.id,
                    external_behavior_id: b.def.external_behavior_id,
                    event_name: b.def.event_name,
                    name: b.def.name,
                    progress: b.progress,
                    goal: b.goal,
                    active: b.active,
                  })),
                }
              : {}),
          },
        }
      : {}),
    behaviors: behaviorsObject(v),
    ...(c.division_id ? { division_id: c.division_id } : {}),
  };
}

/**
 * A campaign that runs a hundred years or more is open-ended: the v2 answer
 * shows no `ends_at` for it (the 2.3 example's 288, 324 and 607), while the
 * v1 answer gives its `end_date`.
 */
function openEnded(c: CampaignDef): boolean {
  if (!c.end_date) return true;
  const century = new Date(c.start_date);
  century.setUTCFullYear(century.getUTCFullYear() + 100);
  return c.end_date >= century;
}

export interface Sections {
  behaviors: boolean;
  progress: boolean;
}

/** The v2 campaign (2.3, 2.4), with the sections asked for. */
function renderV2(v: CampaignView, sections: Sections): Static<typeof CoreCampaignV2> {
  const c = v.campaign;
  return {
    campaign_id: c.id,
    campaign_permalink: c.permalink,
    name: c.name,
    status: v.state,
    starts_at: coreTime(c.start_date),
    ...(openEnded(c) ? {} : { ends_at: coreTime(c.end_date!) }),
    qualified: v.qualified,
    ...(sections.progress
      ? {
          progress: {
            state: v.state,
            ...(v.behaviors.length ? { behaviors: v.behaviors.map((b) => ({ behavior_id: b.def.id, event_name: b.def.event_name, name: b.def.name, progress: b.progress, goal: b.goal })) } : {}),
          },
        }
      : {}),
    ...(sections.behaviors ? { behaviors: behaviorsObject(v) } : {}),
    creative_ids: c.creative_ids,
    ...(c.division_id ? { division_id: c.division_id } : {}),
  };
}

function parseSections(value: string | string[] | undefined): Sections {
  const names = new Set(([] as string[]).concat(value ?? []).flatMap((s) => s.split(',')).map((s) => s.trim().toLowerCase()));
  return { behaviors: names.has('behaviors') || names.has('behaviours'), progress: names.has('progress') };
}

const byStartAscending = (a: CampaignView, b: CampaignView) => a.campaign.start_date.getTime() - b.campaign.start_date.getTime() || a.campaign.id - b.campaign.id;

async function campaignFromPath(db: Db, tenant: Tenant, ref: string): Promise<CampaignDef> {
  const campaign = findCampaign(await campaignCatalog(db, tenant.retailerId), ref);
  if (!campaign) throw notFound(`campaign ${ref}`);
  return campaign;
}

/** The member's view of one campaign, or `not_available` when it is not theirs to see. */
async function availableView(db: Db, tenant: Tenant, memberId: string, campaign: CampaignDef, now = new Date()): Promise<CampaignView> {
  const view = await memberCampaignView(db, tenant.retailerId, memberId, campaign, now);
  if (!view.qualified) throw new DomainError('not_available', `campaign ${campaign.id} is not available to this user`, 'campaign_id');
  if (!isRunning(campaign, now)) throw new DomainError('not_available', `campaign ${campaign.id} is not running`, 'campaign_id');
  return view;
}

const MemberParams = {
  user: Type.Object({ user_id: Type.String() }),
  external: Type.Object({ external_id: Type.String() }),
  userCampaign: Type.Object({ user_id: Type.String(), campaign_id: Type.String() }),
  externalCampaign: Type.Object({ external_id: Type.String(), campaign_id: Type.String() }),
};

const SectionsQuery = Type.Object({
  sections: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Array(Type.String({ maxLength: 200 }), { maxItems: 10 })], { description: 'comma separated: behaviors, progress' })),
});
const PagedQuery = Type.Composite([
  SectionsQuery,
  Type.Object({
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, default: 1 })),
    page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  }),
]);

/** Campaign event occurrences: `{"<event>": [{"qty": 1, "store": "A1B2"}, …]}` (also one object or a count). */
function parseOccurrences(body: unknown, now: Date): { event: string; occurrences: CampaignOccurrence[] }[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !Object.keys(body).length) {
    throw new DomainError('missing_data', 'body: give {"<event_name>": [{"qty": 1, "store": "…"}]}', 'body');
  }
  return Object.entries(body as Record<string, unknown>).map(([event, value]) => {
    if (!event.trim()) throw new DomainError('argument_error', 'event name: must not be empty', 'body');
    const list = typeof value === 'number' || typeof value === 'string' ? [{ qty: value }] : Array.isArray(value) ? value : [value];
    if (list.length > 1000) throw new DomainError('argument_error', `${event}: at most 1000 occurrences`, event);
    const occurrences = list.map((item, i) => {
      const field = `${event}.${i}`;
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new DomainError('argument_error', `${field}: expected {"qty", "store"}`, field);
      const o = item as Record<string, unknown>;
      const qtyValue = o.qty ?? 1;
      const qty = typeof qtyValue === 'number' ? qtyValue : typeof qtyValue === 'string' && /^\s*\d+\s*$/.test(qtyValue) ? Number(qtyValue) : NaN;
      if (!Number.isInteger(qty) || qty < 1 || qty > 1_000_000) throw new DomainError('argument_error', `${field}.qty: expected a whole number from 1`, `${field}.qty`);
      if (o.store !== undefined && typeof o.store !== 'string' && typeof o.store !== 'number') throw new DomainError('argument_error', `${field}.store: expected a string`, `${field}.store`);
      const dateValue = o.date ?? o.occurred_at ?? o.timestamp;
      let occurredAt = now;
      if (dateValue !== undefined) {
        if (typeof dateValue !== 'string') throw new DomainError('argument_error', `${field}.date: expected an ISO 8601 time`, `${field}.date`);
        try {
          occurredAt = parseWhen(dateValue, `${field}.date`);
        } catch {
          throw new DomainError('argument_error', `${field}.date: expected an ISO 8601 time`, `${field}.date`);
        }
      }
      return { qty, store: o.store === undefined ? undefined : String(o.store), occurredAt };
    });
    return { event, occurrences };
  });
}

/** Core v1 campaign routes, under /priv/v1/apps/:appkey (2.1, 2.2, 1.3.2, the retailer's list and the list by external id). */
export const campaignRoutesV1: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  const tags = ['Core: campaigns'];

  const catalogSchema = {
    summary: "The retailer's campaigns (v1: `campaigns.promotions`)",
    description: 'Every campaign of the program that is not retired, oldest start first, with its behaviours and no member progress.',
    tags,
    response: { 200: PromotionsAnswer },
  };
  app.get('/campaigns', { schema: catalogSchema, config: { replica: true } }, async (request) => {
    const tenant = tenantOf(request);
    const catalog = await campaignCatalog(dbOf(request), tenant.retailerId);
    const empty: MemberProgress = { optedIn: new Map(), states: new Map(), behaviors: new Map(), goals: new Map() };
    const now = new Date();
    const promotions = catalog.campaigns
      .map((c): CampaignView => ({ campaign: c, state: 'qualified', qualified: true, optedIn: false, behaviors: c.behaviors.map((b) => behaviorView(b, empty, isRunning(c, now))) }))
      .sort(byStartAscending)
      .map((v) => renderV1(v, { progress: false }));
    return { status: 'ok' as const, campaigns: { promotions } };
  });

  for (const [base, params, campaignParams] of [
    ['/users/:user_id', MemberParams.user, MemberParams.userCampaign],
    ['/external/users/:external_id', MemberParams.external, MemberParams.externalCampaign],
  ] as const) {
    const lookup = memberLookup(base);
    const listSchema = {
      summary: "A member's campaigns with progress and behaviours (2.1)",
      description: 'The campaigns with behaviours that the member qualifies for, oldest start first, with its progress on each behaviour.',
      tags,
      params,
      response: { 200: PromotionsAnswer, ...fails(...lookup) },
    };
    app.get(`${base}/campaigns`, { schema: listSchema, config: { replica: true } }, async (request) => {
      const tenant = tenantOf(request);
      const db = dbOf(request);
      const member = await memberRowFromPath(db, tenant, request.params);
      const views = await memberCampaignViews(db, tenant.retailerId, member.id, new Date(), member);
      // promotions: the campaigns with behaviours to achieve
      return { status: 'ok' as const, campaigns: { promotions: views.filter((v) => v.behaviors.length).sort(byStartAscending).map((v) => renderV1(v)) } };
    });

    const optInHandler = async (request: { params: { user_id?: string; external_id?: string; campaign_id: string } } & Parameters<typeof actorOf>[0]) => {
      const tenant = tenantOf(request);
      const member = await memberFromPath(db, tenant, request.params);
      const campaign = await campaignFromPath(db, tenant, request.params.campaign_id);
      await optInToCampaign(db, actorOf(request), member.id, campaign);
      return { status: 'ok' as const };
    };
    const optInSchema = {
      summary: 'Opt a member into a campaign (2.2; GET as the collection sends it, or POST)',
      description: "Opts the member into a running campaign (by id or permalink) whose audience takes it, within the campaign's opt-in window; opting in again changes nothing.",
      tags,
      params: campaignParams,
      response: { 200: CoreOk, ...fails(...lookup, 'not_found', 'not_available') },
    };
    app.get(`${base}/campaigns/:campaign_id/opt_in`, { schema: optInSchema }, optInHandler);
    app.post(`${base}/campaigns/:campaign_id/opt_in`, { schema: optInSchema }, optInHandler);

    app.post(
      `${base}/campaigns/:campaign_id/events`,
      {
        config: { dryRun: true },
        schema: {
          summary: "Record occurrences of a campaign's events (1.3.2): {\"<event_name>\": [{\"qty\": 1, \"store\": \"A1B2\"}]}",
          description:
            "Counts occurrences of events toward the member's goals in this campaign (running and available to the member), with their quantities, stores and dates; behaviours achieved award their points in the same transaction.",
          tags,
          params: campaignParams,
          body: Type.Record(Type.String(), Type.Unknown()),
          response: { 200: CoreOk, ...fails(...lookup, 'not_found', 'not_available', ...AWARD_FAILS) },
        },
      },
      async (request) => {
        const tenant = tenantOf(request);
        const now = new Date();
        const events = parseOccurrences(request.body, now);
        const db = dbOf(request);
        const member = await memberFromPath(db, tenant, request.params);
        const campaign = await campaignFromPath(db, tenant, request.params.campaign_id);
        await availableView(db, tenant, member.id, campaign, now);
        await recordCampaignEvents(db, actorOf(request), member.id, campaign.id, events);
        return { status: 'ok' as const };
      },
    );
  }
};

/** Core v2 campaign routes, under /priv/v2/apps/:appkey (2.3, 2.4). */
export const campaignRoutesV2: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  const tags = ['Core: campaigns'];
  for (const [base, params, campaignParams] of [
    ['/external/users/:external_id', MemberParams.external, MemberParams.externalCampaign],
    ['/users/:user_id', MemberParams.user, MemberParams.userCampaign],
  ] as const) {
    const lookup = memberLookup(base);
    const listSchema = {
      summary: "A member's campaigns, newest first, paged, with `sections` (2.3)",
      description: 'The campaigns the member sees, newest start first, one page of them; `sections` adds the progress and the behaviours of each.',
      tags,
      params,
      querystring: PagedQuery,
      response: {
        200: Obj({
          page: Type.Integer(),
          page_size: Type.Integer(),
          number_of_pages: Type.Integer({ description: 'at least 1' }),
          status: Type.Literal('ok'),
          campaigns: Type.Array(CoreCampaignV2),
        }),
        ...fails(...lookup),
      },
    };
    app.get(`${base}/campaigns`, { schema: listSchema, config: { replica: true } }, async (request) => {
      const tenant = tenantOf(request);
      const db = dbOf(request);
      const member = await memberRowFromPath(db, tenant, request.params);
      const sections = parseSections(request.query.sections);
      const page = request.query.page ?? 1;
      const pageSize = request.query.page_size ?? 20;
      const views = (await memberCampaignViews(db, tenant.retailerId, member.id, new Date(), member)).sort((a, b) => -byStartAscending(a, b));
      return {
        page,
        page_size: pageSize,
        number_of_pages: Math.max(1, Math.ceil(views.length / pageSize)),
        status: 'ok' as const,
        campaigns: views.slice((page - 1) * pageSize, page * pageSize).map((v) => renderV2(v, sections)),
      };
    });

    app.get(
      `${base}/campaigns/:campaign_id`,
      {
        schema: {
          summary: 'One campaign of a member by id or permalink, with `sections` (2.4)',
          description: 'A running campaign available to the member, by id or permalink; `sections` adds its progress and behaviours.',
          tags,
          params: campaignParams,
          querystring: SectionsQuery,
          response: { 200: coreAnswer({ campaign: CoreCampaignV2 }), ...fails(...lookup, 'not_found', 'not_available') },
        },
      },
      async (request) => {
        const tenant = tenantOf(request);
        const member = await memberFromPath(db, tenant, request.params);
        const campaign = await campaignFromPath(db, tenant, request.params.campaign_id);
        const view = await availableView(db, tenant, member.id, campaign);
        return { status: 'ok' as const, campaign: renderV2(view, parseSections(request.query.sections)) };
      },
    );
  }
};
