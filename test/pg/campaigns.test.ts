// Campaigns (SPEC §5.8, issue 5) on PostgreSQL: the program's `campaigns`
// section, the 2.1–2.4 answers in the shapes of the recorded examples, opt-in,
// campaign events advancing goals under the repetition limits, composite
// completion with optional goals, points awarded once under concurrent
// events, audiences on tags, custom attributes and tier, restricted members.
import { transact } from '../../src/db/unit-of-work.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { pointsProgram, tierProgram } from '../support/factories.js';
import type { Db } from '../../src/db/index.js';
import { DomainError } from '../../src/errors.js';
import { changePoints } from '../../src/flows/points.js';
import { lockMemberRef } from '../../src/modules/members/service.js';
import { availablePoints } from '../../src/modules/points/queries.js';
import { toJson } from '../../src/modules/points/amount.js';
import { CampaignsProgramSchema, applyCampaignConfig, campaignCatalog, exportCampaignConfig, type CampaignConfig } from '../../src/modules/campaigns/config.js';
import { recordCampaignEvent } from '../../src/flows/campaign-award.js';
import { memberCampaignView, memberCampaignViews, type CampaignOccurrence } from '../../src/modules/campaigns/index.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** The recorded answers of the collection's requests, by name prefix. */
function example(prefix: string): any {
  const collection = JSON.parse(readFileSync('/work/shared/seed/api-starter-pack.postman_collection.json', 'utf8'));
  const stack = [...collection.item];
  while (stack.length) {
    const item = stack.shift();
    if (item.item) stack.push(...item.item);
    else if (item.name.startsWith(prefix) && item.response?.length) return JSON.parse(item.response[0].body);
  }
  throw new Error(`no example for ${prefix}`);
}

const demoCampaigns = (): CampaignConfig[] => (parseYaml(readFileSync('examples/brand-x/program.yaml', 'utf8')) as { campaigns: CampaignConfig[] }).campaigns;


async function apply(db: Db, retailerId: string, campaigns: CampaignConfig[]) {
  assert.ok(Value.Check(CampaignsProgramSchema, campaigns), JSON.stringify([...Value.Errors(CampaignsProgramSchema, campaigns)][0]));
  await transact(db, (tx) => applyCampaignConfig(tx, retailerId, campaigns));
}

/** Occurrences of an event for a member, under the member's lock, as the events flow calls it. */
async function record(db: Db, tenant: TestTenant, memberId: string, event: string, occurrences: Partial<CampaignOccurrence>[] | number = 1, options: { campaignId?: number } = {}) {
  const list = typeof occurrences === 'number' ? Array.from({ length: occurrences }, () => ({})) : occurrences;
  return transact(db, async (tx) => {
    const member = await lockMemberRef(tx, tenant.retailer_id, memberId);
    return recordCampaignEvent(tx, tenant.actor, member, event, list.map((o) => ({ qty: 1, occurredAt: new Date(), ...o })), options);
  });
}

const past = (days: number) => new Date(Date.now() - days * DAY).toISOString();
const future = (days: number) => new Date(Date.now() + days * DAY).toISOString();

/** A one-behaviour campaign counting `event`. */
function simple(id: number, behavior: Partial<CampaignConfig['behaviors'] extends (infer B)[] | undefined ? B : never>, extra: Partial<CampaignConfig> = {}): CampaignConfig {
  return {
    id,
    name: `Campaign ${id}`,
    start_date: past(30),
    end_date: future(30),
    ...extra,
    behaviors: [{ id: id * 10, name: `behavior_${id}`, external_behavior_id: randomUUID(), type: 'count', count_event: `event_${id}`, earn_count: 1, ...behavior }],
  };
}

describe('campaigns', () => {
  let t: TestApp;
  let demo: TestTenant;

  before(async () => {
    t = await postgresApp();
    demo = await createTenant(t.db);
    await pointsProgram(t.db, demo.retailer_id);
    await apply(t.db, demo.retailer_id, demoCampaigns());
  });

  const v2 = (tenant: TestTenant) => `/priv/v2/apps/${tenant.appkey}`;
  const get = (url: string, tenant = demo) => call(t.app, { method: 'GET', url, headers: { authorization: tenant.core } });
  const post = (url: string, payload: unknown, tenant = demo) => call(t.app, { method: 'POST', url, headers: { authorization: tenant.core }, payload: payload as object });

  describe('program section', () => {
    it('applies the demo campaigns, again without change, and exports them', async () => {
      const before = await exportCampaignConfig(t.db, demo.retailer_id);
      await apply(t.db, demo.retailer_id, demoCampaigns());
      const again = await exportCampaignConfig(t.db, demo.retailer_id);
      assert.deepEqual(again, before);
      assert.deepEqual(again.map((c) => c.id), [288, 324, 607, 26]);
      assert.equal(again[2].permalink, 'mmc_rules_promotion_25');
      assert.equal(again[2].start_date, '2025-01-15T00:00:00.000Z');
      assert.equal(again[2].behaviors![0].goals![0].period, 315360000);
      // the export applies as it is
      await apply(t.db, demo.retailer_id, again);
      assert.deepEqual(await exportCampaignConfig(t.db, demo.retailer_id), before);
    });

    it('retires campaigns no longer listed and brings them back', async () => {
      const tenant = await createTenant(t.db);
      await apply(t.db, tenant.retailer_id, demoCampaigns());
      await apply(t.db, tenant.retailer_id, demoCampaigns().filter((c) => c.id !== 26));
      assert.deepEqual((await campaignCatalog(t.db, tenant.retailer_id)).campaigns.map((c) => c.id), [288, 324, 607]);
      await apply(t.db, tenant.retailer_id, demoCampaigns());
      assert.deepEqual((await campaignCatalog(t.db, tenant.retailer_id)).campaigns.map((c) => c.id), [288, 324, 607, 26]);
    });

    it('refuses inconsistent sections, naming the field', async () => {
      const tenant = await createTenant(t.db);
      const cases: [CampaignConfig[], RegExp][] = [
        [[simple(1, {}), simple(1, {})], /campaigns\.1\.id/],
        [[{ ...simple(1, {}), permalink: 'x' }, { ...simple(2, {}), permalink: 'X' }], /permalink/],
        [[simple(1, { type: 'composite', count_event: undefined })], /goals/],
        [[simple(1, { count_event: undefined })], /count_event/],
        [[{ ...simple(1, {}), end_date: past(40) }], /end_date/],
        [[{ ...simple(1, {}), opt_in_start: past(60) }], /opt_in_start/],
        [[simple(1, { points: 10 })], /point_account_id/], // no default account at this retailer
        [[{ ...simple(1, {}), point_account_id: randomUUID() }], /point_account_id/],
      ];
      for (const [campaigns, field] of cases) {
        await assert.rejects(
          transact(t.db, (tx) => applyCampaignConfig(tx, tenant.retailer_id, campaigns)),
          (err: DomainError) => err.code === 'validation' && field.test(err.message),
        );
      }
      assert.equal(Value.Check(CampaignsProgramSchema, [{ ...simple(1, {}), start_date: 'soon' }]), false);
    });
  });

  describe('answers in the shapes of the examples', () => {
    it('2.1: the v1 list matches the recorded example for a new member', async () => {
      const user = await createMemberViaApi(t.app, demo);
      const res = await get(`${demo.base}/users/${user.id}/campaigns`);
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(res.json, example('2.1 '));
      // v1 by external id, and the v1 `campaigns` is an object
      const ext = await get(`${demo.base}/external/users/${user.external_id}/campaigns`);
      assert.deepEqual(ext.json, example('2.1 '));
    });

    it('2.3: the v2 list with sections and paging matches the recorded example', async () => {
      const user = await createMemberViaApi(t.app, demo);
      const res = await get(`${v2(demo)}/external/users/${user.external_id}/campaigns/?sections=behaviors,progress`);
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(res.json, example('2.3 '));
      // without sections: neither progress nor behaviours
      const bare = await get(`${v2(demo)}/external/users/${user.external_id}/campaigns`);
      assert.deepEqual(Object.keys(bare.json.campaigns[0]), ['campaign_id', 'campaign_permalink', 'name', 'status', 'starts_at', 'qualified', 'creative_ids', 'division_id']);
      const only = await get(`${v2(demo)}/external/users/${user.external_id}/campaigns?sections=progress`);
      assert.ok(only.json.campaigns[0].progress && !only.json.campaigns[0].behaviors);
      // pages
      const page = await get(`${v2(demo)}/external/users/${user.external_id}/campaigns?page=2&page_size=3`);
      assert.deepEqual([page.json.page, page.json.page_size, page.json.number_of_pages], [2, 3, 2]);
      assert.deepEqual(page.json.campaigns.map((c: any) => c.campaign_id), [26]);
    });

    it('2.4: one campaign by id or permalink matches the recorded example', async () => {
      const user = await createMemberViaApi(t.app, demo);
      const byId = await get(`${v2(demo)}/external/users/${user.external_id}/campaigns/607/?sections=behaviors,progress`);
      assert.equal(byId.status, 200, byId.body);
      assert.deepEqual(byId.json, example('2.4 '));
      const byPermalink = await get(`${v2(demo)}/external/users/${user.external_id}/campaigns/MMC_RULES_PROMOTION_25?sections=behaviors,progress`);
      assert.deepEqual(byPermalink.json, example('2.4 '));
      const unknown = await get(`${v2(demo)}/external/users/${user.external_id}/campaigns/999`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.errors.code, 'not_found');
    });

    it("the retailer's list is an object of promotions", async () => {
      const res = await get(`${demo.base}/campaigns`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json.campaigns.promotions.map((c: any) => c.campaign_id), [26, 288, 324, 607]);
      const c607 = res.json.campaigns.promotions[3];
      assert.equal(c607.progress, undefined);
      assert.deepEqual(c607.behaviors, example('2.1 ').campaigns.promotions[2].behaviors);
    });

    it('401 without or with wrong credentials, 404 for unknown members', async () => {
      const user = await createMemberViaApi(t.app, demo);
      const other = await createTenant(t.db);
      for (const url of [`${demo.base}/users/${user.id}/campaigns`, `${v2(demo)}/external/users/${user.external_id}/campaigns`, `${demo.base}/campaigns`]) {
        assert.equal((await call(t.app, { method: 'GET', url })).status, 401);
        const wrong = await get(url, other);
        assert.equal(wrong.status, 401);
        assert.equal(wrong.json.errors.code, 'invalid_api_key');
      }
      const missing = await get(`${demo.base}/users/${randomUUID()}/campaigns`);
      assert.equal(missing.status, 404);
      assert.equal(missing.json.errors.code, 'user_not_found');
      assert.equal((await get(`${v2(demo)}/external/users/NOBODY/campaigns/607`)).status, 404);
      // another retailer's member is unknown here
      const stranger = await createMemberViaApi(t.app, other);
      assert.equal((await get(`${demo.base}/users/${stranger.id}/campaigns`)).status, 404);
    });
  });

  describe('opt-in (2.2)', () => {
    it('opts in with GET as the collection sends it; an unresolved :campaign_id is 404', async () => {
      const user = await createMemberViaApi(t.app, demo);
      const res = await get(`${demo.base}/users/${user.id}/campaigns/607/opt_in`);
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(res.json, { status: 'ok' });
      assert.equal((await get(`${demo.base}/users/${user.id}/campaigns/607/opt_in`)).status, 200);
      const list = await get(`${demo.base}/users/${user.id}/campaigns`);
      assert.deepEqual(list.json.campaigns.promotions.map((c: any) => c.progress.state), ['qualified', 'qualified', 'opted_in']);
      const literal = await get(`${demo.base}/users/${user.id}/campaigns/:campaign_id/opt_in`);
      assert.equal(literal.status, 404);
      assert.equal(literal.json.errors.code, 'not_found');
      assert.equal((await get(`${demo.base}/users/${user.id}/campaigns/%3Acampaign_id/opt_in`)).status, 404);
      assert.equal((await post(`${demo.base}/users/${user.id}/campaigns/999/opt_in`, {})).status, 404);
    });

    it('events of an opt-in campaign count only after the opt-in, within its window', async () => {
      const tenant = await createTenant(t.db);
      await pointsProgram(t.db, tenant.retailer_id);
      await apply(t.db, tenant.retailer_id, [simple(5, {}, { opt_in_required: true }), simple(6, {}, { opt_in_required: true, opt_in_start: past(20), opt_in_end: past(10) })]);
      const user = await createMemberViaApi(t.app, tenant);
      assert.equal((await record(t.db, tenant, user.id, 'event_5')).behaviorsAchieved.length, 0);
      assert.equal((await get(`${tenant.base}/users/${user.id}/campaigns/5/opt_in`, tenant)).status, 200);
      assert.equal((await record(t.db, tenant, user.id, 'event_5')).behaviorsAchieved.length, 1);
      const closed = await get(`${tenant.base}/users/${user.id}/campaigns/6/opt_in`, tenant);
      assert.equal(closed.status, 404);
      assert.equal(closed.json.errors.code, 'not_available');
    });
  });

  describe('campaign events', () => {
    it('1.3.2: occurrences posted to campaign 324 advance its goal and complete the behaviour', async () => {
      const user = await createMemberViaApi(t.app, demo);
      // the collection's body: the literal key "event_name" names no goal of 324
      const literal = await post(`${demo.base}/users/${user.id}/campaigns/324/events`, { event_name: [{ qty: 1, store: 'A1B2' }, { qty: 1, store: 'C3D4' }] });
      assert.equal(literal.status, 200, literal.body);
      assert.deepEqual(literal.json, { status: 'ok' });
      let list = await get(`${demo.base}/users/${user.id}/campaigns`);
      assert.deepEqual(list.json, example('2.1 '));

      const res = await post(`${demo.base}/users/${user.id}/campaigns/324/events`, { promotion_7_code_claimed: [{ qty: '1', store: 'A1B2' }] });
      assert.equal(res.status, 200, res.body);
      list = await get(`${demo.base}/users/${user.id}/campaigns`);
      const c324 = list.json.campaigns.promotions.find((c: any) => c.campaign_id === 324);
      assert.equal(c324.progress.state, 'in_progress');
      const behavior = c324.behaviors.promotion_7_achievement;
      assert.equal(behavior.achieved, 1);
      assert.equal(behavior.goals.promotion_7_code_claimed.progress.achieved, 1);
      // a new cycle: the goal's count starts over
      assert.equal(behavior.goals.promotion_7_code_claimed.progress.current_count, 0);
      assert.equal(behavior.goals.promotion_7_code_claimed.completed, false);
      // the same event posted to another campaign does not count for 324
      await post(`${demo.base}/users/${user.id}/campaigns/607/events`, { promotion_7_code_claimed: [{ qty: 1 }] });
      list = await get(`${demo.base}/users/${user.id}/campaigns`);
      assert.equal(list.json.campaigns.promotions.find((c: any) => c.campaign_id === 324).behaviors.promotion_7_achievement.achieved, 1);
      // the timeline has the goal and the rule
      const timeline = await get(`${demo.base}/users/${user.id}/timelines/END_USER_MEMBER_STATEMENT`);
      const slugs = timeline.json.result.map((e: any) => e.event_stream_payload.event_type_slug);
      assert.ok(slugs.includes('LOYALTY_GOAL_ACHIEVED') && slugs.includes('LOYALTY_RULE_ACHIEVED'), slugs.join());
    });

    it('bad bodies are 400; unknown campaigns 404', async () => {
      const user = await createMemberViaApi(t.app, demo);
      for (const body of [{}, { x: [{ qty: 0 }] }, { x: [{ qty: 'many' }] }, { x: ['a'] }, { x: [{ qty: 1, date: 'yesterday' }] }]) {
        const res = await post(`${demo.base}/users/${user.id}/campaigns/324/events`, body);
        assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.body}`);
      }
      assert.equal((await post(`${demo.base}/users/${user.id}/campaigns/:ad_campaign_id/events`, { a: [{ qty: 1 }] })).status, 404);
    });

    it('counts a count behaviour to earn_count and awards its points into the default account', async () => {
      const tenant = await createTenant(t.db);
      const points = await pointsProgram(t.db, tenant.retailer_id);
      await apply(t.db, tenant.retailer_id, [simple(7, { earn_count: 3, points: 50 })]);
      const user = await createMemberViaApi(t.app, tenant);
      assert.equal((await record(t.db, tenant, user.id, 'EVENT_7', 2)).behaviorsAchieved.length, 0);
      const done = await record(t.db, tenant, user.id, 'event_7');
      assert.equal(done.behaviorsAchieved.length, 1);
      assert.equal(done.points, 50);
      assert.equal(toJson(await availablePoints(t.db, tenant.retailer_id, user.id)), 50);
      const row = await t.db.selectFrom('point_ledger').select(['point_account_id', 'amount']).where('retailer_id', '=', tenant.retailer_id).where('member_id', '=', user.id).executeTakeFirstOrThrow();
      assert.equal(row.point_account_id, points.spendable);
      // qty counts several at once
      assert.equal((await record(t.db, tenant, user.id, 'event_7', [{ qty: 3 }])).behaviorsAchieved.length, 1);
    });

    it('a campaign may name its point account', async () => {
      const tenant = await createTenant(t.db);
      const points = await pointsProgram(t.db, tenant.retailer_id);
      await apply(t.db, tenant.retailer_id, [simple(8, { points: 5 }, { point_account_id: points.tier })]);
      const user = await createMemberViaApi(t.app, tenant);
      await record(t.db, tenant, user.id, 'event_8');
      const row = await t.db.selectFrom('point_ledger').select('point_account_id').where('retailer_id', '=', tenant.retailer_id).where('member_id', '=', user.id).executeTakeFirstOrThrow();
      assert.equal(row.point_account_id, points.tier);
    });

    it('a unique behaviour counts distinct stores', async () => {
      const tenant = await createTenant(t.db);
      await apply(t.db, tenant.retailer_id, [simple(9, { type: 'unique', earn_count: 2 })]);
      const user = await createMemberViaApi(t.app, tenant);
      const first = await record(t.db, tenant, user.id, 'event_9', [{ store: 'A1B2' }, { store: 'a1b2' }]);
      assert.equal(first.goals[0].current_count, 1);
      const second = await record(t.db, tenant, user.id, 'event_9', [{ store: 'C3D4' }]);
      assert.equal(second.behaviorsAchieved.length, 1);
    });

    it('composite: completes when the required goals are done; optional goals fill a group of optional goals', async () => {
      const tenant = await createTenant(t.db);
      await pointsProgram(t.db, tenant.retailer_id);
      await apply(t.db, tenant.retailer_id, [
        {
          id: 11,
          name: 'Composite',
          start_date: past(5),
          behaviors: [
            {
              id: 110,
              name: 'explorer',
              external_behavior_id: randomUUID(),
              type: 'composite',
              points: 100,
              goals: [
                { name: 'visit', event_name: 'store_visit', earn_count: 2, group_id: 'a' },
                { name: 'review', event_name: 'review_written', required: false, group_id: 'a', points: 5 },
                { name: 'survey', event_name: 'survey_completed', required: false, group_id: 'b' },
                { name: 'share', event_name: 'shared', required: false, group_id: 'b' },
              ],
            },
          ],
        },
      ]);
      const user = await createMemberViaApi(t.app, tenant);
      // the optional goal of group a does not complete the group alone
      const review = await record(t.db, tenant, user.id, 'review_written');
      assert.deepEqual(review.goalsAchieved.map((g) => g.goal), ['review']);
      await record(t.db, tenant, user.id, 'store_visit', 2);
      let views = await memberCampaignViews(t.db, tenant.retailer_id, user.id);
      const groups = views[0].behaviors[0].groups;
      assert.deepEqual(groups.map((g) => [g.id, g.current_count, g.total_count, g.num_goals, g.completed]), [
        ['a', 1, 1, 2, true],
        ['b', 0, 1, 2, false],
      ]);
      assert.equal(views[0].behaviors[0].achieved, 0);
      // one of group b's optional goals completes it, and the behaviour
      const done = await record(t.db, tenant, user.id, 'shared');
      assert.equal(done.behaviorsAchieved.length, 1);
      assert.equal(done.points, 100);
      assert.equal(toJson(await availablePoints(t.db, tenant.retailer_id, user.id)), 105);
      views = await memberCampaignViews(t.db, tenant.retailer_id, user.id);
      assert.equal(views[0].behaviors[0].achieved, 1);
      assert.deepEqual(views[0].behaviors[0].goals.map((g) => g.state.current_count), [0, 0, 0, 0]);
    });

    it('max_times_repeatable caps completions (-1 and null are unlimited)', async () => {
      const tenant = await createTenant(t.db);
      await apply(t.db, tenant.retailer_id, [simple(12, { max_times_repeatable: 2 }), simple(13, { max_times_repeatable: -1 }), simple(14, { max_times_repeatable: null })]);
      const user = await createMemberViaApi(t.app, tenant);
      const achieved = async (event: string) => (await record(t.db, tenant, user.id, event, 4)).behaviorsAchieved.length;
      assert.equal(await achieved('event_12'), 2);
      assert.equal(await achieved('event_12'), 0);
      assert.equal(await achieved('event_13'), 4);
      assert.equal(await achieved('event_14'), 4);
      const views = await memberCampaignViews(t.db, tenant.retailer_id, user.id);
      assert.equal(views.find((v) => v.campaign.id === 12)!.behaviors[0].active, false);
    });

    it('max_times_repeatable_per_period counts completions within the period, at the events\' dates', async () => {
      const tenant = await createTenant(t.db);
      await apply(t.db, tenant.retailer_id, [simple(15, { max_times_repeatable_per_period: 1, period: 86400 })]);
      const user = await createMemberViaApi(t.app, tenant);
      const at = (hoursAgo: number) => ({ occurredAt: new Date(Date.now() - hoursAgo * HOUR) });
      // three days ago twice, then today twice: one per day
      const result = await record(t.db, tenant, user.id, 'event_15', [at(72), at(71), at(2), at(1)]);
      assert.deepEqual(result.behaviorsAchieved.map((b) => Math.round((Date.now() - b.at.getTime()) / HOUR)), [72, 2]);
      assert.equal((await record(t.db, tenant, user.id, 'event_15')).behaviorsAchieved.length, 0);
    });

    it('min_time_between_events ignores occurrences too close to the last counted one', async () => {
      const tenant = await createTenant(t.db);
      await apply(t.db, tenant.retailer_id, [simple(16, { min_time_between_events: 3600 })]);
      const user = await createMemberViaApi(t.app, tenant);
      const at = (minutesAgo: number) => ({ occurredAt: new Date(Date.now() - minutesAgo * 60_000) });
      const result = await record(t.db, tenant, user.id, 'event_16', [at(200), at(180), at(130), at(10)]);
      assert.equal(result.behaviorsAchieved.length, 3); // 200, 130, 10 (180 is 20 minutes after 200)
    });

    it('consecutive: occurrences count on consecutive days; a gap starts over', async () => {
      const tenant = await createTenant(t.db);
      await apply(t.db, tenant.retailer_id, [simple(17, { earn_count: 3, consecutive: true })]);
      const user = await createMemberViaApi(t.app, tenant);
      const day = (n: number) => ({ occurredAt: new Date(Date.now() - n * DAY) });
      // days 10, 9, (9 again: same day), 7 (gap: over), 6, 5 → achieved at day 5
      const result = await record(t.db, tenant, user.id, 'event_17', [day(10), day(9), day(9.01), day(7), day(6), day(5)]);
      assert.equal(result.behaviorsAchieved.length, 1);
      assert.equal(Math.round((Date.now() - result.behaviorsAchieved[0].at.getTime()) / DAY), 5);
    });

    it('goal limits: a goal counts once per its own min_time_between_events', async () => {
      const tenant = await createTenant(t.db);
      await apply(t.db, tenant.retailer_id, [
        { id: 18, name: 'Goal limits', start_date: past(30), behaviors: [{ id: 180, name: 'b', external_behavior_id: randomUUID(), type: 'composite', goals: [{ name: 'g', event_name: 'ev18', earn_count: 2, min_time_between_events: 86400 }] }] },
      ]);
      const user = await createMemberViaApi(t.app, tenant);
      const r = await record(t.db, tenant, user.id, 'ev18', [{ occurredAt: new Date(Date.now() - 3 * HOUR) }, { occurredAt: new Date() }]);
      assert.equal(r.goals[0].current_count, 1);
      assert.equal(r.behaviorsAchieved.length, 0);
    });

    it('events before the start or after the end of a campaign do not count', async () => {
      const tenant = await createTenant(t.db);
      await apply(t.db, tenant.retailer_id, [simple(19, {}, { start_date: past(2), end_date: future(2) })]);
      const user = await createMemberViaApi(t.app, tenant);
      assert.equal((await record(t.db, tenant, user.id, 'event_19', [{ occurredAt: new Date(Date.now() - 3 * DAY) }])).goals.length, 0);
      assert.equal((await record(t.db, tenant, user.id, 'event_19', [{ occurredAt: new Date(Date.now() - 1 * DAY) }])).behaviorsAchieved.length, 1);
    });

    // a campaign past its end date says so in the member's state (issue 19)
    it('shows a member the state ended once the campaign is past its end date, unless completed', async () => {
      const tenant = await createTenant(t.db);
      await apply(t.db, tenant.retailer_id, [simple(21, { earn_count: 2 }, { start_date: past(2), end_date: future(2) })]);
      const user = await createMemberViaApi(t.app, tenant);
      await record(t.db, tenant, user.id, 'event_21');
      const campaign = (await campaignCatalog(t.db, tenant.retailer_id)).campaigns.find((c) => c.id === 21)!;
      assert.equal((await memberCampaignView(t.db, tenant.retailer_id, user.id, campaign)).state, 'in_progress');
      const later = new Date(Date.now() + 3 * DAY);
      assert.equal((await memberCampaignView(t.db, tenant.retailer_id, user.id, campaign, later)).state, 'ended');
      assert.equal((await record(t.db, tenant, user.id, 'event_21', [{ occurredAt: later }])).goals.length, 0, 'its events no longer count');
    });

    it('awards the points once when concurrent events complete the behaviour', async () => {
      const tenant = await createTenant(t.db);
      await pointsProgram(t.db, tenant.retailer_id);
      await apply(t.db, tenant.retailer_id, [simple(20, { points: 100, max_times_repeatable: 1, earn_count: 3 })]);
      const user = await createMemberViaApi(t.app, tenant);
      const results = await Promise.all(Array.from({ length: 12 }, () => record(t.db, tenant, user.id, 'event_20')));
      assert.equal(results.filter((r) => r.behaviorsAchieved.length).length, 1);
      assert.equal(toJson(await availablePoints(t.db, tenant.retailer_id, user.id)), 100);
      const row = await t.db.selectFrom('member_behaviors').select('achieved').where('retailer_id', '=', tenant.retailer_id).where('member_id', '=', user.id).executeTakeFirstOrThrow();
      assert.equal(row.achieved, 1);
      // and through the route
      const res = await Promise.all(Array.from({ length: 6 }, () => post(`${tenant.base}/users/${user.id}/campaigns/20/events`, { event_20: [{ qty: 1 }] }, tenant)));
      assert.ok(res.every((r) => r.status === 200));
      assert.equal(toJson(await availablePoints(t.db, tenant.retailer_id, user.id)), 100);
    });
  });

  describe('audiences and restricted members', () => {
    let tenant: TestTenant;
    let gold: string;
    let tierAccount: string;
    before(async () => {
      tenant = await createTenant(t.db);
      const points = await pointsProgram(t.db, tenant.retailer_id);
      tierAccount = points.tier;
      const tiers = await tierProgram(t.db, tenant.retailer_id, points.tier);
      gold = tiers.levels.gold;
      await apply(t.db, tenant.retailer_id, [
        simple(31, {}, { audience: { tags: ['VIP', 'insider'] } }),
        simple(32, {}, { audience: { attributes: { partner: 'ROOT' } } }),
        simple(33, {}, { audience: { tier_level_ids: [gold] } }),
        simple(34, {}),
        simple(35, {}, { audience: { tags: ['vip'], attributes: { partner: ['other', 'root'] } } }),
      ]);
    });
    const visible = async (userId: string) => (await memberCampaignViews(t.db, tenant.retailer_id, userId)).map((v) => v.campaign.id);

    it('tags, custom attributes and tier level decide who sees and counts toward a campaign', async () => {
      const plain = await createMemberViaApi(t.app, tenant, { user_profile: { partner: ['none'] } });
      assert.deepEqual(await visible(plain.id), [34]);
      assert.equal((await record(t.db, tenant, plain.id, 'event_31')).goals.length, 0);
      const outside = await get(`${v2(tenant)}/external/users/${plain.external_id}/campaigns/31`, tenant);
      assert.equal(outside.status, 404);
      assert.equal(outside.json.errors.code, 'not_available');
      assert.equal((await get(`${tenant.base}/users/${plain.id}/campaigns/31/opt_in`, tenant)).json.errors.code, 'not_available');
      assert.equal((await post(`${tenant.base}/users/${plain.id}/campaigns/31/events`, { event_31: [{ qty: 1 }] }, tenant)).status, 404);

      const insider = await createMemberViaApi(t.app, tenant); // partner: [root]
      assert.deepEqual(await visible(insider.id), [32, 34]);
      await post(`${tenant.base}/users/${insider.id}/tags`, { tags: ['insider'] }, tenant);
      assert.deepEqual(await visible(insider.id), [31, 32, 34]);
      await post(`${tenant.base}/users/${insider.id}/tags`, { tags: ['vip'] }, tenant);
      assert.deepEqual(await visible(insider.id), [31, 32, 34, 35]);
      assert.equal((await record(t.db, tenant, insider.id, 'event_31')).behaviorsAchieved.length, 1);

      await changePoints(t.db, tenant.actor, insider.id, [{ kind: 'deposit', point_account_id: tierAccount, amount: 600n * 10000n }], { allowPartialSuccess: false });
      assert.deepEqual(await visible(insider.id), [31, 32, 33, 34, 35]);
      const single = await get(`${v2(tenant)}/users/${insider.id}/campaigns/33?sections=progress`, tenant);
      assert.equal(single.status, 200, single.body);
      assert.equal(single.json.campaign.qualified, true);
    });

    it('a restricted member takes part in no campaign', async () => {
      const user = await createMemberViaApi(t.app, tenant);
      await record(t.db, tenant, user.id, 'event_34');
      await t.db.updateTable('members').set({ account_status: 'restricted' }).where('retailer_id', '=', tenant.retailer_id).where('id', '=', user.id).execute();
      assert.deepEqual(await visible(user.id), []);
      const v1 = await get(`${tenant.base}/users/${user.id}/campaigns`, tenant);
      assert.deepEqual(v1.json, { status: 'ok', campaigns: { promotions: [] } });
      const list = await get(`${v2(tenant)}/external/users/${user.external_id}/campaigns`, tenant);
      assert.deepEqual(list.json, { page: 1, page_size: 20, number_of_pages: 1, status: 'ok', campaigns: [] });
      assert.equal((await get(`${v2(tenant)}/external/users/${user.external_id}/campaigns/34`, tenant)).json.errors.code, 'not_available');
      assert.equal((await get(`${tenant.base}/users/${user.id}/campaigns/34/opt_in`, tenant)).json.errors.code, 'not_available');
      assert.equal((await post(`${tenant.base}/users/${user.id}/campaigns/34/events`, { event_34: [{ qty: 1 }] }, tenant)).json.errors.code, 'not_available');
      const recorded = await record(t.db, tenant, user.id, 'event_34');
      assert.deepEqual(recorded, { goals: [], goalsAchieved: [], behaviorsAchieved: [], points: 0 });
    });
  });
});
