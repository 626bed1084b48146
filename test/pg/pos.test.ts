// Point of sale (SPEC §5.9, issue 6) on PostgreSQL: the till journey with the
// Brand X demo program — lookup with a basket, redeem, reinstate, and
// send_transaction earning the purchase rule's points once, a void taking
// them back once, request_id replays, and the POS error envelope.
import { transact } from '../../src/db/unit-of-work.js';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { findOffer, offersByIds, offerText } from '../../src/modules/offers/catalog.js';
import { assertRedeemable, discountFor, issueOffer, listUserOffers, revokeUserOffer, STATUS, updateUserOffer } from '../../src/modules/offers/user-offers.js';
import { findByEmail, findByExternalId, findByPhone, memberSummary, resolveMemberRef, type Member } from '../../src/modules/members/service.js';
import { availablePoints, memberBalances } from '../../src/modules/points/queries.js';
import { customProfileDefaults } from '../../src/modules/program/custom-attributes.js';
import { posBasket } from '../../src/http/pos/routes.js';
import { toJson } from '../../src/modules/points/amount.js';
import { applyProgram } from '../../src/flows/program-apply.js';
import { parseProgramText } from '../../src/modules/program/service.js';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

const STORE = '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01';
const FIVE_PERCENT = '37b46497-44b4-4459-857a-5d03035af56a';
const SPENDABLE = 'f4d91345-bbe8-4ca7-864d-771761be873e';
const TIER_POINTS = '3d1c4e93-8b93-432f-a9c9-ab6854b57b7f';

describe('point of sale on PostgreSQL', () => {
  let t: TestApp;
  let tenant: TestTenant;
  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    const program = parseProgramText(readFileSync(new URL('../../examples/brand-x/program.yaml', import.meta.url), 'utf8'));
    await transact(t.db, (tx) => applyProgram(tx, tenant.retailer_id, program));
  });

  const pos = (path: string, body: Record<string, unknown>, tn = tenant) => call(t.app, { method: 'POST', url: `/api/2.0/${path}`, headers: { authorization: tn.pos }, payload: body });
  const envelope = (request_payload: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ store_id: STORE, client_id: tenant.retailer_id, request_id: randomUUID(), request_payload, ...extra });

  async function member() {
    const phone = `617${String(randomBytes(4).readUInt32BE() % 10_000_000).padStart(7, '0')}`;
    const user = await createMemberViaApi(t.app, tenant, { phone_numbers: [{ phone_number: phone, phone_type: 'mobile', preference_flags: ['primary'] }] });
    return { id: user.id as string, phone, external_id: user.external_id as string };
  }
  async function issue(memberId: string): Promise<string> {
    const offer = (await findOffer(t.db, tenant.retailer_id, FIVE_PERCENT))!;
    const summary = (await memberSummary(t.db, tenant.retailer_id, memberId))!;
    const uo = await transact(t.db, (tx) => issueOffer(tx, tenant.actor, summary, offer));
    return uo.id;
  }
  async function balance(memberId: string, account: string): Promise<number> {
    const b = await memberBalances(t.db, tenant.retailer_id, memberId);
    const d = b.details.find((x) => x.point_account_id === account);
    return d ? toJson(d.available_balance) : 0;
  }
  const transaction = (id: string, userId: string, extra: Record<string, unknown> = {}) => ({
    pos_employee_id: '1000',
    table_id: '12',
    channel: 'STORE',
    transaction_id: id,
    subtotal: 30.0,
    tax_total: 0,
    open_time: '2025-04-16 09:30:00.000',
    modified_time: '2025-04-16 09:30:00.000',
    items: [
      { item_id: '0', line_id: '1', quantity: 1, unit_price: 10, tax_included: 0, subtotal: 10 },
      { item_id: '1', line_id: '2', quantity: 1, unit_price: 15, tax_included: 0, subtotal: 15 },
      { item_id: '2', line_id: '3', quantity: 1, unit_price: 5, tax_included: 0, subtotal: 5 },
    ],
    payments: [{ payment_id: `P-${id}`, user_id: userId, user_id_type: 'SessionM_ID', amount: 30.0, type: 'CASH', payment_time: '2025-04-16 09:30:00Z' }],
    discounts: [],
    ...extra,
  });
  const send = (userId: string | undefined, payload: Record<string, unknown>, extra: Record<string, unknown> = {}) => pos('send_transaction', envelope(payload, { ...(userId ? { user_id: userId } : {}), ...extra }));

  // lots (issue 19): the till sees what will expire, and when
  it('shows at the till the points that will expire and when, beside the balance', async () => {
    const m = await member();
    const expiresAt = new Date(Date.now() + 10 * 86_400_000).toISOString();
    const deposited = await call(t.app, {
      method: 'POST',
      url: '/incentives/api/2.0/user_points/deposit',
      headers: { authorization: tenant.connect },
      payload: { retailer_id: tenant.retailer_id, culture: 'en-US', user_id: m.id, deposit_details: [{ point_account_id: SPENDABLE, amount: 40, expiration_date: expiresAt }, { point_account_id: SPENDABLE, amount: 25 }] },
    });
    assert.equal(deposited.status, 200, deposited.body);
    const lookup = await pos('lookup', envelope({ phone: m.phone }));
    assert.equal(lookup.status, 200, lookup.body);
    const spendable = lookup.json.payload[0].accounts.find((a: any) => a.PointAccountID === SPENDABLE);
    assert.equal(spendable.AvailableBalance, 65);
    assert.deepEqual(spendable.ExpiringPoints, [{ Amount: 40, ExpiresAt: expiresAt }]);
    assert.ok(lookup.json.payload[0].accounts.filter((a: any) => a.PointAccountID !== SPENDABLE).every((a: any) => !('ExpiringPoints' in a)), 'absent where nothing expires');
  });

  it('runs the till journey: lookup prices the 5% offer, redeem once, reinstate, send earns once, void takes back once', async () => {
    const m = await member();
    const userOfferId = await issue(m.id);
    const basket = { transaction_id: 'BASKET-1', subtotal: 9, items: [{ line_id: '1', item_id: 'coffee', quantity: 1, unit_price: 9, subtotal: 9 }] };

    const lookup = await pos('lookup', envelope({ phone: `(${m.phone.slice(0, 3)}) ${m.phone.slice(3, 6)}-${m.phone.slice(6)}`, transaction: basket }));
    assert.equal(lookup.status, 200, lookup.body);
    assert.equal(lookup.json.status, 'success');
    const found = lookup.json.payload[0];
    assert.equal(found.user_reference_id, m.id);
    const offer = found.offers.find((o: any) => o.reference_id === userOfferId);
    assert.ok(offer, 'the 5% offer is usable on the basket');
    assert.equal(offer.amount, 0.45);

    const redeem = await pos('redeem', envelope({ offer_lookup_code: userOfferId, offer_lookup_type: 'userofferid', transaction: basket }));
    assert.equal(redeem.status, 200, redeem.body);
    assert.equal(redeem.json.payload.status, 'REDEEMED');
    assert.equal(redeem.json.payload.amount, 0.45);
    const again = await pos('redeem', envelope({ offer_lookup_code: userOfferId, offer_lookup_type: 'userofferid', transaction: basket }));
    assert.equal(again.status, 409, again.body);
    assert.equal(again.json.status, 'error');
    assert.equal(again.json.errors[0].code, 'already_redeemed');
    const reinstate = await pos('reinstate', envelope({ user_offer_id: userOfferId, employee_id: '1000' }));
    assert.equal(reinstate.status, 200, reinstate.body);
    assert.deepEqual(reinstate.json, { status: 'OK', payload: null, errors: null });

    const txId = `FIN-${randomUUID()}`;
    const sent = await send(m.id, transaction(txId, m.id));
    assert.equal(sent.status, 200, sent.body);
    assert.equal(sent.json.status, 'OK');
    assert.equal(sent.json.errors, null);
    const id = sent.json.payload.transaction.id;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(await balance(m.id, SPENDABLE), 30);
    assert.equal(await balance(m.id, TIER_POINTS), 30);

    const resent = await send(m.id, transaction(txId, m.id));
    assert.equal(resent.status, 200, resent.body);
    assert.equal(resent.json.payload.transaction.id, id);
    assert.equal(await balance(m.id, SPENDABLE), 30, 're-send earns nothing');

    const voided = await send(m.id, transaction(txId, m.id, { is_voided: true }));
    assert.equal(voided.status, 200, voided.body);
    assert.equal(voided.json.payload.transaction.id, id);
    assert.equal(await balance(m.id, SPENDABLE), 0, 'void takes the points back');
    assert.equal(await balance(m.id, TIER_POINTS), 0);
    const voidedAgain = await send(m.id, transaction(txId, m.id, { is_voided: true }));
    assert.equal(voidedAgain.json.payload.transaction.id, id);
    assert.equal(await balance(m.id, SPENDABLE), 0, 'void again changes nothing');

    const timeline = await t.db
      .selectFrom('timeline_events')
      .select('payload')
      .where('retailer_id', '=', tenant.retailer_id)
      .where('member_id', '=', m.id)
      .where('event_type_id', '=', 148)
      .orderBy('id')
      .execute();
    assert.equal(timeline.length, 2);
    const [purchase, reversal] = timeline.map((r) => r.payload as Record<string, any>);
    assert.equal(purchase.pos_transaction_id, txId);
    assert.equal(purchase.subtotal, 30);
    assert.equal(purchase.taxtotal, 0);
    assert.equal(purchase.store_id, STORE);
    assert.equal(purchase.items.length, 3);
    assert.equal(purchase.payments.length, 1);
    assert.equal(purchase.is_voided, false);
    assert.equal(purchase.is_closed, true);
    assert.equal(reversal.is_voided, true);
  });

  it('redeems the offer locked to the transaction when it is sent, and reinstates it on void', async () => {
    const m = await member();
    const userOfferId = await issue(m.id);
    const txId = `LOCK-${randomUUID()}`;
    const lock = await pos('lock', envelope({ offer_lookup_code: userOfferId, offer_lookup_type: 'userofferid', transaction: { transaction_id: txId, subtotal: 30, items: [{ line_id: '1', item_id: '0', quantity: 1, unit_price: 30 }] } }));
    assert.equal(lock.status, 200, lock.body);
    assert.equal(lock.json.payload.status, 'LOCKED');
    const sent = await send(m.external_id, transaction(txId, m.id, { discounts: [{ ...lock.json.payload, status: 'REDEEMED' }] }));
    assert.equal(sent.status, 200, sent.body);
    const uo = () => t.db.selectFrom('user_offers').select(['status', 'lock_key']).where('id', '=', userOfferId).executeTakeFirstOrThrow();
    assert.equal((await uo()).status, 2, 'redeemed by the transaction');
    assert.equal(await balance(m.id, SPENDABLE), 30);
    await send(m.id, transaction(txId, m.id, { is_voided: true }));
    assert.equal((await uo()).status, 1, 'reinstated by the void');
    assert.equal(await balance(m.id, SPENDABLE), 0);
  });

  it('earns once when the same transaction is sent twice at the same time', async () => {
    const m = await member();
    const txId = `CONC-${randomUUID()}`;
    const [a, b] = await Promise.all([send(m.id, transaction(txId, m.id)), send(m.id, transaction(txId, m.id))]);
    assert.equal(a.status, 200, a.body);
    assert.equal(b.status, 200, b.body);
    assert.equal(a.json.payload.transaction.id, b.json.payload.transaction.id);
    assert.equal(await balance(m.id, SPENDABLE), 30);
    // voided twice at the same time: taken back once
    await Promise.all([send(m.id, transaction(txId, m.id, { is_voided: true })), send(m.id, transaction(txId, m.id, { is_voided: true }))]);
    assert.equal(await balance(m.id, SPENDABLE), 0);
  });

  it('earns on each of 20 transactions of one member sent at the same time: the balance is their sum and each ledger entry follows the one before', async () => {
    const m = await member();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => send(m.id, transaction(`MANY-${i}-${randomUUID()}`, m.id))));
    assert.ok(answers.every((a) => a.status === 200), answers.map((a) => a.body).join('\n'));
    assert.equal(await balance(m.id, SPENDABLE), 600);
    const { rows } = await sql<{ amount: string; balance_after: string }>`SELECT amount, balance_after FROM point_ledger
                                                                           WHERE retailer_id = ${tenant.retailer_id} AND member_id = ${m.id} AND point_account_id = ${SPENDABLE} ORDER BY id`.execute(t.db);
    assert.equal(rows.length, 20);
    let running = 0;
    for (const r of rows) assert.equal(Number(r.balance_after), (running += Number(r.amount)));
  });

  it('answers a request_id replay with the stored answer, and acts on different transactions sent with request_id "1"', async () => {
    const m = await member();
    const body = envelope(transaction(`RID-${randomUUID()}`, m.id), { user_id: m.id, request_id: '1' });
    const first = await pos('send_transaction', body);
    const replay = await pos('send_transaction', body);
    assert.equal(first.status, 200, first.body);
    assert.deepEqual(replay.json, first.json);
    assert.equal(await balance(m.id, SPENDABLE), 30);
    const other = await pos('send_transaction', envelope(transaction(`RID-${randomUUID()}`, m.id), { user_id: m.id, request_id: '1' }));
    assert.equal(other.status, 200, other.body);
    assert.notEqual(other.json.payload.transaction.id, first.json.payload.transaction.id);
    assert.equal(await balance(m.id, SPENDABLE), 60, 'both transactions earn');
  });

  it('keeps an anonymous transaction with a receipt code for the member who claims it', async () => {
    const m = await member();
    const receipt = `receipt-${randomUUID()}`;
    const payload = transaction(`ANON-${randomUUID()}`, '', { payments: [{ receipt_code: receipt, payment_id: '1', amount: 30, type: 'CASH' }] });
    const sent = await send(undefined, payload);
    assert.equal(sent.status, 200, sent.body);
    const claim = await pos('claim_transaction', envelope({ receipt_code: receipt.toUpperCase(), user_id: m.id }));
    assert.equal(claim.status, 200, claim.body);
    assert.equal(claim.json.payload.transaction.id, sent.json.payload.transaction.id);
    assert.equal(await balance(m.id, SPENDABLE), 30);
    const again = await pos('claim_transaction', envelope({ receipt_code: receipt, user_id: m.id }));
    assert.equal(again.status, 200, again.body);
    assert.equal(await balance(m.id, SPENDABLE), 30, 'claiming again earns nothing');
    const someoneElse = await member();
    const taken = await pos('claim_transaction', envelope({ receipt_code: receipt, user_id: someoneElse.id }));
    assert.equal(taken.status, 404, taken.body);
    const unknown = await pos('claim_transaction', envelope({ receipt_code: `nope-${randomUUID()}`, user_id: m.id }));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.errors[0].code, 'not_found');
  });

  it('answers envelope errors in the POS error envelope', async () => {
    const m = await member();
    const wrongClient = await pos('send_transaction', { ...envelope(transaction(`E-${randomUUID()}`, m.id)), client_id: randomUUID(), user_id: m.id });
    assert.equal(wrongClient.status, 404, wrongClient.body);
    assert.deepEqual(Object.keys(wrongClient.json).sort(), ['errors', 'payload', 'status']);
    assert.equal(wrongClient.json.status, 'error');
    assert.equal(wrongClient.json.payload, null);
    assert.equal(wrongClient.json.errors[0].code, 'not_found');
    const unknownStore = await pos('send_transaction', { ...envelope(transaction(`E-${randomUUID()}`, m.id)), store_id: randomUUID(), user_id: m.id });
    assert.equal(unknownStore.status, 404, unknownStore.body);
    assert.equal(unknownStore.json.status, 'error');
    assert.equal(unknownStore.json.errors[0].code, 'store_not_found');
    const noMember = await send(randomUUID(), transaction(`E-${randomUUID()}`, ''));
    assert.equal(noMember.status, 404, noMember.body);
    assert.equal(noMember.json.errors[0].code, 'user_not_found');
    const unauthenticated = await call(t.app, { method: 'POST', url: '/api/2.0/send_transaction', headers: { authorization: 'nope' }, payload: envelope(transaction('X', m.id)) });
    assert.equal(unauthenticated.status, 401);
    assert.equal(unauthenticated.json.status, 'error');
    assert.equal(await balance(m.id, SPENDABLE), 0);
  });

  /**
   * The lookup's answer as the member, user offer, offer and balance modules
   * give it one query at a time (how lookup answered before it read everything
   * in one statement): the reference the till's answer must equal.
   */
  async function expectedLookup(tn: TestTenant, key: { email?: string; phone?: string; user_id?: string; external_customer_id?: string }, transaction?: Record<string, unknown>, culture?: string) {
    const r = tn.retailer_id;
    const member: Member | undefined = key.email
      ? await findByEmail(t.db, r, key.email)
      : key.phone
        ? await findByPhone(t.db, r, key.phone)
        : key.user_id
          ? await resolveMemberRef(t.db, r, key.user_id)
          : await findByExternalId(t.db, r, key.external_customer_id!);
    assert.ok(member, 'the reference finds the member');
    const basket = transaction ? posBasket(transaction) : undefined;
    const page = await listUserOffers(t.db, r, [member.id], { statuses: [STATUS.issued], skip: 0, take: 1000 });
    const offers = await offersByIds(t.db, r, page.rows.map((uo) => uo.offer_id));
    const usable = [];
    for (const uo of page.rows) {
      const offer = offers.get(uo.offer_id)!;
      let discount = { amount: 0n, lines: [] as { line_id: string; quantity: bigint }[] };
      if (basket) {
        try {
          assertRedeemable(uo, offer, { storeId: STORE });
        } catch {
          continue;
        }
        discount = discountFor(offer, basket);
        if (discount.amount <= 0n) continue;
      }
      usable.push({
        reference_id: uo.id,
        user_id: uo.member_id,
        reference_id_type: 'userofferid',
        pos_discount_id: offer.pos_discount_id,
        status: 'INFO',
        display_name: offerText(offer, culture).title,
        image_url: offer.media[0]?.uri ?? null,
        discounted_line_ids: discount.lines.map((l) => l.line_id),
        discounted_line_id_quantities: discount.lines.map((l) => toJson(l.quantity)),
        discount_source: 'sessionm',
        amount: toJson(discount.amount),
        stack_order: 0,
        applied_time: null,
        redemption_code: uo.redemption_code,
        offer_custom_data: null,
        user_offer_custom_data: uo.custom_data,
      });
    }
    const balances = await memberBalances(t.db, r, member.id);
    return {
      status: 'success',
      errors: null,
      payload: [
        {
          user_reference_id: member.id,
          user_account_id: member.id,
          partial_response: false,
          first_name: member.first_name,
          last_name: member.last_name,
          phone: member.phone_numbers[0]?.phone_number ?? null,
          email: member.email,
          points: toJson(await availablePoints(t.db, r, member.id)),
          profile_fields: { _version: member.profile_version, ...(await customProfileDefaults(t.db, r)), ...member.user_profile },
          offers: usable,
          accounts: balances.details.map((d) => ({
            AccountName: d.account_name,
            UserPointAccountID: d.user_point_account_id,
            PointAccountID: d.point_account_id,
            GroupingLabel: d.grouping_label,
            AvailableBalance: toJson(d.available_balance),
            LifeTimeValue: toJson(d.life_time_value),
          })),
        },
      ],
    };
  }

  it('lookup by phone, email, user_id (member id or external id) and external_customer_id answers what the modules say, with and without a basket', async () => {
    const m = await member();
    const user = await memberSummary(t.db, tenant.retailer_id, m.id);
    const email = ((await findByPhone(t.db, tenant.retailer_id, m.phone)) as Member).email!;
    // offers: two 5% (one with custom data), the $5 reward, one revoked and one expired 5% (neither listed)
    const first = await issue(m.id);
    const second = await issue(m.id);
    await transact(t.db, (tx) => updateUserOffer(tx, tenant.actor, second, { custom_data: 'till note' }));
    const reward = (await findOffer(t.db, tenant.retailer_id, '54aa8d62-3713-489b-b38d-df696cd611b9'))!;
    await transact(t.db, (tx) => issueOffer(tx, tenant.actor, user!, reward));
    const revoked = await issue(m.id);
    await transact(t.db, (tx) => revokeUserOffer(tx, tenant.actor, revoked));
    const expired = await issue(m.id);
    await transact(t.db, (tx) => updateUserOffer(tx, tenant.actor, expired, { redemption_end_date: new Date('2025-05-01T00:00:00Z') }));
    // points in both accounts
    assert.equal((await send(m.id, transaction(`LK-${randomUUID()}`, m.id))).status, 200);

    const basket = { transaction_id: 'BASKET-LK', subtotal: 9, items: [{ line_id: '1', item_id: 'coffee', quantity: 1, unit_price: 9, subtotal: 9 }] };
    const keys = [
      { phone: `${m.phone.slice(0, 3)}.${m.phone.slice(3, 6)}.${m.phone.slice(6)}` },
      { email: ` ${email.toUpperCase()} ` },
      { user_id: m.id.toUpperCase() },
      { user_id: m.external_id },
      { external_customer_id: m.external_id.toLowerCase() },
    ];
    for (const key of keys) {
      for (const [transaction, culture] of [[basket, undefined], [undefined, undefined], [basket, 'fr-CA']] as const) {
        const res = await pos('lookup', envelope({ ...key, ...(transaction ? { transaction } : {}) }, culture ? { culture } : {}));
        assert.equal(res.status, 200, res.body);
        assert.deepEqual(res.json, await expectedLookup(tenant, key, transaction, culture), JSON.stringify(key));
      }
    }
    const found = (await pos('lookup', envelope({ phone: m.phone, transaction: basket }))).json.payload[0];
    assert.deepEqual(found.offers.map((o: any) => [o.reference_id, o.amount]).sort(), [[first, 0.45], [second, 0.45], [found.offers.find((o: any) => o.amount === 5).reference_id, 5]].sort());
    assert.equal(found.points, 30);
    for (const id of [SPENDABLE, TIER_POINTS]) {
      const account = found.accounts.find((a: any) => a.PointAccountID === id);
      assert.ok(account.AvailableBalance === 30 && account.LifeTimeValue === 30 && account.UserPointAccountID, JSON.stringify(account));
    }

    // a member without offers, points or phone number
    const bare = await createMemberViaApi(t.app, tenant, { phone_numbers: [] });
    const res = await pos('lookup', envelope({ user_id: bare.id, transaction: basket }));
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(res.json, await expectedLookup(tenant, { user_id: bare.id }, basket));
    assert.equal(res.json.payload[0].phone, null);
    assert.deepEqual(res.json.payload[0].offers, []);
    assert.ok(res.json.payload[0].accounts.every((a: any) => a.AvailableBalance === 0 && a.UserPointAccountID === ''));
  });

  it('lookup answers not found, several matches and a missing key as before', async () => {
    for (const key of [{ phone: '5550000000' }, { email: 'nobody@example.com' }, { user_id: randomUUID() }, { user_id: 'no-such-id' }, { external_customer_id: 'no-such-id' }]) {
      const res = await pos('lookup', envelope(key));
      assert.equal(res.status, 404, res.body);
      assert.equal(res.json.errors[0].code, 'user_not_found');
    }
    const a = await member();
    await createMemberViaApi(t.app, tenant, { phone_numbers: [{ phone_number: a.phone, phone_type: 'mobile' }] });
    const twice = await pos('lookup', envelope({ phone: a.phone }));
    assert.equal(twice.json.errors[0].code, 'multiple_matches', twice.body);
    const missing = await pos('lookup', envelope({}));
    assert.equal(missing.status, 400, missing.body);
    assert.equal(missing.json.errors[0].code, 'missing_data');
  });

  it('lookup prices each user offer with the version it was issued from, across program applies that change and retire the offer', async () => {
    const other = await createTenant(t.db);
    const text = readFileSync(new URL('../../examples/brand-x/program.yaml', import.meta.url), 'utf8');
    const program = parseProgramText(text);
    await transact(t.db, (tx) => applyProgram(tx, other.retailer_id, program));
    const at = (request_payload: Record<string, unknown>) => pos('lookup', { ...envelope(request_payload), client_id: other.retailer_id }, other);
    const phone = `617${String(randomBytes(4).readUInt32BE() % 10_000_000).padStart(7, '0')}`;
    const user = await createMemberViaApi(t.app, other, { phone_numbers: [{ phone_number: phone, phone_type: 'mobile' }] });
    const issueCurrent = async () => {
      const offer = (await findOffer(t.db, other.retailer_id, FIVE_PERCENT))!;
      const summary = (await memberSummary(t.db, other.retailer_id, user.id))!;
      return (await transact(t.db, (tx) => issueOffer(tx, other.actor, summary, offer))).id;
    };
    const basket = { transaction_id: 'BASKET-V', subtotal: 9, items: [{ line_id: '1', item_id: 'coffee', quantity: 1, unit_price: 9, subtotal: 9 }] };
    const priced = async () => {
      const res = await at({ phone, transaction: basket });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(res.json, await expectedLookup(other, { phone }, basket));
      return Object.fromEntries(res.json.payload[0].offers.map((o: any) => [o.reference_id, [o.amount, o.display_name]]));
    };
    const v1 = await issueCurrent();
    assert.deepEqual(await priced(), { [v1]: [0.45, '5% Off Your Entire Purchase'] });

    // the offer becomes 10% under another title: a new version; the user offer issued before keeps its own
    const changed = parseProgramText(text);
    const five = changed.offers!.find((o) => o.root_offer_id === FIVE_PERCENT)!;
    Object.assign(five, { amount: 10, texts: [{ culture: 'en', title: '10% Off' }] });
    await transact(t.db, (tx) => applyProgram(tx, other.retailer_id, changed));
    const v2 = await issueCurrent();
    assert.deepEqual(await priced(), { [v1]: [0.45, '5% Off Your Entire Purchase'], [v2]: [0.9, '10% Off'] });

    // only a store elsewhere: a third version, usable at that store only (this till's store does not see it)
    five.restrictions = { location: { store_ids: [randomUUID()] } };
    await transact(t.db, (tx) => applyProgram(tx, other.retailer_id, changed));
    const v3 = await issueCurrent();
    assert.deepEqual(await priced(), { [v1]: [0.45, '5% Off Your Entire Purchase'], [v2]: [0.9, '10% Off'] });
    assert.ok((await at({ phone })).json.payload[0].offers.some((o: any) => o.reference_id === v3), 'listed without a basket');

    // retired (left out of the program): no longer issued, and issued ones stay usable
    changed.offers = changed.offers!.filter((o) => o.root_offer_id !== FIVE_PERCENT);
    await transact(t.db, (tx) => applyProgram(tx, other.retailer_id, changed));
    assert.ok((await findOffer(t.db, other.retailer_id, FIVE_PERCENT))!.retired_at);
    assert.deepEqual(await priced(), { [v1]: [0.45, '5% Off Your Entire Purchase'], [v2]: [0.9, '10% Off'] });
  });
  /** Every point account of the member holds what its ledger entries add up to. */
  async function assertLedger(memberId: string, tn = tenant) {
    const { rows } = await sql<{ point_account_id: string; balance: string; ledger: string }>`
      SELECT a.point_account_id, a.available_balance::text AS balance,
             coalesce((SELECT sum(l.amount) FROM point_ledger l WHERE l.retailer_id = a.retailer_id AND l.member_id = a.member_id AND l.point_account_id = a.point_account_id), 0)::text AS ledger
        FROM member_point_accounts a WHERE a.retailer_id = ${tn.retailer_id} AND a.member_id = ${memberId}`.execute(t.db);
    for (const r of rows) assert.equal(Number(r.ledger), Number(r.balance), `ledger sum = balance for ${r.point_account_id}`);
  }
  const entries = (memberId: string, referenceType: string) =>
    t.db
      .selectFrom('point_ledger')
      .select(['point_account_id', 'amount', 'modification_type'])
      .where('retailer_id', '=', tenant.retailer_id)
      .where('member_id', '=', memberId)
      .where('reference_type', '=', referenceType)
      .orderBy('id')
      .execute();
  const both = async (memberId: string) => [await balance(memberId, SPENDABLE), await balance(memberId, TIER_POINTS)];
  const line = (line_id: string, quantity: number, unit_price: number) => ({ item_id: `item-${line_id}`, line_id, quantity, unit_price, tax_included: 0, subtotal: quantity * unit_price });

  it('a return with negative quantities takes back the points its lines earned, once; a void of the return gives them back', async () => {
    const m = await member();
    assert.equal((await send(m.id, transaction(`RET-P-${randomUUID()}`, m.id))).status, 200);
    assert.deepEqual(await both(m.id), [30, 30]);

    const returnId = `RET-${randomUUID()}`;
    const ret = transaction(returnId, m.id, { subtotal: -10, items: [line('1', -1, 10)] });
    const sent = await send(m.id, ret);
    assert.equal(sent.status, 200, sent.body);
    assert.match(sent.json.payload.transaction.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(await both(m.id), [20, 20], 'the returned 10.00 line takes back 10 + 10');
    const taken = await entries(m.id, 'pos_return');
    assert.deepEqual(taken.map((e) => [e.point_account_id, Number(e.amount)]).sort(), [[SPENDABLE, -10], [TIER_POINTS, -10]].sort());
    await assertLedger(m.id);

    assert.equal((await send(m.id, ret)).json.payload.transaction.id, sent.json.payload.transaction.id);
    assert.deepEqual(await both(m.id), [20, 20], 'the same return again changes nothing');

    // without a subtotal: the lines' own (−2 × 2.50 = −5.00)
    const { subtotal: _s, ...noSubtotal } = transaction(`RET-${randomUUID()}`, m.id, { items: [line('1', -2, 2.5)] });
    assert.equal((await send(m.id, noSubtotal)).status, 200);
    assert.deepEqual(await both(m.id), [15, 15]);

    // the return voided: what it took back comes back, once
    await send(m.id, { ...ret, is_voided: true });
    await send(m.id, { ...ret, is_voided: true });
    assert.deepEqual(await both(m.id), [25, 25]);
    await assertLedger(m.id);

    // a return never takes back more than the member's transactions earned (25 left)
    await send(m.id, transaction(`RET-${randomUUID()}`, m.id, { subtotal: -100, items: [line('1', -1, 100)] }));
    assert.deepEqual(await both(m.id), [0, 0]);
    await assertLedger(m.id);

    // a member who earned nothing loses nothing; an anonymous return takes nothing from anyone
    const fresh = await member();
    assert.equal((await send(fresh.id, transaction(`RET-${randomUUID()}`, fresh.id, { subtotal: -10, items: [line('1', -1, 10)] }))).status, 200);
    assert.deepEqual(await both(fresh.id), [0, 0]);
    const anonymous = await send(undefined, transaction(`RET-${randomUUID()}`, '', { subtotal: -10, items: [line('1', -1, 10)], payments: [] }));
    assert.equal(anonymous.status, 200, anonymous.body);
  });

  it('a claimed anonymous return takes back from the member who claims it; a modified anonymous transaction earns on its new lines when claimed', async () => {
    const m = await member();
    await send(m.id, transaction(`CR-P-${randomUUID()}`, m.id));
    const receipt = `receipt-${randomUUID()}`;
    const ret = await send(undefined, transaction(`CR-${randomUUID()}`, '', { subtotal: -10, items: [line('1', -1, 10)], payments: [{ receipt_code: receipt, payment_id: '1', amount: -10, type: 'CASH' }] }));
    assert.equal(ret.status, 200, ret.body);
    assert.equal((await pos('claim_transaction', envelope({ receipt_code: receipt, user_id: m.id }))).status, 200);
    assert.deepEqual(await both(m.id), [20, 20]);

    const other = `receipt-${randomUUID()}`;
    const anonymous = transaction(`CM-${randomUUID()}`, '', { payments: [{ receipt_code: other, payment_id: '1', amount: 30, type: 'CASH' }] });
    await send(undefined, anonymous);
    await send(undefined, { ...anonymous, subtotal: 25, items: anonymous.items.slice(0, 2) });
    assert.equal((await pos('claim_transaction', envelope({ receipt_code: other, user_id: m.id }))).status, 200);
    assert.deepEqual(await both(m.id), [45, 45]);
    await assertLedger(m.id);
  });

  it('a modified transaction (same id, a line removed or added) applies the difference; sending it again changes nothing; a void takes back what remains', async () => {
    const m = await member();
    const txId = `MOD-${randomUUID()}`;
    const original = transaction(txId, m.id);
    assert.equal((await send(m.id, original)).status, 200);
    assert.deepEqual(await both(m.id), [30, 30]);
    assert.equal((await send(m.id, original)).status, 200);
    assert.deepEqual(await both(m.id), [30, 30], 'an identical re-send changes nothing');

    // the 5.00 line removed: its 5 + 5 taken back
    const removed = transaction(txId, m.id, { subtotal: 25, items: original.items.slice(0, 2) });
    const first = await send(m.id, removed);
    assert.equal(first.status, 200, first.body);
    assert.deepEqual(await both(m.id), [25, 25]);
    const row = () => t.db.selectFrom('pos_transactions').select(['items', 'subtotal', 'earned']).where('retailer_id', '=', tenant.retailer_id).where('transaction_id', '=', txId).executeTakeFirstOrThrow();
    assert.equal((await row()).items.length, 2);
    assert.equal(Number((await row()).subtotal), 25);
    await assertLedger(m.id);
    // the modified one again, and twice at the same time: nothing more
    assert.equal((await send(m.id, removed)).json.payload.transaction.id, first.json.payload.transaction.id);
    assert.deepEqual(await both(m.id), [25, 25]);

    // two identical modifications at the same time (quantity 2 of the 15.00 line): applied once
    const more = transaction(txId, m.id, { subtotal: 40, items: [original.items[0], line('2', 2, 15)] });
    const [a, b] = await Promise.all([send(m.id, more), send(m.id, more)]);
    assert.equal(a.status, 200, a.body);
    assert.equal(b.status, 200, b.body);
    assert.deepEqual(await both(m.id), [40, 40], 'earning more deposits the difference, once');
    await assertLedger(m.id);
    assert.deepEqual((await entries(m.id, 'pos_transaction_change')).map((e) => Number(e.amount)).sort(), [-5, -5, 15, 15]);

    // the void takes back exactly what the transaction earns now
    await send(m.id, { ...more, is_voided: true });
    assert.deepEqual(await both(m.id), [0, 0]);
    // a modification of a voided transaction changes nothing
    await send(m.id, original);
    assert.deepEqual(await both(m.id), [0, 0]);
    await assertLedger(m.id);
  });

  it('a void rolls back the campaign purchase progress the transaction made', async () => {
    const other = await createTenant(t.db);
    const program = parseProgramText(readFileSync(new URL('../../examples/brand-x/program.yaml', import.meta.url), 'utf8'));
    const CAMPAIGN = 9001;
    const BEHAVIOR = 90010;
    program.campaigns = [
      ...(program.campaigns ?? []),
      {
        id: CAMPAIGN,
        name: 'Three purchases',
        start_date: '2020-01-01 00:00:00',
        end_date: '2124-01-01 00:00:00',
        point_account_id: SPENDABLE,
        behaviors: [{ id: BEHAVIOR, name: 'three_purchases', external_behavior_id: randomUUID(), type: 'count', count_event: 'purchase', earn_count: 3, points: 50 }],
      },
    ];
    await transact(t.db, (tx) => applyProgram(tx, other.retailer_id, program));
    const user = await createMemberViaApi(t.app, other, { phone_numbers: [] });
    const at = (payload: Record<string, unknown>) => pos('send_transaction', { store_id: STORE, client_id: other.retailer_id, request_id: randomUUID(), user_id: user.id, request_payload: payload }, other);
    const goal = async () => {
      const g = await t.db.selectFrom('member_goals').select(['current_count', 'achieved']).where('retailer_id', '=', other.retailer_id).where('member_id', '=', user.id).where('behavior_id', '=', BEHAVIOR).executeTakeFirst();
      const s = await t.db.selectFrom('member_campaigns').select('state').where('retailer_id', '=', other.retailer_id).where('member_id', '=', user.id).where('campaign_id', '=', CAMPAIGN).executeTakeFirst();
      return [g?.current_count ?? 0, g?.achieved ?? 0, s?.state];
    };
    const spendable = async () => {
      const b = await memberBalances(t.db, other.retailer_id, user.id);
      return toJson(b.details.find((x) => x.point_account_id === SPENDABLE)?.available_balance ?? 0n);
    };
    const ids = ['A', 'B', 'C', 'D', 'E'].map((x) => `CAMP-${x}-${randomUUID()}`);
    const purchase = (i: number, extra: Record<string, unknown> = {}) => at(transaction(ids[i], user.id, extra));

    assert.equal((await purchase(0)).status, 200);
    assert.equal((await purchase(1)).status, 200);
    assert.deepEqual(await goal(), [2, 0, 'in_progress']);
    assert.equal((await purchase(1, { is_voided: true })).status, 200);
    assert.deepEqual(await goal(), [1, 0, 'in_progress'], 'the void takes back its purchase count');
    await purchase(1, { is_voided: true });
    assert.deepEqual(await goal(), [1, 0, 'in_progress'], 'once');
    await purchase(0, { is_voided: true });
    assert.deepEqual(await goal(), [0, 0, 'qualified'], 'no progress left: the campaign is back to qualified');
    assert.equal(await spendable(), 0);

    // C, D and E complete the behaviour: 50 points with E
    await purchase(2);
    await purchase(3);
    await purchase(4);
    assert.deepEqual((await goal()).slice(0, 2), [0, 1], 'completed: the next cycle starts from zero');
    assert.equal(await spendable(), 3 * 30 + 50);
    // voiding the completing purchase takes back its points and the campaign award; the completion stands
    await purchase(4, { is_voided: true });
    assert.equal(await spendable(), 2 * 30);
    assert.deepEqual((await goal()).slice(0, 2), [0, 1]);
    // a purchase of the finished cycle voided: the new cycle's count is not touched
    await at(transaction(`CAMP-F-${randomUUID()}`, user.id));
    assert.deepEqual((await goal()).slice(0, 2), [1, 1]);
    await purchase(2, { is_voided: true });
    assert.deepEqual((await goal()).slice(0, 2), [1, 1]);
    assert.equal(await spendable(), 2 * 30);
    await assertLedger(user.id, other);
  });
});
