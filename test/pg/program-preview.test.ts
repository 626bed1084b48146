// Program previews (issue 20) on PostgreSQL with the Brand X program: the
// diff of a draft (and of an apply), one request evaluated against a draft,
// and simulations of a window of recorded events and POS transactions
// against the live program and a draft — none of which writes anything.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { parse as parseYaml } from 'yaml';
import { transact } from '../../src/db/unit-of-work.js';
import { applyProgram } from '../../src/flows/program-apply.js';
import { parseProgramText, type Program } from '../../src/modules/program/service.js';
import { tableSnapshot } from '../support/snapshot.js';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

const PROGRAM_TEXT = readFileSync(new URL('../../examples/brand-x/program.yaml', import.meta.url), 'utf8');
const STORE = '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01';
const SPENDABLE = 'f4d91345-bbe8-4ca7-864d-771761be873e';
const TIER_POINTS = '3d1c4e93-8b93-432f-a9c9-ab6854b57b7f';
const PURCHASE_RULE = '0e0d5ac3-65c2-4a7f-83e7-4a121908e91c';
const APP_RULE = '80b22f2a-ffaf-402d-bd39-612fdb1ebea6';
const MEMBER_LEVEL = '0c6f1b2a-3d4e-4f50-8a61-7b8c9d0e1f20';
const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };

/** The Brand X program with the purchase rule earning `per` points per currency unit. */
function brandX(change: (p: Program) => void = () => undefined): Program {
  const program = parseYaml(PROGRAM_TEXT) as Program;
  change(program);
  return program;
}
const doubled = (p: Program) => {
  const rule = p.rules!.find((r) => r.id === PURCHASE_RULE)!;
  rule.outcomes = rule.outcomes.map((o) => ({ ...o, amount: { per: 1, of: 'subtotal', points: 2 } })) as typeof rule.outcomes;
};
const NEW_CAMPAIGN = 9001;
const withSurveyCampaign = (p: Program) => {
  p.campaigns!.push({
    id: NEW_CAMPAIGN,
    name: 'Survey sprint',
    start_date: '2024-01-01 00:00:00',
    end_date: '2124-01-01 00:00:00',
    template_type: 'internal_behavior',
    behaviors: [
      {
        id: 90011,
        name: 'survey_done',
        external_behavior_id: 'c0ffee00-0000-4000-8000-000000090011',
        event_name: 'c0ffee00-0000-4000-8000-000000090012',
        type: 'composite',
        points: 25,
        max_times_repeatable: 1,
        max_times_repeatable_per_period: null,
        period: 86400,
        min_time_between_events: null,
        consecutive: false,
        goals: [{ name: 'survey', event_name: 'survey_completed', group_id: '0', earn_count: 1, required: true, points: 0, period: 315360000 }],
      },
    ],
  } as never);
};

describe('program previews on PostgreSQL', () => {
  let t: TestApp;
  let tenant: TestTenant;
  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    await transact(t.db, (tx) => applyProgram(tx, tenant.retailer_id, parseProgramText(PROGRAM_TEXT)));
  });
  const admin = (method: 'GET' | 'POST' | 'PUT', path: string, payload?: unknown) => call(t.app, { method, url: `/admin/tenants/${tenant.retailer_id}${path}`, headers: ADMIN, payload: payload as never });

  async function member() {
    const user = await createMemberViaApi(t.app, tenant, { phone_numbers: [{ phone_number: `617${String(randomBytes(4).readUInt32BE() % 10_000_000).padStart(7, '0')}`, phone_type: 'mobile', preference_flags: ['primary'] }] });
    return user.id as string;
  }
  const transaction = (userId: string, subtotal: number) => ({
    store_id: STORE,
    client_id: tenant.retailer_id,
    request_id: randomUUID(),
    user_id: userId,
    request_payload: {
      transaction_id: `SIM-${randomUUID()}`,
      subtotal,
      tax_total: 0,
      items: [{ item_id: 'coffee', line_id: '1', quantity: 1, unit_price: subtotal, subtotal }],
      payments: [{ payment_id: 'P', user_id: userId, amount: subtotal, type: 'CASH' }],
    },
  });
  async function purchase(userId: string, subtotal: number) {
    const res = await call(t.app, { method: 'POST', url: '/api/2.0/send_transaction', headers: { authorization: tenant.pos }, payload: transaction(userId, subtotal) });
    assert.equal(res.status, 200, res.body);
  }
  async function event(userId: string, name: string) {
    const res = await call(t.app, {
      method: 'POST',
      url: '/incentives/api/1.0/user_events/trigger_user_event',
      headers: { authorization: tenant.connect },
      payload: { retailer_id: tenant.retailer_id, user_id: userId, event_lookup: name },
    });
    assert.equal(res.status, 200, res.body);
  }

  it('diffs a draft per section, field by field, without applying it; applying answers the same diff', async () => {
    const draft = brandX((p) => {
      doubled(p);
      withSurveyCampaign(p);
      p.rules = p.rules!.filter((r) => r.id !== APP_RULE);
      p.point_accounts!.find((a) => a.id === SPENDABLE)!.name = 'Spendable Points';
    });
    const before = await tableSnapshot(t.db);
    const res = await admin('POST', '/program/diff', draft);
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(await tableSnapshot(t.db), before, 'a diff writes nothing');
    const { sections, changes } = res.json;
    assert.deepEqual(sections.rules.changed.map((c: any) => [c.key, c.name, c.fields]), [
      [PURCHASE_RULE, 'Purchase earning', [{ path: 'outcomes[0].amount.points', old: null, new: 2 }, { path: 'outcomes[1].amount.points', old: null, new: 2 }]],
    ]);
    assert.deepEqual(sections.rules.retired, [{ key: APP_RULE, name: 'App downloaded' }]);
    assert.deepEqual(sections.campaigns.created.map((c: any) => [c.key, c.name]), [[String(NEW_CAMPAIGN), 'Survey sprint']]);
    assert.deepEqual(sections.point_accounts.changed[0].fields, [{ path: 'name', old: 'Spendable Account', new: 'Spendable Points' }]);
    assert.equal(changes, 4);
    assert.deepEqual(Object.keys(sections).sort(), ['campaigns', 'point_accounts', 'rules']);

    // the same document in YAML diffs the same
    const yaml = await call(t.app, { method: 'POST', url: `/admin/tenants/${tenant.retailer_id}/program/diff`, headers: { ...ADMIN, 'content-type': 'application/yaml' }, payload: JSON.stringify(draft) });
    assert.deepEqual(yaml.json, res.json);

    const other = await createTenant(t.db);
    await transact(t.db, (tx) => applyProgram(tx, other.retailer_id, parseProgramText(PROGRAM_TEXT)));
    const applied = await call(t.app, { method: 'PUT', url: `/admin/tenants/${other.retailer_id}/program`, headers: ADMIN, payload: draft as never });
    assert.equal(applied.status, 200, applied.body);
    assert.deepEqual(applied.json.diff, res.json, 'applying answers the diff it previewed');
    const again = await call(t.app, { method: 'PUT', url: `/admin/tenants/${other.retailer_id}/program`, headers: ADMIN, payload: draft as never });
    assert.deepEqual(again.json.diff, { changes: 0, sections: {} }, 'applying again changes nothing');
  });

  it('evaluates a transaction and an event against a draft and the live program, writing nothing', async () => {
    const m = await member();
    const tx = transaction(m, 30);
    const before = await tableSnapshot(t.db);
    const live = await admin('POST', '/program/evaluate', { member: m, request: tx });
    const draft = await admin('POST', '/program/evaluate', { program: brandX(doubled), member: m, request: tx });
    assert.equal(live.status, 200, live.body);
    assert.equal(draft.status, 200, draft.body);
    const after = (answer: any, account: string) => answer.balances.find((b: any) => b.point_account_id === account).after;
    assert.equal(live.json.program, 'live');
    assert.equal(after(live.json, TIER_POINTS), '30');
    assert.equal(after(draft.json, TIER_POINTS), '60');
    assert.equal(after(draft.json, SPENDABLE), '60');
    const tierMoves = draft.json.outcomes.filter((o: any) => o.type === 'tier.changed').map((o: any) => o.payload.to_tier_level_id);
    assert.deepEqual(tierMoves, [MEMBER_LEVEL], '60 tier points place the member on the first level, not Silver (500)');
    assert.ok(draft.json.outcomes.some((o: any) => o.type === 'rule.achieved' && o.payload.rule_id === PURCHASE_RULE));

    const campaign = await admin('POST', '/program/evaluate', { program: brandX(withSurveyCampaign), member: m, request: { event_lookup: 'survey_completed' } });
    assert.equal(campaign.status, 200, campaign.body);
    assert.ok(campaign.json.outcomes.some((o: any) => o.type === 'campaign.completed' && o.payload.campaign_id === String(NEW_CAMPAIGN)), JSON.stringify(campaign.json.outcomes.map((o: any) => o.type)));
    assert.deepEqual(await tableSnapshot(t.db), before, 'evaluations write nothing');

    const unknown = await admin('POST', '/program/evaluate', { member: 'nobody-here', request: { event_lookup: 'x' } });
    assert.equal(unknown.status, 404);
    const bad = await admin('POST', '/program/evaluate', { member: m, request: { request_payload: { subtotal: 3 } } });
    assert.equal(bad.status, 400);
    assert.match(bad.json.errors.message, /^request/);
    const badDraft = await admin('POST', '/program/evaluate', { program: { rules: [{ id: 'x' }] }, member: m, request: { event_lookup: 'x' } });
    assert.equal(badDraft.status, 422);
    assert.match(badDraft.json.errors.message, /^program\.rules/);
  });

  describe('simulation of a window', () => {
    let from: string;
    let to: string;
    let members: string[];
    before(async () => {
      members = [await member(), await member(), await member()];
      from = new Date(Date.now() - 1000).toISOString();
      // before the window: a purchase that must not be replayed
      for (const [i, m] of members.entries()) {
        await purchase(m, 10 + i);
        await purchase(m, 5);
        await event(m, 'PREMIUM_SUBSCRIPTION_STARTED');
      }
      await event(members[0], 'survey_completed');
      await event(members[1], 'survey_completed');
      to = new Date(Date.now() + 1000).toISOString();
    });

    /** The window's ledger deposits of rule and campaign outcomes, by account, as recorded. */
    async function recordedDeposits(): Promise<Record<string, string>> {
      const { rows } = await sql<{ account: string; sum: string }>`
        SELECT point_account_id AS account, sum(amount)::numeric(19, 4)::text AS sum FROM point_ledger
         WHERE retailer_id = ${tenant.retailer_id} AND inserted_at >= ${from} AND inserted_at < ${to} AND reference_type IN ('loyalty_rule', 'campaign')
         GROUP BY 1`.execute(t.db);
      return Object.fromEntries(rows.map((r) => [r.account, r.sum]));
    }

    it('the live program against itself reports what was recorded in the window, and changes nothing', async () => {
      const before = await tableSnapshot(t.db);
      const res = await admin('POST', '/program/simulate', { program: brandX(), from, to });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(await tableSnapshot(t.db), before, 'a simulation writes nothing');
      const report = res.json.result;
      assert.equal(res.json.status, 'done');
      assert.deepEqual(report.replayed, { events: 5, transactions: 6, members: 3 });
      assert.deepEqual(report.current.points_by_account, await recordedDeposits());
      assert.deepEqual(report.draft, report.current);
      assert.equal(report.members_changed, 0);
      assert.equal(report.current.rule_achievements[PURCHASE_RULE], 6);
      assert.equal(report.names[PURCHASE_RULE], 'Purchase earning');
      assert.ok(report.approximations.length > 0);
    });

    it('a draft doubling the purchase rule reports exactly twice its points; a new campaign its completions', async () => {
      const res = await admin('POST', '/program/simulate', { program: brandX((p) => (doubled(p), withSurveyCampaign(p))), from, to });
      assert.equal(res.status, 200, res.body);
      const { current, draft, members_changed, top_members } = res.json.result;
      assert.equal(current.points_by_account[TIER_POINTS], '48.0000', '11 + 5, 12 + 5, 10 + 5');
      assert.equal(draft.points_by_account[TIER_POINTS], '96.0000');
      assert.equal(draft.points_by_account[SPENDABLE], '446.0000', 'twice the purchases (96), the 100 points of each premium event, 25 for each of 2 completions');
      assert.equal(current.points_by_account[SPENDABLE], '348.0000');
      assert.equal(current.campaign_completions[NEW_CAMPAIGN], undefined);
      assert.equal(draft.campaign_completions[NEW_CAMPAIGN], 2);
      assert.equal(members_changed, 3);
      assert.deepEqual(new Set(top_members.map((m: any) => m.user_id)), new Set(members));
      assert.equal(top_members[0].user_id, members[1], 'the member whose points differ most first: 16 more in each account and a 25-point completion');
    });

    it('simulates named members only, or as a job with progress', async () => {
      const one = await admin('POST', '/program/simulate', { program: brandX(doubled), from, to, members: [members[1]] });
      assert.equal(one.status, 200, one.body);
      assert.deepEqual(one.json.result.replayed, { events: 2, transactions: 2, members: 1 });
      assert.equal(one.json.result.draft.points_by_account[TIER_POINTS], '32.0000', 'twice 11 + 5');

      const job = await admin('POST', '/program/simulate', { program: brandX(doubled), from, to, background: true });
      assert.equal(job.status, 202, job.body);
      assert.equal(job.json.status, 'running');
      let state = job.json;
      for (let i = 0; i < 200 && state.status === 'running'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        state = (await admin('GET', `/simulations/${job.json.simulation_id}`)).json;
      }
      assert.equal(state.status, 'done', JSON.stringify(state));
      assert.equal(state.percent_done, 100);
      assert.equal(state.result.draft.points_by_account[TIER_POINTS], '96.0000');
      assert.equal((await admin('GET', `/simulations/${randomUUID()}`)).status, 404);
    });

    it('refuses a window that ends before it starts and an unknown member, naming the field', async () => {
      const backwards = await admin('POST', '/program/simulate', { program: brandX(), from: to, to: from });
      assert.equal(backwards.status, 400);
      assert.match(backwards.json.errors.message, /^to/);
      const nobody = await admin('POST', '/program/simulate', { program: brandX(), from, to, members: ['nobody-here'] });
      assert.equal(nobody.status, 404);
    });
  });
});
