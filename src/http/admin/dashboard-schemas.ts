// The admin dashboard's answer (flows/dashboard.ts): counts are integers,
// amounts exact decimal text, days the retailer's calendar days.
import { Type } from '@sinclair/typebox';
import { component, IsoTime, Obj, Uuid } from '../contract.js';

const Amount = (description: string) => Type.String({ pattern: '^-?\\d+(\\.\\d+)?$', description: `${description}: exact decimal text`, examples: ['100', '12.5'] });

export const AdminDashboard = component(
  'AdminDashboard',
  Obj({
    from: { ...IsoTime, description: 'the window’s start (included)' },
    to: { ...IsoTime, description: 'the window’s end (excluded)' },
    time_zone: Type.String({ description: 'the retailer’s IANA time zone (its program’s retailer.time_zone; UTC when it names none): the days below are its days', examples: ['America/New_York'] }),
    members: Obj({
      total: Type.Integer({ description: 'members now (merged-away, forgotten and deleted ones are not counted)' }),
      new_in_period: Type.Integer({ description: 'of them, those who enrolled in the window' }),
      active_last_30_days: Type.Integer({ description: 'of them, those with a point ledger entry or a timeline entry (anything recorded about them, expiries included) in the 30 days before `to`' }),
    }),
    points_per_day: Type.Array(
      Obj({
        day: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD in the retailer’s time zone; the first and last days count only their part within the window', examples: ['2024-05-01'] }),
        issued: Amount('points deposited (awards of rules and campaigns, manual deposits, pending deposits as they became available)'),
        spent: Amount('points spent (spends and forced spends) less the points returned; negative on a day that returned more than it spent'),
        expired: Amount('points written off as they expired'),
      }),
      { description: 'every day the window touches, oldest first, zero where nothing happened; merges count in none' },
    ),
    liability: Type.Array(
      Obj({
        point_account_id: Uuid,
        name: Type.String(),
        outstanding: Amount('available and pending points of every member, now'),
        members_holding: Type.Integer({ description: 'members holding more than zero (available and pending) in the account' }),
      }),
      { description: 'every point account of the retailer, in program order' },
    ),
    offers: Obj({
      issued: Type.Integer({ description: 'user offers acquired in the window (issued by any surface or bought in a reward store)' }),
      redeemed: Type.Integer({ description: 'redemptions in the window, less those undone since' }),
    }),
    top_campaigns: Type.Array(
      Obj({ campaign_id: Type.Integer(), name: Type.String(), completions: Type.Integer({ description: 'members who completed the campaign in the window' }) }),
      { description: 'the five campaigns most completed in the window, most first; none that nobody completed' },
    ),
  }),
);
