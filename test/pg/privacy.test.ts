// Privacy requests (SPEC §5.10, collection 1.5.x): forget after the grace
// period removes the member's personal data from every table, export copies
// everything, restrict/reinstate act at once, pending requests can be cancelled.
import { transact } from '../../src/db/unit-of-work.js';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { runNextJob } from '../../src/modules/jobs/queue.js';
import { PRIVACY_QUEUE } from '../../src/modules/privacy/service.js';
import { privacyJobHandlers, processPrivacyRequest } from '../../src/flows/privacy.js';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { historyProgram, memberWithHistory, scanDatabase, type Program } from '../support/privacy.js';

describe('privacy requests on PostgreSQL', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let program: Program;
  before(async () => {
    t = await postgresApp({ privacyGraceSeconds: 3600 });
    tenant = await createTenant(t.db);
    program = await historyProgram(t, tenant);
  });
  const req = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
    call(t.app, { method, url: `${tenant.base}${url}`, headers: { authorization: tenant.core }, ...(payload ? { payload: payload as object } : {}) });
  const later = () => new Date(Date.now() + 3601 * 1000);

  it('1.5.1 lists no requests, 1.5.2 files a forget with its parts, and the member stays usable in the grace period', async () => {
    const member = await createMemberViaApi(t.app, tenant);
    assert.deepEqual((await req('GET', `/users/${member.id}/privacy`)).json, { status: 'ok', privacy_requests: [] });
    const res = await req('POST', `/users/${member.id}/privacy/forget`);
    assert.equal(res.status, 200, res.body);
    assert.equal(typeof res.json.privacy_request.id, 'number');
    assert.deepEqual(Object.values(res.json.privacy_request.privacy_request_part_ids), [
      'forget', 'timeline_forget_stream', 'offers_domain_forget_organization', 'txn_domain_forget_organization', 'messaging_platform_forget', 'data_team_forget', 'external_dbs_forget', 'incentives_forget',
    ]);
    assert.ok(Object.keys(res.json.privacy_request.privacy_request_part_ids).every((k) => /^\d+$/.test(k)));
    // again: the same pending request
    assert.equal((await req('POST', `/users/${member.id}/privacy/forget`)).json.privacy_request.id, res.json.privacy_request.id);
    const list = await req('GET', `/users/${member.id}/privacy`);
    assert.equal(list.json.privacy_requests.length, 1);
    assert.equal(list.json.privacy_requests[0].status, 'pending');
    // still there: the grace period
    assert.equal((await call(t.app, { method: 'GET', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core } })).status, 200);
    // by external id too
    assert.equal((await req('GET', `/external/users/${member.external_id}/privacy`)).json.privacy_requests.length, 1);
    // the worker does not run it before it is due
    assert.equal(await runNextJob(t.db, privacyJobHandlers), undefined);
  });

  it('forgets a member with a full history: no trace of its personal data in any table, the ledger still balances', async () => {
    const { user, personal } = await memberWithHistory(t, tenant, program);
    const keep = await memberWithHistory(t, tenant, program);
    const before = await scanDatabase(t.db, personal.email);
    assert.ok(before.length >= 3, `the history names the email: ${before}`);
    const filed = await req('POST', `/users/${user.id}/privacy/forget`);
    assert.equal(filed.status, 200, filed.body);
    // the worker, once due
    for (let outcome = await runNextJob(t.db, privacyJobHandlers, later()); outcome; outcome = await runNextJob(t.db, privacyJobHandlers, later())) {
      assert.equal(outcome.queue, PRIVACY_QUEUE);
      assert.equal(outcome.ok, true, outcome.error);
    }
    const digits = personal.phone.replace(/\D/g, '');
    for (const needle of [personal.email, personal.first_name, personal.last_name, personal.phone, digits, personal.external_id, personal.address]) {
      assert.deepEqual(await scanDatabase(t.db, needle), [], `${needle} remains`);
    }
    // the other member is untouched
    assert.ok((await scanDatabase(t.db, keep.personal.email)).includes('members.email'));
    // not found by any lookup
    const get = (url: string) => call(t.app, { method: 'GET', url: `${tenant.base}${url}`, headers: { authorization: tenant.core } });
    assert.equal((await get(`/users/${user.id}`)).status, 404);
    assert.equal((await get(`/external/users/${personal.external_id}`)).status, 404);
    const row = await t.db.selectFrom('members').select(['lifecycle', 'email']).where('id', '=', user.id).executeTakeFirstOrThrow();
    assert.deepEqual(row, { lifecycle: 'forgotten', email: null });
    // the ledger stays, anonymised, and balances for the retailer and the member
    const { rows } = await sql<{ ledger: string; balances: string; entries: string }>`
      SELECT (SELECT sum(amount) FROM point_ledger WHERE retailer_id = ${tenant.retailer_id}) AS ledger,
             (SELECT sum(available_balance) FROM member_point_accounts WHERE retailer_id = ${tenant.retailer_id}) AS balances,
             (SELECT count(*) FROM point_ledger WHERE retailer_id = ${tenant.retailer_id} AND member_id = ${user.id}) AS entries`.execute(t.db);
    assert.equal(Number(rows[0].ledger), Number(rows[0].balances));
    assert.equal(Number(rows[0].entries), 3);
    const request = await t.db.selectFrom('privacy_requests').select(['status', 'completed_at']).where('id', '=', String(filed.json.privacy_request.id)).executeTakeFirstOrThrow();
    assert.equal(request.status, 'completed');
  });

  it('exports everything held about the member, listed by GET …/privacy/export and downloadable', async () => {
    const { user, personal } = await memberWithHistory(t, tenant, program);
    assert.deepEqual((await req('GET', `/users/${user.id}/privacy/export`)).json, { status: 'ok', gdpr_user_data: [] });
    const filed = await req('POST', `/external/users/${personal.external_id}/privacy/export`);
    assert.equal(filed.status, 200, filed.body);
    const id = filed.json.privacy_request.id;
    const pending = await req('GET', `/users/${user.id}/privacy/export`);
    assert.equal(pending.json.gdpr_user_data[0].status, 'pending');
    assert.equal(pending.json.gdpr_user_data[0].ready, false);
    await transact(t.db, (tx) => processPrivacyRequest(tx, tenant.retailer_id, id, later()));
    const listed = await req('GET', `/users/${user.id}/privacy/export`);
    assert.equal(listed.json.gdpr_user_data[0].status, 'completed');
    assert.ok(listed.json.gdpr_user_data[0].download_path.endsWith(`/privacy/export/${id}`));
    const file = await req('GET', `/users/${user.id}/privacy/export/${id}`);
    assert.equal(file.status, 200, file.body);
    const doc = file.json.gdpr_user_data.data;
    assert.equal(doc.profile.email, personal.email);
    assert.equal(doc.identifiers[0].external_id, personal.external_id);
    assert.equal(doc.phone_numbers[0].phone_number, personal.phone);
    assert.deepEqual(doc.tags.map((x: any) => x.tag).sort(), ['tag-' + personal.email, 'vip'].sort());
    assert.equal(doc.points_ledger.length, 3);
    assert.equal(doc.point_balances.length, 2);
    assert.equal(doc.tiers.length, 0);
    assert.equal(doc.offers.length, 1);
    assert.equal(doc.campaigns.length, 1);
    assert.equal(doc.campaign_goals.length, 1);
    assert.equal(doc.events.length, 1);
    assert.ok(doc.timeline.length >= 5);
    if (doc.transactions) assert.equal(doc.transactions.length, 1);
    // the timeline says so; an unknown id is a clear 404
    const exported = await t.db.selectFrom('timeline_events').select('id').where('member_id', '=', user.id).where('event_type_id', '=', 186).execute();
    assert.equal(exported.length, 1);
    const missing = await req('GET', `/users/${user.id}/privacy/export/999999999`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.errors.code, 'privacy_request_not_found');
  });

  it('restricts at once (1.5.4, no body), idempotently, and reinstates, with timeline entries', async () => {
    const member = await createMemberViaApi(t.app, tenant);
    const status = async () => (await t.db.selectFrom('members').select('account_status').where('id', '=', member.id).executeTakeFirstOrThrow()).account_status;
    const r1 = await req('POST', `/users/${member.id}/privacy/restrict`);
    assert.deepEqual(r1.json, { status: 'ok' });
    assert.equal(await status(), 'restricted');
    await req('POST', `/users/${member.id}/privacy/restrict`);
    assert.equal(await status(), 'restricted');
    assert.deepEqual((await req('POST', `/users/${member.id}/privacy/reinstate`)).json, { status: 'ok' });
    assert.equal(await status(), 'good');
    await req('POST', `/users/${member.id}/privacy/restrict`, { restrict: true });
    assert.equal(await status(), 'restricted');
    await req('POST', `/users/${member.id}/privacy/restrict`, { action: 'reinstate' });
    assert.equal(await status(), 'good');
    const types = (await t.db.selectFrom('timeline_events').select('event_type_id').where('member_id', '=', member.id).where('event_type_id', 'in', [187, 188]).orderBy('id').execute()).map((r) => r.event_type_id);
    assert.deepEqual(types, [187, 188, 187, 188]);
    const list = await req('GET', `/users/${member.id}/privacy`);
    assert.deepEqual(list.json.privacy_requests.map((r: any) => r.request_type), ['reinstate', 'restrict', 'reinstate', 'restrict', 'restrict']);
    assert.ok(list.json.privacy_requests.every((r: any) => r.status === 'completed'));
  });

  it('cancels a pending forget in its grace period (DELETE or POST …/cancel); a finished one cannot be', async () => {
    const member = await createMemberViaApi(t.app, tenant);
    const filed = await req('POST', `/users/${member.id}/privacy/forget`);
    const id = filed.json.privacy_request.id;
    const cancelled = await req('DELETE', `/users/${member.id}/privacy/${id}`);
    assert.equal(cancelled.status, 200, cancelled.body);
    assert.equal(cancelled.json.privacy_request.status, 'cancelled');
    assert.equal(await t.db.selectFrom('jobs').select('id').where('dedupe_key', '=', `privacy:${id}`).executeTakeFirst(), undefined);
    const again = await req('POST', `/users/${member.id}/privacy/${id}/cancel`);
    assert.equal(again.status, 409);
    assert.equal(again.json.errors.code, 'privacy_request_not_cancellable');
    // the member is still there after the grace period
    await transact(t.db, (tx) => processPrivacyRequest(tx, tenant.retailer_id, id, later()));
    assert.equal((await t.db.selectFrom('members').select('lifecycle').where('id', '=', member.id).executeTakeFirstOrThrow()).lifecycle, 'active');
    // an export filed and cancelled with POST …/cancel
    const exp = await req('POST', `/users/${member.id}/privacy/export`);
    const c2 = await req('POST', `/users/${member.id}/privacy/${exp.json.privacy_request.id}/cancel`);
    assert.equal(c2.json.privacy_request.status, 'cancelled');
  });
});
