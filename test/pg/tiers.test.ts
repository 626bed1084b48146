// Tiers (SPEC §5.5, issue 3) on PostgreSQL: promotion by deposits, qualifying,
// maintenance, manual moves and tier_status, through the Connect API.
import { transact } from '../../src/db/unit-of-work.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { pointsProgram, tierProgram, type PointsProgram, type TierProgram } from '../support/factories.js';
import { parseAmount } from '../../src/modules/points/amount.js';
import { applyTierConfig } from '../../src/modules/tiers/config.js';

const STATEMENT = 'timelines/END_USER_MEMBER_STATEMENT';
const TIER_EVENTS = 'TIER_ADVANCED,TIER_RESET,TIER_TRANSIT,CHANGE_TIER_MANUAL';

interface Program {
  tenant: TestTenant;
  p: PointsProgram;
  tiers: TierProgram;
}

describe('tiers on PostgreSQL', () => {
  let t: TestApp;
  /** A lifetime tier system, and a second one alongside it. */
  let life: Program & { other: TierProgram };
  /** A tier system counting points within 365 days. */
  let period: Program;
  before(async () => {
    t = await postgresApp();
    const tenant = await createTenant(t.db);
    const p = await pointsProgram(t.db, tenant.retailer_id);
    const tiers = await tierProgram(t.db, tenant.retailer_id, p.tier);
    const other = await tierProgram(t.db, tenant.retailer_id, p.tier, undefined, [tiers]);
    life = { tenant, p, tiers, other };
    const tenant2 = await createTenant(t.db);
    const p2 = await pointsProgram(t.db, tenant2.retailer_id);
    period = { tenant: tenant2, p: p2, tiers: await tierProgram(t.db, tenant2.retailer_id, p2.tier, 365) };
  });

  const connect = (prog: Program, path: string, body: Record<string, unknown>) =>
    call(t.app, { method: 'POST', url: `/incentives/api/${path}`, headers: { authorization: prog.tenant.connect }, payload: { retailer_id: prog.tenant.retailer_id, culture: 'en-US', ...body } });
  async function deposit(prog: Program, userId: string, account: string, amount: number) {
    const res = await connect(prog, '2.0/user_points/deposit', { user_id: userId, deposit_details: [{ point_account_id: account, amount, point_source_id: prog.p.source }] });
    assert.equal(res.status, 200, res.body);
    return res;
  }
  const status = (prog: Program, userId: string, options: Record<string, unknown> = { include_progress: true, include_tier_overview: true, include_point_account_balances: true }) =>
    connect(prog, '1.0/user_tiers/tier_status', { user_id: userId, ...options });
  /** The member's level in the program's tier system (undefined: not placed). */
  async function levelOf(prog: Program, userId: string, system = prog.tiers.system): Promise<string | undefined> {
    const res = await status(prog, userId);
    assert.equal(res.status, 200, res.body);
    return res.json.payload.tier_levels.find((l: any) => l.tier_system_id === system)?.tier_level_id;
  }
  const qualify = (prog: Program, body: Record<string, unknown>) => connect(prog, '1.0/movement/qualifying', body);
  const move = (prog: Program, body: Record<string, unknown>) => connect(prog, '1.0/movement/move_user', { tier_system_id: prog.tiers.system, ...body });
  /** Tier entries of the timeline, oldest first: [slug, from level name, to level name]. */
  async function tierTimeline(prog: Program, memberId: string, system = prog.tiers.system): Promise<[string, string | null, string][]> {
    const res = await call(t.app, { method: 'GET', url: `${prog.tenant.base}/users/${memberId}/${STATEMENT}?event_types=${TIER_EVENTS}`, headers: { authorization: prog.tenant.core } });
    assert.equal(res.status, 200, res.body);
    return res.json.result
      .reverse()
      .filter((e: any) => e.event_stream_payload.tier_system_id === system)
      .map((e: any) => [e.event_stream_payload.event_type_slug, e.event_stream_payload.from_tier_level_name, e.event_stream_payload.to_tier_level_name]);
  }
  /** Makes every point of the member older than the period and its maintenance due (or not). */
  async function age(memberId: string, due: boolean) {
    await sql`UPDATE point_ledger SET effective_at = now() - interval '400 days' WHERE member_id = ${memberId}`.execute(t.db);
    await sql`UPDATE member_tiers SET next_maintenance_eval_date = now() + ${due ? sql`interval '-1 day'` : sql`interval '30 days'`} WHERE member_id = ${memberId}`.execute(t.db);
  }

  describe('promotion by deposit', () => {
    it('promotes in the same request when a deposit into the tier account crosses a threshold', async () => {
      const { tiers, p } = life;
      const member = await createMemberViaApi(t.app, life.tenant);
      await deposit(life, member.id, p.tier, 50);
      assert.equal(await levelOf(life, member.id), tiers.levels.base, 'placed at the start level by its first tier points');
      assert.deepEqual(await tierTimeline(life, member.id), []);

      const crossing = await deposit(life, member.id, p.tier, 60);
      assert.equal(await levelOf(life, member.id), tiers.levels.silver);
      assert.deepEqual(await tierTimeline(life, member.id), [['TIER_ADVANCED', 'Base', 'Silver']]);
      // the promotion was written by the deposit's own request
      const ids = await sql<{ request_id: string }>`
        SELECT request_id FROM timeline_events WHERE member_id = ${member.id} AND event_type_id = 152 AND payload->>'tier_system_id' = ${tiers.system}
        UNION ALL SELECT request_id FROM point_ledger WHERE member_id = ${member.id} AND amount = 60`.execute(t.db);
      assert.equal(ids.rows.length, 2);
      assert.equal(ids.rows[0].request_id, ids.rows[1].request_id);
      assert.ok(ids.rows[0].request_id);
      assert.equal(crossing.json.payload.details[0].remaining_balance, 110);

      // two thresholds at once: one step to the highest level reached
      await deposit(life, member.id, p.tier, 900);
      assert.equal(await levelOf(life, member.id), tiers.levels.platinum);
      assert.deepEqual((await tierTimeline(life, member.id)).at(-1), ['TIER_ADVANCED', 'Silver', 'Platinum']);
      // spending tier points does not demote (lifetime points count)
      const spent = await connect(life, '2.0/user_points/spend_multiple', { user_id: member.id, spend_details: [{ amount: 1000, point_account_ids: [p.tier] }] });
      assert.equal(spent.status, 200, spent.body);
      assert.equal(await levelOf(life, member.id), tiers.levels.platinum);
    });

    it('places a new member straight at the level of its first deposit', async () => {
      const member = await createMemberViaApi(t.app, life.tenant);
      await deposit(life, member.id, life.p.tier, 600);
      assert.equal(await levelOf(life, member.id), life.tiers.levels.gold);
      assert.deepEqual(await tierTimeline(life, member.id), [['TIER_ADVANCED', null, 'Gold']]);
    });

    it('does not move the tier on a deposit into an account that does not count toward tiers', async () => {
      const member = await createMemberViaApi(t.app, life.tenant);
      await deposit(life, member.id, life.p.spendable, 5000);
      assert.equal(await levelOf(life, member.id), undefined);
      await deposit(life, member.id, life.p.tier, 150);
      assert.equal(await levelOf(life, member.id), life.tiers.levels.silver);
      await deposit(life, member.id, life.p.bonus, 5000);
      assert.equal(await levelOf(life, member.id), life.tiers.levels.silver);
      assert.deepEqual(await tierTimeline(life, member.id), [['TIER_ADVANCED', null, 'Silver']]);
    });

    it('promotes once under concurrent deposits that cross a threshold together', async () => {
      const member = await createMemberViaApi(t.app, life.tenant);
      const answers = await Promise.all(
        Array.from({ length: 30 }, () => connect(life, '2.0/user_points/deposit', { user_id: member.id, deposit_details: [{ point_account_id: life.p.tier, amount: 20 }] })),
      );
      assert.ok(answers.every((a) => a.status === 200), answers.map((a) => a.body).join('\n'));
      assert.equal(await levelOf(life, member.id), life.tiers.levels.gold);
      assert.deepEqual(
        (await tierTimeline(life, member.id)).map(([slug, , to]) => [slug, to]),
        [
          ['TIER_ADVANCED', 'Silver'],
          ['TIER_ADVANCED', 'Gold'],
        ],
      );
      const placements = await sql<{ n: number }>`SELECT count(*)::int AS n FROM member_tiers WHERE member_id = ${member.id}`.execute(t.db);
      assert.equal(placements.rows[0].n, 2, 'one placement per tier system');
    });

    it('needs every threshold of a level met when it names several accounts', async () => {
      const tenant = await createTenant(t.db);
      const p = await pointsProgram(t.db, tenant.retailer_id);
      const system = randomUUID();
      const [base, vip] = [randomUUID(), randomUUID()];
      await transact(t.db, (tx) =>
        applyTierConfig(tx, tenant.retailer_id, [
          {
            id: system,
            name: 'Two accounts',
            levels: [
              { id: base, name: 'Member', rank: 0 },
              { id: vip, name: 'VIP', rank: 1, thresholds: [{ point_account_id: p.tier, points: parseAmount(100) }, { point_account_id: p.capped, points: parseAmount(50) }] },
            ],
          },
        ]),
      );
      // the factory's capped account does not count toward tiers; here it must, as a threshold names it
      await sql`UPDATE point_accounts SET counts_toward_tiers = true WHERE id = ${p.capped}`.execute(t.db);
      const prog: Program = { tenant, p, tiers: { system, levels: { base, silver: vip, gold: vip, platinum: vip }, config: undefined as never } };
      const member = await createMemberViaApi(t.app, tenant);
      await deposit(prog, member.id, p.tier, 150);
      assert.equal(await levelOf(prog, member.id), base);
      const progress = (await status(prog, member.id)).json.payload.tier_levels[0].tier_progress;
      assert.deepEqual(
        progress.map((r: any) => [r.point_account_id, r.current_balance, r.target_balance, r.points_needed]),
        [
          [p.tier, 150, 100, 0],
          [p.capped, 0, 50, 50],
        ],
      );
      await deposit(prog, member.id, p.capped, 49);
      assert.equal(await levelOf(prog, member.id), base);
      await deposit(prog, member.id, p.capped, 1);
      assert.equal(await levelOf(prog, member.id), vip);
    });

    it('does not promote when the deposit is refused', async () => {
      const member = await createMemberViaApi(t.app, life.tenant);
      const res = await connect(life, '2.0/user_points/deposit', {
        user_id: member.id,
        deposit_details: [{ point_account_id: life.p.tier, amount: 600 }, { point_account_id: randomUUID(), amount: 1 }],
      });
      assert.equal(res.status, 404, res.body);
      assert.equal(await levelOf(life, member.id), undefined);
      assert.deepEqual(await tierTimeline(life, member.id), []);
    });
  });

  describe('qualifying', () => {
    it('places a never-evaluated member (4.1.2 form) at the level its points qualify for', async () => {
      // points that arrived before the tier system existed
      const tenant = await createTenant(t.db);
      const p = await pointsProgram(t.db, tenant.retailer_id);
      const early = await createMemberViaApi(t.app, tenant);
      const none = await createMemberViaApi(t.app, tenant);
      const prog: Program = { tenant, p, tiers: undefined as unknown as TierProgram };
      await deposit(prog, early.id, p.tier, 250);
      prog.tiers = await tierProgram(t.db, tenant.retailer_id, p.tier);
      assert.equal(await levelOf(prog, early.id), undefined);

      const res = await qualify(prog, { user_id: early.id });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.status, 'ok');
      assert.deepEqual(
        res.json.payload.results.map((r: any) => [r.user_id, r.tier_system_id, r.previous_tier_level_id, r.tier_level_id, r.changed, r.status]),
        [[early.id, prog.tiers.system, null, prog.tiers.levels.silver, true, 'ok']],
      );
      assert.equal(await levelOf(prog, early.id), prog.tiers.levels.silver);
      assert.deepEqual(await tierTimeline(prog, early.id), [['TIER_ADVANCED', null, 'Silver']]);

      const base = await qualify(prog, { user_id: none.external_id });
      assert.equal(base.status, 200, base.body);
      assert.equal(base.json.payload.results[0].tier_level_id, prog.tiers.levels.base);
      assert.equal(await levelOf(prog, none.id), prog.tiers.levels.base);

      // again: nothing to change
      const again = await qualify(prog, { user_id: early.id });
      assert.deepEqual(again.json.payload.results.map((r: any) => [r.tier_level_id, r.changed]), [[prog.tiers.levels.silver, false]]);
      assert.equal((await tierTimeline(prog, early.id)).length, 1);

      const unknown = await qualify(prog, { user_id: randomUUID() });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.errors.code, 'user_not_found');
    });

    it('evaluates a member in every tier system when no tier_system_id is given, or in the one given', async () => {
      const member = await createMemberViaApi(t.app, life.tenant);
      const one = await qualify(life, { user_id: member.id, tier_system_id: life.other.system });
      assert.equal(one.status, 200, one.body);
      assert.deepEqual(one.json.payload.results.map((r: any) => [r.tier_system_id, r.tier_level_id]), [[life.other.system, life.other.levels.base]]);
      assert.equal(await levelOf(life, member.id), undefined);
      assert.equal(await levelOf(life, member.id, life.other.system), life.other.levels.base);
      const all = await qualify(life, { user_id: member.id });
      assert.deepEqual(
        all.json.payload.results.map((r: any) => [r.tier_system_id, r.tier_level_id]).sort(),
        [
          [life.other.system, life.other.levels.base],
          [life.tiers.system, life.tiers.levels.base],
        ].sort(),
      );
      // a deposit into the tier account promotes in both
      await deposit(life, member.id, life.p.tier, 120);
      assert.equal(await levelOf(life, member.id), life.tiers.levels.silver);
      assert.equal(await levelOf(life, member.id, life.other.system), life.other.levels.silver);
      const unknownSystem = await qualify(life, { user_id: member.id, tier_system_id: randomUUID() });
      assert.equal(unknownSystem.status, 404, unknownSystem.body);
    });
  });

  describe('maintenance', () => {
    it('demotes a member whose points left the period when its maintenance is due (4.1.4), answering each member', async () => {
      const member = await createMemberViaApi(t.app, period.tenant);
      await deposit(period, member.id, period.p.tier, 600);
      assert.equal(await levelOf(period, member.id), period.tiers.levels.gold);
      const placed = (await status(period, member.id)).json.payload.tier_levels[0];
      const due = new Date(placed.next_maintenance_eval_date).getTime();
      assert.ok(Math.abs(due - (Date.now() + 365 * 86_400_000)) < 60_000, 'maintenance due one period after the promotion');

      await age(member.id, true);
      const unknown = randomUUID();
      const malformed = 'efca3ed4-4bf5-11ea-9509-088340ac533r';
      const res = await qualify(period, { tier_system_id: period.tiers.system, user_ids: [unknown, member.external_id, malformed] });
      assert.equal(res.status, 200, res.body);
      const results = res.json.payload.results;
      assert.deepEqual(
        results.map((r: any) => [r.user_id, r.status]),
        [
          [unknown, 'error'],
          [member.external_id, 'ok'],
          [malformed, 'error'],
        ],
      );
      assert.equal(results[0].errors.code, 'user_not_found');
      assert.equal(results[2].errors.code, 'user_not_found');
      assert.deepEqual([results[1].previous_tier_level_id, results[1].tier_level_id, results[1].changed], [period.tiers.levels.gold, period.tiers.levels.base, true]);

      assert.equal(await levelOf(period, member.id), period.tiers.levels.base);
      assert.deepEqual((await tierTimeline(period, member.id)).at(-1), ['TIER_RESET', 'Gold', 'Base']);
      const after = (await status(period, member.id)).json.payload.tier_levels[0];
      assert.ok(new Date(after.next_maintenance_eval_date).getTime() > Date.now() + 300 * 86_400_000, 'the next period starts');
    });

    it('keeps the level the points within the period still hold', async () => {
      const member = await createMemberViaApi(t.app, period.tenant);
      await deposit(period, member.id, period.p.tier, 600);
      await age(member.id, true);
      await deposit(period, member.id, period.p.tier, 150);
      // a deposit never demotes, even with maintenance due
      assert.equal(await levelOf(period, member.id), period.tiers.levels.gold);
      const res = await qualify(period, { tier_system_id: period.tiers.system, user_ids: [member.id] });
      assert.deepEqual(res.json.payload.results.map((r: any) => r.tier_level_id), [period.tiers.levels.silver]);
      assert.deepEqual((await tierTimeline(period, member.id)).at(-1), ['TIER_RESET', 'Gold', 'Silver']);
      // a member whose points still qualify keeps its level
      const steady = await createMemberViaApi(t.app, period.tenant);
      await deposit(period, steady.id, period.p.tier, 600);
      await sql`UPDATE member_tiers SET next_maintenance_eval_date = now() - interval '1 day' WHERE member_id = ${steady.id}`.execute(t.db);
      const kept = await qualify(period, { tier_system_id: period.tiers.system, user_ids: [steady.id.toUpperCase()] });
      assert.deepEqual(kept.json.payload.results.map((r: any) => [r.status, r.tier_level_id, r.changed]), [['ok', period.tiers.levels.gold, false]]);
    });

    it('does not demote before the member\'s period ends', async () => {
      const member = await createMemberViaApi(t.app, period.tenant);
      await deposit(period, member.id, period.p.tier, 600);
      await age(member.id, false);
      for (const body of [{ tier_system_id: period.tiers.system, user_ids: [member.id] }, { user_id: member.id }]) {
        const res = await qualify(period, body);
        assert.equal(res.status, 200, res.body);
        assert.equal(res.json.payload.results[0].tier_level_id, period.tiers.levels.gold);
      }
      assert.equal(await levelOf(period, member.id), period.tiers.levels.gold);
      assert.deepEqual(await tierTimeline(period, member.id), [['TIER_ADVANCED', null, 'Gold']]);
    });
  });

  describe('move_user', () => {
    it('records each level passed with process_intermediate_levels, then CHANGE_TIER_MANUAL', async () => {
      const member = await createMemberViaApi(t.app, life.tenant);
      await qualify(life, { user_id: member.id, tier_system_id: life.tiers.system });
      assert.equal(await levelOf(life, member.id), life.tiers.levels.base);
      const up = await move(life, { user_id: member.id, tier_level_id: life.tiers.levels.platinum, process_intermediate_levels: true });
      assert.equal(up.status, 200, up.body);
      assert.deepEqual([up.json.payload.previous_tier_level_id, up.json.payload.tier_level_id, up.json.payload.changed], [life.tiers.levels.base, life.tiers.levels.platinum, true]);
      assert.equal(await levelOf(life, member.id), life.tiers.levels.platinum);
      assert.deepEqual(await tierTimeline(life, member.id), [
        ['TIER_TRANSIT', 'Base', 'Silver'],
        ['TIER_TRANSIT', 'Silver', 'Gold'],
        ['CHANGE_TIER_MANUAL', 'Base', 'Platinum'],
      ]);

      const down = await move(life, { user_id: member.id, tier_level_id: life.tiers.levels.silver.toUpperCase(), process_intermediate_levels: true });
      assert.equal(down.status, 200, down.body);
      assert.equal(await levelOf(life, member.id), life.tiers.levels.silver);
      assert.deepEqual((await tierTimeline(life, member.id)).slice(3), [
        ['TIER_TRANSIT', 'Platinum', 'Gold'],
        ['CHANGE_TIER_MANUAL', 'Platinum', 'Silver'],
      ]);

      const direct = await move(life, { user_id: member.id, tier_level_id: life.tiers.levels.gold, process_intermediate_levels: false });
      assert.equal(direct.status, 200, direct.body);
      assert.deepEqual((await tierTimeline(life, member.id)).slice(5), [['CHANGE_TIER_MANUAL', 'Silver', 'Gold']]);
      // a manual level stays through a qualifying call
      const q = await qualify(life, { user_id: member.id, tier_system_id: life.tiers.system });
      assert.equal(q.json.payload.results[0].tier_level_id, life.tiers.levels.gold);
      assert.equal(await levelOf(life, member.id), life.tiers.levels.gold);
    });

    it('rises further with evaluate_qualifying_rules when the points qualify (4.1.3 form)', async () => {
      const tenant = await createTenant(t.db);
      const p = await pointsProgram(t.db, tenant.retailer_id);
      const prog: Program = { tenant, p, tiers: undefined as unknown as TierProgram };
      const rich = await createMemberViaApi(t.app, tenant);
      const plain = await createMemberViaApi(t.app, tenant);
      for (const m of [rich, plain]) await deposit(prog, m.id, p.tier, 1200);
      prog.tiers = await tierProgram(t.db, tenant.retailer_id, p.tier);

      const evaluated = await move(prog, { user_id: rich.id, tier_level_id: prog.tiers.levels.silver, process_intermediate_levels: true, evaluate_qualifying_rules: true });
      assert.equal(evaluated.status, 200, evaluated.body);
      assert.equal(evaluated.json.payload.tier_level_id, prog.tiers.levels.platinum);
      assert.equal(await levelOf(prog, rich.id), prog.tiers.levels.platinum);
      const entries = await tierTimeline(prog, rich.id);
      assert.deepEqual(entries.at(-2), ['CHANGE_TIER_MANUAL', null, 'Silver']);
      assert.deepEqual(entries.at(-1), ['TIER_ADVANCED', 'Silver', 'Platinum']);

      const kept = await move(prog, { user_id: plain.id, tier_level_id: prog.tiers.levels.silver, evaluate_qualifying_rules: false });
      assert.equal(kept.json.payload.tier_level_id, prog.tiers.levels.silver);
      assert.equal(await levelOf(prog, plain.id), prog.tiers.levels.silver);
    });

    it('answers a level of another tier system, an unknown level or system with 404 and moves nothing', async () => {
      const member = await createMemberViaApi(t.app, life.tenant);
      await deposit(life, member.id, life.p.tier, 150);
      for (const body of [
        { tier_level_id: life.other.levels.gold },
        { tier_level_id: randomUUID() },
        { tier_system_id: randomUUID(), tier_level_id: life.tiers.levels.gold },
      ]) {
        const res = await move(life, { user_id: member.id, ...body });
        assert.equal(res.status, 404, res.body);
        assert.equal(res.json.status, 'error');
      }
      const unknownMember = await move(life, { user_id: randomUUID(), tier_level_id: life.tiers.levels.gold });
      assert.equal(unknownMember.status, 404);
      assert.equal(unknownMember.json.errors.code, 'user_not_found');
      assert.equal(await levelOf(life, member.id), life.tiers.levels.silver);
      assert.equal(await levelOf(life, member.id, life.other.system), life.other.levels.silver);
      assert.deepEqual(await tierTimeline(life, member.id), [['TIER_ADVANCED', null, 'Silver']]);
    });
  });

  describe('tier_status', () => {
    it('answers tier_levels with overview, next level, progress and point_account_balances (4.1.1 form)', async () => {
      const { tiers, p } = life;
      const member = await createMemberViaApi(t.app, life.tenant);
      const fresh = await status(life, member.id);
      assert.equal(fresh.status, 200, fresh.body);
      assert.deepEqual(fresh.json.payload.tier_levels, []);
      assert.equal(fresh.json.payload.point_account_balances.summary.total_points, 0);

      await deposit(life, member.id, p.tier, 180);
      const res = await status(life, member.id);
      const payload = res.json.payload;
      assert.deepEqual(payload.tier_levels.map((l: any) => l.tier_system_id).sort(), [tiers.system, life.other.system].sort());
      const level = payload.tier_levels.find((l: any) => l.tier_system_id === tiers.system);
      assert.equal(level.tier_system_id, tiers.system);
      assert.equal(level.tier_level_id, tiers.levels.silver);
      assert.equal(level.user_id, member.id);
      assert.match(level.join_date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.deepEqual(level.tier_overview, { id: tiers.levels.silver, tier_system_id: tiers.system, name: 'Silver', rank: 1, status: 'active' });
      assert.deepEqual(level.next_tier_overview, { id: tiers.levels.gold, tier_system_id: tiers.system, name: 'Gold', rank: 2, status: 'active' });
      assert.deepEqual(level.tier_progress, [{ point_account_id: p.tier, account_name: 'Tier Points', current_balance: 180, target_balance: 500, points_needed: 320 }]);
      assert.deepEqual(
        level.tier_system_overview.map((o: any) => o.name),
        ['Base', 'Silver', 'Gold', 'Platinum'],
      );
      const balances = payload.point_account_balances;
      assert.equal(balances.user_id, member.id);
      assert.equal(balances.retailer_id, life.tenant.retailer_id);
      assert.deepEqual(balances.summary, { total_points: 180, life_time_points: 180 });
      assert.deepEqual(
        balances.details.find((d: any) => d.point_account_id === p.tier),
        { account_name: 'Tier Points', user_point_account_id: balances.details.find((d: any) => d.point_account_id === p.tier).user_point_account_id, point_account_id: p.tier, grouping_label: 'Tier', available_balance: 180, life_time_value: 180 },
      );

      const bare = await status(life, member.id, { include_progress: false, include_tier_overview: false, include_point_account_balances: false });
      assert.equal(bare.status, 200, bare.body);
      assert.equal(bare.json.payload.point_account_balances, undefined);
      const bareLevel = bare.json.payload.tier_levels.find((l: any) => l.tier_system_id === tiers.system);
      assert.equal(bareLevel.tier_progress, undefined);
      assert.equal(bareLevel.tier_system_overview, undefined);
      assert.equal(bareLevel.tier_level_id, tiers.levels.silver);

      // at the top: no next level, nothing needed
      await deposit(life, member.id, p.tier, 2000);
      const top = (await status(life, member.id)).json.payload.tier_levels.find((l: any) => l.tier_system_id === tiers.system);
      assert.equal(top.tier_level_id, tiers.levels.platinum);
      assert.equal(top.next_tier_overview, null);
      assert.deepEqual(top.tier_progress, []);
      // by external id, the same
      assert.equal(await levelOf(life, member.external_id), tiers.levels.platinum);
    });
  });
});
