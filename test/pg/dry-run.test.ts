// Dry runs (issue 20) on PostgreSQL with the Brand X program: every
// dry-runnable request is sent dry and then for real to the same state; the
// answers are equal but for `dry_run` (and ids and times the database makes
// up), the dry call's outcomes are the events the real call records, and a
// count of every table's rows and the outbox shows the dry call wrote nothing.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { transact } from '../../src/db/unit-of-work.js';
import { applyProgram } from '../../src/flows/program-apply.js';
import { findOffer } from '../../src/modules/offers/catalog.js';
import { issueOffer } from '../../src/modules/offers/user-offers.js';
import { memberSummary } from '../../src/modules/members/service.js';
import { memberBalances } from '../../src/modules/points/queries.js';
import { toJson } from '../../src/modules/points/amount.js';
import { parseProgramText } from '../../src/modules/program/service.js';
import { tableSnapshot } from '../support/snapshot.js';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

const PROGRAM_TEXT = readFileSync(new URL('../../examples/brand-x/program.yaml', import.meta.url), 'utf8');
const STORE = '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01';
const FIVE_PERCENT = '37b46497-44b4-4459-857a-5d03035af56a';
const SPENDABLE = 'f4d91345-bbe8-4ca7-864d-771761be873e';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

describe('dry runs on PostgreSQL', () => {
  let t: TestApp;
  let tenant: TestTenant;
  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    await transact(t.db, (tx) => applyProgram(tx, tenant.retailer_id, parseProgramText(PROGRAM_TEXT)));
  });

  /** The domain events recorded after `position`, as a dry run lists them. */
  async function eventsAfter(position: number) {
    const { rows } = await sql<{ type: string; user_id: string | null; payload: Record<string, unknown> }>`
      SELECT type, member_id AS user_id, payload FROM domain_events WHERE retailer_id = ${tenant.retailer_id} AND position > ${position} ORDER BY position`.execute(t.db);
    return rows;
  }
  const lastPosition = async () => Number((await sql<{ p: string }>`SELECT coalesce(max(position), 0)::text AS p FROM domain_events`.execute(t.db)).rows[0].p);

  /** An answer with the ids and times the database makes up (new rows' ids, now) replaced, and without the dry run's fields. */
  function comparable(answer: Record<string, unknown>, known: Set<string>): unknown {
    const { dry_run: _dry, outcomes: _outcomes, ...rest } = answer;
    return JSON.parse(
      JSON.stringify(rest)
        .replace(UUID, (id) => (known.has(id.toLowerCase()) ? id : '<new id>'))
        .replace(/\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z?/g, '<time>'),
    );
  }

  /**
   * Sends the request dry (body field or header), checks it wrote nothing, then
   * for real, and compares: same status and answer, and the dry outcomes are
   * the events the real call recorded (their ids and times aside).
   */
  async function dryThenReal(request: { url: string; headers: Record<string, string>; payload: Record<string, unknown> }, how: 'field' | 'header' = 'field') {
    const known = new Set([...JSON.stringify(request).matchAll(UUID), ...PROGRAM_TEXT.matchAll(UUID), ...[tenant.retailer_id, STORE].map((x) => [x])].map((m) => m[0].toLowerCase()));
    const before = await tableSnapshot(t.db);
    const dryRequest =
      how === 'field'
        ? { ...request, payload: { ...request.payload, dry_run: true } }
        : { ...request, headers: { ...request.headers, 'loyalist-dry-run': 'true' } };
    const dry = await call(t.app, { method: 'POST', ...dryRequest });
    assert.deepEqual(await tableSnapshot(t.db), before, `the dry call wrote nothing (${request.url})`);
    const position = await lastPosition();
    const real = await call(t.app, { method: 'POST', ...request });
    assert.equal(dry.status, real.status, `${request.url}: ${dry.body} / ${real.body}`);
    if (real.status === 200) {
      assert.equal(dry.json.dry_run, true);
      assert.equal(real.json.dry_run, undefined, 'a real answer does not say dry_run');
      assert.deepEqual(comparable(dry.json, known), comparable(real.json, known));
      const recorded = await eventsAfter(position);
      const strip = (events: { type: string; user_id: string | null; payload: Record<string, unknown> }[]) => events.map((e) => comparable(e as never, known));
      assert.deepEqual(strip(dry.json.outcomes), strip(recorded), 'the dry outcomes are what the real call recorded');
    } else assert.deepEqual(dry.json, real.json);
    return { dry: dry.json, real: real.json };
  }

  async function member() {
    const phone = `617${String(randomBytes(4).readUInt32BE() % 10_000_000).padStart(7, '0')}`;
    const user = await createMemberViaApi(t.app, tenant, { phone_numbers: [{ phone_number: phone, phone_type: 'mobile', preference_flags: ['primary'] }] });
    return { id: user.id as string, phone };
  }
  const connect = (path: string, body: Record<string, unknown>) => ({
    url: `/incentives/api/${path}`,
    headers: { authorization: tenant.connect },
    payload: { retailer_id: tenant.retailer_id, culture: 'en-US', ...body },
  });
  const pos = (path: string, userId: string | undefined, request_payload: Record<string, unknown>) => ({
    url: `/api/2.0/${path}`,
    headers: { authorization: tenant.pos },
    payload: { store_id: STORE, client_id: tenant.retailer_id, request_id: randomUUID(), ...(userId ? { user_id: userId } : {}), request_payload },
  });
  const purchase = (id: string, userId: string, lines: [string, number][]) => ({
    transaction_id: id,
    subtotal: lines.reduce((s, [, v]) => s + v, 0),
    tax_total: 0,
    open_time: '2025-04-16 09:30:00.000',
    modified_time: '2025-04-16 09:30:00.000',
    items: lines.map(([item, price], i) => ({ item_id: item, line_id: String(i + 1), quantity: 1, unit_price: price, subtotal: price })),
    payments: [{ payment_id: `P-${id}`, user_id: userId, user_id_type: 'SessionM_ID', amount: lines.reduce((s, [, v]) => s + v, 0), type: 'CASH' }],
  });
  async function issue(memberId: string): Promise<string> {
    const offer = (await findOffer(t.db, tenant.retailer_id, FIVE_PERCENT))!;
    const summary = (await memberSummary(t.db, tenant.retailer_id, memberId))!;
    return (await transact(t.db, (tx) => issueOffer(tx, tenant.actor, summary, offer))).id;
  }

  it('Core v2 events: the rules an event achieves (an offer, points, a tag) are answered, not applied', async () => {
    const m = await member();
    const v2 = tenant.base.replace('/v1/', '/v2/');
    const request = {
      url: `${v2}/events`,
      headers: { authorization: tenant.core },
      payload: { events: [{ name: 'survey_completed', user_id: m.id }, { name: 'PREMIUM_SUBSCRIPTION_STARTED', user_id: m.id }, { name: 'app_downloaded', user_id: m.id }] },
    };
    const { dry } = await dryThenReal(request);
    const types = dry.outcomes.map((o: { type: string }) => o.type);
    for (const type of ['offer.issued', 'points.deposited', 'member.tag_added', 'rule.achieved']) assert.ok(types.includes(type), `${type} in ${types}`);
    // the rule's limit (once a day) now holds for real: the same event achieves nothing more, dry or not
    const again = await dryThenReal({ ...request, payload: { events: [{ name: 'survey_completed', user_id: m.id }] } }, 'header');
    assert.ok(!again.dry.outcomes.some((o: { type: string }) => o.type === 'offer.issued'), 'the limit consumed by the real call is seen by the dry one');
  });

  it('Core campaign events: progress and completion are answered, not recorded', async () => {
    const m = await member();
    await dryThenReal({ url: `${tenant.base}/users/${m.id}/campaigns/324/events`, headers: { authorization: tenant.core }, payload: { promotion_7_code_claimed: [{ qty: 1, store: 'A1B2' }] } });
  });

  it('Connect trigger_user_event, deposit and spend_multiple (and a refused spend)', async () => {
    const m = await member();
    const { dry } = await dryThenReal(connect('1.0/user_events/trigger_user_event', { user_id: m.id, event_lookup: 'PREMIUM_SUBSCRIPTION_STARTED' }));
    assert.ok(dry.outcomes.some((o: { type: string; payload: { amount?: string } }) => o.type === 'points.deposited' && o.payload.amount === '100'));
    await dryThenReal(connect('2.0/user_points/deposit', { user_id: m.id, deposit_details: [{ point_account_id: SPENDABLE, amount: '12.5', idempotency_id: randomUUID() }] }), 'header');
    await dryThenReal(connect('2.0/user_points/spend_multiple', { user_id: m.id, spend_details: [{ point_account_id: SPENDABLE, amount: 50, idempotency_id: randomUUID() }] }));
    const refused = await dryThenReal(connect('2.0/user_points/spend_multiple', { user_id: m.id, spend_details: [{ point_account_id: SPENDABLE, amount: 1000 }] }));
    assert.equal(refused.dry.errors.code, 'insufficient_points');
  });

  it('POS send_transaction (a purchase, a return, a void), lookup and redeem', async () => {
    const m = await member();
    const id = `DRY-${randomUUID()}`;
    const { dry } = await dryThenReal(pos('send_transaction', m.id, purchase(id, m.id, [['coffee', 20], ['cake', 10]])));
    assert.ok(dry.outcomes.some((o: { type: string }) => o.type === 'transaction.recorded'));
    // a return: the same transaction again without the cake
    await dryThenReal(pos('send_transaction', m.id, purchase(id, m.id, [['coffee', 20]])), 'header');
    await dryThenReal(pos('send_transaction', m.id, { ...purchase(id, m.id, [['coffee', 20]]), is_voided: true }));
    const userOfferId = await issue(m.id);
    const basket = { transaction_id: `B-${randomUUID()}`, subtotal: 9, items: [{ line_id: '1', item_id: 'coffee', quantity: 1, unit_price: 9, subtotal: 9 }] };
    await dryThenReal(pos('lookup', undefined, { phone: m.phone, transaction: basket }));
    const redeemed = await dryThenReal(pos('redeem', undefined, { offer_lookup_code: userOfferId, offer_lookup_type: 'userofferid', transaction: basket }));
    assert.ok(redeemed.dry.outcomes.some((o: { type: string }) => o.type === 'offer.redeemed'));
    // redeemed for real now: a dry redeem is refused as the real one is
    await dryThenReal(pos('redeem', undefined, { offer_lookup_code: userOfferId, offer_lookup_type: 'userofferid', transaction: basket }), 'header');
  });

  it('a dry run is never replayed and keeps no Message-ID: the real call with the same Message-ID runs', async () => {
    const m = await member();
    const request = connect('2.0/user_points/deposit', { user_id: m.id, deposit_details: [{ point_account_id: SPENDABLE, amount: 7 }] });
    const headers = { ...request.headers, 'message-id': `dry-${randomUUID()}` };
    const dry = await call(t.app, { method: 'POST', ...request, headers: { ...headers, 'loyalist-dry-run': 'true' } });
    const real = await call(t.app, { method: 'POST', ...request, headers });
    assert.equal(real.headers['cached-message'], undefined);
    assert.equal(dry.json.dry_run, true);
    assert.equal(real.status, 200, real.body);
    const balances = await memberBalances(t.db, tenant.retailer_id, m.id);
    assert.equal(toJson(balances.details.find((d) => d.point_account_id === SPENDABLE)!.available_balance), 7, 'the real call deposited, once');
  });

  it('refuses a dry_run that is not a boolean, naming the field', async () => {
    const m = await member();
    const bad = await call(t.app, { method: 'POST', ...connect('2.0/user_points/deposit', { user_id: m.id, dry_run: 'yes', deposit_details: [{ point_account_id: SPENDABLE, amount: 7 }] }) });
    assert.equal(bad.status, 400);
    assert.match(bad.json.errors.message, /dry_run/);
    const header = await call(t.app, { method: 'POST', ...connect('2.0/user_points/deposit', { user_id: m.id, deposit_details: [{ point_account_id: SPENDABLE, amount: 7 }] }), headers: { authorization: tenant.connect, 'loyalist-dry-run': 'maybe' } });
    assert.equal(header.status, 400);
  });
});
