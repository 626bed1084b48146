// The answers of the Connect points, tiers and events operations, and the
// pieces several of them share (registered once as components).
import { Type, type TSchema } from '@sinclair/typebox';
import { component, IsoTime, Nullable, Obj, OneOf } from '../contract.js';

/** A Connect success answer: `{status: 'ok', payload}`. */
export const connectAnswer = <T extends TSchema>(payload: T) => Obj({ status: Type.Literal('ok'), payload });

/** The error of one item of a batch that answers each item on its own. */
export const ItemError = Obj({ code: Type.String({ description: 'a domain error code, as the error answers give' }), message: Type.String() });

/** Whether a batch item applied. */
export const ItemStatus = OneOf(['ok', 'error']);

const Points = (description?: string) => Type.Number(description ? { description } : {});

export const ConnectPointAccountBalance = component(
  'ConnectPointAccountBalance',
  Obj({
    account_name: Type.String(),
    user_point_account_id: Type.String({ description: "the member's own account; empty until the member first uses it" }),
    point_account_id: Type.String(),
    grouping_label: Type.String({ description: 'empty when the account has none' }),
    available_balance: Points(),
    life_time_value: Points('every point ever deposited'),
    pending_balance: Type.Optional(Points('deposited, not yet available (an account with pending_for); absent when none')),
    expiring_points: Type.Optional(
      Type.Array(Obj({ amount: Points(), expires_at: Type.String({ description: 'the instant they become unavailable' }) }), { description: 'the next amounts to expire, soonest first (at most 3); absent when none' }),
    ),
  }),
);

export const ConnectPointBalances = component(
  'ConnectPointBalances',
  Obj({
    retailer_id: Type.String(),
    user_id: Type.String({ description: "the member's id" }),
    summary: Obj({ total_points: Points('the sum of the available balances'), life_time_points: Points('the sum of the lifetime values') }),
    details: Type.Array(ConnectPointAccountBalance),
  }),
);

// a deposit's and a spend's result rows and summaries: the same fields around their amount
const rowAccount = {
  account_name: Nullable(Type.String()),
  user_point_account_id: Nullable(Type.String()),
  point_account_id: Nullable(Type.String({ description: 'null on a failed spend that named no account' })),
};
const rowOutcome = {
  remaining_balance: Points('the account balance after the detail'),
  life_time_value: Points(),
  reference_id: Nullable(Type.String()),
  reference_type: Nullable(Type.String()),
  idempotency_id: Nullable(Type.String()),
  point_source_id: Nullable(Type.String()),
  error_status: Nullable(Type.String({ description: "a failed detail's error code (allow_partial_success); null when applied" })),
  message: Type.String({ description: "'success', 'already applied (idempotency_id)' on a replay, or the failure" }),
};
const summaryCounts = {
  remaining_balance: Points('the sum of the final balances of the accounts changed'),
  succeeded: Type.Integer({ description: 'details applied (or replayed)' }),
  failed: Type.Integer({ description: 'details refused (only with allow_partial_success)' }),
};

export const ConnectPointDepositResult = component(
  'ConnectPointDepositResult',
  Obj({ ...rowAccount, amount_deposited: Points('points added to the account; 0 when the detail failed'), ...rowOutcome }),
);
export const ConnectPointSpendResult = component(
  'ConnectPointSpendResult',
  Obj({ ...rowAccount, amount_spent: Points('points taken from the account (negative for a return); 0 when the detail failed'), ...rowOutcome }),
);

export const ConnectPointDeposit = component(
  'ConnectPointDeposit',
  Obj({
    retailer_id: Type.String(),
    user_id: Type.String({ description: "the member's id" }),
    details: Type.Array(ConnectPointDepositResult, { description: 'one row per detail' }),
    summary: Obj({ amount_deposited: Points(), ...summaryCounts }),
    time_of_occurrence: IsoTime,
  }),
);

/** The answer of a spend, as a value the spend batch answers null for a member it could not spend for. */
export const PointSpend = Obj({
  retailer_id: Type.String(),
  user_id: Type.String({ description: "the member's id" }),
  details: Type.Array(ConnectPointSpendResult, { description: 'one row per account a detail took from; one row for a failed detail' }),
  summary: Obj({ amount_spent: Points(), ...summaryCounts }),
  time_of_occurrence: IsoTime,
});
export const ConnectPointSpend = component('ConnectPointSpend', PointSpend);

export const ConnectPointAuditLogEntry = component(
  'ConnectPointAuditLogEntry',
  Obj({
    id: Type.Integer(),
    retailer_id: Type.String(),
    user_id: Type.String(),
    account_name: Type.String(),
    point_account_id: Type.String(),
    user_point_account_id: Type.String(),
    modification: Type.String({ description: 'the signed amount as text, e.g. `+50`, `-12.5`' }),
    amount: Points('the amount without its sign'),
    amount_spent: Points('the amount when the entry took points (but an expiry), else 0'),
    amount_expired: Points('the amount when points expired, else 0'),
    balance_after: Points(),
    modification_type: Type.String({ description: 'deposit, spend, forced_spend, return, expiry, merge_in or merge_out' }),
    point_source_id: Nullable(Type.String()),
    point_source_name: Nullable(Type.String()),
    reference_id: Nullable(Type.String()),
    reference_type: Nullable(Type.String()),
    time_of_occurrence: { ...IsoTime, description: 'when the change counts (effective time)' },
    create_date: { ...IsoTime, description: 'when the entry was written' },
    request_id: Nullable(Type.String()),
    transaction_id: Nullable(Type.String()),
    idempotency_id: Nullable(Type.String()),
  }),
);

/** A tier level in brief; inline (not a component) so that it can be null. */
export const TierLevelOverview = Obj({
  id: Type.String(),
  tier_system_id: Type.String(),
  name: Type.String(),
  rank: Type.Integer(),
  status: Type.String({ description: 'always `active`' }),
});

export const ConnectMemberTierLevel = component(
  'ConnectMemberTierLevel',
  Obj({
    id: Type.String({ description: "the member's placement in the tier system" }),
    tier_system_id: Type.String(),
    tier_system_name: Type.String(),
    tier_level_id: Type.String(),
    user_id: Type.String(),
    join_date: { ...IsoTime, description: 'when the member reached the level' },
    next_maintenance_eval_date: Nullable({ ...IsoTime, description: 'when the member is re-evaluated; null for a lifetime system' }),
    tier_overview: Nullable(TierLevelOverview),
    next_tier_overview: Nullable({ ...TierLevelOverview, description: 'null at the top level' }),
    tier_progress: Type.Optional(
      Type.Array(
        Obj({
          point_account_id: Type.String(),
          account_name: Nullable(Type.String()),
          current_balance: Points('the qualifying points in the account'),
          target_balance: Points('the points the next level asks'),
          points_needed: Points(),
        }),
        { description: "the next level's thresholds; absent when progress is not asked for" },
      ),
    ),
    tier_system_overview: Type.Optional(Type.Array(TierLevelOverview, { description: "every level of the system; present when asked for" })),
  }),
);

export const ConnectTierDetails = component(
  'ConnectTierDetails',
  Obj(
    {
      tier_levels: Type.Array(ConnectMemberTierLevel, { description: 'one per tier system the member is placed in' }),
      point_account_balances: Type.Optional(ConnectPointBalances),
    },
    { description: "A member's tier levels; point_account_balances is absent when balances are not asked for." },
  ),
);

export const ConnectRuleOutcome = component(
  'ConnectRuleOutcome',
  Obj({
    rule_id: Type.String(),
    rule_name: Type.String(),
    discriminator: OneOf(['points', 'offer', 'tag', 'tier', 'attribute'], { description: "the outcome's type" }),
    is_outcome_applied: Type.Boolean(),
    points_awarded: Points('points deposited by a points outcome; 0 otherwise'),
    point_account_id: Type.Optional(Type.String()),
    offer_id: Type.Optional(Type.String()),
    user_offer_id: Type.Optional(Type.String({ description: 'the offer issued' })),
    tag: Type.Optional(Type.String()),
    tier_level_id: Type.Optional(Type.String()),
    tier_system_id: Type.Optional(Type.String()),
    attribute: Type.Optional(Type.String({ description: 'the profile attribute set' })),
    error: Type.Optional({ ...ItemError, description: 'why the outcome was not applied' }),
  }),
);
