// The audit trail: every admin write leaves exactly one record, in its own
// transaction, naming who (operator, personal token, ADMIN_TOKEN), from where
// and what; a refused write leaves none; records are never changed; a point
// adjustment needs a reason, which the ledger and the timeline keep.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { transact } from '../../src/db/unit-of-work.js';
import { loadDemo } from '../../src/demo.js';
import { createOperatorWithPassword } from '../../src/flows/operators.js';
import { fanOut } from '../../src/modules/webhooks/deliveries.js';
import { issueToken } from '../../src/modules/operators/service.js';
import { call, postgresApp, type TestApp } from '../support/harness.js';
import { operationsOf, sampleOf, fillPath } from '../support/operations.js';

const PASSWORD = 'the owner passphrase';

/** Admin writes that change nothing (previews) or are how an operator gets credentials. */
const UNAUDITED = ['POST /admin/session', 'DELETE /admin/session', 'POST /admin/invitations/accept', 'POST /admin/tenants/{retailer_id}/program/diff', 'POST /admin/tenants/{retailer_id}/program/evaluate', 'POST /admin/tenants/{retailer_id}/program/simulate'];

describe('the audit trail', () => {
  let t: TestApp;
  let demo: Record<string, string>;
  let owner: { id: string; token: string };
  let members: string[];
  const admin = () => ({ authorization: `Bearer ${t.config.adminToken}` });
  const asOwner = () => ({ authorization: owner.token, 'user-agent': 'audit-test/1.0' });
  const records = async () => (await sql<{ id: string; retailer_id: string | null; actor_type: string; actor_id: string | null; actor_email: string | null; address: string | null; user_agent: string | null; action: string; object_id: string | null; before: unknown; after: unknown }>`SELECT * FROM audit_log ORDER BY id`.execute(t.db)).rows;

  before(async () => {
    t = await postgresApp();
    demo = await loadDemo(t.db, 'http://127.0.0.1');
    const created = await createOperatorWithPassword(t.db, { email: 'olivia@brand.example', name: 'Olivia', password: PASSWORD, role: 'owner', retailerId: demo.retailer_id });
    owner = { id: created.id, token: `Bearer ${(await transact(t.db, (tx) => issueToken(tx, created.id, { name: 'audit test' }))).value}` };
    members = (await sql<{ id: string }>`SELECT id FROM members WHERE retailer_id = ${demo.retailer_id} AND lifecycle = 'active' ORDER BY player_id`.execute(t.db)).rows.map((r) => r.id);
  });

  it('records every admin write exactly once, with its actor, and a refused one not at all', async () => {
    const r = demo.retailer_id;
    const m = `/admin/tenants/${r}/members`;
    const tier = await sql<{ id: string }>`SELECT id FROM tier_levels WHERE retailer_id = ${r} AND tier_system_id = ${demo.tier_system_id} ORDER BY rank DESC LIMIT 1`.execute(t.db);
    const state: Record<string, string> = {};
    // each audited operation, by its path, once done for real
    const writes: [string, () => { url: string; payload?: object; headers?: Record<string, string> }, (res: { json: any }) => void][] = [
      ['POST /admin/tenants', () => ({ url: '/admin/tenants', payload: { name: 'Brand Y' }, headers: admin() }), (res) => (state.newRetailer = res.json.retailer_id)],
      ['POST /admin/tenants/{retailer_id}/credentials', () => ({ url: `/admin/tenants/${r}/credentials`, payload: {} }), () => {}],
      ['POST /admin/tenants/{retailer_id}/credentials/{credential_id}/rotate', () => ({ url: `/admin/tenants/${r}/credentials/${state.credential}/rotate`, payload: { overlap_seconds: 0 } }), () => {}],
      ['DELETE /admin/tenants/{retailer_id}/credentials/{credential_id}', () => ({ url: `/admin/tenants/${r}/credentials/${state.credential}` }), () => {}],
      ['PUT /admin/tenants/{retailer_id}/program', () => ({ url: `/admin/tenants/${r}/program`, payload: state.program as unknown as object }), () => {}],
      ['POST /admin/tenants/{retailer_id}/webhooks', () => ({ url: `/admin/tenants/${r}/webhooks`, payload: { url: 'https://hooks.brand.example/loyalty' } }), (res) => (state.webhook = res.json.id)],
      ['PATCH /admin/tenants/{retailer_id}/webhooks/{webhook_id}', () => ({ url: `/admin/tenants/${r}/webhooks/${state.webhook}`, payload: { description: 'CRM' } }), () => {}],
      ['POST /admin/tenants/{retailer_id}/webhooks/{webhook_id}/rotate_secret', () => ({ url: `/admin/tenants/${r}/webhooks/${state.webhook}/rotate_secret`, payload: {} }), () => {}],
      ['POST /admin/tenants/{retailer_id}/members/{user_id}/points', () => ({ url: `${m}/${members[0]}/points`, payload: { point_account_id: demo.award_points_id, kind: 'deposit', amount: '12.5', reason: 'complaint #4411: coffee spilled' } }), () => {}],
      ['POST /admin/tenants/{retailer_id}/webhooks/{webhook_id}/deliveries/{event_id}/retry', () => ({ url: `/admin/tenants/${r}/webhooks/${state.webhook}/deliveries/${state.event}/retry`, payload: {} }), () => {}],
      ['DELETE /admin/tenants/{retailer_id}/webhooks/{webhook_id}', () => ({ url: `/admin/tenants/${r}/webhooks/${state.webhook}` }), () => {}],
      ['POST /admin/tenants/{retailer_id}/operators', () => ({ url: `/admin/tenants/${r}/operators`, payload: { email: 'sam@brand.example', role: 'viewer' } }), (res) => (state.operator = res.json.operator.operator_id)],
      ['PUT /admin/tenants/{retailer_id}/operators/{operator_id}', () => ({ url: `/admin/tenants/${r}/operators/${state.operator}`, payload: { role: 'support' } }), () => {}],
      ['DELETE /admin/tenants/{retailer_id}/operators/{operator_id}', () => ({ url: `/admin/tenants/${r}/operators/${state.operator}` }), () => {}],
      ['POST /admin/me/tokens', () => ({ url: '/admin/me/tokens', payload: { name: 'script' } }), (res) => (state.token = res.json.token_id)],
      ['DELETE /admin/me/tokens/{token_id}', () => ({ url: `/admin/me/tokens/${state.token}` }), () => {}],
      ['PUT /admin/me/password', () => ({ url: '/admin/me/password', payload: { current_password: PASSWORD, new_password: 'a new owner passphrase' } }), () => {}],
      ['POST /admin/tenants/{retailer_id}/members/{user_id}/offers', () => ({ url: `${m}/${members[0]}/offers`, payload: { offer_id: demo.offer_id } }), (res) => (state.userOffer = res.json.user_offer_id)],
      ['DELETE /admin/tenants/{retailer_id}/members/{user_id}/offers/{user_offer_id}', () => ({ url: `${m}/${members[0]}/offers/${state.userOffer}`, payload: { reason: 'issued by mistake' } }), () => {}],
      ['PUT /admin/tenants/{retailer_id}/members/{user_id}/tiers/{tier_system_id}', () => ({ url: `${m}/${members[0]}/tiers/${demo.tier_system_id}`, payload: { tier_level_id: tier.rows[0].id } }), () => {}],
      ['POST /admin/tenants/{retailer_id}/members/{user_id}/restrict', () => ({ url: `${m}/${members[1]}/restrict`, payload: {} }), () => {}],
      ['POST /admin/tenants/{retailer_id}/members/{user_id}/reinstate', () => ({ url: `${m}/${members[1]}/reinstate`, payload: {} }), () => {}],
      ['POST /admin/tenants/{retailer_id}/members/{user_id}/merge', () => ({ url: `${m}/${members[0]}/merge`, payload: { user_id: members[2] } }), () => {}],
      ['POST /admin/tenants/{retailer_id}/members/{user_id}/forget', () => ({ url: `${m}/${members[3]}/forget`, payload: {} }), () => {}],
    ];

    // every audited write of the server has its case here
    const operations = (await operationsOf(t.app)).filter((op) => op.surface === 'admin' && op.method !== 'GET');
    const audited = operations.map((op) => `${op.method} ${op.path}`).filter((key) => !UNAUDITED.includes(key));
    assert.deepEqual(new Set(writes.map(([key]) => key)), new Set(audited));

    // first, each refused: a malformed request and one for something that does not exist leave no record
    for (const op of operations) {
      const before = (await records()).length;
      const res = await call(t.app, { method: op.method as 'POST', url: fillPath(op.path, { retailer_id: r }, () => '00000000-0000-4000-8000-000000000000'), headers: asOwner(), ...(op.body ? { payload: sampleOf(op.body, { retailer_id: r }) as object } : {}) });
      if (res.status >= 400) assert.equal((await records()).length, before, `${op.method} ${op.path} refused (${res.status}) left a record`);
    }

    const credentials = await call(t.app, { method: 'GET', url: `/admin/tenants/${r}/credentials`, headers: asOwner() });
    state.credential = credentials.json.credentials.find((c: { surface: string }) => c.surface === 'core').credential_id;
    state.program = (await call(t.app, { method: 'GET', url: `/admin/tenants/${r}/program`, headers: asOwner() })).json;
    for (const [key, request, after] of writes) {
      if (key.includes('/deliveries/')) {
        // the relay takes events once every older transaction of the cluster has ended (other test files' too): it may take a few rounds
        for (let round = 0; round < 100 && !state.event; round++) {
          await transact(t.db, (tx) => fanOut(tx));
          state.event = (await sql<{ event_id: string }>`SELECT event_id FROM webhook_deliveries WHERE endpoint_id = ${state.webhook} LIMIT 1`.execute(t.db)).rows[0]?.event_id;
          if (!state.event) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.ok(state.event, 'the adjustment fanned out to the webhook');
      }
      const before = await records();
      const { url, payload, headers } = request();
      const res = await call(t.app, { method: key.split(' ')[0] as 'POST', url, headers: headers ?? asOwner(), ...(payload ? { payload } : {}) });
      assert.ok(res.status < 300, `${key}: ${res.status} ${res.body}`);
      after(res);
      const added = (await records()).slice(before.length);
      assert.equal(added.length, 1, `${key} left ${added.length} records`);
      const [record] = added;
      const byAdminToken = Boolean(headers);
      assert.equal(record.actor_type, byAdminToken ? 'admin_token' : 'operator_token', key);
      assert.equal(record.actor_id, byAdminToken ? null : owner.id, key);
      assert.equal(record.actor_email, byAdminToken ? null : 'olivia@brand.example', key);
      assert.equal(record.address, '127.0.0.1', key);
      if (!byAdminToken) assert.equal(record.user_agent, 'audit-test/1.0', key);
      if (key.includes('{retailer_id}')) assert.equal(record.retailer_id, r, key);
      assert.ok(record.action, key);
    }
    const text = JSON.stringify(await records());
    for (const secret of [PASSWORD, 'a new owner passphrase', 'whsec_', t.config.adminToken!, owner.token.slice(7)]) assert.ok(!text.includes(secret), `the audit trail holds ${secret.slice(0, 8)}…`);
  });

  it('keeps the configuration before and after a program apply, and serves the trail paged and filtered', async () => {
    const r = demo.retailer_id;
    const program = (await call(t.app, { method: 'GET', url: `/admin/tenants/${r}/program`, headers: asOwner() })).json;
    const renamed = { ...program, retailer: { ...program.retailer, name: 'Brand X Rewards' } };
    assert.equal((await call(t.app, { method: 'PUT', url: `/admin/tenants/${r}/program`, headers: asOwner(), payload: renamed })).status, 200);
    const page = await call(t.app, { method: 'GET', url: `/admin/tenants/${r}/audit?action=program.apply&limit=1`, headers: asOwner() });
    assert.equal(page.status, 200, page.body);
    const [latest] = page.json.records;
    assert.equal(latest.before.retailer.name, program.retailer.name);
    assert.equal(latest.after.retailer.name, 'Brand X Rewards');
    assert.equal(latest.actor.email, 'olivia@brand.example');
    const all: unknown[] = [];
    for (let cursor: string | null = ''; cursor !== null; ) {
      const res = await call(t.app, { method: 'GET', url: `/admin/tenants/${r}/audit?limit=5${cursor ? `&before=${cursor}` : ''}`, headers: asOwner() });
      all.push(...res.json.records);
      cursor = res.json.next_before;
    }
    const ids = all.map((x) => Number((x as { id: string }).id));
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(all.every((x) => (x as { retailer_id: string }).retailer_id === r), "only this retailer's records");
  });

  it('never changes or removes a record', async () => {
    await assert.rejects(sql`UPDATE audit_log SET action = 'nothing'`.execute(t.db), /append-only/);
    await assert.rejects(sql`DELETE FROM audit_log`.execute(t.db), /append-only/);
  });

  it('refuses a point adjustment without a reason; keeps the reason in the ledger and the timeline', async () => {
    const url = `/admin/tenants/${demo.retailer_id}/members/${members[4]}/points`;
    const before = (await records()).length;
    for (const reason of [undefined, '', '   ']) {
      const res = await call(t.app, { method: 'POST', url, headers: asOwner(), payload: { point_account_id: demo.award_points_id, kind: 'deposit', amount: 5, ...(reason === undefined ? {} : { reason }) } });
      assert.ok([400].includes(res.status), `${reason}: ${res.body}`);
      assert.match(res.json.errors.message, /reason/);
    }
    const overdraw = await call(t.app, { method: 'POST', url, headers: asOwner(), payload: { point_account_id: demo.award_points_id, kind: 'deduct', amount: '999999', reason: 'goodwill reversal' } });
    assert.equal(overdraw.status, 422);
    assert.equal(overdraw.json.errors.code, 'insufficient_points');
    assert.equal((await records()).length, before, 'refused adjustments leave no record');

    const done = await call(t.app, { method: 'POST', url, headers: asOwner(), payload: { point_account_id: demo.award_points_id, kind: 'deposit', amount: '7.25', reason: 'late delivery' } });
    assert.equal(done.status, 200, done.body);
    assert.equal(done.json.amount, '7.25');
    const view = await call(t.app, { method: 'GET', url: `/admin/tenants/${demo.retailer_id}/members/${members[4]}`, headers: asOwner() });
    const entry = view.json.ledger.entries[0];
    assert.equal(entry.reference_type, 'manual_adjustment');
    assert.equal(entry.reference_id, 'late delivery');
    assert.equal(entry.request_id, 'operator:olivia@brand.example');
    assert.ok(view.json.timeline.entries.some((e: { payload: Record<string, unknown> }) => e.payload.reference_id === 'late delivery' && e.payload.reference_type === 'manual_adjustment'));
    const [record] = (await records()).slice(-1);
    assert.equal(record.action, 'points.adjust');
    assert.equal(record.object_id, members[4]);
    assert.deepEqual(record.after, { point_account_id: demo.award_points_id, kind: 'deposit', amount: '7.25', reason: 'late delivery', balance_after: done.json.balance_after });
  });
});
