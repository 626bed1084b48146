// Events and the rules engine (SPEC §5.8, collection 1.3.1 and 4.3): every
// form of POST /events, trigger_user_event, rule limits, conditions and
// outcomes, exactly-once outcomes under concurrent events, past-dated events.
import { transact } from '../../src/db/unit-of-work.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { DomainError } from '../../src/errors.js';
import { lockMemberRef } from '../../src/modules/members/service.js';
import { applyOfferConfig } from '../../src/modules/offers/catalog.js';
import { applyRuleConfig, type RuleConfig } from '../../src/modules/rules/config.js';
import { applyCampaignConfig, type CampaignConfig } from '../../src/modules/campaigns/config.js';
import { runRules } from '../../src/flows/apply-rule-outcomes.js';
import { eventTypeById } from '../../src/modules/timeline/catalog.js';
import { applyProgram } from '../../src/flows/program-apply.js';
import { parseProgramText } from '../../src/modules/program/service.js';
import { pointsProgram, rulesProgram, tierProgram } from '../support/factories.js';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';


const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
const daysAgo = (d: number) => hoursAgo(24 * d);

describe('events and rules on PostgreSQL', () => {
  let t: TestApp;
  before(async () => {
    t = await postgresApp();
  });

  interface World {
    tenant: TestTenant;
    accounts: Awaited<ReturnType<typeof pointsProgram>>;
    member: Record<string, any>;
    v2: string;
  }
  async function world(): Promise<World> {
    const tenant = await createTenant(t.db);
    const accounts = await pointsProgram(t.db, tenant.retailer_id);
    const member = await createMemberViaApi(t.app, tenant);
    return { tenant, accounts, member, v2: `/priv/v2/apps/${tenant.appkey}` };
  }
  const events = (w: World, payload: unknown, auth = w.tenant.core) => call(t.app, { method: 'POST', url: `${w.v2}/events`, headers: { authorization: auth }, payload: payload as object });
  const trigger = (w: World, payload: Record<string, unknown>, auth = w.tenant.connect) =>
    call(t.app, { method: 'POST', url: '/incentives/api/1.0/user_events/trigger_user_event', headers: { authorization: auth }, payload: { retailer_id: w.tenant.retailer_id, culture: 'en-US', include_progress: false, ...payload } });
  const rules = (w: World, list: RuleConfig[]) => rulesProgram(t.db, w.tenant.retailer_id, list);
  const pointsRule = (w: World, name: string, extra: Partial<RuleConfig> = {}, amount: RuleConfig['outcomes'][number] = { type: 'points', point_account_id: w.accounts.spendable, amount: 10 }): RuleConfig => ({
    id: randomUUID(),
    name: `${name} rule`,
    trigger: { type: 'event', name },
    outcomes: [amount],
    ...extra,
  });
  const fire = async (w: World, name: string, extra: Record<string, unknown> = {}, user: string = w.member.id) => {
    const res = await events(w, { events: { [name]: { qty: 1, ...extra } }, user_id: user });
    assert.equal(res.status, 200, res.body);
    return res.json.events[0].outcomes as Record<string, any>[];
  };
  const storedEvents = (w: World) => t.db.selectFrom('member_events').selectAll().where('retailer_id', '=', w.tenant.retailer_id).orderBy('received_at').execute();
  const timeline = async (w: World, memberId = w.member.id) =>
    (await t.db.selectFrom('timeline_events').select(['event_type_id', 'payload']).where('retailer_id', '=', w.tenant.retailer_id).where('member_id', '=', memberId).orderBy('id').execute()).map((e) => ({
      slug: eventTypeById(e.event_type_id)!.slug as string,
      payload: e.payload,
    }));
  const balance = async (w: World, account: string, memberId = w.member.id) =>
    Number((await t.db.selectFrom('member_point_accounts').select('available_balance').where('retailer_id', '=', w.tenant.retailer_id).where('member_id', '=', memberId).where('point_account_id', '=', account).executeTakeFirst())?.available_balance ?? 0);

  describe('POST /priv/v2/apps/:appkey/events', () => {
    it("accepts the collection's form (1.3.1) by user_id and by external_id, and answers {status: ok}", async () => {
      const w = await world();
      await rules(w, [pointsRule(w, 'survey_completed')]);
      const body = {
        events: {
          name: 'survey_completed',
          by: '1',
          user_id: w.member.id,
          context: { survey_name: 'April2025_loyalty_survey', positive_experience: true, use_daily: true, recommend_to_friend: true, star_rating: 5 },
        },
      };
      const res = await events(w, body);
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.status, 'ok');
      assert.equal(res.json.events.length, 1);
      assert.equal(res.json.events[0].name, 'survey_completed');
      assert.equal(res.json.events[0].user_id, w.member.id);
      assert.match(res.json.events[0].occurred_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      assert.deepEqual(
        res.json.events[0].outcomes.map((o: any) => [o.discriminator, o.is_outcome_applied, o.points_awarded]),
        [['points', true, 10]],
      );
      const byExternal = await events(w, { events: { name: 'survey_completed', external_id: w.member.external_id, context: { star_rating: '4' } } });
      assert.equal(byExternal.status, 200, byExternal.body);
      assert.equal(byExternal.json.events[0].user_id, w.member.id);
      // upper-case member id
      assert.equal((await events(w, { events: { name: 'survey_completed', user_id: w.member.id.toUpperCase() } })).status, 200);
      const stored = await storedEvents(w);
      assert.equal(stored.length, 3);
      assert.equal(stored[0].context.survey_name, 'April2025_loyalty_survey');
      assert.equal(stored[0].context.star_rating, 5);
      assert.equal(stored[0].qty, 1);
      assert.equal(await balance(w, w.accounts.spendable), 30);
    });

    it('accepts the keyed form with qty, date, transaction_id and a flat context', async () => {
      const w = await world();
      const when = '2025-04-16T17:07:07.000Z';
      const res = await events(w, { events: { app_opened: { qty: '3', date: when, transaction_id: 'T-1' } }, user_id: w.member.id, context: { channel: 'ios' } });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.status, 'ok');
      assert.equal(res.json.events[0].occurred_at, '2025-04-16 17:07:07');
      assert.equal(res.json.events[0].qty, 3);
      const [stored] = await storedEvents(w);
      assert.equal(stored.name, 'app_opened');
      assert.equal(stored.qty, 3);
      assert.equal(stored.occurred_at.toISOString(), when);
      assert.deepEqual(stored.context, { channel: 'ios', transaction_id: 'T-1' });
      // YYYY-MM-DD HH:MM:SS is accepted too
      const core = await events(w, { events: { app_opened: { date: '2025-04-17 08:00:00' } }, external_id: w.member.external_id });
      assert.equal(core.status, 200, core.body);
      assert.equal(core.json.events[0].occurred_at, '2025-04-17 08:00:00');
    });

    it('accepts the shorthand {"<name>": 1}, several names in one body, and lists', async () => {
      const w = await world();
      const other = await createMemberViaApi(t.app, w.tenant);
      const short = await events(w, { events: { app_downloaded: 1 }, user_id: w.member.id });
      assert.equal(short.status, 200, short.body);
      const several = await events(w, { events: { visit: 2, share: '1' }, user_id: w.member.id });
      assert.equal(several.status, 200, several.body);
      assert.deepEqual(several.json.events.map((e: any) => [e.name, e.qty]), [['visit', 2], ['share', 1]]);
      const list = await events(w, { events: [{ name: 'a', user_id: w.member.id }, { b: { qty: 2 }, user_id: other.id }], user_id: w.member.id });
      assert.equal(list.status, 200, list.body);
      assert.deepEqual(list.json.events.map((e: any) => [e.name, e.user_id]), [['a', w.member.id], ['b', other.id]]);
      const bodies = await events(w, [{ events: { c: 1 }, user_id: w.member.id }, { events: { name: 'd', external_id: other.external_id } }]);
      assert.equal(bodies.status, 200, bodies.body);
      assert.deepEqual(bodies.json.events.map((e: any) => [e.name, e.user_id]), [['c', w.member.id], ['d', other.id]]);
      assert.deepEqual((await storedEvents(w)).map((e) => e.name), ['app_downloaded', 'visit', 'share', 'a', 'b', 'c', 'd']);
    });

    it('records an event no rule knows and answers no outcomes', async () => {
      const w = await world();
      await rules(w, [pointsRule(w, 'known')]);
      const res = await events(w, { events: { name: 'nobody_listens', user_id: w.member.id, context: { x: 1 } } });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(res.json.events[0].outcomes, []);
      assert.equal((await storedEvents(w)).length, 1);
      assert.equal((await timeline(w)).filter((e) => e.slug === 'LOYALTY_RULE_ACHIEVED').length, 0);
    });

    it('answers 401 without or with wrong credentials, 401 invalid_api_key for another appkey, 404 for an unknown member, 400 for bad bodies', async () => {
      const w = await world();
      const body = { events: { name: 'x', user_id: w.member.id } };
      const none = await call(t.app, { method: 'POST', url: `${w.v2}/events`, payload: body });
      assert.equal(none.status, 401);
      assert.equal(none.json.status, 'error');
      assert.equal(none.json.errors.code, 'access_denied');
      const wrong = await events(w, body, `Basic ${Buffer.from(`${w.tenant.appkey}:nope`).toString('base64')}`);
      assert.equal(wrong.status, 401);
      const otherKey = await call(t.app, { method: 'POST', url: `/priv/v2/apps/someone-else/events`, headers: { authorization: w.tenant.core }, payload: body });
      assert.equal(otherKey.status, 401);
      assert.equal(otherKey.json.errors.code, 'invalid_api_key');
      const connectCreds = await events(w, body, w.tenant.connect);
      assert.equal(connectCreds.status, 401);

      const unknown = await events(w, { events: { name: 'x', user_id: randomUUID() } });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.errors.code, 'user_not_found');
      assert.equal((await events(w, { events: { x: 1 }, user_id: 'no-such-external-id' })).json.errors.code, 'user_not_found');

      const bad: [unknown, string, number][] = [
        [{}, 'missing_data', 400],
        [{ events: { name: 'x' } }, 'missing_data', 400],
        [{ events: {}, user_id: w.member.id }, 'missing_data', 400],
        [{ events: [], user_id: w.member.id }, 'missing_data', 400],
        [{ events: { x: { date: 'yesterday' } }, user_id: w.member.id }, 'argument_error', 400],
        [{ events: { x: { qty: 0 } }, user_id: w.member.id }, 'argument_error', 400],
        [{ events: { x: 'many' }, user_id: w.member.id }, 'argument_error', 400],
        [{ events: { name: 'x', user_id: w.member.id, context: 'flat' } }, 'argument_error', 400],
        [{ events: { name: 'x'.repeat(201), user_id: w.member.id } }, 'argument_error', 400],
        [{ events: 'x', user_id: w.member.id }, 'argument_error', 400],
      ];
      for (const [payload, code, status] of bad) {
        const res = await events(w, payload);
        assert.equal(res.status, status, `${JSON.stringify(payload).slice(0, 80)}: ${res.body}`);
        assert.equal(res.json.errors.code, code, JSON.stringify(payload).slice(0, 80));
        assert.match(res.json.errors.message, /events|user_id|date|qty|context|name/);
      }
      const malformed = await call(t.app, { method: 'POST', url: `${w.v2}/events`, headers: { authorization: w.tenant.core, 'content-type': 'application/json' }, payload: '{"events": ' });
      assert.equal(malformed.status, 400);
      // a bad body records nothing, not even its good events
      await events(w, { events: [{ name: 'good', user_id: w.member.id }, { name: 'bad', user_id: w.member.id, date: 'nope' }] });
      assert.equal((await storedEvents(w)).length, 0);
    });
  });

  describe('trigger_user_event (4.3)', () => {
    it('answers user_event, event_saved_successfully, rules_processed_successfully and the outcomes', async () => {
      const w = await world();
      await rules(w, [pointsRule(w, 'PREMIUM_SUBSCRIPTION_STARTED', {}, { type: 'points', point_account_id: w.accounts.spendable, amount: 100 })]);
      const res = await trigger(w, { user_id: w.member.id, event_lookup: 'PREMIUM_SUBSCRIPTION_STARTED' });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.status, 'ok');
      const p = res.json.payload;
      assert.deepEqual(Object.keys(p.user_event).sort(), ['event_lookup', 'id', 'is_session_m', 'retailer_id', 'time_of_occurrence', 'user_id']);
      assert.equal(p.user_event.event_lookup, 'PREMIUM_SUBSCRIPTION_STARTED');
      assert.equal(p.user_event.user_id, w.member.id);
      assert.equal(p.user_event.retailer_id, w.tenant.retailer_id);
      assert.equal(p.user_event.is_session_m, false);
      assert.match(p.user_event.time_of_occurrence, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(p.event_saved_successfully, true);
      assert.equal(p.rules_processed_successfully, true);
      assert.equal(p.outcomes.length, 1);
      assert.equal(p.outcomes[0].is_outcome_applied, true);
      assert.equal(p.outcomes[0].discriminator, 'points');
      assert.equal(p.outcomes[0].points_awarded, 100);
      assert.ok(Number.isInteger(p.outcomes[0].points_awarded));
      assert.equal(await balance(w, w.accounts.spendable), 100);
      // by external id, an event no rule knows: saved, no outcomes
      const other = await trigger(w, { user_id: w.member.external_id, event_lookup: 'SOMETHING_ELSE', retailer_id: w.tenant.retailer_id.toUpperCase() });
      assert.equal(other.status, 200, other.body);
      assert.deepEqual(other.json.payload.outcomes, []);
      assert.equal(other.json.payload.user_event.user_id, w.member.id);
    });

    it('answers 401, 404 for an unknown member or another retailer, 400 without event_lookup', async () => {
      const w = await world();
      assert.equal((await trigger(w, { user_id: w.member.id, event_lookup: 'X' }, w.tenant.core)).status, 401);
      const none = await call(t.app, { method: 'POST', url: '/incentives/api/1.0/user_events/trigger_user_event', payload: { retailer_id: w.tenant.retailer_id, user_id: w.member.id, event_lookup: 'X' } });
      assert.equal(none.status, 401);
      assert.equal(none.json.errors.code, 'access_denied');
      const unknown = await trigger(w, { user_id: randomUUID(), event_lookup: 'X' });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.errors.code, 'user_not_found');
      const retailer = await trigger(w, { user_id: w.member.id, event_lookup: 'X', retailer_id: randomUUID() });
      assert.equal(retailer.status, 404);
      const missing = await trigger(w, { user_id: w.member.id });
      assert.equal(missing.status, 400);
      assert.match(missing.json.errors.message, /event_lookup/);
      assert.equal((await trigger(w, { user_id: w.member.id, event_lookup: 'X', time_of_occurrence: 'soon' })).status, 400);
    });
  });

  describe('limits', () => {
    it('total: at most N times per member', async () => {
      const w = await world();
      const other = await createMemberViaApi(t.app, w.tenant);
      await rules(w, [pointsRule(w, 'checkin', { limits: { total: 2 } })]);
      const applied = [];
      for (let i = 0; i < 4; i++) applied.push((await fire(w, 'checkin')).length);
      assert.deepEqual(applied, [1, 1, 0, 0]);
      assert.equal(await balance(w, w.accounts.spendable), 20);
      // another member has their own count
      assert.equal((await fire(w, 'checkin', {}, other.id)).length, 1);
      assert.equal((await storedEvents(w)).length, 5);
    });

    it('per period: at most N within the period ending at the event; a past-dated event counts at its date', async () => {
      const w = await world();
      await rules(w, [pointsRule(w, 'visit', { limits: { per_period: { count: 1, seconds: 3600 } } })]);
      assert.equal((await fire(w, 'visit')).length, 1);
      assert.equal((await fire(w, 'visit')).length, 0);
      // 2 hours ago is another period: it counts at that date
      assert.equal((await fire(w, 'visit', { date: hoursAgo(2) })).length, 1);
      assert.equal((await fire(w, 'visit', { date: hoursAgo(2.5) })).length, 0);
      assert.equal((await fire(w, 'visit', { date: hoursAgo(5) })).length, 1);
      const achieved = await t.db.selectFrom('rule_achievements').select('achieved_at').where('retailer_id', '=', w.tenant.retailer_id).orderBy('achieved_at').execute();
      assert.equal(achieved.length, 3);
      assert.ok(Date.now() - achieved[0].achieved_at.getTime() > 4.9 * 3_600_000, 'the achievement is dated at the event');
    });

    it('minimum time between two achievements, on both sides of a past-dated event', async () => {
      const w = await world();
      await rules(w, [pointsRule(w, 'scan', { limits: { min_seconds_between: 3600 } })]);
      assert.equal((await fire(w, 'scan')).length, 1);
      assert.equal((await fire(w, 'scan')).length, 0);
      assert.equal((await fire(w, 'scan', { date: hoursAgo(0.5) })).length, 0);
      assert.equal((await fire(w, 'scan', { date: hoursAgo(2) })).length, 1);
      assert.equal((await fire(w, 'scan', { date: hoursAgo(1.5) })).length, 0);
      assert.equal((await fire(w, 'scan', { date: hoursAgo(3.1) })).length, 1);
    });

    it('consecutive days: achieved on the Nth day in a row, a streak counted once', async () => {
      const w = await world();
      await rules(w, [pointsRule(w, 'login', { limits: { consecutive_days: 3 } })]);
      assert.equal((await fire(w, 'login', { date: daysAgo(4) })).length, 0);
      // a gap: 3 days ago missing
      assert.equal((await fire(w, 'login', { date: daysAgo(2) })).length, 0);
      assert.equal((await fire(w, 'login', { date: daysAgo(1) })).length, 0);
      assert.equal((await fire(w, 'login')).length, 1, 'three days in a row');
      assert.equal((await fire(w, 'login')).length, 0, 'the same streak again');
      // a second member: 3 days in a row at once through past dates
      const other = await createMemberViaApi(t.app, w.tenant);
      assert.equal((await fire(w, 'login', { date: daysAgo(2) }, other.id)).length, 0);
      assert.equal((await fire(w, 'login', { date: daysAgo(1) }, other.id)).length, 0);
      assert.equal((await fire(w, 'login', {}, other.id)).length, 1);
    });

    it('applies outcomes exactly once under 10 concurrent events for one member', async () => {
      const w = await world();
      await rules(w, [pointsRule(w, 'race', { limits: { total: 1 } }, { type: 'points', point_account_id: w.accounts.spendable, amount: 100 })]);
      const answers = await Promise.all(Array.from({ length: 10 }, () => events(w, { events: { race: 1 }, user_id: w.member.id })));
      assert.deepEqual(answers.map((a) => a.status), Array(10).fill(200));
      assert.equal(answers.flatMap((a) => a.json.events[0].outcomes).length, 1);
      assert.equal(await balance(w, w.accounts.spendable), 100);
      const achieved = await t.db.selectFrom('rule_achievements').selectAll().where('retailer_id', '=', w.tenant.retailer_id).execute();
      assert.equal(achieved.length, 1);
      assert.equal((await storedEvents(w)).length, 10);
      assert.equal((await timeline(w)).filter((e) => e.slug === 'LOYALTY_RULE_ACHIEVED').length, 1);
    });

    it('a per-period limit holds under concurrent events too', async () => {
      const w = await world();
      await rules(w, [pointsRule(w, 'burst', { limits: { per_period: { count: 3, seconds: 86400 } } })]);
      await Promise.all(Array.from({ length: 10 }, () => trigger(w, { user_id: w.member.id, event_lookup: 'burst' })));
      assert.equal(await balance(w, w.accounts.spendable), 30);
    });
  });

  describe('conditions', () => {
    it('on the event context (numbers sent as strings, booleans, nested all/any/not)', async () => {
      const w = await world();
      await rules(w, [
        pointsRule(w, 'survey_completed', {
          conditions: { all: [{ fact: 'context.star_rating', op: 'gte', value: 4 }, { any: [{ fact: 'context.recommend_to_friend', op: 'eq', value: true }, { fact: 'context.channel', op: 'in', value: ['web', 'ios'] }] }, { not: { fact: 'context.test', op: 'exists' } }] },
        }),
      ]);
      const send = async (context: Record<string, unknown>) => (await events(w, { events: { name: 'survey_completed', user_id: w.member.id, context } })).json.events[0].outcomes.length;
      assert.equal(await send({ star_rating: 5, recommend_to_friend: true }), 1);
      assert.equal(await send({ star_rating: '4', recommend_to_friend: 'true' }), 1);
      assert.equal(await send({ star_rating: 3, recommend_to_friend: true }), 0);
      assert.equal(await send({ star_rating: 5, channel: 'IOS' }), 1);
      assert.equal(await send({ star_rating: 5, channel: 'android' }), 0);
      assert.equal(await send({ star_rating: 5, recommend_to_friend: true, test: 1 }), 0);
      assert.equal(await send({}), 0);
    });

    it('on tags, custom attributes, standard attributes and tier level', async () => {
      const w = await world();
      const tiers = await tierProgram(t.db, w.tenant.retailer_id, w.accounts.tier);
      await rules(w, [
        pointsRule(w, 'tagged', { conditions: { fact: 'tags.vip', op: 'gte', value: 1 } }),
        pointsRule(w, 'partnered', { conditions: { all: [{ fact: 'profile.partner', op: 'contains', value: 'root' }, { fact: 'member.state', op: 'eq', value: 'ma' }] } }),
        pointsRule(w, 'silver', { conditions: { any: [{ fact: 'tier.level', op: 'in', value: [tiers.levels.silver, tiers.levels.gold] }, { fact: 'tier.rank', op: 'gte', value: 3 }] } }),
      ]);
      const other = await createMemberViaApi(t.app, w.tenant, { user_profile: { partner: ['other'] } });
      assert.equal((await fire(w, 'tagged')).length, 0);
      await call(t.app, { method: 'POST', url: `${w.tenant.base}/users/${w.member.id}/tags`, headers: { authorization: w.tenant.core }, payload: { tags: ['vip'] } });
      assert.equal((await fire(w, 'tagged')).length, 1);
      assert.equal((await fire(w, 'partnered')).length, 1);
      assert.equal((await fire(w, 'partnered', {}, other.id)).length, 0);
      assert.equal((await fire(w, 'silver')).length, 0);
      const deposit = await call(t.app, {
        method: 'POST',
        url: '/incentives/api/1.0/user_points/deposit',
        headers: { authorization: w.tenant.connect },
        payload: { retailer_id: w.tenant.retailer_id, user_id: w.member.id, deposit_details: [{ point_account_id: w.accounts.tier, amount: 150 }] },
      });
      assert.equal(deposit.status, 200, deposit.body);
      assert.equal((await fire(w, 'silver')).length, 1);
    });

    it('on counts of past events of a name within a period, counted at the event date', async () => {
      const w = await world();
      await rules(w, [pointsRule(w, 'purchase_made', { conditions: { fact: 'events.store_visit', within_seconds: 7 * 86400, op: 'gte', value: 3 } })]);
      await fire(w, 'store_visit', { date: daysAgo(10) });
      await fire(w, 'store_visit', { date: daysAgo(3) });
      await fire(w, 'store_visit', { date: daysAgo(2) });
      assert.equal((await fire(w, 'purchase_made')).length, 0, 'two visits in the last week');
      await events(w, { events: { store_visit: { qty: 1 } }, user_id: w.member.id });
      assert.equal((await fire(w, 'purchase_made')).length, 1);
      // dated 9 days ago, the week before it holds one visit (10 days ago)
      assert.equal((await fire(w, 'purchase_made', { date: daysAgo(9) })).length, 0);
      // qty counts as that many occurrences; the rule's own event counts too
      await rules(w, [pointsRule(w, 'bulk', { conditions: { fact: 'events.bulk', op: 'gte', value: 5 } })]);
      assert.equal((await fire(w, 'bulk', { qty: 4 })).length, 0);
      assert.equal((await fire(w, 'bulk', { qty: 1 })).length, 1);
    });

    it('restricted members still get rule outcomes (only campaigns exclude them); a condition can exclude them', async () => {
      const w = await world();
      await rules(w, [pointsRule(w, 'any_member'), pointsRule(w, 'good_only', { conditions: { fact: 'member.account_status', op: 'ne', value: 'restricted' } })]);
      await t.db.updateTable('members').set({ account_status: 'restricted' }).where('retailer_id', '=', w.tenant.retailer_id).where('id', '=', w.member.id).execute();
      assert.equal((await fire(w, 'any_member')).length, 1);
      assert.equal((await fire(w, 'good_only')).length, 0);
    });
  });

  describe('outcomes', () => {
    it('deposits fixed and computed points (per currency unit, rounded down) and writes both timeline entries', async () => {
      const w = await world();
      await rules(w, [
        pointsRule(w, 'bought', {}, { type: 'points', point_account_id: w.accounts.spendable, amount: { per: 1, of: 'subtotal' } }),
        { ...pointsRule(w, 'bought', {}, { type: 'points', point_account_id: w.accounts.tier, amount: { per: 10, of: 'basket.total', points: 3 } }), name: 'tier rule' },
      ]);
      const outcomes = await fire(w, 'bought', { subtotal: '11.77', basket: { total: 25 } });
      assert.deepEqual(outcomes.map((o) => [o.point_account_id, o.points_awarded, o.is_outcome_applied]), [
        [w.accounts.spendable, 11, true],
        [w.accounts.tier, 7, true],
      ]);
      assert.equal(await balance(w, w.accounts.spendable), 11);
      // no subtotal: the outcome is not applied and says why, the other still applies
      const missing = await fire(w, 'bought', { basket: { total: 10 } });
      assert.deepEqual(missing.map((o) => [o.is_outcome_applied, o.points_awarded]), [[false, 0], [true, 3]]);
      assert.equal(missing[0].error.code, 'missing_data');
      const entries = await timeline(w);
      const achieved = entries.filter((e) => e.slug === 'LOYALTY_RULE_ACHIEVED');
      assert.equal(achieved.length, 4);
      assert.equal(achieved[0].payload.rule_name, 'bought rule');
      assert.equal(achieved[0].payload.trigger_name, 'bought');
      assert.equal((achieved[0].payload.outcomes as any[])[0].points_awarded, 11);
      const deposits = entries.filter((e) => e.slug === 'INCENTIVES_POINT_DEPOSIT');
      assert.deepEqual(deposits.map((d) => d.payload.amount), [11, 7, 3]);
      assert.equal(deposits[0].payload.reference_type, 'loyalty_rule');
    });

    it('issues an offer, drops a tag (counter and ttl), moves a tier and sets a custom attribute, each on the timeline', async () => {
      const w = await world();
      const tiers = await tierProgram(t.db, w.tenant.retailer_id, w.accounts.tier);
      const offer = randomUUID();
      await transact(t.db, (tx) => applyOfferConfig(tx, w.tenant.retailer_id, [{ root_offer_id: offer, offer_type: 'percent_discount', amount: '5', internal_title: '5% off' }]));
      await rules(w, [
        {
          id: randomUUID(),
          name: 'everything',
          trigger: { type: 'event', name: 'all_in' },
          outcomes: [
            { type: 'offer', offer_id: offer.toUpperCase() },
            { type: 'tag', tag: 'app_opened' },
            { type: 'tag', tag: 'flash', ttl: 3600 },
            { type: 'tier', tier_level_id: tiers.levels.gold },
            { type: 'attribute', name: 'favorite_store', from: 'store' },
            { type: 'attribute', name: 'surveyed', value: true },
          ],
        },
      ]);
      const outcomes = await fire(w, 'all_in', { store: 'Seaport' });
      assert.deepEqual(outcomes.map((o) => [o.discriminator, o.is_outcome_applied, o.points_awarded]), [
        ['offer', true, 0],
        ['tag', true, 0],
        ['tag', true, 0],
        ['tier', true, 0],
        ['attribute', true, 0],
        ['attribute', true, 0],
      ]);
      const userOffer = await t.db.selectFrom('user_offers').selectAll().where('retailer_id', '=', w.tenant.retailer_id).where('member_id', '=', w.member.id).executeTakeFirstOrThrow();
      assert.equal(userOffer.id, outcomes[0].user_offer_id);
      assert.equal(userOffer.source, 'rule');
      const tags = await call(t.app, { method: 'GET', url: `${w.tenant.base}/users/${w.member.id}/tags`, headers: { authorization: w.tenant.core } });
      assert.deepEqual(tags.json.tags, { app_opened: 1, flash: 1 });
      const placed = await t.db.selectFrom('member_tiers').select('tier_level_id').where('retailer_id', '=', w.tenant.retailer_id).where('member_id', '=', w.member.id).executeTakeFirstOrThrow();
      assert.equal(placed.tier_level_id, tiers.levels.gold);
      const user = await call(t.app, { method: 'GET', url: `${w.tenant.base}/users/${w.member.id}?user[user_profile]=true`, headers: { authorization: w.tenant.core } });
      assert.equal(user.json.user.user_profile.favorite_store, 'Seaport');
      assert.equal(user.json.user.user_profile.surveyed, true);
      const slugs = (await timeline(w)).map((e) => e.slug);
      for (const slug of ['ISSUED_OFFER', 'USER_TAG_DROPPED', 'CHANGE_TIER_MANUAL', 'PROFILE_UPDATE', 'LOYALTY_RULE_ACHIEVED']) assert.ok(slugs.includes(slug), `${slug} in ${slugs}`);
      // the second time the tag counts up
      await fire(w, 'all_in', { store: 'Seaport' });
      const again = await call(t.app, { method: 'GET', url: `${w.tenant.base}/users/${w.member.id}/tags`, headers: { authorization: w.tenant.core } });
      assert.equal(again.json.tags.app_opened, 2);
    });

    it('tags dropped several times by one event count as if dropped one after the other', async () => {
      const w = await world();
      const tagRule = (name: string, outcomes: RuleConfig['outcomes']): RuleConfig => ({ id: randomUUID(), name, trigger: { type: 'event', name: 'visit' }, outcomes });
      await rules(w, [
        tagRule('twice', [{ type: 'tag', tag: 'regular' }, { type: 'tag', tag: 'regular' }]),
        tagRule('flash then counter', [{ type: 'tag', tag: 'flash', ttl: 3600 }, { type: 'tag', tag: 'flash' }, { type: 'tag', tag: 'flash' }]),
        tagRule('counter then flash', [{ type: 'tag', tag: 'promo' }, { type: 'tag', tag: 'promo', ttl: 60 }]),
      ]);
      await call(t.app, { method: 'POST', url: `${w.tenant.base}/users/${w.member.id}/tags`, headers: { authorization: w.tenant.core }, payload: { tags: ['regular', 'promo'] } });
      await fire(w, 'visit');
      const tags = await t.db.selectFrom('member_tags').select(['tag', 'count', 'expires_at']).where('retailer_id', '=', w.tenant.retailer_id).where('member_id', '=', w.member.id).orderBy('tag').execute();
      assert.deepEqual(
        tags.map((r) => [r.tag, r.count, r.expires_at !== null]),
        [
          ['flash', 2, false],
          ['promo', 1, true],
          ['regular', 3, false],
        ],
      );
      // each drop's entry carries the count it made, in the order of the outcomes
      const dropped = (await timeline(w)).filter((e) => e.slug === 'USER_TAG_DROPPED').slice(2);
      assert.deepEqual(
        dropped.map((e) => [e.payload.tag, e.payload.tag_count]),
        [
          ['regular', 2],
          ['regular', 3],
          ['flash', 1],
          ['flash', 1],
          ['flash', 2],
          ['promo', 2],
          ['promo', 1],
        ],
      );
      // a second event counts on from what the first left
      await fire(w, 'visit');
      const regular = await t.db.selectFrom('member_tags').select('count').where('retailer_id', '=', w.tenant.retailer_id).where('member_id', '=', w.member.id).where('tag', '=', 'regular').executeTakeFirstOrThrow();
      assert.equal(regular.count, 5);
    });

    it('an outcome the domain refuses is answered not applied; the rule is still achieved once', async () => {
      const w = await world();
      const offer = randomUUID();
      await transact(t.db, (tx) => applyOfferConfig(tx, w.tenant.retailer_id, [{ root_offer_id: offer, offer_type: 'percent_discount', amount: '5', internal_title: 'once', restrictions: { purchase: { max_per_member: 1 } } }]));
      await rules(w, [{ id: randomUUID(), name: 'offer', trigger: { type: 'event', name: 'gimme' }, outcomes: [{ type: 'offer', offer_id: offer }, { type: 'points', point_account_id: w.accounts.capped, amount: 60 }] }]);
      const first = await fire(w, 'gimme');
      assert.deepEqual(first.map((o) => o.is_outcome_applied), [true, true]);
      const second = await fire(w, 'gimme');
      assert.deepEqual(second.map((o) => [o.is_outcome_applied, o.error?.code]), [[false, 'purchase_limit_reached'], [false, 'maximum_balance_exceeded']]);
      assert.equal(await balance(w, w.accounts.capped), 60);
      assert.equal((await t.db.selectFrom('user_offers').select('id').where('retailer_id', '=', w.tenant.retailer_id).execute()).length, 1);
    });

    it('tier points from a rule promote the member; tag, tier and profile outcomes trigger the rules on them', async () => {
      const w = await world();
      const tiers = await tierProgram(t.db, w.tenant.retailer_id, w.accounts.tier);
      await rules(w, [
        pointsRule(w, 'big_spend', {}, { type: 'points', point_account_id: w.accounts.tier, amount: 120 }),
        { id: randomUUID(), name: 'welcome to silver', trigger: { type: 'tier_change', name: tiers.levels.silver }, outcomes: [{ type: 'tag', tag: 'silver_welcome' }] },
        { id: randomUUID(), name: 'tagged bonus', trigger: { type: 'tag', name: 'silver_welcome' }, outcomes: [{ type: 'attribute', name: 'welcomed', value: 'yes' }] },
        { id: randomUUID(), name: 'profile bonus', trigger: { type: 'profile_change' }, limits: { total: 1 }, outcomes: [{ type: 'points', point_account_id: w.accounts.spendable, amount: 5 }] },
      ]);
      const outcomes = await fire(w, 'big_spend');
      assert.deepEqual(outcomes.map((o) => [o.rule_name, o.discriminator]), [
        ['big_spend rule', 'points'],
        ['welcome to silver', 'tag'],
        ['tagged bonus', 'attribute'],
        ['profile bonus', 'points'],
      ]);
      const placed = await t.db.selectFrom('member_tiers').select('tier_level_id').where('retailer_id', '=', w.tenant.retailer_id).where('member_id', '=', w.member.id).executeTakeFirstOrThrow();
      assert.equal(placed.tier_level_id, tiers.levels.silver);
      assert.equal(await balance(w, w.accounts.spendable), 5);
    });

    it("the 'purchase' trigger (for the POS flow) with the demo's per-currency-unit earning", async () => {
      const w = await world();
      await rules(w, [
        {
          id: randomUUID(),
          name: 'Purchase earning',
          trigger: { type: 'purchase' },
          outcomes: [
            { type: 'points', point_account_id: w.accounts.spendable, amount: { per: 1, of: 'subtotal' } },
            { type: 'points', point_account_id: w.accounts.tier, amount: { per: 1, of: 'subtotal' } },
          ],
        },
      ]);
      const outcomes = await transact(t.db, async (tx) => {
        const member = await lockMemberRef(tx, w.tenant.retailer_id, w.member.id);
        return runRules(tx, w.tenant.actor, member, { type: 'purchase', occurredAt: new Date(), context: { subtotal: '42.99', transaction_id: 'POS-1' } });
      });
      assert.deepEqual(outcomes.map((o) => o.points_awarded), [42, 42]);
      assert.equal(await balance(w, w.accounts.spendable), 42);
      assert.equal(await balance(w, w.accounts.tier), 42);
      // a custom event named purchase is not the purchase trigger
      assert.equal((await fire(w, 'purchase', { subtotal: 10 })).length, 0);
    });
  });

  describe('campaigns', () => {
    const campaigns = (w: World, list: CampaignConfig[]) => transact(t.db, (tx) => applyCampaignConfig(tx, w.tenant.retailer_id, list));
    /** A running campaign with one count behaviour on `event`. */
    const counting = (id: number, event: string, behavior: Partial<NonNullable<CampaignConfig['behaviors']>[number]> = {}, extra: Partial<CampaignConfig> = {}): CampaignConfig => ({
      id,
      name: `Campaign ${id}`,
      start_date: daysAgo(1),
      end_date: new Date(Date.now() + 86_400_000).toISOString(),
      ...extra,
      behaviors: [{ id: id * 10, name: `behavior_${id}`, external_behavior_id: randomUUID(), type: 'count', count_event: event, earn_count: 1, ...behavior }],
    });
    const ledger = (w: World, memberId = w.member.id) =>
      t.db.selectFrom('point_ledger').select(['amount', 'balance_after', 'reference_type']).where('retailer_id', '=', w.tenant.retailer_id).where('member_id', '=', memberId).orderBy('effective_at').orderBy('id').execute();

    it('an event achieves its rules and advances the campaigns counting it; the award follows the rules\' deposits', async () => {
      const w = await world();
      await rules(w, [pointsRule(w, 'visit')]);
      await campaigns(w, [counting(71, 'visit', { earn_count: 3, points: 50 }), counting(72, 'browse', { points: 5 })]);
      await fire(w, 'visit');
      await fire(w, 'visit');
      assert.equal(await balance(w, w.accounts.spendable), 20);
      await fire(w, 'visit');
      assert.equal(await balance(w, w.accounts.spendable), 80);
      assert.deepEqual((await ledger(w)).map((e) => [Number(e.amount), Number(e.balance_after), e.reference_type]), [
        [10, 10, 'loyalty_rule'],
        [10, 20, 'loyalty_rule'],
        [10, 30, 'loyalty_rule'],
        [50, 80, 'campaign'],
      ]);
      const behavior = await t.db.selectFrom('member_behaviors').select('achieved').where('retailer_id', '=', w.tenant.retailer_id).where('member_id', '=', w.member.id).where('behavior_id', '=', 710).executeTakeFirstOrThrow();
      assert.equal(behavior.achieved, 1);
      const entries = await timeline(w);
      assert.equal(entries.filter((e) => e.slug === 'LOYALTY_RULE_ACHIEVED' && e.payload.campaign_id === 71).length, 1);
      assert.equal(entries.filter((e) => e.slug === 'LOYALTY_RULE_ACHIEVED' && e.payload.rule_name === 'visit rule').length, 3);
      assert.equal(entries.filter((e) => e.slug === 'INCENTIVES_POINT_DEPOSIT').length, 4);
      // an event no rule knows still counts for the campaigns
      assert.deepEqual(await fire(w, 'browse'), []);
      assert.equal(await balance(w, w.accounts.spendable), 85);
    });

    it('concurrent events award a campaign once, beside every rule outcome', async () => {
      const w = await world();
      await rules(w, [pointsRule(w, 'visit')]);
      await campaigns(w, [counting(73, 'visit', { earn_count: 3, points: 50, max_times_repeatable: 1 })]);
      const answers = await Promise.all(Array.from({ length: 8 }, () => events(w, { events: { visit: 1 }, user_id: w.member.id })));
      assert.deepEqual(answers.map((a) => a.status), Array(8).fill(200));
      assert.equal(await balance(w, w.accounts.spendable), 8 * 10 + 50);
      assert.equal((await ledger(w)).filter((e) => e.reference_type === 'campaign').length, 1);
    });

    it('a campaign award the account refuses fails the event: nothing of it stays', async () => {
      const w = await world();
      await rules(w, [pointsRule(w, 'visit')]);
      await campaigns(w, [counting(74, 'visit', { points: 60 }, { point_account_id: w.accounts.capped })]);
      await fire(w, 'visit');
      assert.equal(await balance(w, w.accounts.capped), 60);
      const refused = await events(w, { events: { visit: 1 }, user_id: w.member.id });
      assert.equal(refused.json.errors?.code, 'maximum_balance_exceeded', refused.body);
      assert.equal(await balance(w, w.accounts.spendable), 10);
      assert.equal(await balance(w, w.accounts.capped), 60);
      assert.equal((await storedEvents(w)).length, 1);
      assert.equal((await t.db.selectFrom('rule_achievements').select('id').where('retailer_id', '=', w.tenant.retailer_id).execute()).length, 1);
    });

    it('campaign awards of tier points promote the member, whether a rule knows the event or not', async () => {
      const w = await world();
      const tiers = await tierProgram(t.db, w.tenant.retailer_id, w.accounts.tier);
      await rules(w, [pointsRule(w, 'visit')]);
      await campaigns(w, [counting(77, 'visit', { points: 120 }, { point_account_id: w.accounts.tier }), counting(78, 'browse', { points: 400 }, { point_account_id: w.accounts.tier })]);
      const level = async () => (await t.db.selectFrom('member_tiers').select('tier_level_id').where('retailer_id', '=', w.tenant.retailer_id).where('member_id', '=', w.member.id).executeTakeFirst())?.tier_level_id;
      await fire(w, 'visit');
      assert.equal(await level(), tiers.levels.silver);
      await fire(w, 'browse');
      assert.equal(await level(), tiers.levels.gold);
    });

    it('a restricted member gets the rule outcomes of an event, and no campaign progress', async () => {
      const w = await world();
      await rules(w, [pointsRule(w, 'visit')]);
      await campaigns(w, [counting(75, 'visit', { points: 50 })]);
      await t.db.updateTable('members').set({ account_status: 'restricted' }).where('retailer_id', '=', w.tenant.retailer_id).where('id', '=', w.member.id).execute();
      assert.equal((await fire(w, 'visit')).length, 1);
      assert.equal(await balance(w, w.accounts.spendable), 10);
      assert.equal((await t.db.selectFrom('member_goals').select('goal_name').where('retailer_id', '=', w.tenant.retailer_id).execute()).length, 0);
    });

    it('an event a campaign counts: the rules on what its outcomes derive read them, and every write stays', async () => {
      const w = await world();
      await rules(w, [
        { id: randomUUID(), name: 'visit tag', trigger: { type: 'event', name: 'visit' }, outcomes: [{ type: 'tag', tag: 'regular' }, { type: 'points', point_account_id: w.accounts.spendable, amount: 3 }] },
        { id: randomUUID(), name: 'regular bonus', trigger: { type: 'tag', name: 'regular' }, conditions: { fact: 'tags.regular', op: 'gte', value: 2 }, outcomes: [{ type: 'points', point_account_id: w.accounts.spendable, amount: 100 }] },
      ]);
      await campaigns(w, [counting(79, 'visit', { earn_count: 2, points: 7 })]);
      assert.deepEqual((await fire(w, 'visit')).map((o) => [o.rule_name, o.is_outcome_applied]), [['visit tag', true], ['visit tag', true]]);
      assert.equal(await balance(w, w.accounts.spendable), 3);
      // the second visit's tag is the member's second: the tag rule reads it, and the campaign completes
      assert.deepEqual((await fire(w, 'visit')).map((o) => [o.rule_name, o.is_outcome_applied]), [['visit tag', true], ['visit tag', true], ['regular bonus', true]]);
      assert.equal(await balance(w, w.accounts.spendable), 3 + 3 + 100 + 7);
      assert.equal((await ledger(w)).length, 4);
    });

    it('a tag a rule drops opens a campaign with that audience to the same event', async () => {
      const w = await world();
      await rules(w, [{ id: randomUUID(), name: 'join', trigger: { type: 'event', name: 'join' }, outcomes: [{ type: 'tag', tag: 'club' }] }]);
      await campaigns(w, [counting(76, 'join', { points: 20 }, { audience: { tags: ['club'] } })]);
      await fire(w, 'join');
      assert.equal(await balance(w, w.accounts.spendable), 20);
    });
  });

  describe('rule configuration', () => {
    it('checks rules on apply, naming the field', async () => {
      const w = await world();
      const apply = (list: unknown[]) => transact(t.db, (tx) => applyRuleConfig(tx, w.tenant.retailer_id, list as RuleConfig[]));
      const base = { id: randomUUID(), name: 'r', trigger: { type: 'event', name: 'e' }, outcomes: [{ type: 'tag', tag: 'x' }] };
      const cases: [unknown, RegExp][] = [
        [{ ...base, outcomes: [{ type: 'points', point_account_id: randomUUID(), amount: 1 }] }, /rules\.0\.outcomes\.0\.point_account_id/],
        [{ ...base, outcomes: [{ type: 'points', point_account_id: w.accounts.spendable, amount: 0 }] }, /rules\.0\.outcomes\.0\.amount/],
        [{ ...base, outcomes: [{ type: 'offer', offer_id: randomUUID() }] }, /offer_id/],
        [{ ...base, outcomes: [{ type: 'tier', tier_level_id: randomUUID() }] }, /tier_level_id/],
        [{ ...base, outcomes: [{ type: 'attribute', name: 'a' }] }, /value/],
        [{ ...base, trigger: { type: 'event' } }, /trigger\.name/],
        [{ ...base, trigger: { type: 'sometimes' } }, /rules\.0\.trigger/],
        [{ ...base, conditions: { fact: 'weather.today', op: 'eq', value: 1 } }, /rules\.0\.conditions/],
        [{ ...base, limits: { total: 0 } }, /rules\.0\.limits/],
        [{ ...base, outcomes: [] }, /rules\.0\.outcomes/],
      ];
      for (const [rule, field] of cases) {
        await assert.rejects(apply([rule]), (err: DomainError) => {
          assert.equal(err.code, 'validation');
          assert.match(err.message, field);
          return true;
        });
      }
      await assert.rejects(apply([base, base]), /listed twice/);
    });

    it('re-applying replaces the rules at once (cache invalidated); rules left out and inactive rules no longer apply', async () => {
      const w = await world();
      const kept = pointsRule(w, 'e1');
      await rules(w, [kept, pointsRule(w, 'e2')]);
      assert.equal((await fire(w, 'e2')).length, 1);
      await rules(w, [kept]);
      assert.equal((await fire(w, 'e2')).length, 0);
      assert.equal((await fire(w, 'E1')).length, 1, 'event names compare case-insensitively');
      await rules(w, [{ ...kept, active: false }]);
      assert.equal((await fire(w, 'e1')).length, 0);
      const retired = await t.db.selectFrom('rules').select(['name', 'retired_at', 'active']).where('retailer_id', '=', w.tenant.retailer_id).orderBy('name').execute();
      assert.deepEqual(retired.map((r) => [r.name, r.retired_at !== null, r.active]), [['e1 rule', false, false], ['e2 rule', true, true]]);
    });

    it("applies the Brand X journey rules against the demo program", async () => {
      const w = await world();
      const program = parseProgramText(readFileSync(new URL('../../examples/brand-x/program.yaml', import.meta.url), 'utf8'));
      await transact(t.db, (tx) => applyProgram(tx, w.tenant.retailer_id, program));
      const { rules: demo } = parseYaml(readFileSync(new URL('../../examples/brand-x/program.yaml', import.meta.url), 'utf8')) as { rules: RuleConfig[] };
      await rules(w, demo);
      const member = await createMemberViaApi(t.app, w.tenant);
      const tag = await events(w, { events: { app_downloaded: 1 }, user_id: member.id });
      assert.deepEqual(tag.json.events[0].outcomes.map((o: any) => [o.discriminator, o.tag]), [['tag', 'app_opened']]);
      const survey = await events(w, { events: { name: 'survey_completed', user_id: member.id, context: { star_rating: 5 } } });
      assert.equal(survey.json.events[0].outcomes[0].discriminator, 'offer');
      assert.equal(survey.json.events[0].outcomes[0].is_outcome_applied, true);
      const premium = await trigger(w, { user_id: member.id, event_lookup: 'PREMIUM_SUBSCRIPTION_STARTED' });
      assert.equal(premium.json.payload.outcomes[0].points_awarded, 100);
      const purchase = await transact(t.db, async (tx) =>
        runRules(tx, w.tenant.actor, await lockMemberRef(tx, w.tenant.retailer_id, member.id), { type: 'purchase', occurredAt: new Date(), context: { subtotal: '11.77' } }),
      );
      assert.deepEqual(purchase.map((o) => [o.point_account_id, o.points_awarded]), [
        ['f4d91345-bbe8-4ca7-864d-771761be873e', 11],
        ['3d1c4e93-8b93-432f-a9c9-ab6854b57b7f', 11],
      ]);
    });
  });
});
