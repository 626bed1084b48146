// Member administration, the read side (flows/member-view.ts) on PostgreSQL:
// what a support agent finds by searching and sees of one member, after the
// member enrolled, earned points, got a tag and an offer through the public
// APIs; and that each answer is exactly what its admin schema describes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import AjvModule from 'ajv';
import formatsModule from 'ajv-formats';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { tierProgram, type TierProgram } from '../support/factories.js';
import { transact } from '../../src/db/unit-of-work.js';
import { applyPointConfig } from '../../src/modules/points/accounts.js';
import { COMPONENTS } from '../../src/http/contract.js';
import { AdminMemberList, AdminMemberView } from '../../src/http/admin/member-schemas.js';
import { findMembersForAdmin, memberView, type MemberQuery } from '../../src/flows/member-view.js';

// the contract's own validator (src/http/contract-check.ts): TypeBox's Value.Check knows neither
// the contract's nullable and enum schemas nor the uuid format
const Ajv = AjvModule.default ?? AjvModule;
const addFormats = formatsModule.default ?? formatsModule;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
for (const schema of COMPONENTS) ajv.addSchema(schema);
const validList = ajv.compile(AdminMemberList);
const validView = ajv.compile(AdminMemberView);

/** The answer is JSON as it stands (no Date, bigint or undefined left) and exactly what the schema describes. */
function conforms(validate: AjvModule.ValidateFunction, answer: unknown) {
  assert.deepEqual(JSON.parse(JSON.stringify(answer)), answer);
  assert.ok(validate(answer), ajv.errorsText(validate.errors, { dataVar: 'answer' }));
}

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };

describe('member administration: search and view', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let other: TestTenant;
  // spendable points expire a year after they are earned (each deposit a lot); tier points never do
  const p = { spendable: randomUUID(), bonus: randomUUID(), tier: randomUUID(), source: randomUUID() };
  let tiers: TierProgram;
  let member: Record<string, any>;
  let twin: Record<string, any>;
  const offer = randomUUID();
  const CAMPAIGN = 4101;

  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    other = await createTenant(t.db);
    await transact(t.db, (tx) =>
      applyPointConfig(
        tx,
        tenant.retailer_id,
        [
          { id: p.spendable, name: 'Spendable', default: true, expiry: { policy: 'after', after: 'P1Y', time_zone: 'UTC' } },
          { id: p.bonus, name: 'Bonus' },
          { id: p.tier, name: 'Tier Points', counts_toward_tiers: true },
        ],
        [{ id: p.source, name: 'API', account_ids: [] }],
      ),
    );
    tiers = await tierProgram(t.db, tenant.retailer_id, p.tier);
    const program = await call(t.app, {
      method: 'PUT',
      url: `/admin/tenants/${tenant.retailer_id}/program`,
      headers: ADMIN,
      payload: {
        offers: [{ root_offer_id: offer, offer_type: 'fixed_amount_discount', amount: 5, internal_title: '$5 Birthday Reward', points: 100, monetary_value: 5 }],
        campaigns: [
          {
            id: CAMPAIGN,
            name: 'Spring Visits',
            start_date: new Date(Date.now() - 86_400_000).toISOString(),
            end_date: new Date(Date.now() + 30 * 86_400_000).toISOString(),
            behaviors: [{ id: CAMPAIGN * 10, name: 'three_visits', external_behavior_id: randomUUID(), type: 'count', count_event: 'visit', earn_count: 3 }],
          },
        ],
      },
    });
    assert.equal(program.status, 200, program.body);

    const profile = {
      external_id: 'CARD-7731',
      email: 'Henrietta.Quill@example.com',
      first_name: 'Henrietta',
      last_name: 'Quill',
      phone_numbers: [{ phone_number: '(617) 555-0142', phone_type: 'mobile', preference_flags: ['primary'] }],
      user_profile: { favourite_store: 'Harbour St' },
    };
    member = await createMemberViaApi(t.app, tenant, profile);
    // another retailer's member with the very same details: never found, never shown
    twin = await createMemberViaApi(t.app, other, profile);
    await createMemberViaApi(t.app, tenant, { first_name: 'Henry', last_name: 'Oakes', phone_numbers: [{ phone_number: '555-0199', phone_type: 'mobile' }] });

    const deposit = await call(t.app, {
      method: 'POST',
      url: '/incentives/api/2.0/user_points/deposit',
      headers: { authorization: tenant.connect },
      payload: { retailer_id: tenant.retailer_id, culture: 'en-US', user_id: member.id, deposit_details: [{ point_account_id: p.spendable, point_source_id: p.source, amount: '12.3456', reference_id: 'GOODWILL-1', reference_type: 'Support' }, { point_account_id: p.tier, amount: 150 }] },
    });
    assert.equal(deposit.status, 200, deposit.body);
    const tag = await call(t.app, { method: 'POST', url: `${tenant.base}/users/${member.id}/tags`, headers: { authorization: tenant.core }, payload: { tags: ['vip'] } });
    assert.equal(tag.status, 200, tag.body);
    const issue = await call(t.app, {
      method: 'POST',
      url: '/offers/api/2.0/offers/acquisition/issue',
      headers: { authorization: tenant.connect },
      payload: { retailer_id: tenant.retailer_id, culture: 'en-US', user_id: member.id, offer_id: offer, quantity: 1 },
    });
    assert.equal(issue.status, 200, issue.body);
    assert.equal(issue.json.payload.status_list[0].fail_reason, 0, issue.body);
  });

  const find = (query: Omit<MemberQuery, 'limit'>) => findMembersForAdmin(t.db, tenant.retailer_id, { limit: 20, ...query });
  const found = async (query: Omit<MemberQuery, 'limit'>) => (await find(query)).members.map((m) => m.user_id);

  describe('search', () => {
    it('finds the member by email, phone, external id and name, and lists what an agent recognises', async () => {
      for (const query of [{ email: 'henrietta.quill@EXAMPLE.com' }, { phone: '617-555-0142' }, { external_id: 'card-7731' }, { first_name: 'henrietta', last_name: 'QUILL' }]) {
        assert.deepEqual(await found(query), [member.id], JSON.stringify(query));
      }
      const list = await find({ external_id: 'CARD-7731' });
      conforms(validList, list);
      assert.deepEqual(list, {
        total: 1,
        members: [
          {
            user_id: member.id,
            external_id: 'CARD-7731',
            email: 'Henrietta.Quill@example.com',
            first_name: 'Henrietta',
            last_name: 'Quill',
            phone: '(617) 555-0142',
            account_status: member.account_status,
            created_at: list.members[0].created_at,
          },
        ],
      });
      assert.ok(Math.abs(Date.parse(list.members[0].created_at) - Date.now()) < 5 * 60_000);
    });

    it('q, the one search box: an email, an external id, phone digits, or the start of a name, in any case', async () => {
      for (const q of ['HENRIETTA.QUILL@example.com', 'card-7731', '6175550142', '617.555.0142', 'henri', 'quil', 'Henrietta Q', ' Quill ']) {
        assert.deepEqual(await found({ q }), [member.id], q);
      }
      // "Hen" starts both first names; the other retailer's twin is never among them
      const both = await find({ q: 'hen' });
      assert.equal(both.total, 2);
      assert.ok(both.members.every((m) => m.user_id !== twin.id));
      conforms(validList, both);
    });

    it('q matches no part of a name but its start, no wildcard but itself, and no phone by fewer than four digits', async () => {
      for (const q of ['etta', 'quill@', '%', '_enrietta', 'H%a', '617']) assert.deepEqual(await found({ q }), [], q);
      // the last four digits are not the number
      assert.deepEqual(await found({ q: '0142' }), []);
    });

    it("never finds another retailer's member", async () => {
      for (const query of [{ q: 'Henrietta' }, { email: 'henrietta.quill@example.com' }, { external_id: 'CARD-7731' }, { phone: '6175550142' }]) {
        assert.deepEqual((await findMembersForAdmin(t.db, other.retailer_id, { limit: 20, ...query })).members.map((m) => m.user_id), [twin.id], JSON.stringify(query));
      }
    });
  });

  describe('view', () => {
    it('shows the profile, identifiers, phone numbers and custom attributes', async () => {
      const view = await memberView(t.db, tenant.retailer_id, member.id.toUpperCase());
      conforms(validView, view);
      assert.equal(view.profile.user_id, member.id);
      assert.equal(view.profile.external_id, 'CARD-7731');
      assert.equal(view.profile.email, 'Henrietta.Quill@example.com');
      assert.equal(view.profile.dob, '1991-01-01');
      assert.equal(view.profile.city, 'Anytown');
      assert.equal(view.profile.restricted, false);
      assert.deepEqual(view.profile.user_profile, { favourite_store: 'Harbour St' });
      assert.deepEqual(view.identifiers, [{ external_id: 'CARD-7731', external_id_type: 'merchant_identifier' }]);
      assert.deepEqual(view.phone_numbers, [{ phone_number: '(617) 555-0142', phone_type: 'mobile', preference_flags: ['primary'], verified_ownership: false }]);
    });

    it('shows the balance after a deposit as exact decimal text, with its ledger entry', async () => {
      const view = await memberView(t.db, tenant.retailer_id, member.id);
      const spendable = view.point_accounts.find((a) => a.point_account_id === p.spendable)!;
      assert.equal(spendable.name, 'Spendable');
      assert.equal(spendable.available_balance, '12.3456');
      assert.equal(spendable.life_time_value, '12.3456');
      assert.equal(spendable.pending_balance, '0');
      assert.match(spendable.user_point_account_id!, /^[0-9a-f-]{36}$/);
      // the deposit is one lot, expiring a year on
      assert.deepEqual(spendable.lots.map((l) => [l.state, l.remaining, l.available_at]), [['open', '12.3456', null]]);
      const inAYear = Date.parse(spendable.lots[0].expires_at!) - Date.now();
      assert.ok(inAYear > 364 * 86_400_000 && inAYear <= 366 * 86_400_000, spendable.lots[0].expires_at!);
      assert.deepEqual(view.point_accounts.find((a) => a.point_account_id === p.tier)!.lots, []);
      // an account the member never used: zero, and no user point account yet
      const bonus = view.point_accounts.find((a) => a.point_account_id === p.bonus)!;
      assert.deepEqual([bonus.available_balance, bonus.user_point_account_id], ['0', null]);

      assert.equal(view.ledger.total, 2);
      const entry = view.ledger.entries.find((e) => e.point_account_id === p.spendable)!;
      assert.deepEqual(
        { ...entry, id: undefined, effective_at: undefined, inserted_at: undefined, request_id: undefined, transaction_id: undefined },
        {
          id: undefined,
          point_account_id: p.spendable,
          account_name: 'Spendable',
          amount: '12.3456',
          balance_after: '12.3456',
          modification_type: 'deposit',
          point_source_id: p.source,
          point_source_name: 'API',
          reference_id: 'GOODWILL-1',
          reference_type: 'Support',
          effective_at: undefined,
          inserted_at: undefined,
          request_id: undefined,
          transaction_id: undefined,
        },
      );
    });

    it('shows the tag, the tier the points reached, the issued offer and the campaign', async () => {
      const view = await memberView(t.db, tenant.retailer_id, member.id);
      assert.deepEqual(view.tags, { vip: 1 });
      assert.deepEqual(
        view.tiers.map((x) => [x.tier_system_id, x.tier_system_name, x.tier_level_id, x.tier_level_name]),
        [[tiers.system, 'Status', tiers.levels.silver, 'Silver']],
      );
      assert.equal(view.offers.total, 1);
      const [userOffer] = view.offers.user_offers;
      assert.equal(userOffer.root_offer_id, offer);
      assert.equal(userOffer.internal_title, '$5 Birthday Reward');
      assert.deepEqual([userOffer.status, userOffer.status_description, userOffer.remaining_uses], [1, 'Issued', 1]);
      assert.deepEqual(
        view.campaigns.map((c) => [c.campaign_id, c.name, c.state, c.behaviors.map((b) => [b.name, b.progress, b.goal])]),
        [[CAMPAIGN, 'Spring Visits', 'qualified', [['three_visits', 0, 3]]]],
      );
    });

    it('shows the timeline newest first: enrolment, the deposit, the tag and the offer', async () => {
      const view = await memberView(t.db, tenant.retailer_id, member.id);
      const types = view.timeline.entries.map((e) => e.event_type);
      for (const type of ['SIGNED_UP_WITHOUT_REFERRAL', 'INCENTIVES_POINT_DEPOSIT', 'USER_TAG_DROPPED', 'ISSUED_OFFER']) assert.ok(types.includes(type), `${type} in ${types}`);
      assert.equal(types.at(-1), 'SIGNED_UP_WITHOUT_REFERRAL');
      const times = view.timeline.entries.map((e) => Date.parse(e.occurred_at));
      assert.deepEqual(times, [...times].sort((a, b) => b - a));
      assert.equal(view.timeline.has_more, false);
      const tagged = view.timeline.entries.find((e) => e.event_type === 'USER_TAG_DROPPED')!;
      assert.equal(tagged.event_category, 'LOYALTY');
      assert.equal(tagged.payload.user_id, member.id);
      assert.equal(tagged.payload.event_type_slug, 'USER_TAG_DROPPED');
    });

    it('shows a restricted member as restricted, with its privacy request and no campaigns', async () => {
      const restricted = await createMemberViaApi(t.app, tenant);
      const res = await call(t.app, { method: 'POST', url: `${tenant.base}/users/${restricted.id}/privacy/restrict`, headers: { authorization: tenant.core } });
      assert.equal(res.status, 200, res.body);
      const view = await memberView(t.db, tenant.retailer_id, restricted.id);
      conforms(validView, view);
      assert.deepEqual([view.profile.account_status, view.profile.restricted], ['restricted', true]);
      assert.deepEqual(
        view.privacy_requests.map((r) => [r.type, r.status]),
        [['restrict', 'completed']],
      );
      assert.deepEqual(view.campaigns, []);
    });

    it("refuses an unknown member, a malformed id and another retailer's member: user_not_found", async () => {
      for (const id of [randomUUID(), 'not-a-member', twin.id]) {
        await assert.rejects(memberView(t.db, tenant.retailer_id, id), { code: 'user_not_found' }, id);
      }
    });
  });
});
