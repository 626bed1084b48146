// Tags (SPEC §5.2) and the timeline (SPEC §5.3): counter and expiring tags,
// USER_TAG_DROPPED entries, newest-first paging with filters and cursors.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { transact } from '../../src/db/unit-of-work.js';
import { planTimeline } from '../../src/modules/timeline/service.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const STATEMENT = 'timelines/END_USER_MEMBER_STATEMENT';

describe('tags and timeline on PostgreSQL', () => {
  let t: TestApp;
  let tenant: TestTenant;
  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
  });

  const get = (url: string) => call(t.app, { method: 'GET', url: `${tenant.base}${url}`, headers: { authorization: tenant.core } });
  const post = (url: string, payload: unknown) => call(t.app, { method: 'POST', url: `${tenant.base}${url}`, headers: { authorization: tenant.core }, payload: payload as object });
  const slugs = (res: { json: any }) => res.json.result.map((e: any) => e.event_stream_payload.event_type_slug);

  describe('tags', () => {
    it('counts counter tags up, several per call, and GET answers {"tags":{name:count}}', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      const first = await post(`/users/${member.id}/tags`, { tags: ['visit', 'newsletter'] });
      assert.equal(first.status, 200, first.body);
      assert.deepEqual(first.json, { status: 'ok', tags: { newsletter: 1, visit: 1 } });
      await post(`/users/${member.id}/tags`, { tags: ['visit'] });
      const third = await post(`/users/${member.id}/tags`, { tags: ['visit', 'vip'] });
      assert.deepEqual(third.json.tags, { newsletter: 1, visit: 3, vip: 1 });
      const res = await get(`/users/${member.id}/tags`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, { status: 'ok', tags: { newsletter: 1, visit: 3, vip: 1 } });
      // by external id, the same tags
      const ext = await get(`/external/users/${member.external_id}/tags`);
      assert.deepEqual(ext.json.tags, res.json.tags);
      await post(`/external/users/${member.external_id}/tags`, { tags: ['newsletter'] });
      assert.equal((await get(`/users/${member.id}/tags`)).json.tags.newsletter, 2);
      // another member's tags are their own
      const other = await createMemberViaApi(t.app, tenant);
      assert.deepEqual((await get(`/users/${other.id}/tags`)).json, { status: 'ok', tags: {} });
    });

    it('keeps an expiring tag for its ttl and then drops it', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      await post(`/users/${member.id}/tags`, { tags: ['loyal'] });
      const dropped = await post(`/users/${member.id}/tags`, { tags: ['flash-sale'], ttl: 1 });
      assert.equal(dropped.status, 200, dropped.body);
      assert.ok('flash-sale' in dropped.json.tags);
      const now = await get(`/users/${member.id}/tags`);
      assert.deepEqual(Object.keys(now.json.tags).sort(), ['flash-sale', 'loyal']);
      await sleep(1200);
      const later = await get(`/users/${member.id}/tags`);
      assert.deepEqual(later.json.tags, { loyal: 1 });
      // a long ttl stays
      await post(`/users/${member.id}/tags`, { tags: ['season'], ttl: '3600' });
      assert.ok('season' in (await get(`/users/${member.id}/tags`)).json.tags);
    });

    it('records USER_TAG_DROPPED on the timeline for every tag written', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      await post(`/users/${member.id}/tags`, { tags: ['alpha', 'beta'] });
      await post(`/users/${member.id}/tags`, { tags: ['alpha'], ttl: 600 });
      const res = await get(`/users/${member.id}/${STATEMENT}?event_types=USER_TAG_DROPPED`);
      assert.equal(res.status, 200);
      assert.equal(res.json.count, 3);
      for (const entry of res.json.result) {
        assert.equal(entry.event_stream_event_type_id, 168);
        assert.equal(entry.event_stream_event_category_id, 35);
        assert.equal(entry.target_id, Number(entry.event_stream_payload.player_id));
        assert.equal(entry.event_stream_payload.user_id, member.id);
        // the fields that follow from the entry's row come with its own
        assert.equal(entry.event_stream_payload.event_type_slug, 'USER_TAG_DROPPED');
        assert.equal(entry.event_stream_payload.event_type_name, 'User Tag Dropped');
        assert.equal(entry.event_stream_payload.rewards_system_id, tenant.actor.retailerNumber);
        assert.equal(entry.event_stream_payload.created_at, Math.floor(entry.timestamp / 1000));
        assert.ok(entry.event_stream_payload.event_category_slug);
        assert.ok('request_id' in entry.event_stream_payload);
      }
      const payloads = res.json.result.map((e: any) => e.event_stream_payload);
      assert.deepEqual(payloads.map((p: any) => p.tag).sort(), ['alpha', 'alpha', 'beta']);
      assert.equal(payloads.find((p: any) => p.ttl === 600)?.tag, 'alpha');
    });
  });

  describe('timeline', () => {
    it('lists a new member\'s signup with the event_types catalog', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      const res = await get(`/users/${member.id}/${STATEMENT}`);
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.status, 'ok');
      assert.equal(res.json.count, 1);
      assert.equal(res.json.next_cursor, null);
      const [signup] = res.json.result;
      assert.equal(signup.event_stream_event_type_id, 177);
      assert.equal(signup.event_stream_payload.event_type_slug, 'SIGNED_UP_WITHOUT_REFERRAL');
      assert.equal(signup.event_stream_payload.user_id, member.id);
      assert.ok(Number.isInteger(signup.target_id));
      const catalog = res.json.event_types;
      assert.ok(Array.isArray(catalog) && catalog.length >= 60);
      const byId = new Map(catalog.map((c: any) => [c.id, c]));
      assert.deepEqual(byId.get(177), { id: 177, name: 'Signed Up without Referral', slug: 'SIGNED_UP_WITHOUT_REFERRAL', event_stream_event_category_id: 35, event_stream_stream_id: 4 });
      assert.equal((byId.get(176) as any).slug, 'SIGNED_UP_WITH_REFERRAL');
      assert.equal((byId.get(168) as any).slug, 'USER_TAG_DROPPED');
      assert.equal((byId.get(190) as any).slug, 'PROFILE_UPDATE');
      assert.equal((byId.get(140) as any).slug, 'POINTS_EARNED');
      // by external id and with the view in lower case, the same
      const ext = await get(`/external/users/${member.external_id}/timelines/end_user_member_statement`);
      assert.deepEqual(ext.json.result, res.json.result);
    });

    it('lists newest first, honours count, since and event_types (slug or id)', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      await sleep(5);
      await post(`/users/${member.id}/tags`, { tags: ['one'] });
      await sleep(5);
      const since = Date.now();
      await sleep(5);
      await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core }, payload: { user: { city: 'Newtown' } } });
      await sleep(5);
      await post(`/users/${member.id}/tags`, { tags: ['two'] });

      const all = await get(`/users/${member.id}/${STATEMENT}`);
      assert.deepEqual(slugs(all), ['USER_TAG_DROPPED', 'PROFILE_UPDATE', 'USER_TAG_DROPPED', 'SIGNED_UP_WITHOUT_REFERRAL']);
      assert.equal(all.json.count, 4);
      const stamps = all.json.result.map((e: any) => e.timestamp);
      assert.deepEqual([...stamps].sort((x, y) => y - x), stamps);

      const two = await get(`/users/${member.id}/${STATEMENT}?count=2`);
      assert.equal(two.json.count, 2);
      assert.deepEqual(slugs(two), ['USER_TAG_DROPPED', 'PROFILE_UPDATE']);
      assert.equal(typeof two.json.next_cursor, 'string');

      const recent = await get(`/users/${member.id}/${STATEMENT}?since=${since}`);
      assert.deepEqual(slugs(recent), ['USER_TAG_DROPPED', 'PROFILE_UPDATE']);
      const recentIso = await get(`/users/${member.id}/${STATEMENT}?since=${encodeURIComponent(new Date(since).toISOString())}`);
      assert.deepEqual(slugs(recentIso), ['USER_TAG_DROPPED', 'PROFILE_UPDATE']);
      const future = await get(`/users/${member.id}/${STATEMENT}?since=${Math.floor(Date.now() / 1000) + 3600}`);
      assert.equal(future.json.count, 0);
      assert.deepEqual(future.json.result, []);

      for (const filter of ['USER_TAG_DROPPED', '168', 'user_tag_dropped']) {
        const res = await get(`/users/${member.id}/${STATEMENT}?event_types=${filter}`);
        assert.deepEqual(slugs(res), ['USER_TAG_DROPPED', 'USER_TAG_DROPPED'], filter);
      }
      for (const filter of ['PROFILE_UPDATE,177', 'event_types[]=PROFILE_UPDATE&event_types[]=177', 'event_types%5B%5D=190&event_types%5B%5D=SIGNED_UP_WITHOUT_REFERRAL']) {
        const query = filter.startsWith('event_types') ? filter : `event_types=${filter}`;
        const res = await get(`/users/${member.id}/${STATEMENT}?${query}`);
        assert.deepEqual(slugs(res), ['PROFILE_UPDATE', 'SIGNED_UP_WITHOUT_REFERRAL'], query);
      }
    });

    it('pages with next_cursor: pages do not overlap and together cover everything', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      for (let i = 0; i < 4; i++) await post(`/users/${member.id}/tags`, { tags: [`a${i}`, `b${i}`, `c${i}`] });
      await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core }, payload: { user: { first_name: 'Paged' } } });
      const full = await get(`/users/${member.id}/${STATEMENT}?count=1000`);
      assert.equal(full.json.count, 14);
      assert.equal(full.json.next_cursor, null);
      const everything = full.json.result.map((e: any) => e.event_stream_stream_id);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: any = await get(`/users/${member.id}/${STATEMENT}?count=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.equal(res.status, 200, res.body);
        assert.ok(res.json.count <= 4);
        seen.push(...res.json.result.map((e: any) => e.event_stream_stream_id));
        cursor = res.json.next_cursor;
        pages++;
        assert.ok(pages <= 10, 'paging ends');
      } while (cursor);
      assert.equal(pages, 4);
      assert.equal(new Set(seen).size, seen.length, 'pages do not overlap');
      assert.deepEqual(seen, everything, 'pages together are the whole timeline, in order');

      // a cursor combines with a filter
      const tagsOnly: string[] = [];
      cursor = null;
      do {
        const res: any = await get(`/users/${member.id}/${STATEMENT}?count=5&event_types=USER_TAG_DROPPED${cursor ? `&cursor=${cursor}` : ''}`);
        tagsOnly.push(...slugs(res));
        cursor = res.json.next_cursor;
      } while (cursor);
      assert.equal(tagsOnly.length, 12);
      assert.ok(tagsOnly.every((s) => s === 'USER_TAG_DROPPED'));
    });

    it('pages with offset: each page is the slice of the whole timeline at that offset, with filters, a cursor and past the end', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      for (let i = 0; i < 4; i++) await post(`/users/${member.id}/tags`, { tags: [`a${i}`, `b${i}`, `c${i}`] });
      await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core }, payload: { user: { first_name: 'Offset' } } });
      const ids = async (query: string) => {
        const res: any = await get(`/users/${member.id}/${query}`);
        assert.equal(res.status, 200, res.body);
        return res.json.result.map((e: any) => e.event_stream_stream_id);
      };
      const everything = await ids(`${STATEMENT}?count=1000`);
      assert.equal(everything.length, 14);
      for (const offset of [1, 4, 13]) assert.deepEqual(await ids(`${STATEMENT}?count=4&offset=${offset}`), everything.slice(offset, offset + 4), `offset ${offset}`);
      assert.deepEqual(await ids(`${STATEMENT}?count=4&offset=14`), []);
      assert.deepEqual(await ids(`${STATEMENT}?count=4&offset=100`), []);
      // the offset counts the entries the filter keeps, after the cursor
      const tags = await ids(`${STATEMENT}?count=1000&event_types=USER_TAG_DROPPED`);
      assert.deepEqual(await ids(`${STATEMENT}?count=3&offset=5&event_types=USER_TAG_DROPPED`), tags.slice(5, 8));
      const first: any = await get(`/users/${member.id}/${STATEMENT}?count=4`);
      assert.deepEqual(await ids(`${STATEMENT}?count=3&offset=2&cursor=${first.json.next_cursor}`), everything.slice(6, 9));
      // a view with categories (ACCOUNT_AUDIT_LOG: the profile update, not the tag drops)
      const audit = await ids('timelines/ACCOUNT_AUDIT_LOG?count=1000');
      assert.deepEqual(await ids(`timelines/ACCOUNT_AUDIT_LOG?count=1000&offset=1`), audit.slice(1));
    });

    it('shows profile updates but not tag drops in ACCOUNT_AUDIT_LOG', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      await post(`/users/${member.id}/tags`, { tags: ['hidden'] });
      const put = await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core }, payload: { user: { last_name: 'Audited' } } });
      assert.equal(put.status, 200);
      const audit = await get(`/users/${member.id}/timelines/ACCOUNT_AUDIT_LOG`);
      assert.equal(audit.status, 200, audit.body);
      assert.deepEqual(slugs(audit), ['PROFILE_UPDATE']);
      assert.deepEqual(audit.json.result[0].event_stream_payload.updated_attrs, ['last_name']);
      const byExt = await get(`/external/users/${member.external_id}/timelines/ACCOUNT_AUDIT_LOG`);
      assert.deepEqual(slugs(byExt), ['PROFILE_UPDATE']);
      const statement = await get(`/users/${member.id}/${STATEMENT}`);
      assert.ok(slugs(statement).includes('USER_TAG_DROPPED'));
    });

    it('names the member in each entry as it was named then: player_id, user_id, user_name', async () => {
      const member = await createMemberViaApi(t.app, tenant, { first_name: 'Ada', last_name: 'Byron' });
      await post(`/users/${member.id}/tags`, { tags: ['before'] });
      const put = await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core }, payload: { user: { last_name: 'Lovelace' } } });
      assert.equal(put.status, 200, put.body);
      await post(`/users/${member.id}/tags`, { tags: ['after'] });
      const res = await get(`/users/${member.id}/${STATEMENT}?count=100`);
      const named = res.json.result.map((e: any) => [e.event_stream_payload.event_type_slug, e.event_stream_payload.tag ?? null, e.event_stream_payload.user_name]);
      assert.deepEqual(named, [
        ['USER_TAG_DROPPED', 'after', 'Ada Lovelace'],
        ['PROFILE_UPDATE', null, 'Ada Lovelace'],
        ['USER_TAG_DROPPED', 'before', 'Ada Byron'],
        ['SIGNED_UP_WITHOUT_REFERRAL', null, 'Ada Byron'],
      ]);
      const { player_id } = await t.db.selectFrom('members').select('player_id').where('retailer_id', '=', tenant.retailer_id).where('id', '=', member.id).executeTakeFirstOrThrow();
      for (const entry of res.json.result) assert.deepEqual([entry.event_stream_payload.user_id, entry.event_stream_payload.player_id], [member.id, Number(player_id)]);
    });

    it('writes the entries one transaction plans for several members each with its own member, in the order planned', async () => {
      const [a, b] = [await createMemberViaApi(t.app, tenant, { first_name: 'Ann' }), await createMemberViaApi(t.app, tenant, { first_name: 'Bo' })];
      const players = await t.db.selectFrom('members').select(['id', 'player_id']).where('retailer_id', '=', tenant.retailer_id).where('id', 'in', [a.id, b.id]).execute();
      const subject = (m: Record<string, any>) => ({ retailerId: tenant.retailer_id, memberId: m.id, playerId: Number(players.find((p) => p.id === m.id)!.player_id), userName: `${m.first_name} ${m.last_name}` });
      const entry = (tag: string) => ({ type: 'USER_TAG_DROPPED' as const, payload: { tag, user_name: 'not the member' } });
      await transact(t.db, async (tx) => {
        planTimeline(tx, subject(a), [entry('a1')]);
        planTimeline(tx, subject(b), [entry('b1'), entry('b2')]);
        planTimeline(tx, subject(a), [entry('a2')]);
        planTimeline(tx, subject(a), [entry('a0')], { first: true });
      });
      for (const m of [a, b]) {
        const res = await get(`/users/${m.id}/${STATEMENT}?event_types=USER_TAG_DROPPED`);
        const s = subject(m);
        // newest first: by id within the one time
        assert.deepEqual(res.json.result.map((e: any) => e.event_stream_payload.tag), m === a ? ['a2', 'a1', 'a0'] : ['b2', 'b1']);
        for (const e of res.json.result) {
          assert.deepEqual([e.event_stream_payload.user_id, e.event_stream_payload.player_id, e.event_stream_payload.user_name], [s.memberId, s.playerId, s.userName]);
        }
      }
    });

    it('answers an unknown view with 404', async () => {
      const member = await createMemberViaApi(t.app, tenant);
      const res = await get(`/users/${member.id}/timelines/NO_SUCH_VIEW`);
      assert.equal(res.status, 404);
      assert.deepEqual(res.json, { status: 'error', errors: { code: 'not_found', message: res.json.errors.message } });
      assert.match(res.json.errors.message, /NO_SUCH_VIEW/);
      const unknownMember = await get(`/users/00000000-0000-4000-8000-000000000000/${STATEMENT}`);
      assert.equal(unknownMember.status, 404);
      assert.equal(unknownMember.json.errors.code, 'user_not_found');
    });
  });
});
