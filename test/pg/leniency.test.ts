// What real integrations send (SPEC §4, API-NOTES "Real integrations") is
// accepted, and what they parse is exact: 200 on creation, no nulls where the
// examples show booleans or numbers, Core date formats.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { call, createMemberViaApi, createTenant, memberBody, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

const CORE_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

describe('lenient input and exact output on PostgreSQL', () => {
  let t: TestApp;
  let tenant: TestTenant;
  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
  });

  const get = (url: string) => call(t.app, { method: 'GET', url: `${tenant.base}${url}`, headers: { authorization: tenant.core } });
  const send = (method: 'POST' | 'PUT', url: string, payload: unknown) =>
    call(t.app, { method, url: `${tenant.base}${url}`, headers: { authorization: tenant.core }, payload: payload as object });

  it('reads empty strings as absent on create and on update', async () => {
    const created = await send('POST', '/users', memberBody({ gender: '', dob: '', address: '', address2: '  ', city: '', zip: '' }));
    assert.equal(created.status, 200, created.body);
    const user = created.json.user;
    assert.equal(user.gender, null);
    assert.equal(user.dob, null);
    assert.equal(user.address, null);
    assert.equal(user.city, null);

    const member = await createMemberViaApi(t.app, tenant, { gender: 'f', dob: '1980-05-06', address: '1 Main St' });
    const updated = await send('PUT', `/users/${member.id}`, { user: { gender: '', dob: '', address: '', first_name: 'Renamed' } });
    assert.equal(updated.status, 200, updated.body);
    assert.equal(updated.json.user.first_name, 'Renamed');
    assert.equal(updated.json.user.gender, 'f', 'an empty gender leaves the stored one');
    assert.equal(updated.json.user.dob, '1980-05-06');
    assert.equal(updated.json.user.address, '1 Main St');
    // an empty external id is no external id
    const noExt = await send('POST', '/users', memberBody({ external_id: '', external_id_type: '' }));
    assert.equal(noExt.status, 200, noExt.body);
    assert.equal(noExt.json.user.external_id, null);
    assert.deepEqual(noExt.json.user.identifiers, []);
  });

  it('reads null fields as absent (strict clients send unset fields as null), except in user_profile where null removes', async () => {
    const created = await send('POST', '/users', { user: { external_id: `NULLS-${Date.now()}`, email: null, dob: null, gender: null, opted_in: null, phone_numbers: null, user_profile: { colour: 'red', size: null } } });
    assert.equal(created.status, 200, created.body);
    const user = created.json.user;
    assert.equal(user.email, null);
    assert.equal(user.dob, null);
    assert.equal(user.gender, null);
    assert.equal(user.opted_in, false);
    assert.deepEqual(user.user_profile, { _version: 1, colour: 'red' });

    const member = await createMemberViaApi(t.app, tenant, { opted_in: true, user_profile: { colour: 'red', size: 'L' } });
    const updated = await send('PUT', `/users/${member.id}`, {
      user: { first_name: 'Nulled', last_name: null, email: null, dob: null, gender: null, opted_in: null, test_account: null, phone_numbers: [{ phone_number: '1112223333', phone_type: null, verified_ownership: null }], user_profile: { size: null } },
    });
    assert.equal(updated.status, 200, updated.body);
    const u = updated.json.user;
    assert.equal(u.first_name, 'Nulled');
    assert.equal(u.last_name, member.last_name);
    assert.equal(u.email, member.email);
    assert.equal(u.dob, member.dob);
    assert.equal(u.gender, member.gender);
    assert.equal(u.opted_in, true, 'a null opted_in does not opt the member out');
    assert.equal(u.phone_numbers[0].phone_type, 'mobile');
    assert.deepEqual(u.user_profile, { _version: 2, colour: 'red' });

    const tags = await send('POST', `/users/${member.id}/tags`, { tags: ['nullttl'], ttl: null });
    assert.equal(tags.status, 200, tags.body);
    await send('POST', `/users/${member.id}/tags`, { tags: ['nullttl'], ttl: null });
    assert.deepEqual((await get(`/users/${member.id}/tags`)).json.tags, { nullttl: 2 });
  });

  it('accepts booleans sent as strings', async () => {
    const yes = await send('POST', '/users', memberBody({ opted_in: 'true' }));
    assert.equal(yes.json.user.opted_in, true);
    const no = await send('POST', '/users', memberBody({ opted_in: 'false' }));
    assert.equal(no.status, 200, no.body);
    assert.equal(no.json.user.opted_in, false);
    const flipped = await send('PUT', `/users/${no.json.user.id}`, { user: { opted_in: 'true', test_account: 'true' } });
    assert.equal(flipped.json.user.opted_in, true);
    assert.equal(flipped.json.user.test_account, true);
    const again = await get(`/users/${no.json.user.id}`);
    assert.equal(again.json.user.opted_in, true);
  });

  it('finds a member by its id in upper case on every member route', async () => {
    const member = await createMemberViaApi(t.app, tenant);
    const upper = member.id.toUpperCase();
    assert.notEqual(upper, member.id);
    const got = await get(`/users/${upper}`);
    assert.equal(got.status, 200, got.body);
    assert.equal(got.json.user.id, member.id);
    const tagged = await send('POST', `/users/${upper}/tags`, { tags: ['upper'] });
    assert.equal(tagged.status, 200, tagged.body);
    assert.deepEqual((await get(`/users/${member.id}/tags`)).json.tags, { upper: 1 });
    const put = await send('PUT', `/users/${upper}`, { user: { city: 'Upperton' } });
    assert.equal(put.json.user.city, 'Upperton');
    const timeline = await get(`/users/${upper}/timelines/END_USER_MEMBER_STATEMENT`);
    assert.equal(timeline.status, 200);
    assert.ok(timeline.json.count >= 3);
    const several = await get(`/users?user_ids[]=${upper}`);
    assert.deepEqual(several.json.users.map((u: any) => u.id), [member.id]);
    // the external id compares case-insensitively too
    const ext = await get(`/external/users/${member.external_id.toLowerCase()}`);
    assert.equal(ext.status, 200, ext.body);
    assert.equal(ext.json.user.id, member.id);
    const del = await call(t.app, { method: 'DELETE', url: `${tenant.base}/users/${upper}`, headers: { authorization: tenant.core } });
    assert.equal(del.status, 200, del.body);
    assert.equal((await get(`/users/${member.id}`)).status, 404);
  });

  it('accepts a trailing slash on paths', async () => {
    const created = await send('POST', '/users/', memberBody());
    assert.equal(created.status, 200, created.body);
    const id = created.json.user.id;
    assert.equal((await get(`/users/${id}/`)).json.user.id, id);
    assert.equal((await send('PUT', `/users/${id}/`, { user: { city: 'Slashville' } })).json.user.city, 'Slashville');
    assert.equal((await send('POST', `/users/${id}/tags/`, { tags: ['slash'] })).status, 200);
    assert.deepEqual((await get(`/users/${id}/tags/`)).json.tags, { slash: 1 });
    assert.equal((await get(`/users/${id}/timelines/END_USER_MEMBER_STATEMENT/`)).status, 200);
    assert.equal((await get(`/users/search/?email=${encodeURIComponent(created.json.user.email)}`)).json.user.id, id);
    assert.equal((await get(`/external/users/${created.json.user.external_id}/`)).json.user.id, id);
  });

  it('reads a second ? in the query as &', async () => {
    const member = await createMemberViaApi(t.app, tenant, { user_profile: { colour: 'teal' } });
    const res = await get(`/users/${member.id}?show_identifiers=true?user[user_profile]=true`);
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(res.json.user.identifiers, [{ external_id: member.external_id, external_id_type: 'merchant_identifier' }]);
    assert.equal(res.json.user.user_profile.colour, 'teal');
    const search = await get(`/users/search?email=${encodeURIComponent(member.email)}?show_identifiers=true`);
    assert.equal(search.json.user.id, member.id);
    assert.ok(Array.isArray(search.json.user.identifiers));
    // without the flags, neither block is there
    const plain = await get(`/users/${member.id}`);
    assert.equal('identifiers' in plain.json.user, false);
    assert.equal('user_profile' in plain.json.user, false);
  });

  it('reads bracketed query keys raw or percent-encoded', async () => {
    const m1 = await createMemberViaApi(t.app, tenant, { user_profile: { colour: 'red' } });
    const m2 = await createMemberViaApi(t.app, tenant);
    for (const query of ['user[user_profile]=true', 'user%5Buser_profile%5D=true', 'user%5buser_profile%5d=true']) {
      const res = await get(`/users/${m1.id}?${query}`);
      assert.equal(res.json.user.user_profile?.colour, 'red', query);
    }
    for (const query of [`user_ids[]=${m1.id}&user_ids[]=${m2.id}`, `user_ids%5B%5D=${m1.id}&user_ids%5B%5D=${m2.id}`, `user_ids%5B%5D=${m1.id}&user_ids[]=${m2.id}`]) {
      const res = await get(`/users?${query}`);
      assert.equal(res.status, 200, `${query}: ${res.body}`);
      assert.deepEqual(res.json.users.map((u: any) => u.id).sort(), [m1.id, m2.id].sort(), query);
    }
  });

  it('creates members with an external id and no email', async () => {
    const one = await send('POST', '/users', { user: { external_id: `NOMAIL-${Date.now()}`, external_id_type: 'user_id', first_name: 'Nomail' } });
    assert.equal(one.status, 200, one.body);
    assert.equal(one.json.user.email, null);
    const two = await send('POST', '/users', { user: { external_id: `NOMAIL2-${Date.now()}`, email: '' } });
    assert.equal(two.status, 200, two.body);
    assert.equal(two.json.user.email, null);
    const found = await get(`/external/users/${one.json.user.external_id}`);
    assert.equal(found.json.user.id, one.json.user.id);
    assert.equal(found.json.user.identifiers, undefined);
    const byType = await get(`/users/search?external_id=${one.json.user.external_id}&external_id_type=user_id&show_identifiers=true`);
    assert.deepEqual(byType.json.user.identifiers, [{ external_id: one.json.user.external_id, external_id_type: 'user_id' }]);
  });

  it('accepts parked withdrawal emails and still keeps them unique', async () => {
    const email = 'x@y.com.delete_250601120000';
    const res = await send('POST', '/users', memberBody({ email }));
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.user.email, email);
    const member = await createMemberViaApi(t.app, tenant, { email: 'withdrawn@example.com' });
    const parked = await send('PUT', `/users/${member.id}`, { user: { email: 'withdrawn@example.com.delete_250601120001' } });
    assert.equal(parked.status, 200, parked.body);
    assert.equal(parked.json.user.email, 'withdrawn@example.com.delete_250601120001');
    // the old address is free again
    const again = await send('POST', '/users', memberBody({ email: 'withdrawn@example.com' }));
    assert.equal(again.status, 200, again.body);
    assert.equal((await send('POST', '/users', memberBody({ email }))).status, 409);
  });

  it('ignores a password field (and other unknown fields) in the user body', async () => {
    const res = await send('POST', '/users', { ...memberBody({ password: 'hunter2-secret', password_confirmation: 'hunter2-secret', favourite: 'x' }), extra: true });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.body.includes('hunter2'), false);
    assert.equal('password' in res.json.user, false);
    const update = await send('PUT', `/users/${res.json.user.id}`, { user: { password: 'another-secret', city: 'Pwdtown' } });
    assert.equal(update.status, 200, update.body);
    assert.equal(update.json.user.city, 'Pwdtown');
    const row = await t.db.selectFrom('members').selectAll().where('id', '=', res.json.user.id).executeTakeFirstOrThrow();
    assert.equal(JSON.stringify(row).includes('secret'), false, 'the password is not stored anywhere on the member');
  });

  it('decodes \\u002B-style escapes in JSON strings', async () => {
    const n = Date.now();
    const raw = `{"user":{"email":"first\\u002Blast.${n}@example.com","first_name":"Jos\\u00E9","external_id":"PLUS\\u002B${n}"}}`;
    const res = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core, 'content-type': 'application/json' }, payload: raw });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.user.email, `first+last.${n}@example.com`);
    assert.equal(res.json.user.first_name, 'José');
    const found = await get(`/users/search?email=${encodeURIComponent(`first+last.${n}@example.com`)}`);
    assert.equal(found.json.user.id, res.json.user.id);
    const ext = await get(`/external/users/${encodeURIComponent(`PLUS+${n}`)}`);
    assert.equal(ext.json.user.id, res.json.user.id);
  });

  it('answers 200, never 201, on creation, with booleans and numbers never null and Core date formats', async () => {
    const minimal = await send('POST', '/users', { user: { external_id: `MIN-${Date.now()}` } });
    assert.equal(minimal.status, 200, minimal.body);
    const full = await send('POST', '/users', memberBody({ dob: '1975-12-31T00:00:00Z' }));
    assert.equal(full.status, 200);
    assert.equal(full.json.user.dob, '1975-12-31');
    const tagged = await send('POST', `/users/${full.json.user.id}/tags`, { tags: ['fresh'] });
    assert.equal(tagged.status, 200);
    for (const res of [minimal, full, await get(`/users/${minimal.json.user.id}`), await get(`/external/users/${full.json.user.external_id}?show_identifiers=true&user[user_profile]=true&expand_incentives=true`)]) {
      const user = res.json.user;
      assert.equal(res.json.status, 'ok');
      for (const key of ['opted_in', 'activated', 'suspended', 'test_account']) assert.equal(typeof user[key], 'boolean', `${key} is a boolean`);
      for (const key of ['available_points', 'test_points', 'unclaimed_achievement_count']) assert.ok(Number.isInteger(user[key]), `${key} is an integer`);
      for (const key of ['created_at', 'updated_at', 'registered_at']) assert.match(user[key], CORE_TIME, key);
      assert.ok(user.dob === null || /^\d{4}-\d{2}-\d{2}$/.test(user.dob), `dob ${user.dob}`);
      assert.equal(typeof user.profile_photo_url, 'string');
      // phone_numbers is left out when there are none (clients read its first element)
      assert.ok((user.phone_numbers === undefined || user.phone_numbers.length > 0) && Array.isArray(user.proxy_ids));
      for (const p of user.phone_numbers ?? []) assert.equal(typeof p.verified_ownership, 'boolean');
      assert.equal(typeof user.account_status, 'string');
      assert.equal(typeof user.referrer_code, 'string');
      // integers are written as integer literals
      assert.doesNotMatch(res.body, /"(available_points|test_points|_version)":\d+\.\d/);
    }
    assert.equal(minimal.json.user.opted_in, false);
    assert.equal(minimal.json.user.email, null);
    assert.equal(full.json.user.user_profile._version, 1);
    const timeline = await get(`/users/${full.json.user.id}/timelines/END_USER_MEMBER_STATEMENT`);
    for (const entry of timeline.json.result) {
      assert.ok(Number.isInteger(entry.timestamp) && entry.timestamp > 1e12, 'timestamp in ms');
      assert.ok(Number.isInteger(entry.created_at) && entry.created_at < 1e11, 'created_at in s');
      assert.ok(Number.isInteger(entry.target_id));
      assert.match(entry.event_stream_stream_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
  });
});
