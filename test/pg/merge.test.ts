// Account merge (SPEC §5.11, collection 1.2.x): the victim's points, lifetime
// values, offers, identifiers, tags, progress and history go to the survivor;
// the victim is found nowhere; refusals have clear codes.
import { transact } from '../../src/db/unit-of-work.js';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { DEMO_MERGE_ID, DEMO_SURVIVOR_ID } from '../../src/modules/merge/demo.js';
import { seedDemoMerge } from '../../src/flows/merge-members.js';
import { createMember } from '../../src/modules/members/service.js';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { historyProgram, memberWithHistory, type Program } from '../support/privacy.js';
import { processPrivacyRequest } from '../../src/flows/privacy.js';

describe('account merge on PostgreSQL', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let program: Program;
  before(async () => {
    t = await postgresApp({ privacyGraceSeconds: 0 });
    tenant = await createTenant(t.db);
    program = await historyProgram(t, tenant);
  });
  const req = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    call(t.app, { method, url: `${tenant.base}${url}`, headers: { authorization: tenant.core }, ...(payload ? { payload: payload as object } : {}) });
  const core = (url: string) => call(t.app, { method: 'GET', url: `${tenant.base}${url}`, headers: { authorization: tenant.core } });
  const merge = (survivorExt: string, victimExt: string) => req('POST', `/external/users/${survivorExt}/merge_accounts`, { merge_account: { external_id: victimExt } });
  const balances = async (memberId: string) =>
    Object.fromEntries(
      (await t.db.selectFrom('member_point_accounts').select(['point_account_id', 'available_balance', 'life_time_value']).where('member_id', '=', memberId).execute()).map((r) => [
        r.point_account_id,
        [Number(r.available_balance), Number(r.life_time_value)],
      ]),
    );

  it('1.2.1 merges two members with full histories; 1.2.2 reads the merge back', async () => {
    const s = await memberWithHistory(t, tenant, program);
    const v = await memberWithHistory(t, tenant, program);
    const res = await merge(s.personal.external_id, v.personal.external_id);
    assert.equal(res.status, 200, res.body);
    const m = res.json.merge_account;
    assert.equal(m.status, 'finished');
    assert.equal(m.survivor_user_id, s.user.id);
    assert.equal(m.victim_user_id, v.user.id);
    assert.equal(m.victim_external_id, v.personal.external_id);
    // points and lifetime values add up on the survivor; the victim ends at zero
    assert.deepEqual(await balances(s.user.id), { [program.points.spendable]: [400, 500], [program.points.tier]: [240, 240] });
    assert.deepEqual(await balances(v.user.id), { [program.points.spendable]: [0, 0], [program.points.tier]: [0, 0] });
    const ledger = await t.db.selectFrom('point_ledger').select(['member_id', 'modification_type', 'amount', 'balance_after']).where('reference_id', '=', m.id).orderBy('id').execute();
    assert.deepEqual(ledger.map((l) => [l.member_id === s.user.id ? 's' : 'v', l.modification_type, Number(l.amount), Number(l.balance_after)]).sort(), [
      ['s', 'merge_in', 120, 240],
      ['s', 'merge_in', 200, 400],
      ['v', 'merge_out', -120, 0],
      ['v', 'merge_out', -200, 0],
    ]);
    // every member's ledger still sums to its balances
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM member_point_accounts a
       WHERE a.retailer_id = ${tenant.retailer_id}
         AND a.available_balance <> (SELECT coalesce(sum(amount), 0) FROM point_ledger l WHERE l.retailer_id = a.retailer_id AND l.member_id = a.member_id AND l.point_account_id = a.point_account_id)`.execute(t.db);
    assert.equal(Number(rows[0].n), 0);
    // offers, identifiers, tags, progress and history sit with the survivor
    const offers = await t.db.selectFrom('user_offers').select('member_id').where('id', 'in', [s.userOfferId!, v.userOfferId!]).execute();
    assert.ok(offers.every((o) => o.member_id === s.user.id));
    const survivor = await core(`/users/${s.user.id}?show_identifiers=true`);
    assert.deepEqual(survivor.json.user.identifiers.map((i: any) => i.external_id), [s.personal.external_id, v.personal.external_id]);
    const tags = (await core(`/users/${s.user.id}/tags`)).json.tags;
    assert.equal(tags.vip, 2);
    assert.equal(tags[`tag-${v.personal.email}`], 1);
    const events = await t.db.selectFrom('member_events').select('member_id').where('retailer_id', '=', tenant.retailer_id).where('member_id', 'in', [s.user.id, v.user.id]).execute();
    assert.equal(events.length, 2);
    assert.ok(events.every((e) => e.member_id === s.user.id));
    const merged = await t.db.selectFrom('timeline_events').select('member_id').where('event_type_id', '=', 175).where('member_id', 'in', [s.user.id, v.user.id]).execute();
    assert.equal(merged.length, 2);
    // the victim is found nowhere
    assert.equal((await core(`/users/${v.user.id}`)).status, 404);
    assert.equal((await core(`/external/users/${v.personal.external_id}`)).json.user.id, s.user.id);
    assert.equal((await core(`/users/search?email=${encodeURIComponent(v.personal.email)}`)).json?.user?.id ?? null, null);
    // 1.2.2
    const read = await req('GET', `/external/users/${s.personal.external_id}/merge_accounts/${m.id}`);
    assert.equal(read.status, 200, read.body);
    assert.deepEqual(read.json.merge_account, { ...m });
    // under another survivor: not found
    const other = await createMemberViaApi(t.app, tenant);
    assert.equal((await req('GET', `/external/users/${other.external_id}/merge_accounts/${m.id}`)).json.errors.code, 'merge_not_found');
    // twice: refused
    const twice = await merge(s.personal.external_id, v.personal.external_id);
    assert.equal(twice.status, 409, twice.body);
    assert.equal(twice.json.errors.code, 'already_merged');
    const byId = await req('POST', `/external/users/${s.personal.external_id}/merge_accounts`, { merge_account: { user_id: v.user.id } });
    assert.equal(byId.json.errors.code, 'already_merged');
  });

  it('re-evaluates the survivor tier with the merged tier points', async () => {
    const { tierProgram } = await import('../support/factories.js');
    const tiers = await tierProgram(t.db, tenant.retailer_id, program.points.tier);
    const s = await memberWithHistory(t, tenant, program);
    const v = await memberWithHistory(t, tenant, program);
    const res = await merge(s.personal.external_id, v.personal.external_id);
    assert.equal(res.status, 200, res.body);
    const level = await t.db.selectFrom('member_tiers').select('tier_level_id').where('member_id', '=', s.user.id).where('tier_system_id', '=', tiers.system).executeTakeFirstOrThrow();
    assert.equal(level.tier_level_id, tiers.levels.silver);
  });

  it('refuses a merge into itself, into or of a forgotten member, and unknown members', async () => {
    const a = await createMemberViaApi(t.app, tenant);
    const self = await merge(a.external_id, a.external_id);
    assert.equal(self.status, 422);
    assert.equal(self.json.errors.code, 'merge_into_self');
    const unknown = await merge(a.external_id, 'NO-SUCH-MEMBER');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.errors.code, 'user_not_found');
    const missing = await req('POST', `/external/users/${a.external_id}/merge_accounts`, { merge_account: {} });
    assert.equal(missing.status, 400);
    // a forgotten member (grace 0: the request is due at once)
    const f = await createMemberViaApi(t.app, tenant);
    const filed = await req('POST', `/users/${f.id}/privacy/forget`);
    await transact(t.db, (tx) => processPrivacyRequest(tx, tenant.retailer_id, filed.json.privacy_request.id));
    const into = await req('POST', `/external/users/${f.id}/merge_accounts`, { merge_account: { external_id: a.external_id } });
    assert.equal(into.json.errors.code, 'member_forgotten');
    const of = await req('POST', `/external/users/${a.external_id}/merge_accounts`, { merge_account: { user_id: f.id } });
    assert.equal(of.json.errors.code, 'member_forgotten');
    // into a merged member
    const b = await createMemberViaApi(t.app, tenant);
    const c = await createMemberViaApi(t.app, tenant);
    assert.equal((await merge(a.external_id, b.external_id)).status, 200);
    const intoMerged = await req('POST', `/external/users/${b.id}/merge_accounts`, { merge_account: { external_id: c.external_id } });
    assert.equal(intoMerged.json.errors.code, 'member_merged');
  });

  it('seedDemoMerge creates the finished demo merge under the survivor, once', async () => {
    const demo = await createTenant(t.db);
    await transact(t.db, (tx) => createMember(tx, demo.actor, { id: DEMO_SURVIVOR_ID, email: 'survivor@brandx.example', identifiers: [{ external_id: 'BRANDX-SURVIVOR-001' }] }));
    await transact(t.db, (tx) => seedDemoMerge(tx, demo.actor));
    await transact(t.db, (tx) => seedDemoMerge(tx, demo.actor));
    const res = await call(t.app, { method: 'GET', url: `/priv/v1/apps/${demo.appkey}/external/users/BRANDX-SURVIVOR-001/merge_accounts/${DEMO_MERGE_ID}`, headers: { authorization: demo.core } });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.merge_account.status, 'finished');
    assert.equal(res.json.merge_account.survivor_user_id, DEMO_SURVIVOR_ID);
  });
});
