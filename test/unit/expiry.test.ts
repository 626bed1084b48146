// Point expiry policies (src/modules/points/expiry.ts): the instant a deposit
// expires under each policy and rounding, in the policy's time zone (month
// ends, leap years, DST changes), pending instants, and what is refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expiryOf, lotTerms, policyProblem, withTimeZone, type ExpiryPolicy } from '../../src/modules/points/expiry.js';

const at = (iso: string) => new Date(iso);
const iso = (d: Date | null) => d?.toISOString() ?? null;
const expiry = (policy: ExpiryPolicy, earned: string) => iso(expiryOf(policy, at(earned)));

describe('point expiry policies', () => {
  it('after: adds the duration to the instant earned, calendar months clamped to the month’s last day', () => {
    assert.equal(expiry({ policy: 'after', after: 'PT3S' }, '2026-05-01T10:00:00.000Z'), '2026-05-01T10:00:03.000Z');
    assert.equal(expiry({ policy: 'after', after: 'P30D' }, '2026-05-01T10:00:00.000Z'), '2026-05-31T10:00:00.000Z');
    assert.equal(expiry({ policy: 'after', after: 'P1M' }, '2026-01-31T10:00:00.000Z'), '2026-02-28T10:00:00.000Z');
    assert.equal(expiry({ policy: 'after', after: 'P1M' }, '2028-01-31T10:00:00.000Z'), '2028-02-29T10:00:00.000Z', 'a leap year');
    assert.equal(expiry({ policy: 'after', after: 'P12M' }, '2028-02-29T10:00:00.000Z'), '2029-02-28T10:00:00.000Z');
  });

  it('after with round_to: to the end of the day, month, quarter or year it lands in, in the policy’s time zone', () => {
    const ny = { time_zone: 'America/New_York' };
    // 15 Jan 2027 local, to the end of January: midnight starting 1 Feb in New York (UTC-5)
    assert.equal(expiry({ policy: 'after', after: 'P12M', round_to: 'month', ...ny }, '2026-01-15T12:00:00.000Z'), '2027-02-01T05:00:00.000Z');
    // 23:40 on 31 Dec in New York is already 1 Jan in UTC: the local month counts
    assert.equal(expiry({ policy: 'after', after: 'PT10M', round_to: 'month', ...ny }, '2027-01-01T04:30:00.000Z'), '2027-01-01T05:00:00.000Z');
    assert.equal(expiry({ policy: 'after', after: 'P1M', round_to: 'quarter' }, '2026-02-10T00:00:00.000Z'), '2026-04-01T00:00:00.000Z');
    assert.equal(expiry({ policy: 'after', after: 'P1M', round_to: 'quarter' }, '2026-11-10T00:00:00.000Z'), '2027-01-01T00:00:00.000Z');
    assert.equal(expiry({ policy: 'after', after: 'P1Y', round_to: 'year', time_zone: 'Asia/Tokyo' }, '2026-06-01T00:00:00.000Z'), '2027-12-31T15:00:00.000Z');
    // Berlin moves to summer time on 29 March 2026: that day has 23 hours, and its end is 22:00 UTC
    assert.equal(expiry({ policy: 'after', after: 'P1D', round_to: 'day', time_zone: 'Europe/Berlin' }, '2026-03-28T12:00:00.000Z'), '2026-03-29T22:00:00.000Z');
    // and back on 25 October: 25 hours, its end at 23:00 UTC
    assert.equal(expiry({ policy: 'after', after: 'P1D', round_to: 'day', time_zone: 'Europe/Berlin' }, '2026-10-24T12:00:00.000Z'), '2026-10-25T23:00:00.000Z');
  });

  it('fixed_date: the end of the next such day after the day earned; a missing 29 February is the 28th', () => {
    const newYearsEve = { policy: 'fixed_date', month: 12, day: 31 } as const;
    assert.equal(expiry(newYearsEve, '2026-06-01T10:00:00.000Z'), '2027-01-01T00:00:00.000Z');
    assert.equal(expiry(newYearsEve, '2026-12-30T23:59:59.000Z'), '2027-01-01T00:00:00.000Z');
    assert.equal(expiry(newYearsEve, '2026-12-31T10:00:00.000Z'), '2028-01-01T00:00:00.000Z', 'earned on the day itself: the next year’s');
    const leapDay = { policy: 'fixed_date', month: 2, day: 29 } as const;
    assert.equal(expiry(leapDay, '2026-01-10T00:00:00.000Z'), '2026-03-01T00:00:00.000Z');
    assert.equal(expiry(leapDay, '2027-03-01T00:00:00.000Z'), '2028-03-01T00:00:00.000Z', '2028 has a 29 February');
    // 21:00 on 30 Dec in Los Angeles (05:00 UTC on the 31st): the end of 31 Dec there
    assert.equal(expiry({ ...newYearsEve, time_zone: 'America/Los_Angeles' }, '2026-12-31T05:00:00.000Z'), '2027-01-01T08:00:00.000Z');
  });

  it('inactivity: after the duration from the activity; never: no expiry', () => {
    assert.equal(expiry({ policy: 'inactivity', after: 'P18M' }, '2026-03-15T08:00:00.000Z'), '2027-09-15T08:00:00.000Z');
    assert.equal(expiry({ policy: 'never' }, '2026-03-15T08:00:00.000Z'), null);
    assert.equal(iso(expiryOf(undefined, at('2026-03-15T08:00:00.000Z'))), null);
  });

  it('gives a deposit its lot: the bucket of its expiry, pending until pending_for has passed; its own date wins', () => {
    const earned = at('2026-05-01T10:00:00.000Z');
    const monthly = { expiry: { policy: 'after', after: 'P1M', round_to: 'month', time_zone: 'UTC' } as ExpiryPolicy, pending_for: 'P14D', expiry_notice: 'P30D' };
    assert.deepEqual(lotTerms(monthly, earned), { expiresAt: at('2026-07-01T00:00:00.000Z'), availableAt: at('2026-05-15T10:00:00.000Z'), notifyAt: at('2026-06-01T00:00:00.000Z'), bucket: '2026-07-01T00:00:00.000Z' });
    const own = at('2026-06-10T00:00:00.000Z');
    assert.deepEqual(lotTerms(monthly, earned, own), { expiresAt: own, availableAt: at('2026-05-15T10:00:00.000Z'), notifyAt: at('2026-05-11T00:00:00.000Z'), bucket: own.toISOString() });
    assert.deepEqual(lotTerms({ expiry: null, pending_for: null, expiry_notice: 'P30D' }, earned), { expiresAt: null, availableAt: null, notifyAt: null, bucket: 'never' });
    assert.equal(lotTerms({ expiry: { policy: 'inactivity', after: 'P18M' }, pending_for: null }, earned).bucket, 'inactivity', 'one lot, whose expiry moves');
  });

  it('settles a policy’s time zone: its own, else the program’s, else UTC', () => {
    assert.deepEqual(withTimeZone({ policy: 'after', after: 'P1M' }, 'Europe/Paris'), { policy: 'after', after: 'P1M', time_zone: 'Europe/Paris' });
    assert.deepEqual(withTimeZone({ policy: 'after', after: 'P1M', time_zone: 'Asia/Tokyo' }, 'Europe/Paris'), { policy: 'after', after: 'P1M', time_zone: 'Asia/Tokyo' });
    assert.deepEqual(withTimeZone({ policy: 'fixed_date', month: 1, day: 1 }, undefined), { policy: 'fixed_date', month: 1, day: 1, time_zone: 'UTC' });
    assert.deepEqual(withTimeZone({ policy: 'never' }, 'Europe/Paris'), { policy: 'never' });
  });

  it('names the field of an invalid policy', () => {
    assert.deepEqual(policyProblem({ policy: 'after', after: 'twelve months' }, {}), { field: 'expiry.after', message: 'twelve months is not an ISO 8601 duration (P12M, P30D, PT10S)' });
    assert.equal(policyProblem({ policy: 'after', after: 'P0D' }, {})?.field, 'expiry.after');
    assert.equal(policyProblem({ policy: 'inactivity', after: 'P-1M' }, {})?.field, 'expiry.after');
    assert.deepEqual(policyProblem({ policy: 'fixed_date', month: 2, day: 30 }, {}), { field: 'expiry.day', message: 'month 2 has no day 30' });
    assert.equal(policyProblem({ policy: 'fixed_date', month: 4, day: 31 }, {})?.field, 'expiry.day');
    assert.equal(policyProblem({ policy: 'fixed_date', month: 2, day: 29 }, {}), undefined);
    assert.equal(policyProblem({ policy: 'after', after: 'P1M', time_zone: 'Mars/Olympus' }, {})?.field, 'expiry.time_zone');
    assert.equal(policyProblem(undefined, { pending_for: '14 days' })?.field, 'pending_for');
    assert.equal(policyProblem(undefined, { expiry_notice: 'P' })?.field, 'expiry_notice');
    assert.equal(policyProblem({ policy: 'after', after: 'P12M', round_to: 'month' }, { pending_for: 'P14D', expiry_notice: 'P30D' }), undefined);
  });
});
