// The domain events outbox (migration 0011, src/modules/outbox): every change
// made through the Core, Connect and POS APIs records its event in the change's
// own transaction, once, with a payload true to EVENT_CATALOG; a refused
// request records none, a retried deadlock one set; per member the positions
// follow the commit order; the admin feed pages through a retailer's events
// (and only its own) without skipping one committed late; outbox.prune drops
// events older than the retention.
import { transact } from '../../src/db/unit-of-work.js';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import AjvModule from 'ajv';
import formatsModule from 'ajv-formats';
import type { InjectOptions } from 'fastify';
import { jobHandlers } from '../../src/jobs/worker.js';
import { runNextJob } from '../../src/modules/jobs/queue.js';
import { DomainEventSchema, EVENT_CATALOG, EVENT_TYPES, type EventType } from '../../src/modules/outbox/catalog.js';
import { privacyJobHandlers } from '../../src/flows/privacy.js';
import { applyProgram } from '../../src/flows/program-apply.js';
import { parseProgramText } from '../../src/modules/program/service.js';
import { pointsProgram, type PointsProgram } from '../support/factories.js';
import { call, createMemberViaApi, createTenant, memberBody, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

const Ajv = AjvModule.default ?? AjvModule;
const addFormats = formatsModule.default ?? formatsModule;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const payloadSchemas = new Map(EVENT_TYPES.map((type) => [type, ajv.compile(EVENT_CATALOG[type].payload)]));
const envelopeSchema = ajv.compile(DomainEventSchema);

// the Brand X demo program (examples/brand-x/program.yaml)
const BX = {
  store: '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01',
  spendable: 'f4d91345-bbe8-4ca7-864d-771761be873e',
  tierPoints: '3d1c4e93-8b93-432f-a9c9-ab6854b57b7f',
  source: '425836cd-58e6-41b9-9816-22b987ea392f',
  tierSystem: '5b0f4d1e-7a2c-4c3e-9f1a-8e2d6c4b3a10',
  levels: { member: '0c6f1b2a-3d4e-4f50-8a61-7b8c9d0e1f20', silver: '335b5466-08b2-42d3-928b-3358469b6301', gold: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c60' },
  fivePercent: '37b46497-44b4-4459-857a-5d03035af56a',
  fiveDollarsInStore: 'a6f0b7a2-3c1d-4e8f-9b2a-5d4c3b2a1f00',
  rules: { premium: 'f33bbd5e-cb22-4713-92c3-667b5da8a25c', survey: '7f887d7c-b3cd-4e41-a8fa-f224a59bf765', app: '80b22f2a-ffaf-402d-bd39-612fdb1ebea6', purchase: '0e0d5ac3-65c2-4a7f-83e7-4a121908e91c' },
};
/** A campaign done after one visit (Brand X's campaigns repeat without end, so none completes). */
const ONCE = {
  id: 9001,
  name: 'Outbox one-time visit',
  start_date: new Date(Date.now() - 86_400_000).toISOString(),
  end_date: new Date(Date.now() + 86_400_000).toISOString(),
  behaviors: [{ id: 90010, name: 'visit_once', external_behavior_id: randomUUID(), type: 'count', count_event: 'outbox_visit', earn_count: 1, max_times_repeatable: 1, points: 25 }],
};

interface EventRow {
  position: number;
  id: string;
  retailer_id: string;
  member_id: string | null;
  type: string;
  version: number;
  occurred_at: Date;
  payload: Record<string, any>;
  /** the feed cursor after this event (`<tx_id>-<position>`) */
  cursor: string;
}

describe('domain events outbox on PostgreSQL', () => {
  let t: TestApp;
  let admin: string;
  /** Brand X: POS, offers, the reward store, rules, tiers, plus ONCE. */
  let brand: TestTenant;
  /** Only point accounts: no tiers, no rules, so a change records only its own events. */
  let plain: TestTenant;
  let p: PointsProgram;
  before(async () => {
    t = await postgresApp({ privacyGraceSeconds: 0 });
    admin = `Bearer ${t.config.adminToken}`;
    brand = await createTenant(t.db);
    const program = parseProgramText(readFileSync(new URL('../../examples/brand-x/program.yaml', import.meta.url), 'utf8'));
    program.campaigns = [...(program.campaigns ?? []), ONCE as never];
    await transact(t.db, (tx) => applyProgram(tx, brand.retailer_id, program));
    plain = await createTenant(t.db);
    p = await pointsProgram(t.db, plain.retailer_id);
  });

  // --- the surfaces, as a client calls them
  const core = (tn: TestTenant, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    call(t.app, { method, url: `${tn.base}${url}`, headers: { authorization: tn.core }, ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }) });
  const connect = (tn: TestTenant, url: string, body: Record<string, unknown>) =>
    call(t.app, { method: 'POST', url, headers: { authorization: tn.connect }, payload: { retailer_id: tn.retailer_id, culture: 'en-US', ...body } });
  const pos = (tn: TestTenant, path: string, requestPayload: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    call(t.app, { method: 'POST', url: `/api/2.0/${path}`, headers: { authorization: tn.pos }, payload: { store_id: BX.store, client_id: tn.retailer_id, request_id: randomUUID(), request_payload: requestPayload, ...extra } });
  /**
   * The feed answers an event once every transaction that began before its own
   * has ended, in the whole cluster (test files run side by side): the readers
   * below first wait until no running transaction holds back an event recorded here.
   */
  async function settled() {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { rows } = await sql<{ held: boolean }>`SELECT EXISTS (SELECT 1 FROM domain_events WHERE tx_id >= pg_snapshot_xmin(pg_current_snapshot())) AS held`.execute(t.db);
      if (!rows[0].held) return;
      assert.ok(Date.now() < deadline, 'a transaction has held the feed back for 10 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  const feed = async (retailerId: string, query = '', authorization: string | null = admin, options: { settle?: boolean } = {}) => {
    if (options.settle !== false) await settled();
    return call(t.app, { method: 'GET', url: `/admin/tenants/${retailerId}/events${query}`, headers: authorization ? { authorization } : {} });
  };
  const ok = <T extends { status: number; body: string; json: any }>(res: T) => {
    assert.equal(res.status, 200, res.body);
    return res.json;
  };
  const deposit = (tn: TestTenant, userId: string, details: Record<string, unknown>[]) => connect(tn, '/incentives/api/2.0/user_points/deposit', { user_id: userId, deposit_details: details });
  const spend = (tn: TestTenant, userId: string, details: Record<string, unknown>[]) => connect(tn, '/incentives/api/2.0/user_points/spend_multiple', { user_id: userId, spend_details: details });

  // --- the outbox, read directly
  const lastPosition = async () => Number((await sql<{ n: number | null }>`SELECT max(position) AS n FROM domain_events`.execute(t.db)).rows[0].n ?? 0);
  const eventCount = async () => Number((await sql<{ n: number }>`SELECT count(*) AS n FROM domain_events`.execute(t.db)).rows[0].n);
  /** The member's events after `mark` (a position), in position order. */
  async function eventsOf(memberId: string, mark = 0): Promise<EventRow[]> {
    return (await sql<EventRow>`SELECT position, id, retailer_id, member_id, type, version, occurred_at, payload FROM domain_events WHERE member_id = ${memberId} AND position > ${mark} ORDER BY position`.execute(t.db)).rows;
  }
  const typesOf = (events: EventRow[]) => events.map((e) => e.type).sort();
  /** The payload of the one event of `type` among `events`, checked against the catalog (schema and version) and the retailer. */
  function only(events: EventRow[], type: EventType, retailer: TestTenant): Record<string, any> {
    const matching = events.filter((e) => e.type === type);
    assert.equal(matching.length, 1, `one ${type} among ${typesOf(events).join(', ')}`);
    const [event] = matching;
    checked(event);
    assert.equal(event.retailer_id, retailer.retailer_id);
    return event.payload;
  }
  /** An event true to the catalog: a known type, its version, a payload its schema accepts, a recent time. */
  function checked(event: { type: string; version: number; payload: unknown; occurred_at: Date | string }) {
    const validate = payloadSchemas.get(event.type as EventType);
    assert.ok(validate, `${event.type} is in the catalog`);
    assert.ok(validate(event.payload), `${event.type} payload ${JSON.stringify(event.payload)}: ${ajv.errorsText(validate.errors)}`);
    assert.equal(event.version, EVENT_CATALOG[event.type as EventType].version);
    assert.ok(Math.abs(new Date(event.occurred_at).getTime() - Date.now()) < 5 * 60_000, `${event.type} occurred_at ${event.occurred_at} is now`);
  }
  const pointsPayload = (account: string, name: string, type: string, amount: string, after: string, extra: Record<string, unknown> = {}) => ({
    point_account_id: account,
    account_name: name,
    modification_type: type,
    amount,
    balance_after: after,
    point_source_id: null,
    reference_type: null,
    reference_id: null,
    transaction_id: null,
    ...extra,
  });

  describe('each change records its event once', () => {
    // the member lifecycle; a replayed create and a no-op update record nothing
    it('member.created, member.updated (only for a real change) and member.deleted', async () => {
      const mark = await lastPosition();
      const body = memberBody({ first_name: 'Ada', last_name: 'Lovelace' });
      const user = ok(await core(plain, 'POST', '/users', body)).user;
      let events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['member.created']);
      assert.deepEqual(only(events, 'member.created', plain), {
        user_id: user.id,
        external_ids: [{ external_id: body.user.external_id, external_id_type: 'merchant_identifier' }],
        email: body.user.email,
        first_name: 'Ada',
        last_name: 'Lovelace',
        locale: null,
        account_status: 'good',
        opted_in: true,
      });

      // the same request again under its Message-ID is a replay: no second member, no second event
      const replayed = { method: 'POST' as const, url: `${plain.base}/users`, headers: { authorization: plain.core, 'message-id': randomUUID() }, payload: memberBody() };
      const first = ok(await call(t.app, replayed)).user;
      assert.equal((await call(t.app, replayed)).headers['cached-message'], 'true');
      assert.deepEqual(typesOf(await eventsOf(first.id, mark)), ['member.created']);

      let seen = events.at(-1)!.position;
      ok(await core(plain, 'PUT', `/users/${user.id}`, { user: { first_name: 'Augusta', city: 'London' } }));
      events = await eventsOf(user.id, seen);
      assert.deepEqual(typesOf(events), ['member.updated']);
      const updated = only(events, 'member.updated', plain);
      assert.equal(updated.first_name, 'Augusta');
      assert.equal(updated.email, body.user.email);
      assert.deepEqual([...updated.changed].sort(), ['city', 'first_name']);
      // the same values again change nothing: no event
      seen = events.at(-1)!.position;
      ok(await core(plain, 'PUT', `/users/${user.id}`, { user: { first_name: 'Augusta', city: 'London' } }));
      assert.deepEqual(await eventsOf(user.id, seen), []);

      ok(await core(plain, 'DELETE', `/users/${user.id}`));
      events = await eventsOf(user.id, seen);
      assert.deepEqual(typesOf(events), ['member.deleted']);
      assert.deepEqual(only(events, 'member.deleted', plain), { user_id: user.id });
    });

    // one event per tag written, counters and expiring tags alike
    it('member.tag_added: one per tag written, with its count and expiry', async () => {
      const user = await createMemberViaApi(t.app, plain);
      const mark = await lastPosition();
      ok(await core(plain, 'POST', `/users/${user.id}/tags`, { tags: ['visit', 'newsletter'] }));
      ok(await core(plain, 'POST', `/users/${user.id}/tags`, { tags: ['visit'] }));
      const before = Date.now();
      ok(await core(plain, 'POST', `/users/${user.id}/tags`, { tags: ['flash'], ttl: 600 }));
      const events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['member.tag_added', 'member.tag_added', 'member.tag_added', 'member.tag_added']);
      for (const e of events) checked(e);
      assert.deepEqual(
        events.slice(0, 3).map((e) => e.payload),
        [
          { tag: 'visit', count: 1, expires_at: null },
          { tag: 'newsletter', count: 1, expires_at: null },
          { tag: 'visit', count: 2, expires_at: null },
        ],
      );
      const flash = events[3].payload;
      assert.equal(flash.tag, 'flash');
      assert.equal(flash.count, 1);
      const expires = new Date(flash.expires_at).getTime();
      assert.ok(expires >= before + 599_000 && expires <= Date.now() + 601_000, `expires_at ${flash.expires_at} is in 600 s`);
    });

    // status changes, not the requests: a repeated restrict records nothing
    it('member.restricted and member.reinstated, once per change of status', async () => {
      const user = await createMemberViaApi(t.app, plain);
      const mark = await lastPosition();
      ok(await core(plain, 'POST', `/users/${user.id}/privacy/restrict`));
      let events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['member.restricted']);
      assert.deepEqual(only(events, 'member.restricted', plain), { user_id: user.id });
      // restricting a restricted member changes nothing
      ok(await core(plain, 'POST', `/users/${user.id}/privacy/restrict`));
      assert.equal((await eventsOf(user.id, mark)).length, 1);
      ok(await core(plain, 'POST', `/users/${user.id}/privacy/reinstate`));
      events = await eventsOf(user.id, mark);
      assert.deepEqual(events.map((e) => e.type), ['member.restricted', 'member.reinstated']);
      assert.deepEqual(only(events, 'member.reinstated', plain), { user_id: user.id });
    });

    // the worker's forget: its events, and no personal data left in any payload
    it('member.forgotten and privacy.request_completed when the worker carries out a forget; earlier payloads lose the personal data', async () => {
      const email = `forget.${randomBytes(4).toString('hex')}@outbox.example`;
      const user = await createMemberViaApi(t.app, plain, { email, first_name: 'Zebulon' });
      ok(await core(plain, 'PUT', `/users/${user.id}`, { user: { city: 'Forgetton' } }));
      const named = await sql<{ n: number }>`SELECT count(*) AS n FROM domain_events WHERE member_id = ${user.id} AND payload::text ILIKE ${`%${email}%`}`.execute(t.db);
      assert.equal(Number(named.rows[0].n), 2, 'member.created and member.updated name the email');
      const mark = await lastPosition();
      const filed = ok(await core(plain, 'POST', `/users/${user.id}/privacy/forget`));
      // filing records nothing: the worker acts once the grace period (0 here) is over
      assert.deepEqual(await eventsOf(user.id, mark), []);
      let runs = 0;
      for (let outcome = await runNextJob(t.db, privacyJobHandlers); outcome; outcome = await runNextJob(t.db, privacyJobHandlers)) {
        assert.equal(outcome.ok, true, outcome.error);
        runs++;
      }
      assert.equal(runs, 1);
      const events = await eventsOf(user.id, mark);
      assert.deepEqual(events.map((e) => e.type), ['member.forgotten', 'privacy.request_completed']);
      const requestId = filed.privacy_request.id;
      assert.deepEqual(only(events, 'member.forgotten', plain), { user_id: user.id, privacy_request_id: requestId });
      assert.deepEqual(only(events, 'privacy.request_completed', plain), { privacy_request_id: requestId, request_type: 'forget' });
      // the outbox is scrubbed like every member-owned table
      const left = await sql<{ n: number }>`SELECT count(*) AS n FROM domain_events WHERE payload::text ILIKE ${`%${email}%`} OR payload::text ILIKE '%Zebulon%'`.execute(t.db);
      assert.equal(Number(left.rows[0].n), 0);
    });

    // the worker's export, and the outbox as part of the member's data
    it('privacy.request_completed for an export, whose document holds the member’s events', async () => {
      const user = await createMemberViaApi(t.app, plain);
      ok(await core(plain, 'POST', `/users/${user.id}/tags`, { tags: ['exported'] }));
      const mark = await lastPosition();
      const filed = ok(await core(plain, 'POST', `/users/${user.id}/privacy/export`));
      const outcome = await runNextJob(t.db, privacyJobHandlers);
      assert.equal(outcome?.ok, true, outcome?.error);
      const events = await eventsOf(user.id, mark);
      assert.deepEqual(events.map((e) => e.type), ['privacy.request_completed']);
      assert.deepEqual(only(events, 'privacy.request_completed', plain), { privacy_request_id: filed.privacy_request.id, request_type: 'export' });
      const document = ok(await core(plain, 'GET', `/users/${user.id}/privacy/export/${filed.privacy_request.id}`)).gdpr_user_data.data;
      const all = await eventsOf(user.id);
      // written in the transaction that built the document: the completion itself is not in it
      assert.deepEqual(document.domain_events.map((e: any) => e.type).sort(), typesOf(all.filter((e) => e.type !== 'privacy.request_completed')));
    });

    // the merge, on the survivor only; a refused second merge records nothing
    it('member.merged on the survivor, once', async () => {
      const survivor = await createMemberViaApi(t.app, plain);
      const victim = await createMemberViaApi(t.app, plain);
      const mark = await lastPosition();
      const merge = ok(await core(plain, 'POST', `/external/users/${survivor.external_id}/merge_accounts`, { merge_account: { external_id: victim.external_id } })).merge_account;
      const events = await eventsOf(survivor.id, mark);
      assert.deepEqual(typesOf(events), ['member.merged']);
      assert.deepEqual(only(events, 'member.merged', plain), { user_id: survivor.id, merged_user_id: victim.id, merge_id: merge.id });
      assert.deepEqual(await eventsOf(victim.id, mark), []);
      // merging again is refused: nothing more
      assert.equal((await core(plain, 'POST', `/external/users/${survivor.external_id}/merge_accounts`, { merge_account: { user_id: victim.id } })).status, 409);
      assert.equal((await eventsOf(survivor.id, mark)).length, 1);
    });

    // docs/events.md: points.deposited covers merge_in entries, points.spent merge_out ones; but
    // moveMemberPoints (src/modules/points/merge.ts) writes those ledger entries without their events
    it('the points a merge moves record points.deposited (merge_in) and points.spent (merge_out)', async () => {
      const survivor = await createMemberViaApi(t.app, plain);
      const victim = await createMemberViaApi(t.app, plain);
      ok(await deposit(plain, survivor.id, [{ point_account_id: p.spendable, amount: 5 }]));
      ok(await deposit(plain, victim.id, [{ point_account_id: p.spendable, amount: 20 }]));
      const mark = await lastPosition();
      const merge = ok(await core(plain, 'POST', `/external/users/${survivor.external_id}/merge_accounts`, { merge_account: { external_id: victim.external_id } })).merge_account;
      const moved = { reference_id: merge.id, reference_type: 'merge' };
      const events = await eventsOf(survivor.id, mark);
      assert.deepEqual(typesOf(events), ['member.merged', 'points.deposited']);
      assert.deepEqual(only(events, 'points.deposited', plain), pointsPayload(p.spendable, 'Spendable', 'merge_in', '20', '25', moved));
      const victimEvents = await eventsOf(victim.id, mark);
      assert.deepEqual(typesOf(victimEvents), ['points.spent']);
      assert.deepEqual(only(victimEvents, 'points.spent', plain), pointsPayload(p.spendable, 'Spendable', 'merge_out', '20', '0', moved));
    });

    // one event per ledger entry, amounts exact; an idempotent replay records nothing
    it('points.deposited, points.spent and points.returned: one per ledger entry, amounts as exact decimal strings', async () => {
      const user = await createMemberViaApi(t.app, plain);
      const mark = await lastPosition();
      ok(await deposit(plain, user.id, [{ point_account_id: p.spendable, amount: 100, point_source_id: p.source, reference_id: 'ORDER-1', reference_type: 'order' }]));
      let events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['points.deposited']);
      assert.deepEqual(only(events, 'points.deposited', plain), pointsPayload(p.spendable, 'Spendable', 'deposit', '100', '100', { point_source_id: p.source, reference_id: 'ORDER-1', reference_type: 'order' }));

      let seen = events.at(-1)!.position;
      ok(await spend(plain, user.id, [{ amount: 30, point_account_ids: [p.spendable], reference_id: 'REDEEM-1' }]));
      events = await eventsOf(user.id, seen);
      assert.deepEqual(typesOf(events), ['points.spent']);
      assert.deepEqual(only(events, 'points.spent', plain), pointsPayload(p.spendable, 'Spendable', 'spend', '30', '70', { reference_id: 'REDEEM-1' }));

      seen = events.at(-1)!.position;
      ok(await spend(plain, user.id, [{ amount: '10', point_account_ids: [p.spendable], is_return: true }]));
      events = await eventsOf(user.id, seen);
      assert.deepEqual(typesOf(events), ['points.returned']);
      assert.deepEqual(only(events, 'points.returned', plain), pointsPayload(p.spendable, 'Spendable', 'return', '10', '80'));

      // an idempotent replay changes nothing and records nothing
      seen = events.at(-1)!.position;
      const key = randomUUID();
      ok(await deposit(plain, user.id, [{ point_account_id: p.spendable, amount: 1, idempotency_id: key }]));
      ok(await deposit(plain, user.id, [{ point_account_id: p.spendable, amount: 1, idempotency_id: key }]));
      events = await eventsOf(user.id, seen);
      assert.deepEqual(events.map((e) => [e.type, e.payload.balance_after]), [['points.deposited', '81']]);
      ok(await spend(plain, user.id, [{ amount: 1, point_account_ids: [p.spendable] }]));

      // exact decimals, and one event per detail of a request
      seen = await lastPosition();
      ok(await deposit(plain, user.id, [{ point_account_id: p.spendable, amount: '0.1' }, { point_account_id: p.spendable, amount: '0.2' }]));
      events = await eventsOf(user.id, seen);
      assert.deepEqual(events.map((e) => [e.type, e.payload.amount, e.payload.balance_after]), [
        ['points.deposited', '0.1', '80.1'],
        ['points.deposited', '0.2', '80.3'],
      ]);
      for (const e of events) checked(e);
      // as many events as ledger entries
      const ledger = await t.db.selectFrom('point_ledger').select('id').where('member_id', '=', user.id).execute();
      assert.equal((await eventsOf(user.id, mark)).length, ledger.length);
    });

    // first placement, promotion by points, manual moves; the same level is no change
    it('tier.changed: placed by points, moved by hand (up and down), never for the same level', async () => {
      const user = await createMemberViaApi(t.app, brand);
      const mark = await lastPosition();
      ok(await deposit(brand, user.id, [{ point_account_id: BX.tierPoints, amount: 600, point_source_id: BX.source }]));
      let events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['points.deposited', 'tier.changed']);
      assert.deepEqual(only(events, 'tier.changed', brand), { tier_system_id: BX.tierSystem, from_tier_level_id: null, to_tier_level_id: BX.levels.silver, direction: 'up', reason: 'promote' });

      const move = (level: string, intermediate: boolean) =>
        connect(brand, '/incentives/api/1.0/movement/move_user', { user_id: user.id, tier_system_id: BX.tierSystem, tier_level_id: level, process_intermediate_levels: intermediate });
      let seen = events.at(-1)!.position;
      ok(await move(BX.levels.gold, false));
      events = await eventsOf(user.id, seen);
      assert.deepEqual(typesOf(events), ['tier.changed']);
      assert.deepEqual(only(events, 'tier.changed', brand), { tier_system_id: BX.tierSystem, from_tier_level_id: BX.levels.silver, to_tier_level_id: BX.levels.gold, direction: 'up', reason: 'manual' });
      // down through an intermediate level: still one change
      seen = events.at(-1)!.position;
      ok(await move(BX.levels.member, true));
      events = await eventsOf(user.id, seen);
      assert.deepEqual(typesOf(events), ['tier.changed']);
      assert.deepEqual(only(events, 'tier.changed', brand), { tier_system_id: BX.tierSystem, from_tier_level_id: BX.levels.gold, to_tier_level_id: BX.levels.member, direction: 'down', reason: 'manual' });
      seen = events.at(-1)!.position;
      ok(await move(BX.levels.member, false));
      assert.deepEqual(await eventsOf(user.id, seen), []);
    });

    // the user offer lifecycle through Connect and the till; a refused redeem records nothing
    it('offer.issued, offer.revoked, offer.redeemed and offer.reinstated', async () => {
      const user = await createMemberViaApi(t.app, brand);
      const offers = (path: string, body: Record<string, unknown>) => connect(brand, `/offers/api/2.0/offers/${path}`, body);
      const issue = async () => ok(await offers('acquisition/issue', { user_id: user.id, offer_id: BX.fivePercent, quantity: 1, issue_exact_version: false, rollback_option: 0 })).payload.status_list[0].user_offer_id as string;
      let mark = await lastPosition();
      const revoked = await issue();
      let events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['offer.issued']);
      const issued = only(events, 'offer.issued', brand);
      assert.deepEqual(issued, { user_offer_id: revoked, offer_id: issued.offer_id, source: 'issue' });
      const row = await t.db.selectFrom('user_offers').select(['offer_id', 'member_id']).where('id', '=', revoked).executeTakeFirstOrThrow();
      assert.deepEqual(row, { offer_id: issued.offer_id, member_id: user.id });

      mark = events.at(-1)!.position;
      ok(await offers('acquisition/revoke', { user_offer_id: revoked, reason: 'issued by mistake' }));
      events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['offer.revoked']);
      assert.deepEqual(only(events, 'offer.revoked', brand), { user_offer_id: revoked, offer_id: issued.offer_id, reason: 'issued by mistake' });

      const redeemed = await issue();
      mark = await lastPosition();
      const basket = { transaction_id: `BASKET-${randomUUID()}`, subtotal: 9, items: [{ line_id: '1', item_id: 'coffee', quantity: 1, unit_price: 9, subtotal: 9 }] };
      const redeem = await pos(brand, 'redeem', { offer_lookup_code: redeemed, offer_lookup_type: 'userofferid', transaction: basket });
      assert.equal(ok(redeem).payload.status, 'REDEEMED');
      events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['offer.redeemed']);
      assert.deepEqual(only(events, 'offer.redeemed', brand), { user_offer_id: redeemed, offer_id: issued.offer_id, store_id: BX.store, transaction_key: basket.transaction_id });
      // redeeming again is refused: no second event
      assert.equal((await pos(brand, 'redeem', { offer_lookup_code: redeemed, offer_lookup_type: 'userofferid', transaction: basket })).status, 409);
      assert.equal((await eventsOf(user.id, mark)).length, 1);

      mark = events.at(-1)!.position;
      ok(await pos(brand, 'reinstate', { user_offer_id: redeemed, employee_id: '1000' }));
      events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['offer.reinstated']);
      assert.deepEqual(only(events, 'offer.reinstated', brand), { user_offer_id: redeemed, offer_id: issued.offer_id });
    });

    // a purchase: the spend, the offer and the purchase, in one transaction
    it('reward.purchased with the spend and the offer it issues', async () => {
      const user = await createMemberViaApi(t.app, brand);
      ok(await deposit(brand, user.id, [{ point_account_id: BX.spendable, amount: 150 }]));
      const mark = await lastPosition();
      const bought = ok(
        await connect(brand, '/offers/api/2.0/offers/rewardstores/purchase_offer', { user_id: user.id, reward_store_id: BX.store, reward_store_offer_id: BX.fiveDollarsInStore, quantity: 1 }),
      ).payload;
      const events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['offer.issued', 'points.spent', 'reward.purchased']);
      assert.deepEqual(
        only(events, 'points.spent', brand),
        pointsPayload(BX.spendable, 'Spendable Account', 'spend', '100', '50', { reference_type: 'reward_store_purchase', reference_id: BX.fiveDollarsInStore }),
      );
      const issued = only(events, 'offer.issued', brand);
      assert.deepEqual(issued, { user_offer_id: bought.user_offer_id, offer_id: issued.offer_id, source: 'purchase' });
      assert.deepEqual(only(events, 'reward.purchased', brand), {
        user_offer_id: bought.user_offer_id,
        offer_id: issued.offer_id,
        reward_store_id: BX.store,
        store_offer_id: BX.fiveDollarsInStore,
        price: '100',
        point_account_id: BX.spendable,
      });
    });

    // a rule's achievement with its outcomes' own events; a rule held back by its limit records nothing
    it('rule.achieved with the outcomes it applied, and the outcomes’ own events; none when the rule does not fire', async () => {
      const user = await createMemberViaApi(t.app, brand);
      const fire = async (name: string) => ok(await call(t.app, { method: 'POST', url: `/priv/v2/apps/${brand.appkey}/events`, headers: { authorization: brand.core }, payload: { events: { [name]: { qty: 1 } }, user_id: user.id } }));
      let mark = await lastPosition();
      await fire('PREMIUM_SUBSCRIPTION_STARTED');
      let events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['points.deposited', 'rule.achieved']);
      // the stored event the rule fired on
      const [stored] = await t.db.selectFrom('member_events').select('id').where('member_id', '=', user.id).execute();
      assert.deepEqual(only(events, 'rule.achieved', brand), {
        rule_id: BX.rules.premium,
        rule_name: 'Premium subscription started',
        trigger: 'event',
        event_id: stored.id,
        outcomes: [{ type: 'points', applied: true, points_awarded: '100' }],
      });
      assert.deepEqual([only(events, 'points.deposited', brand).amount, only(events, 'points.deposited', brand).balance_after], ['100', '100']);
      // within its 30 days the rule does not fire again: nothing recorded
      mark = events.at(-1)!.position;
      await fire('PREMIUM_SUBSCRIPTION_STARTED');
      assert.deepEqual(await eventsOf(user.id, mark), []);

      await fire('survey_completed');
      events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['offer.issued', 'rule.achieved']);
      assert.equal(only(events, 'rule.achieved', brand).rule_id, BX.rules.survey);
      assert.deepEqual(only(events, 'rule.achieved', brand).outcomes.map((o: any) => [o.type, o.applied]), [['offer', true]]);
      assert.equal(only(events, 'offer.issued', brand).source, 'rule');

      mark = events.at(-1)!.position;
      await fire('app_downloaded');
      events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['member.tag_added', 'rule.achieved']);
      assert.equal(only(events, 'rule.achieved', brand).rule_id, BX.rules.app);
      assert.deepEqual(only(events, 'member.tag_added', brand), { tag: 'app_opened', count: 1, expires_at: null });
    });

    // completion, once
    it('campaign.completed once, when the campaign is done', async () => {
      const user = await createMemberViaApi(t.app, brand);
      const mark = await lastPosition();
      ok(await core(brand, 'POST', `/users/${user.id}/campaigns/${ONCE.id}/events`, { outbox_visit: [{ qty: 1 }] }));
      const events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['campaign.completed', 'points.deposited']);
      assert.deepEqual(only(events, 'campaign.completed', brand), { campaign_id: String(ONCE.id), campaign_name: ONCE.name });
      assert.equal(only(events, 'points.deposited', brand).amount, '25');
      // a completed campaign does not complete again
      ok(await core(brand, 'POST', `/users/${user.id}/campaigns/${ONCE.id}/events`, { outbox_visit: [{ qty: 1 }] }));
      assert.equal((await eventsOf(user.id, mark)).filter((e) => e.type === 'campaign.completed').length, 1);
    });

    // the till: purchase, re-send, void, void again; events in the documented order
    it('transaction.recorded and transaction.voided from the till, with the purchase rule’s points and the offer redeemed on it, once each', async () => {
      const user = await createMemberViaApi(t.app, brand);
      const txId = `OUTBOX-${randomUUID()}`;
      const transaction = (extra: Record<string, unknown> = {}) => ({
        transaction_id: txId,
        channel: 'STORE',
        subtotal: 30,
        tax_total: 1.5,
        open_time: '2025-04-16 09:30:00.000',
        modified_time: '2025-04-16 09:30:00.000',
        items: [{ item_id: '0', line_id: '1', quantity: 1, unit_price: 30, tax_included: 0, subtotal: 30 }],
        payments: [{ payment_id: `P-${txId}`, user_id: user.id, user_id_type: 'SessionM_ID', amount: 31.5, type: 'CASH', payment_time: '2025-04-16 09:30:00Z' }],
        ...extra,
      });
      const send = (extra: Record<string, unknown> = {}) => pos(brand, 'send_transaction', transaction(extra), { user_id: user.id });
      // an offer redeemed at the till on this transaction: the void gives it back
      const issued = ok(await connect(brand, '/offers/api/2.0/offers/acquisition/issue', { user_id: user.id, offer_id: BX.fivePercent, quantity: 1, issue_exact_version: false, rollback_option: 0 }));
      const userOfferId = issued.payload.status_list[0].user_offer_id;
      const basket = { transaction_id: txId, subtotal: 30, items: [{ line_id: '1', item_id: '0', quantity: 1, unit_price: 30, subtotal: 30 }] };
      assert.equal(ok(await pos(brand, 'redeem', { offer_lookup_code: userOfferId, offer_lookup_type: 'userofferid', transaction: basket })).payload.status, 'REDEEMED');
      let mark = await lastPosition();
      const id = ok(await send()).payload.transaction.id;
      let events = await eventsOf(user.id, mark);
      assert.deepEqual(events.map((e) => e.type), ['transaction.recorded', 'rule.achieved', 'points.deposited', 'points.deposited', 'tier.changed'], 'in the order docs/events.md gives');
      assert.deepEqual(only(events, 'transaction.recorded', brand), { transaction_id: id, pos_transaction_id: txId, store_id: BX.store, subtotal: '30', tax_total: '1.5' });
      assert.deepEqual(only(events, 'rule.achieved', brand), {
        rule_id: BX.rules.purchase,
        rule_name: 'Purchase earning',
        trigger: 'purchase',
        event_id: null,
        outcomes: [
          { type: 'points', applied: true, points_awarded: '30' },
          { type: 'points', applied: true, points_awarded: '30' },
        ],
      });
      // the rule's two outcomes, in their order, referring to the rule and the transaction
      const deposits = events.filter((e) => e.type === 'points.deposited');
      for (const d of deposits) checked(d);
      const earned = { reference_type: 'loyalty_rule', reference_id: BX.rules.purchase, transaction_id: txId };
      assert.deepEqual(
        deposits.map((d) => d.payload),
        [pointsPayload(BX.spendable, 'Spendable Account', 'deposit', '30', '30', earned), pointsPayload(BX.tierPoints, 'Tier Points', 'deposit', '30', '30', earned)],
      );
      assert.deepEqual(only(events, 'tier.changed', brand), { tier_system_id: BX.tierSystem, from_tier_level_id: null, to_tier_level_id: BX.levels.member, direction: 'up', reason: 'promote' });

      // the same transaction again: nothing new
      mark = events.at(-1)!.position;
      ok(await send());
      assert.deepEqual(await eventsOf(user.id, mark), []);

      ok(await send({ is_voided: true }));
      events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['offer.reinstated', 'points.spent', 'points.spent', 'transaction.voided']);
      assert.deepEqual(only(events, 'transaction.voided', brand), { transaction_id: id, pos_transaction_id: txId, store_id: BX.store });
      assert.equal(only(events, 'offer.reinstated', brand).user_offer_id, userOfferId);
      const spent = events.filter((e) => e.type === 'points.spent');
      for (const s of spent) checked(s);
      assert.deepEqual(spent.map((s) => [s.payload.point_account_id, s.payload.modification_type, s.payload.amount, s.payload.balance_after]).sort(), [[BX.tierPoints, 'spend', '30', '0'], [BX.spendable, 'spend', '30', '0']].sort());
      assert.ok(spent.every((s) => s.payload.reference_type === 'pos_transaction_void' && s.payload.transaction_id === txId), JSON.stringify(spent.map((s) => s.payload)));
      mark = events.at(-1)!.position;
      ok(await send({ is_voided: true }));
      assert.deepEqual(await eventsOf(user.id, mark), []);
    });
  });

  describe('transactions', () => {
    // an operation that fails, early or after part of its work, commits no event
    it('a refused or invalid request records nothing', async () => {
      const user = await createMemberViaApi(t.app, plain);
      ok(await deposit(plain, user.id, [{ point_account_id: p.spendable, amount: 10 }, { point_account_id: p.capped, amount: 90 }]));
      const before = await eventCount();
      const ledger = async () => (await t.db.selectFrom('point_ledger').select('id').where('member_id', '=', user.id).execute()).length;
      const entries = await ledger();

      const overdrawn = await spend(plain, user.id, [{ amount: 11, point_account_ids: [p.spendable] }]);
      assert.equal(overdrawn.status, 422, overdrawn.body);
      assert.equal(overdrawn.json.errors.code, 'insufficient_points');
      // the first detail would apply, the second goes over the maximum: all or nothing
      const capped = await deposit(plain, user.id, [{ point_account_id: p.spendable, amount: 5 }, { point_account_id: p.capped, amount: 20 }]);
      assert.equal(capped.status, 422, capped.body);
      assert.equal(capped.json.errors.code, 'maximum_balance_exceeded');
      const badBody = await core(plain, 'POST', '/users', { user: { ...memberBody().user, opted_in: { yes: true } } });
      assert.equal(badBody.status, 400, badBody.body);
      const noUser = await core(plain, 'POST', '/users', {});
      assert.equal(noUser.status, 400, noUser.body);
      const unknownReferrer = await core(plain, 'POST', '/users', memberBody({ referrer_code: 'NOBODY-000000-000000' }));
      assert.equal(unknownReferrer.status, 422, unknownReferrer.body);
      const mergeSelf = await core(plain, 'POST', `/external/users/${user.external_id}/merge_accounts`, { merge_account: { external_id: user.external_id } });
      assert.equal(mergeSelf.status, 422, mergeSelf.body);
      const unknownMember = await core(plain, 'PUT', `/users/${randomUUID()}`, { user: { city: 'Nowhere' } });
      assert.equal(unknownMember.status, 404, unknownMember.body);

      assert.equal(await eventCount(), before);
      assert.equal(await ledger(), entries);
    });

    // transact() retries a deadlock: the failed attempt's events roll back, the retry writes one set
    it('a deadlock on the first attempt is retried: the deposit answers 200 with one ledger entry and one event', async () => {
      const user = await createMemberViaApi(t.app, plain);
      const mark = await lastPosition();
      // the first INSERT into domain_events fails as a deadlock would; a sequence remembers it across the rollback
      await sql`CREATE SEQUENCE outbox_fault_seq`.execute(t.db);
      await sql`CREATE FUNCTION outbox_fault() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF nextval('outbox_fault_seq') = 1 THEN
            RAISE EXCEPTION 'injected deadlock' USING ERRCODE = '40P01';
          END IF;
          RETURN NULL;
        END $$`.execute(t.db);
      await sql`CREATE TRIGGER outbox_fault BEFORE INSERT ON domain_events FOR EACH STATEMENT EXECUTE FUNCTION outbox_fault()`.execute(t.db);
      try {
        const res = await deposit(plain, user.id, [{ point_account_id: p.spendable, amount: 40, reference_id: 'RETRIED' }]);
        assert.equal(res.status, 200, res.body);
        assert.equal(res.json.payload.details[0].remaining_balance, 40);
        const fired = await sql<{ n: number }>`SELECT last_value AS n FROM outbox_fault_seq`.execute(t.db);
        assert.equal(Number(fired.rows[0].n), 2, 'the first attempt failed, the second went through');
      } finally {
        await sql`DROP TRIGGER outbox_fault ON domain_events`.execute(t.db);
        await sql`DROP FUNCTION outbox_fault()`.execute(t.db);
        await sql`DROP SEQUENCE outbox_fault_seq`.execute(t.db);
      }
      const events = await eventsOf(user.id, mark);
      assert.deepEqual(typesOf(events), ['points.deposited']);
      assert.deepEqual(only(events, 'points.deposited', plain), pointsPayload(p.spendable, 'Spendable', 'deposit', '40', '40', { reference_id: 'RETRIED' }));
      const ledger = await t.db.selectFrom('point_ledger').select(['amount', 'balance_after']).where('member_id', '=', user.id).execute();
      assert.deepEqual(ledger, [{ amount: '40.0000', balance_after: '40.0000' }]);
      const balance = await t.db.selectFrom('member_point_accounts').select('available_balance').where('member_id', '=', user.id).where('point_account_id', '=', p.spendable).executeTakeFirstOrThrow();
      assert.equal(Number(balance.available_balance), 40);
    });

    // the deposit's write goes out with the COMMIT behind it: its failure must still roll everything back
    // (the injected failure is a full disk, an outage the client is told to retry: 503)
    it('a failure of the last write commits nothing of the deposit, and the next deposit applies', async () => {
      const user = await createMemberViaApi(t.app, plain);
      const mark = await lastPosition();
      await sql`CREATE FUNCTION outbox_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure' USING ERRCODE = '53100'; END $$`.execute(t.db);
      await sql`CREATE TRIGGER outbox_refuse BEFORE INSERT ON domain_events FOR EACH STATEMENT EXECUTE FUNCTION outbox_refuse()`.execute(t.db);
      try {
        const refused = await deposit(plain, user.id, [{ point_account_id: p.spendable, amount: 40, reference_id: 'REFUSED' }]);
        assert.equal(refused.status, 503, refused.body);
        assert.equal(refused.json.errors.code, 'service_unavailable');
      } finally {
        await sql`DROP TRIGGER outbox_refuse ON domain_events`.execute(t.db);
        await sql`DROP FUNCTION outbox_refuse()`.execute(t.db);
      }
      assert.equal((await t.db.selectFrom('point_ledger').select('id').where('member_id', '=', user.id).execute()).length, 0);
      assert.deepEqual(typesOf(await eventsOf(user.id, mark)), []);
      const res = await deposit(plain, user.id, [{ point_account_id: p.spendable, amount: 5, reference_id: 'AFTER' }]);
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.payload.details[0].remaining_balance, 5);
      const balance = await t.db.selectFrom('member_point_accounts').select('available_balance').where('member_id', '=', user.id).where('point_account_id', '=', p.spendable).executeTakeFirstOrThrow();
      assert.equal(Number(balance.available_balance), 5);
    });

    // per member, position order is commit order
    it('50 concurrent deposits on one member: 50 events whose positions follow the commit order', async () => {
      const user = await createMemberViaApi(t.app, plain);
      const mark = await lastPosition();
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => deposit(plain, user.id, [{ point_account_id: p.spendable, amount: 3, reference_id: `C${i}` }])));
      for (const a of answers) assert.equal(a.status, 200, a.body);
      const events = await eventsOf(user.id, mark);
      assert.equal(events.length, 50);
      assert.ok(events.every((e) => e.type === 'points.deposited'));
      // read in position order, each balance is the one after the deposit committed before it
      assert.deepEqual(events.map((e) => e.payload.balance_after), Array.from({ length: 50 }, (_, i) => String(3 * (i + 1))));
      assert.deepEqual(events.map((e) => e.payload.reference_id).sort(), Array.from({ length: 50 }, (_, i) => `C${i}`).sort());
    });
  });

  describe('the admin feed', () => {
    /** A retailer with seven events: three members, a deposit each, a tag on the first. */
    async function seeded() {
      const tenant = await createTenant(t.db);
      const points = await pointsProgram(t.db, tenant.retailer_id);
      const members = [];
      for (let i = 0; i < 3; i++) {
        const user = await createMemberViaApi(t.app, tenant);
        ok(await deposit(tenant, user.id, [{ point_account_id: points.spendable, amount: 10 * (i + 1) }]));
        members.push(user);
      }
      ok(await core(tenant, 'POST', `/users/${members[0].id}/tags`, { tags: ['vip'] }));
      const rows = (await sql<EventRow>`SELECT position, id, type, member_id, tx_id || '-' || position AS cursor FROM domain_events WHERE retailer_id = ${tenant.retailer_id} ORDER BY position`.execute(t.db)).rows;
      assert.equal(rows.length, 7);
      return { tenant, members, rows };
    }
    /** Every page of the feed from the start, `limit` at a time. */
    async function readAll(retailerId: string, query: string, limit: number) {
      const pages: any[] = [];
      let after: string | undefined;
      for (;;) {
        const page = ok(await feed(retailerId, `?limit=${limit}${after ? `&after=${after}` : ''}${query}`));
        pages.push(page);
        if (!page.has_more) return pages;
        assert.equal(page.events.length, limit);
        after = page.next_after;
      }
    }

    // after / limit / has_more / next_after: every event once, in order
    it('pages through every event once, in order, each one true to the envelope and its catalog schema', async () => {
      const { tenant, rows } = await seeded();
      const pages = await readAll(tenant.retailer_id, '', 3);
      assert.deepEqual(pages.map((pg) => pg.events.length), [3, 3, 1]);
      const events = pages.flatMap((pg) => pg.events);
      assert.deepEqual(events.map((e: any) => e.id), rows.map((r) => r.id));
      assert.deepEqual(events.map((e: any) => e.position), rows.map((r) => String(r.position)));
      for (const [i, page] of pages.entries()) assert.equal(page.next_after, rows.find((r) => r.id === page.events.at(-1).id)!.cursor, `page ${i}`);
      for (const e of events) {
        assert.ok(envelopeSchema(e), ajv.errorsText(envelopeSchema.errors));
        checked(e);
        assert.equal(e.retailer_id, tenant.retailer_id);
      }
      assert.deepEqual(events.map((e: any) => e.user_id), rows.map((r) => r.member_id));
      // from the last position: nothing more, and the reader keeps its place
      const last = pages.at(-1).next_after;
      assert.deepEqual(ok(await feed(tenant.retailer_id, `?after=${last}`)), { events: [], next_after: last, has_more: false });
      // the default page holds all seven
      const all = ok(await feed(tenant.retailer_id));
      assert.deepEqual([all.events.length, all.has_more, all.next_after], [7, false, rows.at(-1)!.cursor]);
      // a page that ends exactly at the last event says there is no more
      const exact = ok(await feed(tenant.retailer_id, '?limit=7'));
      assert.deepEqual([exact.events.length, exact.has_more], [7, false]);
      const short = ok(await feed(tenant.retailer_id, '?limit=6'));
      assert.deepEqual([short.events.length, short.has_more, short.next_after], [6, true, rows[5].cursor]);
    });

    // the type and user_id filters, alone, together and with paging
    it('filters by type (one or several) and by member', async () => {
      const { tenant, members, rows } = await seeded();
      const deposits = ok(await feed(tenant.retailer_id, '?type=points.deposited'));
      assert.deepEqual(deposits.events.map((e: any) => e.id), rows.filter((r) => r.type === 'points.deposited').map((r) => r.id));
      const two = ok(await feed(tenant.retailer_id, '?type=member.tag_added&type=member.created'));
      assert.deepEqual(two.events.map((e: any) => e.id), rows.filter((r) => r.type === 'member.tag_added' || r.type === 'member.created').map((r) => r.id));
      // paging within a filter
      const pages = await readAll(tenant.retailer_id, '&type=points.deposited', 2);
      assert.deepEqual(pages.flatMap((pg) => pg.events.map((e: any) => e.id)), deposits.events.map((e: any) => e.id));
      const first = ok(await feed(tenant.retailer_id, `?user_id=${members[0].id.toUpperCase()}`));
      assert.deepEqual(first.events.map((e: any) => e.type), ['member.created', 'points.deposited', 'member.tag_added']);
      assert.ok(first.events.every((e: any) => e.user_id === members[0].id));
      const both = ok(await feed(tenant.retailer_id, `?user_id=${members[1].id}&type=points.deposited`));
      assert.deepEqual(both.events.map((e: any) => [e.type, e.payload.amount]), [['points.deposited', '20']]);
      const none = ok(await feed(tenant.retailer_id, '?type=offer.issued'));
      assert.deepEqual(none, { events: [], next_after: null, has_more: false });
    });

    // what the feed refuses
    it('refuses an unknown retailer (404), bad parameters (400) and a missing or wrong admin token (401)', async () => {
      const unknown = await feed(randomUUID());
      assert.equal(unknown.status, 404, unknown.body);
      assert.equal(unknown.json.errors.code, 'not_found');
      for (const query of ['?type=no.such_type', '?limit=0', '?limit=1001', '?after=-1', '?after=abc', '?after=12', '?after=1-2-3', '?user_id=not-a-uuid']) {
        const res = await feed(plain.retailer_id, query);
        assert.equal(res.status, 400, `${query}: ${res.body}`);
      }
      assert.equal((await feed('not-a-uuid')).status, 400);
      assert.equal((await feed(plain.retailer_id, '', null)).status, 401);
      assert.equal((await feed(plain.retailer_id, '', 'Bearer not-the-token')).status, 401);
      assert.equal((await feed(plain.retailer_id, '', plain.core)).status, 401);
    });

    // tenant isolation
    it('shows a retailer only its own events', async () => {
      const a = await seeded();
      const b = await seeded();
      const aFeed = ok(await feed(a.tenant.retailer_id, '?limit=1000')).events;
      assert.deepEqual(aFeed.map((e: any) => e.id), a.rows.map((r) => r.id));
      assert.ok(aFeed.every((e: any) => e.retailer_id === a.tenant.retailer_id));
      // another retailer's member is nobody here
      assert.deepEqual(ok(await feed(a.tenant.retailer_id, `?user_id=${b.members[0].id}`)).events, []);
      // a retailer without any change has an empty feed
      const quiet = await createTenant(t.db);
      assert.deepEqual(ok(await feed(quiet.retailer_id)), { events: [], next_after: null, has_more: false });
    });

    // the tx_id rule: an event with a lower position that commits late is not skipped
    it('holds back events behind a transaction still running, so a reader that resumes never skips one', async () => {
      const { tenant, members, rows } = await seeded();
      const start = rows.at(-1)!.cursor;
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let inserted!: () => void;
      const insertedSignal = new Promise<void>((resolve) => (inserted = resolve));
      // a transaction records an event (a lower position) and stays open while a deposit commits after it
      const slow = transact(t.db, async (tx) => {
        await sql`INSERT INTO domain_events (id, retailer_id, member_id, type, version, occurred_at, payload)
                  VALUES (${randomUUID()}, ${tenant.retailer_id}, ${members[2].id}, 'member.deleted', 1, now(), ${JSON.stringify({ user_id: members[2].id })}::jsonb)`.execute(tx);
        inserted();
        await released;
      });
      try {
        await insertedSignal;
        const points = await t.db.selectFrom('point_accounts').select('id').where('retailer_id', '=', tenant.retailer_id).where('name', '=', 'Spendable').executeTakeFirstOrThrow();
        ok(await deposit(tenant, members[1].id, [{ point_account_id: points.id, amount: 1 }]));
        const held = ok(await feed(tenant.retailer_id, `?after=${start}`, admin, { settle: false }));
        assert.deepEqual(held, { events: [], next_after: start, has_more: false }, 'neither event shows while the earlier transaction runs');
      } finally {
        release();
        await slow;
      }
      const after = ok(await feed(tenant.retailer_id, `?after=${start}`));
      assert.deepEqual(after.events.map((e: any) => e.type), ['member.deleted', 'points.deposited']);
      assert.ok(Number(after.events[0].position) < Number(after.events[1].position));
    });
  });

  describe('the admin feed in transaction order', () => {
    // a younger transaction writes first and commits last: position order would have passed its event by
    it('answers an event written earlier by a younger transaction that commits after an older one', async () => {
      const tenant = await createTenant(t.db);
      const member = await createMemberViaApi(t.app, tenant);
      const start = ok(await feed(tenant.retailer_id)).next_after;
      const [older, younger] = [await t.database.pool!.connect(), await t.database.pool!.connect()];
      const write = (c: typeof older) =>
        c.query(`INSERT INTO domain_events (id, retailer_id, member_id, type, version, occurred_at, payload) VALUES ($1, $2, $3, 'member.tag_added', 1, now(), $4) RETURNING id`, [randomUUID(), tenant.retailer_id, member.id, JSON.stringify({ user_id: member.id, tag: 'x' })]);
      try {
        await older.query('BEGIN');
        await older.query('SELECT pg_current_xact_id()');
        await younger.query('BEGIN');
        await younger.query('SELECT pg_current_xact_id()');
        const early = (await write(younger)).rows[0].id; // the lower position
        const late = (await write(older)).rows[0].id;
        await older.query('COMMIT');
        const first = ok(await feed(tenant.retailer_id, `?after=${start}`, admin, { settle: false }));
        assert.deepEqual(first.events.map((e: any) => e.id), [late], 'the older transaction’s event, the younger one still running');
        await younger.query('COMMIT');
        const next = ok(await feed(tenant.retailer_id, `?after=${first.next_after}`));
        assert.deepEqual(next.events.map((e: any) => e.id), [early], 'the younger one’s event, though its position is lower');
      } finally {
        for (const c of [older, younger]) {
          await c.query('ROLLBACK').catch(() => {});
          c.release();
        }
      }
    });
  });

  describe('outbox.prune', () => {
    // the worker's outbox.prune, with the default and a configured retention
    it('deletes events older than the retention and keeps the rest', async () => {
      const tenant = await createTenant(t.db);
      for (let i = 0; i < 4; i++) await createMemberViaApi(t.app, tenant);
      const rows = (await sql<EventRow>`SELECT id FROM domain_events WHERE retailer_id = ${tenant.retailer_id} ORDER BY position`.execute(t.db)).rows;
      assert.equal(rows.length, 4);
      const [old, older, recent, fresh] = rows.map((r) => r.id);
      await sql`UPDATE domain_events SET occurred_at = now() - interval '40 days' WHERE id = ${old}`.execute(t.db);
      await sql`UPDATE domain_events SET occurred_at = now() - interval '31 days' WHERE id = ${older}`.execute(t.db);
      await sql`UPDATE domain_events SET occurred_at = now() - interval '29 days' WHERE id = ${recent}`.execute(t.db);
      const elsewhere = Number((await sql<{ n: number }>`SELECT count(*) AS n FROM domain_events WHERE retailer_id <> ${tenant.retailer_id}`.execute(t.db)).rows[0].n);

      // the worker's periodic job, with the default retention of 30 days
      await transact(t.db, (tx) => jobHandlers()['outbox.prune'](tx, {}));
      const left = (await sql<EventRow>`SELECT id FROM domain_events WHERE retailer_id = ${tenant.retailer_id} ORDER BY position`.execute(t.db)).rows.map((r) => r.id);
      assert.deepEqual(left, [recent, fresh]);
      const others = Number((await sql<{ n: number }>`SELECT count(*) AS n FROM domain_events WHERE retailer_id <> ${tenant.retailer_id}`.execute(t.db)).rows[0].n);
      assert.equal(others, elsewhere, "other retailers' recent events stay");
      assert.deepEqual(ok(await feed(tenant.retailer_id)).events.map((e: any) => e.id), [recent, fresh]);
      // it scheduled its next run
      const next = await t.db.selectFrom('jobs').select('run_at').where('queue', '=', 'outbox.prune').execute();
      assert.equal(next.length, 1);
      assert.ok(next[0].run_at.getTime() > Date.now() + 60_000);

      // EVENT_RETENTION_DAYS: a shorter retention prunes more
      await transact(t.db, (tx) => jobHandlers({ eventRetentionDays: 10 })['outbox.prune'](tx, {}));
      assert.deepEqual((await sql<EventRow>`SELECT id FROM domain_events WHERE retailer_id = ${tenant.retailer_id}`.execute(t.db)).rows.map((r) => r.id), [fresh]);
    });
  });
});
