import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { call, createMemberViaApi, createTenant, memberBody, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

describe('members on PostgreSQL', () => {
  let t: TestApp;
  let tenant: TestTenant;
  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
  });

  it('creates a member with 200 and the Core shape of 1.1.1', async () => {
    const res = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core }, payload: memberBody({ email: 'Marcus@Example.com' }) });
    assert.equal(res.status, 200);
    assert.equal(res.json.status, 'ok');
    const user = res.json.user;
    assert.equal(user.opted_in, true);
    assert.equal(user.email, 'Marcus@Example.com');
    assert.match(user.created_at, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    assert.equal(user.dob, '1991-01-01');
    assert.deepEqual(user.identifiers, [{ external_id: user.external_id, external_id_type: 'merchant_identifier' }]);
    assert.deepEqual(user.user_profile, { _version: 1, partner: ['root'] });
    assert.equal(user.phone_numbers[0].verified_ownership, false);
    assert.match(user.referrer_code, /^MARCUSM-[0-9A-F]{6}-[0-9A-F]{6}$/);
  });

  it('refuses a second member with the same email, in any case', async () => {
    await createMemberViaApi(t.app, tenant, { email: 'dup@example.com' });
    const res = await call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core }, payload: memberBody({ email: 'DUP@example.com' }) });
    assert.equal(res.status, 409);
    assert.deepEqual(res.json, { status: 'error', errors: { code: 'duplicate_email', message: 'email: a member with this email already exists' } });
  });

  it('leaves exactly one member when two creates with one external id race', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 8 }, () => call(t.app, { method: 'POST', url: `${tenant.base}/users`, headers: { authorization: tenant.core }, payload: memberBody({ external_id: 'RACE-1' }) })),
    );
    assert.equal(attempts.filter((r) => r.status === 200).length, 1);
    assert.ok(attempts.filter((r) => r.status !== 200).every((r) => r.status === 409 && r.json.errors.code === 'duplicate_external_id'));
    const found = await call(t.app, { method: 'GET', url: `${tenant.base}/users/search?external_id=race-1`, headers: { authorization: tenant.core } });
    assert.equal(found.status, 200);
  });
});

describe('member profiles, search and lifecycle on PostgreSQL', () => {
  let t: TestApp;
  before(async () => {
    t = await postgresApp();
  });

  const api = (tenant: TestTenant) => ({
    get: (url: string) => call(t.app, { method: 'GET', url: `${tenant.base}${url}`, headers: { authorization: tenant.core } }),
    send: (method: 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
      call(t.app, { method, url: `${tenant.base}${url}`, headers: { authorization: tenant.core }, ...(payload === undefined ? {} : { payload: payload as object }) }),
  });
  const timelineOf = async (tenant: TestTenant, memberId: string, filter = '') =>
    (await api(tenant).get(`/users/${memberId}/timelines/END_USER_MEMBER_STATEMENT?count=1000${filter}`)).json.result as any[];

  it('merges custom profile attributes on update, bumps _version and records PROFILE_UPDATE with the changed names', async () => {
    const tenant = await createTenant(t.db);
    const { get, send } = api(tenant);
    const member = await createMemberViaApi(t.app, tenant, { user_profile: { partner: ['root'], colour: 'red' } });
    assert.equal(member.user_profile._version, 1);

    const res = await send('PUT', `/users/${member.id}`, { user: { first_name: 'Marco', user_profile: { colour: 'blue', size: 'L' } } });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.status, 'ok');
    // the whole profile comes back, the custom profile merged
    assert.deepEqual(res.json.user.user_profile, { _version: 2, partner: ['root'], colour: 'blue', size: 'L' });
    assert.equal(res.json.user.first_name, 'Marco');
    assert.equal(res.json.user.last_name, member.last_name);
    assert.equal(res.json.user.email, member.email);
    assert.deepEqual(res.json.user.phone_numbers, member.phone_numbers);

    const updates = await timelineOf(tenant, member.id, '&event_types=PROFILE_UPDATE');
    assert.equal(updates.length, 1);
    assert.equal(updates[0].event_stream_event_type_id, 190);
    assert.deepEqual([...updates[0].event_stream_payload.updated_attrs].sort(), ['first_name', 'user_profile.colour', 'user_profile.size']);

    // null removes an attribute; a standard-only change keeps _version
    const removed = await send('PUT', `/users/${member.id}`, { user: { user_profile: { size: null } } });
    assert.deepEqual(removed.json.user.user_profile, { _version: 3, partner: ['root'], colour: 'blue' });
    const city = await send('PUT', `/users/${member.id}`, { user: { city: 'Boston' } });
    assert.equal(city.json.user.user_profile._version, 3);
    assert.equal(city.json.user.city, 'Boston');

    // sending what is already stored changes nothing and writes nothing
    const before = await get(`/users/${member.id}?user[user_profile]=true`);
    const same = await send('PUT', `/users/${member.id}`, { user: { city: 'Boston', user_profile: { colour: 'blue' } } });
    assert.equal(same.status, 200);
    assert.equal(same.json.user.updated_at, before.json.user.updated_at);
    assert.equal(same.json.user.user_profile._version, 3);
    const all = await timelineOf(tenant, member.id, '&event_types=PROFILE_UPDATE');
    assert.equal(all.length, 3);
    assert.deepEqual(all.map((e) => e.event_stream_payload.updated_attrs), [['city'], ['user_profile.size'], updates[0].event_stream_payload.updated_attrs]);
    const stored = await get(`/users/${member.id}?user[user_profile]=true`);
    assert.deepEqual(stored.json.user.user_profile, { _version: 3, partner: ['root'], colour: 'blue' });
  });

  it('takes back the user object as read without changing anything (round trip)', async () => {
    const tenant = await createTenant(t.db);
    const { get, send } = api(tenant);
    const member = await createMemberViaApi(t.app, tenant, { user_profile: { partner: ['root'], colour: 'red' } });
    for (const query of ['', '?show_identifiers=true&user[user_profile]=true&expand_incentives=true']) {
      const read = await get(`/users/${member.id}${query}`);
      const put = await send('PUT', `/users/${member.id}`, { user: read.json.user });
      assert.equal(put.status, 200, put.body);
      assert.equal(put.json.user.updated_at, member.updated_at, query);
    }
    const again = await get(`/users/${member.id}?show_identifiers=true&user[user_profile]=true`);
    assert.deepEqual(again.json.user.identifiers, member.identifiers, 'the echoed external_id is not added a second time');
    assert.deepEqual(again.json.user.user_profile, { _version: 1, partner: ['root'], colour: 'red' });
    assert.equal(again.json.user.profile_photo_url, member.profile_photo_url);
    assert.deepEqual(await timelineOf(tenant, member.id, '&event_types=PROFILE_UPDATE'), [], 'an unchanged profile writes no PROFILE_UPDATE');
    // _version stays the server's counter even when a client sends one
    const bumped = await send('PUT', `/users/${member.id}`, { user: { user_profile: { _version: 1, colour: 'green' } } });
    assert.deepEqual(bumped.json.user.user_profile, { _version: 2, partner: ['root'], colour: 'green' });
    const bumpedAgain = await send('PUT', `/users/${member.id}`, { user: { user_profile: { _version: 99, colour: 'blue' } } });
    assert.equal(bumpedAgain.json.user.user_profile._version, 3);
    const created = await createMemberViaApi(t.app, tenant, { user_profile: { _version: 7, colour: 'red' } });
    assert.deepEqual(created.user_profile, { _version: 1, colour: 'red' });
  });

  it('replaces phone numbers and refuses to take another member\'s email on update', async () => {
    const tenant = await createTenant(t.db);
    const { send } = api(tenant);
    const one = await createMemberViaApi(t.app, tenant);
    const two = await createMemberViaApi(t.app, tenant);
    const phones = await send('PUT', `/users/${one.id}`, { user: { phone_numbers: [{ phone_number: '617-555-0100', phone_type: 'home', verified_ownership: 'true' }] } });
    assert.deepEqual(phones.json.user.phone_numbers, [{ phone_number: '617-555-0100', phone_type: 'home', preference_flags: [], verified_ownership: true }]);
    // the same number with another type, flags or verification is a change too
    const kept = await createMemberViaApi(t.app, tenant);
    const verified = await send('PUT', `/users/${kept.id}`, { user: { phone_numbers: [{ phone_number: '1112223333', phone_type: 'work', preference_flags: ['sms'], verified_ownership: true }] } });
    assert.deepEqual(verified.json.user.phone_numbers, [{ phone_number: '1112223333', phone_type: 'work', preference_flags: ['sms'], verified_ownership: true }]);
    const reread = await api(tenant).get(`/users/${kept.id}`);
    assert.deepEqual(reread.json.user.phone_numbers, verified.json.user.phone_numbers);
    const phoneUpdates = await timelineOf(tenant, kept.id, '&event_types=PROFILE_UPDATE');
    assert.deepEqual(phoneUpdates.map((e) => e.event_stream_payload.updated_attrs), [['phone_numbers']]);
    const taken = await send('PUT', `/users/${one.id}`, { user: { email: two.email.toUpperCase() } });
    assert.equal(taken.status, 409);
    assert.equal(taken.json.errors.code, 'duplicate_email');
    assert.equal((await api(tenant).get(`/users/${one.id}`)).json.user.email, one.email);
  });

  it('searches one member by email, external_id and mobile_number', async () => {
    const tenant = await createTenant(t.db);
    const { get } = api(tenant);
    const member = await createMemberViaApi(t.app, tenant, { email: 'Search.Me@Example.com', phone_numbers: [{ phone_number: '(617) 555-0142', phone_type: 'mobile' }] });
    await createMemberViaApi(t.app, tenant);
    for (const query of [
      'email=search.me@example.com',
      'email=SEARCH.ME%40EXAMPLE.COM',
      `external_id=${member.external_id}`,
      `external_id=${member.external_id.toLowerCase()}&external_id_type=merchant_identifier`,
      'mobile_number=6175550142',
      'mobile_number=617.555.0142',
      'mobile_number=%28617%29%20555-0142',
    ]) {
      const res = await get(`/users/search?${query}`);
      assert.equal(res.status, 200, `${query}: ${res.body}`);
      assert.equal(res.json.user.id, member.id, query);
    }
    const withIds = await get(`/users/search?email=search.me@example.com&show_identifiers=true&user[user_profile]=true`);
    assert.deepEqual(withIds.json.user.identifiers, [{ external_id: member.external_id, external_id_type: 'merchant_identifier' }]);
    assert.deepEqual(withIds.json.user.user_profile, { _version: 1, partner: ['root'] });
    const incentives = await get(`/users/search?external_id=${member.external_id}&expand_incentives=true`);
    assert.equal(incentives.json.user.tier_details.point_account_balances.user_id, member.id);
    for (const query of ['email=nobody@example.com', 'external_id=NOPE', 'mobile_number=0000000000', `external_id=${member.external_id}&external_id_type=user_id`]) {
      const res = await get(`/users/search?${query}`);
      assert.equal(res.status, 404, query);
      assert.deepEqual(res.json, { status: 'error', errors: { code: 'user_not_found', message: res.json.errors.message } });
    }
  });

  it('searches members by name with sort, limit and total_count, masking phone numbers', async () => {
    const tenant = await createTenant(t.db);
    const { get } = api(tenant);
    const made = [];
    for (const first of ['Ann', 'Bob', 'Cy', 'Ann']) made.push(await createMemberViaApi(t.app, tenant, { first_name: first, last_name: 'Searchable' }));
    await createMemberViaApi(t.app, tenant, { first_name: 'Ann', last_name: 'Other' });
    const byUserId = [...made].sort((x, y) => (x.id < y.id ? -1 : 1));

    const res = await get('/users/search_users?last_name=searchable&sort=user_id&limit=2');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.status, 'ok');
    assert.equal(res.json.total_count, 4);
    assert.equal(res.json.players.length, 2);
    assert.deepEqual(res.json.players.map((p: any) => p.user_id), byUserId.slice(0, 2).map((m) => m.id));
    const player = res.json.players[0];
    const source = byUserId[0];
    assert.ok(Number.isInteger(player.id));
    assert.equal(player.first_name, source.first_name);
    assert.equal(player.last_name, 'Searchable');
    assert.equal(player.email, source.email);
    assert.equal(player.dob, '1991-01-01');
    assert.equal(player.yob, 1991);
    assert.deepEqual(player.masked_phone_numbers, ['XXX-XXX-3333']);
    assert.equal(JSON.stringify(res.json).includes('1112223333'), false, 'the full number is never shown');
    assert.deepEqual(player.external_ids, [source.external_id]);

    const anns = await get('/users/search_users?first_name=ANN&last_name=Searchable&sort=user_id');
    assert.equal(anns.json.total_count, 2);
    assert.deepEqual(anns.json.players.map((p: any) => p.user_id), byUserId.filter((m) => m.first_name === 'Ann').map((m) => m.id));
    const firstOnly = await get('/users/search_users?first_name=Ann');
    assert.equal(firstOnly.json.total_count, 3);
    const byName = await get('/users/search_users?last_name=Searchable&sort=first_name&limit=10');
    assert.deepEqual(byName.json.players.map((p: any) => p.first_name), ['Ann', 'Ann', 'Bob', 'Cy']);
    const none = await get('/users/search_users?last_name=Nobody');
    assert.deepEqual({ total: none.json.total_count, players: none.json.players }, { total: 0, players: [] });
    const byEmail = await get(`/users/search_users?email=${encodeURIComponent(made[2].email)}`);
    assert.deepEqual(byEmail.json.players.map((p: any) => p.user_id), [made[2].id]);
    const byPhone = await get('/users/search_users?mobile_number=111-222-3333&last_name=Searchable');
    assert.equal(byPhone.json.total_count, 4);
  });

  it('gets several members with user_ids[]', async () => {
    const tenant = await createTenant(t.db);
    const a = await createMemberViaApi(t.app, tenant);
    const b = await createMemberViaApi(t.app, tenant);
    await createMemberViaApi(t.app, tenant);
    const res = await api(tenant).get(`/users?user_ids[]=${a.id}&user_ids[]=${b.id}&user_ids[]=00000000-0000-4000-8000-000000000000&user_ids[]=junk&show_identifiers=true`);
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.status, 'ok');
    assert.deepEqual(res.json.users.map((u: any) => u.id).sort(), [a.id, b.id].sort());
    assert.ok(res.json.users.every((u: any) => Array.isArray(u.identifiers)));
    const one = await api(tenant).get(`/users?user_ids[]=${b.id}`);
    assert.deepEqual(one.json.users.map((u: any) => u.email), [b.email]);
  });

  it('hides a deleted member everywhere and frees its email and external id', async () => {
    const tenant = await createTenant(t.db);
    const { get, send } = api(tenant);
    const member = await createMemberViaApi(t.app, tenant, { first_name: 'Gone', last_name: 'Away', phone_numbers: [{ phone_number: '5550001111' }] });
    const keep = await createMemberViaApi(t.app, tenant, { first_name: 'Stays', last_name: 'Away' });
    const del = await send('DELETE', `/users/${member.id}`);
    assert.equal(del.status, 200, del.body);
    assert.equal(del.json.status, 'ok');

    for (const [method, url, payload] of [
      ['GET', `/users/${member.id}`],
      ['PUT', `/users/${member.id}`, { user: { city: 'X' } }],
      ['DELETE', `/users/${member.id}`],
      ['GET', `/external/users/${member.external_id}`],
      ['PUT', `/external/users/${member.external_id}`, { user: { city: 'X' } }],
      ['GET', `/users/${member.id}/tags`],
      ['POST', `/users/${member.id}/tags`, { tags: ['x'] }],
      ['GET', `/users/${member.id}/timelines/END_USER_MEMBER_STATEMENT`],
      ['GET', `/users/search?email=${encodeURIComponent(member.email)}`],
      ['GET', `/users/search?external_id=${member.external_id}`],
      ['GET', '/users/search?mobile_number=5550001111'],
    ] as const) {
      const res = method === 'GET' ? await get(url) : await send(method, url, payload);
      assert.equal(res.status, 404, `${method} ${url}: ${res.body}`);
      assert.equal(res.json.errors.code, 'user_not_found', url);
    }
    const several = await get(`/users?user_ids[]=${member.id}&user_ids[]=${keep.id}`);
    assert.deepEqual(several.json.users.map((u: any) => u.id), [keep.id]);
    const search = await get('/users/search_users?last_name=Away');
    assert.equal(search.json.total_count, 1);
    assert.deepEqual(search.json.players.map((p: any) => p.user_id), [keep.id]);

    const reborn = await createMemberViaApi(t.app, tenant, { email: member.email, external_id: member.external_id });
    assert.notEqual(reborn.id, member.id);
    assert.equal((await get(`/users/search?email=${encodeURIComponent(member.email)}`)).json.user.id, reborn.id);
    assert.equal((await get(`/external/users/${member.external_id}`)).json.user.id, reborn.id);
    // the history of the closed account stays in the database
    const history = await t.db.selectFrom('timeline_events').select('event_type_id').where('member_id', '=', member.id).orderBy('id').execute();
    assert.deepEqual(history.map((h) => h.event_type_id), [177, 1001]);
  });

  it('records SIGNED_UP_WITH_REFERRAL for a signup with another member\'s referrer_code', async () => {
    const tenant = await createTenant(t.db);
    const { send } = api(tenant);
    const referrer = await createMemberViaApi(t.app, tenant);
    const referred = await createMemberViaApi(t.app, tenant, { referrer_code: referrer.referrer_code.toLowerCase() });
    assert.notEqual(referred.referrer_code, referrer.referrer_code, 'the new member gets its own code');
    const entries = await timelineOf(tenant, referred.id);
    assert.deepEqual(entries.map((e) => e.event_stream_event_type_id), [176]);
    assert.equal(entries[0].event_stream_payload.event_type_slug, 'SIGNED_UP_WITH_REFERRAL');
    assert.equal(entries[0].event_stream_payload.referrer_id, referrer.id);
    const referrerEntries = await timelineOf(tenant, referrer.id);
    assert.deepEqual(referrerEntries.map((e) => e.event_stream_payload.event_type_slug), ['REFERRED_A_USER_TO_SIGN_UP', 'SIGNED_UP_WITHOUT_REFERRAL']);
    assert.equal(referrerEntries[0].event_stream_payload.referred_user_id, referred.id);

    const before = await t.db.selectFrom('members').select('id').where('retailer_id', '=', tenant.retailer_id).execute();
    const unknown = await send('POST', '/users', memberBody({ referrer_code: 'NOBODY-000000-000000' }));
    assert.equal(unknown.status, 422, unknown.body);
    assert.equal(unknown.json.errors.code, 'validation');
    assert.match(unknown.json.errors.message, /referrer_code/);
    // another tenant's code is unknown here
    const other = await createTenant(t.db);
    const foreign = await createMemberViaApi(t.app, other);
    const cross = await send('POST', '/users', memberBody({ referrer_code: foreign.referrer_code }));
    assert.equal(cross.status, 422);
    const after = await t.db.selectFrom('members').select('id').where('retailer_id', '=', tenant.retailer_id).execute();
    assert.equal(after.length, before.length);
  });

  it('reads and updates a member by external id', async () => {
    const tenant = await createTenant(t.db);
    const { get, send } = api(tenant);
    const member = await createMemberViaApi(t.app, tenant);
    const byId = await get(`/users/${member.id}?show_identifiers=true`);
    const byExt = await get(`/external/users/${member.external_id}?show_identifiers=true`);
    assert.equal(byExt.status, 200, byExt.body);
    assert.deepEqual(byExt.json, byId.json);

    const put = await send('PUT', `/external/users/${member.external_id}`, { user: { last_name: 'Updated', user_profile: { tier: 'gold' }, identifiers: [{ external_id: 'PLATE-ABC123', external_id_type: 'car_plate' }] } });
    assert.equal(put.status, 200, put.body);
    assert.equal(put.json.user.id, member.id);
    assert.equal(put.json.user.last_name, 'Updated');
    assert.equal(put.json.user.user_profile.tier, 'gold');
    // found by its new secondary external id, and both ids are listed
    const byPlate = await get(`/external/users/plate-abc123?show_identifiers=true`);
    assert.equal(byPlate.json.user.id, member.id);
    assert.deepEqual(byPlate.json.user.identifiers, [
      { external_id: member.external_id, external_id_type: 'merchant_identifier' },
      { external_id: 'PLATE-ABC123', external_id_type: 'car_plate' },
    ]);
    assert.equal(byPlate.json.user.external_id, member.external_id, 'external_id stays the first identifier');
    const updates = await timelineOf(tenant, member.id, '&event_types=PROFILE_UPDATE');
    assert.deepEqual([...updates[0].event_stream_payload.updated_attrs].sort(), ['identifiers', 'last_name', 'user_profile.tier']);

    const missing = await get('/external/users/NO-SUCH-ID');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.errors.code, 'user_not_found');
    const missingPut = await send('PUT', '/external/users/NO-SUCH-ID', { user: { city: 'Nowhere' } });
    assert.equal(missingPut.status, 404);

    // the same external id under two types names two members: ambiguous without a type
    const shared = `SHARED-${member.id.slice(0, 8)}`;
    const m1 = await createMemberViaApi(t.app, tenant, { external_id: shared, external_id_type: 'merchant_identifier' });
    const m2 = await createMemberViaApi(t.app, tenant, { external_id: shared, external_id_type: 'user_id' });
    const ambiguous = await get(`/external/users/${shared}`);
    assert.equal(ambiguous.status, 409, ambiguous.body);
    assert.equal(ambiguous.json.errors.code, 'multiple_matches');
    assert.equal((await get(`/users/search?external_id=${shared}&external_id_type=user_id`)).json.user.id, m2.id);
    assert.equal((await get(`/users/search?external_id=${shared}&external_id_type=merchant_identifier`)).json.user.id, m1.id);
    const dup = await send('POST', '/users', memberBody({ external_id: shared.toLowerCase(), external_id_type: 'user_id' }));
    assert.equal(dup.status, 409);
    assert.equal(dup.json.errors.code, 'duplicate_external_id');
  });
});
