// Message-ID / Idempotency-Key replay (SPEC §4 "Idempotency"): a repeated
// mutating request gets the first answer again with Cached-Message: true and
// does nothing new; the same key with another body is a 409.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { call, createMemberViaApi, createTenant, memberBody, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

describe('Message-ID replay on PostgreSQL', () => {
  let t: TestApp;
  before(async () => {
    t = await postgresApp();
  });

  const countMembers = async (tenant: TestTenant) =>
    Number((await t.db.selectFrom('members').select((eb) => eb.fn.countAll().as('n')).where('retailer_id', '=', tenant.retailer_id).executeTakeFirstOrThrow()).n);
  const countTimeline = async (tenant: TestTenant) =>
    Number((await t.db.selectFrom('timeline_events').select((eb) => eb.fn.countAll().as('n')).where('retailer_id', '=', tenant.retailer_id).executeTakeFirstOrThrow()).n);

  for (const header of ['Message-ID', 'Idempotency-Key']) {
    it(`replays a repeated member creation with the same ${header}: same answer, cached-message: true, no second member`, async () => {
      const tenant = await createTenant(t.db);
      const key = randomUUID();
      const body = memberBody();
      const first = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core, [header]: key }, payload: body });
      assert.equal(first.status, 200, first.body);
      assert.equal(first.headers['cached-message'], undefined, 'the first answer is not a cached one');
      const members = await countMembers(tenant);
      const timeline = await countTimeline(tenant);
      for (let i = 0; i < 3; i++) {
        const again = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core, [header]: key }, payload: body });
        assert.equal(again.status, 200, again.body);
        assert.equal(again.headers['cached-message'], 'true');
        assert.match(String(again.headers['content-type']), /application\/json/);
        assert.equal(again.body, first.body);
        assert.equal(again.json.user.id, first.json.user.id);
      }
      assert.equal(await countMembers(tenant), members);
      assert.equal(await countTimeline(tenant), timeline);
      // without the header, the same body is a new request (and here a duplicate email)
      const fresh = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core }, payload: body });
      assert.equal(fresh.status, 409);
      assert.equal(fresh.headers['cached-message'], undefined);
    });
  }

  it('answers the same Message-ID with a different body with 409 message_id_conflict and does nothing', async () => {
    const tenant = await createTenant(t.db);
    const key = randomUUID();
    const firstBody = memberBody();
    const first = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core, 'message-id': key }, payload: firstBody });
    assert.equal(first.status, 200);
    const members = await countMembers(tenant);
    const other = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core, 'message-id': key }, payload: memberBody() });
    assert.equal(other.status, 409, other.body);
    assert.deepEqual(other.json, { status: 'error', errors: { code: 'message_id_conflict', message: other.json.errors.message } });
    assert.match(other.json.errors.message, /Message-ID/);
    assert.equal(other.headers['cached-message'], undefined);
    assert.equal(await countMembers(tenant), members);
    // the same key on another route is another request too
    const tags = await call(t.app, { method: 'POST', url: `${tenant.base}/users/${first.json.user.id}/tags`, headers: { authorization: tenant.core, 'idempotency-key': key }, payload: { tags: ['x'] } });
    assert.equal(tags.status, 409, tags.body);
    assert.equal(tags.json.errors.code, 'message_id_conflict');
    const live = await call(t.app, { method: 'GET', url: `${tenant.base}/users/${first.json.user.id}/tags`, headers: { authorization: tenant.core } });
    assert.deepEqual(live.json.tags, {});
    // and the first answer is still replayed for the first body
    const replay = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core, 'message-id': key }, payload: firstBody });
    assert.equal(replay.headers['cached-message'], 'true');
    assert.equal(replay.body, first.body);
  });

  it('applies a repeated tag drop and a repeated update once', async () => {
    const tenant = await createTenant(t.db);
    const member = await createMemberViaApi(t.app, tenant);
    const tagKey = randomUUID();
    const answers = [];
    for (let i = 0; i < 3; i++) {
      answers.push(await call(t.app, { method: 'POST', url: `${tenant.base}/users/${member.id}/tags`, headers: { authorization: tenant.core, 'Message-ID': tagKey }, payload: { tags: ['visit', 'promo'] } }));
    }
    assert.deepEqual(answers.map((a) => a.json.tags), [{ promo: 1, visit: 1 }, { promo: 1, visit: 1 }, { promo: 1, visit: 1 }]);
    assert.deepEqual(answers.map((a) => a.headers['cached-message']), [undefined, 'true', 'true']);
    const tags = await call(t.app, { method: 'GET', url: `${tenant.base}/users/${member.id}/tags`, headers: { authorization: tenant.core } });
    assert.deepEqual(tags.json.tags, { promo: 1, visit: 1 });
    // a new Message-ID is a new drop
    await call(t.app, { method: 'POST', url: `${tenant.base}/users/${member.id}/tags`, headers: { authorization: tenant.core, 'Message-ID': randomUUID() }, payload: { tags: ['visit', 'promo'] } });
    const after = await call(t.app, { method: 'GET', url: `${tenant.base}/users/${member.id}/tags`, headers: { authorization: tenant.core } });
    assert.deepEqual(after.json.tags, { promo: 2, visit: 2 });

    const putKey = randomUUID();
    const put1 = await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core, 'Idempotency-Key': putKey }, payload: { user: { user_profile: { visits: 1 } } } });
    assert.equal(put1.status, 200, put1.body);
    // someone else changes the member in between: the replay still answers the first result
    await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core }, payload: { user: { city: 'Elsewhere' } } });
    const put2 = await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core, 'Idempotency-Key': putKey }, payload: { user: { user_profile: { visits: 1 } } } });
    assert.equal(put2.headers['cached-message'], 'true');
    assert.equal(put2.body, put1.body);
    assert.equal(put2.json.user.city, member.city);
    const profileUpdates = await t.db.selectFrom('timeline_events').select('id').where('member_id', '=', member.id).where('event_type_id', '=', 190).execute();
    assert.equal(profileUpdates.length, 2, 'one PROFILE_UPDATE for the replayed PUT, one for the other change');
  });

  it('replays a repeated DELETE: the retry is told ok, not user_not_found', async () => {
    const tenant = await createTenant(t.db);
    const member = await createMemberViaApi(t.app, tenant);
    const key = randomUUID();
    const del = () => call(t.app, { method: 'DELETE', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core, 'message-id': key } });
    const first = await del();
    assert.equal(first.status, 200, first.body);
    const again = await del();
    assert.equal(again.status, 200, again.body);
    assert.equal(again.headers['cached-message'], 'true');
    const deletions = await t.db.selectFrom('timeline_events').select('id').where('member_id', '=', member.id).where('event_type_id', '=', 1001).execute();
    assert.equal(deletions.length, 1);
    const plain = await call(t.app, { method: 'DELETE', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core } });
    assert.equal(plain.status, 404);
    assert.equal(plain.json.errors.code, 'user_not_found');
  });

  it('replays a first answer that was an error the same way', async () => {
    const tenant = await createTenant(t.db);
    const taken = await createMemberViaApi(t.app, tenant);
    const key = randomUUID();
    const body = memberBody({ email: taken.email });
    const first = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core, 'message-id': key }, payload: body });
    assert.equal(first.status, 409);
    assert.equal(first.json.errors.code, 'duplicate_email');
    const again = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core, 'message-id': key }, payload: body });
    assert.equal(again.status, 409);
    assert.equal(again.headers['cached-message'], 'true');
    assert.equal(again.body, first.body);
  });

  it('keeps Message-IDs of different tenants independent', async () => {
    const a = await createTenant(t.db);
    const b = await createTenant(t.db);
    const key = `shared-${randomUUID()}`;
    const body = memberBody();
    const inA = await call(t.app, { method: 'POST', url: `${a.base}/users`, headers: { authorization: a.core, 'message-id': key }, payload: body });
    const inB = await call(t.app, { method: 'POST', url: `${b.base}/users`, headers: { authorization: b.core, 'message-id': key }, payload: body });
    assert.equal(inA.status, 200);
    assert.equal(inB.status, 200, inB.body);
    assert.equal(inB.headers['cached-message'], undefined, "B does not get A's answer");
    assert.notEqual(inB.json.user.id, inA.json.user.id);
    assert.equal(await countMembers(a), 1);
    assert.equal(await countMembers(b), 1);
    // a different body under the same key in B is B's own conflict, not A's
    const otherB = await call(t.app, { method: 'POST', url: `${b.base}/users`, headers: { authorization: b.core, 'message-id': key }, payload: memberBody() });
    assert.equal(otherB.status, 409);
    const againA = await call(t.app, { method: 'POST', url: `${a.base}/users`, headers: { authorization: a.core, 'message-id': key }, payload: body });
    assert.equal(againA.headers['cached-message'], 'true');
    assert.equal(againA.json.user.id, inA.json.user.id);
  });

  it('does not cache GET requests', async () => {
    const tenant = await createTenant(t.db);
    const member = await createMemberViaApi(t.app, tenant);
    const key = randomUUID();
    const first = await call(t.app, { method: 'GET', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core, 'message-id': key } });
    assert.equal(first.status, 200);
    await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core }, payload: { user: { first_name: 'Changed' } } });
    const second = await call(t.app, { method: 'GET', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core, 'message-id': key } });
    assert.equal(second.status, 200);
    assert.equal(second.headers['cached-message'], undefined);
    assert.equal(second.json.user.first_name, 'Changed');
    // a GET does not claim the key: a POST may use it afterwards
    const post = await call(t.app, { method: 'POST', url: `${tenant.base}/users/${member.id}/tags`, headers: { authorization: tenant.core, 'message-id': key }, payload: { tags: ['after-get'] } });
    assert.equal(post.status, 200, post.body);
    assert.equal(post.headers['cached-message'], undefined);
  });

  it('applies concurrent repeats of one Message-ID once', async () => {
    const tenant = await createTenant(t.db);
    const key = randomUUID();
    const body = memberBody();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core, 'message-id': key }, payload: body })),
    );
    assert.equal(await countMembers(tenant), 1);
    const ok = answers.filter((a) => a.status === 200);
    assert.ok(ok.length >= 1);
    assert.ok(ok.every((a) => a.json.user.id === ok[0].json.user.id));
    assert.ok(answers.every((a) => a.status === 200 || (a.status === 409 && a.json.errors.code === 'request_in_progress')), answers.map((a) => a.body).join('\n'));
  });

  it('forgets a Message-ID after the replay window', async () => {
    const short = await postgresApp({ replayWindowSeconds: 1 });
    const tenant = await createTenant(short.db);
    const member = await createMemberViaApi(short.app, tenant);
    const key = randomUUID();
    const drop = () => call(short.app, { method: 'POST', url: `${tenant.base}/users/${member.id}/tags`, headers: { authorization: tenant.core, 'message-id': key }, payload: { tags: ['windowed'] } });
    assert.deepEqual((await drop()).json.tags, { windowed: 1 });
    const cached = await drop();
    assert.equal(cached.headers['cached-message'], 'true');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const later = await drop();
    assert.equal(later.headers['cached-message'], undefined);
    assert.deepEqual(later.json.tags, { windowed: 2 });
  });
});
