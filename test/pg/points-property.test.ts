// Property-based test of the points ledger (issue 3): random sequences of
// deposits, spends (some forced), returns and idempotent retries, applied
// through the Connect API to a fresh member per run; after every operation the
// database must satisfy the ledger invariants and agree with a model kept here
// in exact integer arithmetic (hundredths of a point as bigint).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { call, createMemberViaApi, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';
import { pointsProgram, type PointsProgram } from '../support/factories.js';

type AccountKey = 'spendable' | 'bonus' | 'overdraft' | 'capped';
const KEYS: AccountKey[] = ['spendable', 'bonus', 'overdraft', 'capped'];
const DEFAULTS: AccountKey[] = ['spendable', 'bonus'];
const ALLOW_NEGATIVE: Record<AccountKey, boolean> = { spendable: false, bonus: false, overdraft: true, capped: false };
/** maximum_balance in hundredths. */
const MAXIMUM: Partial<Record<AccountKey, bigint>> = { capped: 10_000n };

type Op =
  | { kind: 'deposit'; account: AccountKey; amount: bigint; asNumber: boolean; keyed: boolean }
  | { kind: 'spend'; accounts: AccountKey[] | null; amount: bigint; force: boolean; asNumber: boolean; keyed: boolean }
  | { kind: 'return'; account: AccountKey; amount: bigint; asNumber: boolean; keyed: boolean }
  | { kind: 'retry'; pick: number };

const amountArb = fc.integer({ min: 1, max: 6_000 }).map(BigInt);
const accountArb = fc.constantFrom<AccountKey>(...KEYS);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('deposit' as const), account: accountArb, amount: amountArb, asNumber: fc.boolean(), keyed: fc.boolean() }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('spend' as const),
      accounts: fc.oneof(fc.constant(null), fc.uniqueArray(accountArb, { minLength: 1, maxLength: 3 })),
      amount: amountArb,
      force: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
      asNumber: fc.boolean(),
      keyed: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('return' as const), account: accountArb, amount: amountArb, asNumber: fc.boolean(), keyed: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retry' as const), pick: fc.nat() }) },
);

/** Hundredths as the wire's decimal: a string ("12.34") or a JSON number (12.34). */
function wire(amount: bigint, asNumber: boolean): string | number {
  const text = `${amount / 100n}.${(amount % 100n).toString().padStart(2, '0')}`;
  return asNumber ? Number(text) : text;
}

/** numeric(19,4) text ("-12.3400") as hundredths; fails on anything finer. */
function hundredths(text: string): bigint {
  const [whole, fraction = ''] = text.replace('-', '').split('.');
  assert.match(fraction.padEnd(4, '0').slice(2), /^0*$/, `unexpected precision in ${text}`);
  const value = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2));
  return text.startsWith('-') ? -value : value;
}

interface ModelAccount {
  balance: bigint;
  lifetime: bigint;
}

describe('points ledger invariants under random operations (PostgreSQL, fast-check)', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let p: PointsProgram;
  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    p = await pointsProgram(t.db, tenant.retailer_id);
  });

  const post = (path: string, body: Record<string, unknown>) =>
    call(t.app, { method: 'POST', url: `/incentives/api/2.0/user_points/${path}`, headers: { authorization: tenant.connect }, payload: { retailer_id: tenant.retailer_id, ...body } });

  async function dbState(memberId: string) {
    const accounts = await sql<{ point_account_id: string; available_balance: string; life_time_value: string }>`
      SELECT point_account_id, available_balance::text, life_time_value::text FROM member_point_accounts WHERE member_id = ${memberId} ORDER BY point_account_id`.execute(t.db);
    const ledger = await sql<{ id: number; point_account_id: string; amount: string; balance_after: string; modification_type: string; effective_at: Date }>`
      SELECT id, point_account_id, amount::text, balance_after::text, modification_type, effective_at FROM point_ledger WHERE member_id = ${memberId} ORDER BY id`.execute(t.db);
    const events = await sql<{ n: number }>`SELECT count(*)::int AS n FROM timeline_events WHERE member_id = ${memberId}`.execute(t.db);
    return { accounts: accounts.rows, ledger: ledger.rows, timeline: events.rows[0].n };
  }

  /** The invariants of SPEC §5.4 / issue 3, on the database alone. */
  function checkInvariants(state: Awaited<ReturnType<typeof dbState>>, byId: Map<string, AccountKey>) {
    for (const account of state.accounts) {
      const key = byId.get(account.point_account_id)!;
      const entries = state.ledger.filter((e) => e.point_account_id === account.point_account_id);
      const balance = hundredths(account.available_balance);
      assert.equal(entries.reduce((s, e) => s + hundredths(e.amount), 0n), balance, `${key}: ledger sum equals the balance`);
      if (entries.length) {
        assert.equal(hundredths(entries.at(-1)!.balance_after), balance, `${key}: last entry's balance_after is the balance`);
        // each entry's balance_after follows from the one before (in write order and in time order)
        let running = 0n;
        for (const e of entries) {
          running += hundredths(e.amount);
          assert.equal(hundredths(e.balance_after), running, `${key}: balance_after of entry ${e.id}`);
        }
        const byTime = [...entries].sort((a, b) => a.effective_at.getTime() - b.effective_at.getTime() || a.id - b.id);
        assert.deepEqual(byTime.map((e) => e.id), entries.map((e) => e.id), `${key}: time order is write order`);
      } else {
        assert.equal(balance, 0n);
      }
      const forced = entries.some((e) => e.modification_type === 'forced_spend');
      assert.ok(balance >= 0n || ALLOW_NEGATIVE[key] || forced, `${key}: below zero (${account.available_balance}) without allow_negative or a forced spend`);
      const deposits = entries.filter((e) => e.modification_type === 'deposit').reduce((s, e) => s + hundredths(e.amount), 0n);
      assert.equal(hundredths(account.life_time_value), deposits, `${key}: life_time_value is the sum of deposits`);
      const max = MAXIMUM[key];
      if (max !== undefined) assert.ok(balance <= max, `${key}: over its maximum balance`);
    }
  }

  it('keeps balance = ledger sum, no unforced overdraft, lifetime = deposits, and refused operations change nothing', async () => {
    const byId = new Map<string, AccountKey>(KEYS.map((k) => [p[k], k]));
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 20, maxLength: 40 }), async (ops) => {
        runs++;
        const member = await createMemberViaApi(t.app, tenant);
        const model = new Map<AccountKey, ModelAccount>(KEYS.map((k) => [k, { balance: 0n, lifetime: 0n }]));
        const forcedBelowZero = new Set<AccountKey>();
        /** Applied keyed requests, with the answer they got, for retries. */
        const keyed: { body: Record<string, unknown>; path: string; answer: any }[] = [];

        let before = await dbState(member.id);
        for (const [step, op] of ops.entries()) {
          const where = `step ${step}: ${JSON.stringify(op, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`;

          if (op.kind === 'retry') {
            if (!keyed.length) continue;
            const earlier = keyed[op.pick % keyed.length];
            const res = await post(earlier.path, earlier.body);
            assert.equal(res.status, 200, `${where}: ${res.body}`);
            assert.deepEqual(
              res.json.payload.details.map((d: any) => [d.point_account_id, d.remaining_balance]),
              earlier.answer.details.map((d: any) => [d.point_account_id, d.remaining_balance]),
              `${where}: a retry answers the first answer`,
            );
            const after = await dbState(member.id);
            assert.deepEqual(after.accounts, before.accounts, `${where}: a retry changes no balance`);
            assert.deepEqual(after.ledger, before.ledger, `${where}: a retry writes no entry`);
            before = after;
            continue;
          }

          // what the model says should happen
          let expected: { ok: true; changes: [AccountKey, bigint, 'balance' | 'both'][]; forced?: AccountKey } | { ok: false; code: string };
          if (op.kind === 'deposit' || op.kind === 'return') {
            const target = op.account;
            const after = model.get(target)!.balance + op.amount;
            const max = MAXIMUM[target];
            expected = max !== undefined && after > max ? { ok: false, code: 'maximum_balance_exceeded' } : { ok: true, changes: [[target, op.amount, op.kind === 'deposit' ? 'both' : 'balance']] };
          } else {
            const targets = op.accounts ?? DEFAULTS;
            const changes: [AccountKey, bigint, 'balance'][] = [];
            let remaining = op.amount;
            for (const key of targets) {
              const have = model.get(key)!.balance;
              const take = have > 0n ? (have < remaining ? have : remaining) : 0n;
              if (take > 0n) {
                changes.push([key, -take, 'balance']);
                remaining -= take;
              }
              if (remaining === 0n) break;
            }
            const last = targets[targets.length - 1];
            if (remaining === 0n) expected = { ok: true, changes };
            else if (op.force || ALLOW_NEGATIVE[last]) expected = { ok: true, changes: [...changes, [last, -remaining, 'balance']], forced: op.force && !ALLOW_NEGATIVE[last] ? last : undefined };
            else expected = { ok: false, code: 'insufficient_points' };
          }

          const idempotency_id = op.keyed ? randomUUID() : undefined;
          const amount = wire(op.amount, op.asNumber);
          const [path, body] =
            op.kind === 'deposit'
              ? ['deposit', { user_id: member.id, deposit_details: [{ point_account_id: p[op.account], amount, point_source_id: p.source, idempotency_id }] }]
              : op.kind === 'return'
                ? ['spend_multiple', { user_id: member.id, spend_details: [{ point_account_ids: [p[op.account]], amount, is_return: true, idempotency_id }] }]
                : ['spend_multiple', { user_id: member.id, spend_details: [{ ...(op.accounts ? { point_account_ids: op.accounts.map((k) => p[k]) } : {}), amount, force_spend: op.force, idempotency_id }] }];
          const res = await post(path, body);
          const after = await dbState(member.id);

          if (!expected.ok) {
            assert.equal(res.status, 422, `${where}: ${res.body}`);
            assert.equal(res.json.errors.code, expected.code, where);
            assert.deepEqual(after, before, `${where}: a refused operation changes nothing`);
          } else {
            assert.equal(res.status, 200, `${where}: ${res.body}`);
            for (const [key, delta, what] of expected.changes) {
              const m = model.get(key)!;
              m.balance += delta;
              if (what === 'both') m.lifetime += delta;
            }
            if (expected.forced) forcedBelowZero.add(expected.forced);
            if (idempotency_id) keyed.push({ path, body, answer: res.json.payload });
            // the answer's remaining balances (the last line of each account) are the model's
            const answered = new Map<string, number>(res.json.payload.details.map((d: any) => [d.point_account_id, d.remaining_balance]));
            for (const [id, remaining] of answered) {
              const key = byId.get(id)!;
              assert.equal(BigInt(Math.round(remaining * 100)), model.get(key)!.balance, `${where}: remaining_balance of ${key}`);
            }
            assert.ok(after.timeline > before.timeline, `${where}: the timeline records the change`);
          }

          checkInvariants(after, byId);
          // the database agrees with the model, account by account
          for (const key of KEYS) {
            const row = after.accounts.find((a) => a.point_account_id === p[key]);
            const m = model.get(key)!;
            assert.equal(row ? hundredths(row.available_balance) : 0n, m.balance, `${where}: balance of ${key}`);
            assert.equal(row ? hundredths(row.life_time_value) : 0n, m.lifetime, `${where}: life_time_value of ${key}`);
            if (m.balance < 0n) assert.ok(ALLOW_NEGATIVE[key] || forcedBelowZero.has(key), `${where}: model below zero`);
          }
          before = after;
        }

        // the balance endpoint answers the model too
        const balance = await post('balance', { user_id: member.id });
        assert.equal(balance.status, 200, balance.body);
        for (const d of balance.json.payload.details) {
          const key = byId.get(d.point_account_id);
          if (!key) continue;
          assert.equal(BigInt(Math.round(d.available_balance * 100)), model.get(key)!.balance, `balance endpoint: ${key}`);
          assert.equal(BigInt(Math.round(d.life_time_value * 100)), model.get(key)!.lifetime, `balance endpoint lifetime: ${key}`);
        }
      }),
      { numRuns: 15, endOnFailure: true },
    ).catch((err: Error & { cause?: unknown }) => {
      // the assertion that failed inside the property, not only fast-check's summary
      throw new Error(`${err.message}\n${err.cause instanceof Error ? err.cause.message : String(err.cause)}`);
    });
    assert.ok(runs >= 15);
  });
});
