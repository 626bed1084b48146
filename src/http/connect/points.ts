import { Type, type FastifyPluginAsyncTypebox, type Static } from '@fastify/type-provider-typebox';
import { dbOf } from '../surface.js';
import { changePoints } from '../../flows/points.js';
import { toErrorAnswer } from '../errors.js';
import { parseAmount, toDecimal, toJson, ZERO, type Amount } from '../../modules/points/amount.js';
import type { DetailResult, PointChangeOutcome, PointDetail } from '../../modules/points/ledger.js';
import { auditLog, memberBalances, type Balances } from '../../modules/points/queries.js';
import { actorOf, tenantOf } from '../context.js';
import { fails, Nullable, Obj } from '../contract.js';
import { ConnectBase, isoTime, memberRowOf, ok, parseTime } from './common.js';
import { connectAnswer, ConnectPointAuditLogEntry, ConnectPointBalances, ConnectPointDeposit, ConnectPointDepositResult, ConnectPointSpend, ItemError, ItemStatus, PointSpend } from './schemas.js';
import { AmountInput, Id, Opt } from '../inputs.js';

const Text = Type.String({ maxLength: 255 });

const Common = {
  point_source_id: Opt(Id),
  reference_id: Opt(Text),
  reference_type: Opt(Text),
  transaction_id: Opt(Text),
  idempotency_id: Opt(Type.String({ minLength: 1, maxLength: 200 })),
  rank: Opt(Type.Integer()),
};

const DepositDetail = Type.Object({
  ...Common,
  point_account_id: Id,
  amount: AmountInput,
  expiration_date: Opt(Type.String({ maxLength: 40, description: 'when these points expire (ISO 8601): wins over the account’s expiry policy' })),
});
const SpendDetail = Type.Object({
  ...Common,
  amount: AmountInput,
  point_account_ids: Opt(Type.Array(Id, { maxItems: 50 })),
  force_spend: Opt(Type.Boolean()),
  is_return: Opt(Type.Boolean()),
});

const DepositBody = Type.Object({
  ...ConnectBase,
  user_id: Id,
  deposit_details: Type.Array(DepositDetail, { minItems: 1, maxItems: 100 }),
  allow_partial_success: Opt(Type.Boolean()),
  disable_event_publishing: Opt(Type.Boolean()),
});

const SpendRequest = Type.Object({ user_id: Id, spend_details: Type.Array(SpendDetail, { minItems: 1, maxItems: 100 }), allow_partial_success: Opt(Type.Boolean()) });
const SpendBody = Type.Object({ ...ConnectBase, ...SpendRequest.properties });
const BatchBody = Type.Object({ ...ConnectBase, spend_requests: Type.Array(SpendRequest, { minItems: 1, maxItems: 500 }) });

const BalanceBody = Type.Object({ ...ConnectBase, user_id: Id, point_account_ids: Opt(Type.Array(Id, { maxItems: 100 })) });

const AuditBody = Type.Object({
  ...ConnectBase,
  user_id: Id,
  point_source_ids: Opt(Type.Array(Id, { maxItems: 100 })),
  point_account_ids: Opt(Type.Array(Id, { maxItems: 100 })),
  modification_types: Opt(Type.Array(Type.String({ maxLength: 40 }), { maxItems: 20 })),
  exclude_specified_modification_types: Opt(Type.Boolean()),
  start_date: Opt(Type.String({ maxLength: 40 })),
  end_date: Opt(Type.String({ maxLength: 40 })),
  skip: Opt(Type.Integer({ minimum: 0, default: 0 })),
  take: Opt(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});

function depositDetails(details: Static<typeof DepositDetail>[]): PointDetail[] {
  return details.map(({ expiration_date, ...d }, i) => ({
    ...d,
    kind: 'deposit',
    amount: parseAmount(d.amount, `deposit_details[${i}].amount`),
    ...(expiration_date ? { expires_at: parseTime(expiration_date, `deposit_details[${i}].expiration_date`) } : {}),
  }));
}

function spendDetails(details: Static<typeof SpendDetail>[]): PointDetail[] {
  return details.map((d, i) => ({ ...d, kind: 'spend', amount: parseAmount(d.amount, `spend_details[${i}].amount`) }));
}

const sum = (values: Amount[]) => values.reduce((a, b) => a + b, ZERO);

/** A deposit's or spend's result row but its amount. */
type ChangeRow = Omit<Static<typeof ConnectPointDepositResult>, 'amount_deposited'>;

/**
 * One answer row per account a detail touched; a failed detail answers one row
 * with its code. `amountOf` names the row's amount (amount_deposited or amount_spent).
 */
function detailRows<A>(results: DetailResult[], sign: 1n | -1n, amountOf: (amount: number) => A) {
  return results.flatMap((r): (ChangeRow & A)[] => {
    const echo = { reference_id: r.detail.reference_id ?? null, reference_type: r.detail.reference_type ?? null, idempotency_id: r.detail.idempotency_id ?? null, point_source_id: r.detail.point_source_id ?? null };
    if (!r.ok) {
      const account = r.detail.kind === 'deposit' ? r.detail.point_account_id : (r.detail.point_account_ids?.[0] ?? null);
      return [{ account_name: null, user_point_account_id: null, point_account_id: account, ...amountOf(0), remaining_balance: 0, life_time_value: 0, ...echo, error_status: r.error!.code, message: r.error!.message }];
    }
    return r.lines.map((l) => ({
      account_name: l.account_name,
      user_point_account_id: l.user_point_account_id,
      point_account_id: l.point_account_id,
      ...amountOf(toJson(sign * l.amount)),
      remaining_balance: toJson(l.available_balance),
      life_time_value: toJson(l.life_time_value),
      ...echo,
      error_status: null,
      message: r.replayed ? 'already applied (idempotency_id)' : 'success',
    }));
  });
}

/** A deposit's or spend's answer: its rows and their summary; spends count positive (`sign` -1). */
function pointsAnswer<A>(memberId: string, retailerId: string, outcome: PointChangeOutcome, sign: 1n | -1n, amountOf: (amount: number) => A) {
  const applied = outcome.results.filter((r) => r.ok).flatMap((r) => r.lines);
  const last = new Map(applied.map((l) => [l.point_account_id, l.available_balance]));
  return {
    retailer_id: retailerId,
    user_id: memberId,
    details: detailRows(outcome.results, sign, amountOf),
    summary: {
      ...amountOf(toJson(sum(applied.map((l) => sign * l.amount)))),
      remaining_balance: toJson(sum([...last.values()])),
      succeeded: outcome.results.filter((r) => r.ok).length,
      failed: outcome.results.filter((r) => !r.ok).length,
    },
    time_of_occurrence: isoTime(outcome.time),
  };
}

const depositAnswer = (memberId: string, retailerId: string, outcome: PointChangeOutcome) => pointsAnswer(memberId, retailerId, outcome, 1n, (amount) => ({ amount_deposited: amount }));
const spendAnswer = (memberId: string, retailerId: string, outcome: PointChangeOutcome) => pointsAnswer(memberId, retailerId, outcome, -1n, (amount) => ({ amount_spent: amount }));

export function renderBalances(retailerId: string, memberId: string, balances: Balances) {
  return {
    retailer_id: retailerId,
    user_id: memberId,
    summary: { total_points: toJson(balances.total_points), life_time_points: toJson(balances.life_time_points) },
    details: balances.details.map(({ pending_balance, expiring_points, ...d }) => ({
      ...d,
      available_balance: toJson(d.available_balance),
      life_time_value: toJson(d.life_time_value),
      // where the account holds points pending or with an expiry (SessionM's answer has neither)
      ...(pending_balance ? { pending_balance: toJson(pending_balance) } : {}),
      ...(expiring_points?.length ? { expiring_points: expiring_points.map((x) => ({ amount: toJson(x.amount), expires_at: isoTime(x.expires_at) })) } : {}),
    })),
  };
}

const DepositAnswer = connectAnswer(ConnectPointDeposit);
const SpendAnswer = connectAnswer(ConnectPointSpend);
const BalancesAnswer = connectAnswer(ConnectPointBalances);
const SpendBatchResult = Obj({
  user_id: Type.String({ description: 'the user_id sent' }),
  status: ItemStatus,
  payload: Nullable({ ...PointSpend, description: "the member's spend; null when it failed" }),
  errors: Nullable({ ...ItemError, description: 'why the spend failed (nothing of it applied); null when it applied' }),
});
const AuditAnswer = connectAnswer(
  Obj({
    results: Type.Array(ConnectPointAuditLogEntry, { description: 'newest first' }),
    total_records: Type.Integer({ description: 'entries matching the filters, on every page' }),
    skip: Type.Integer(),
    take: Type.Integer(),
  }),
);

/** What a deposit or spend can be refused with besides an unknown member or retailer. */
const POINT_CHANGE_FAILS = ['point_account_not_found', 'point_account_inactive', 'point_source_not_found', 'point_source_not_allowed', 'maximum_balance_exceeded', 'idempotency_conflict'] as const;
const MEMBER_FAILS = ['not_found', 'user_not_found', 'multiple_matches'] as const;

/** /incentives/api/{1.0,2.0}/user_points/... and the point audit log (collection 4.2.x). */
export const pointRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  const tags = ['Connect: points'];

  for (const version of ['1.0', '2.0']) {
    app.post(
      `/${version}/user_points/deposit`,
      {
        config: { dryRun: true },
        schema: {
          summary: 'Deposit points (4.2.1)',
          description:
            "Adds each detail's points to its point account, with a ledger entry and the member's timeline, in one transaction; tier points may promote the member. " +
            'A detail whose idempotency_id was applied before is answered as then and applies nothing. ' +
            'Without allow_partial_success one refused detail refuses the whole request; with it, refused details are answered with their error_status and the others apply.',
          tags,
          body: DepositBody,
          response: { 200: DepositAnswer, ...fails(...MEMBER_FAILS, ...POINT_CHANGE_FAILS) },
        },
      },
      async (request) => {
        const b = request.body;
        const outcome = await changePoints(dbOf(request), actorOf(request), b.user_id, depositDetails(b.deposit_details), { allowPartialSuccess: b.allow_partial_success ?? false });
        return ok(depositAnswer(outcome.member.id, tenantOf(request).retailerId, outcome));
      },
    );

    app.post(
      `/${version}/user_points/spend_multiple`,
      {
        config: { dryRun: true },
        schema: {
          summary: 'Spend points from given or default accounts; returns put points back (4.2.3)',
          description:
            'Takes each detail\'s points from the accounts it names, in order (absent: the default accounts), in one transaction; is_return puts the points back, ' +
            "force_spend lets the last account go negative. A detail whose idempotency_id was applied before is answered as then and applies nothing. " +
            'Without allow_partial_success one refused detail (insufficient_points …) refuses the whole request; with it, refused details are answered with their error_status and the others apply.',
          tags,
          body: SpendBody,
          response: { 200: SpendAnswer, ...fails(...MEMBER_FAILS, 'insufficient_points', ...POINT_CHANGE_FAILS) },
        },
      },
      async (request) => {
        const b = request.body;
        const outcome = await changePoints(dbOf(request), actorOf(request), b.user_id, spendDetails(b.spend_details), { allowPartialSuccess: b.allow_partial_success ?? false });
        return ok(spendAnswer(outcome.member.id, tenantOf(request).retailerId, outcome));
      },
    );

    app.post(
      `/${version}/user_points/balance`,
      {
        config: { replica: true },
        schema: {
          summary: "A member's balances (4.2.5)",
          description: "The member's available balance and lifetime value in each of the retailer's point accounts (or in those of point_account_ids), zero in an account the member never used. Changes nothing.",
          tags,
          body: BalanceBody,
          response: { 200: BalancesAnswer, ...fails(...MEMBER_FAILS, 'point_account_not_found') },
        },
      },
      async (request) => {
        const b = request.body;
        const db = dbOf(request);
        const member = await memberRowOf(db, request, b.user_id);
        return ok(renderBalances(member.retailer_id, member.id, await memberBalances(db, member.retailer_id, member.id, b.point_account_ids)));
      },
    );
  }

  app.post(
    '/1.0/user_points/all_balances',
    {
      config: { replica: true },
      schema: {
        summary: 'Balances of every point account',
        description: "The member's balance in every point account of the retailer, zero in an account the member never used. Changes nothing.",
        tags,
        body: Type.Object({ ...ConnectBase, user_id: Id }),
        response: { 200: connectAnswer(Obj({ point_account_balances: ConnectPointBalances })), ...fails(...MEMBER_FAILS) },
      },
    },
    async (request) => {
      const db = dbOf(request);
      const member = await memberRowOf(db, request, request.body.user_id);
      return ok({ point_account_balances: renderBalances(member.retailer_id, member.id, await memberBalances(db, member.retailer_id, member.id)) });
    },
  );

  app.post(
    '/2.0/user_points/spend_multiple_batch',
    {
      schema: {
        summary: 'Spends for many members, each answered (4.2.4)',
        description:
          "Spends for each member as spend_multiple does, each member in its own transaction: a member's refused spend (an unknown member, insufficient_points …) " +
          'is answered in its result with its error and leaves the other members\' spends applied. Results come in the order of spend_requests.',
        tags,
        body: BatchBody,
        response: { 200: connectAnswer(Obj({ results: Type.Array(SpendBatchResult) })), ...fails('not_found') },
      },
    },
    async (request) => {
      const b = request.body;
      const actor = actorOf(request);
      const results: Static<typeof SpendBatchResult>[] = [];
      // each member's spend is its own transaction: one member's failure leaves the others applied
      for (const spend of b.spend_requests) {
        try {
          const outcome = await changePoints(db, actor, spend.user_id, spendDetails(spend.spend_details), { allowPartialSuccess: spend.allow_partial_success ?? false });
          results.push({ user_id: spend.user_id, status: 'ok', payload: spendAnswer(outcome.member.id, actor.retailerId, outcome), errors: null });
        } catch (err) {
          const answer = toErrorAnswer(err);
          if (answer.status >= 500) throw err;
          results.push({ user_id: spend.user_id, status: 'error', payload: null, errors: { code: answer.code, message: answer.message } });
        }
      }
      return ok({ results });
    },
  );

  const audits = [
    ['/2.0/user_points/fetch_point_audit_logs', 'Point audit log, newest first (4.2.2)'],
    ['/1.0/point_audit_logs/fetch_point_audit_logs', 'Point audit log (1.0 form)'],
  ] as const;
  for (const [url, summary] of audits) {
    app.post(
      url,
      {
        schema: {
          summary,
          description:
            "Every change of the member's balances (deposits, spends, returns, expiries, merges), newest first by effective time, " +
            'filtered by point source, account, modification type (kept, or left out with exclude_specified_modification_types) and effective time, and paged by skip and take. Changes nothing.',
          tags,
          body: AuditBody,
          response: { 200: AuditAnswer, ...fails(...MEMBER_FAILS) },
        },
      },
      async (request) => {
        const b = request.body;
        const member = await memberRowOf(db, request, b.user_id);
        const page = await auditLog(db, member.retailer_id, member.id, {
          pointSourceIds: b.point_source_ids,
          pointAccountIds: b.point_account_ids,
          modificationTypes: b.modification_types,
          excludeModificationTypes: b.exclude_specified_modification_types,
          from: b.start_date ? parseTime(b.start_date, 'start_date') : undefined,
          to: b.end_date ? parseTime(b.end_date, 'end_date') : undefined,
          skip: b.skip ?? 0,
          take: b.take ?? 100,
        });
        const results = page.entries.map((e) => ({
          id: e.id,
          retailer_id: member.retailer_id,
          user_id: member.id,
          account_name: e.account_name,
          point_account_id: e.point_account_id,
          user_point_account_id: e.user_point_account_id,
          // the signed amount as text: its first character is the sign, and clients read it as a number
          modification: `${e.amount < ZERO ? '-' : '+'}${toDecimal(e.amount < ZERO ? -e.amount : e.amount)}`,
          amount: toJson(e.amount < ZERO ? -e.amount : e.amount),
          amount_spent: toJson(e.amount < ZERO && e.modification_type !== 'expiry' ? -e.amount : ZERO),
          amount_expired: toJson(e.modification_type === 'expiry' ? -e.amount : ZERO),
          balance_after: toJson(e.balance_after),
          modification_type: e.modification_type,
          point_source_id: e.point_source_id,
          point_source_name: e.point_source_name,
          reference_id: e.reference_id,
          reference_type: e.reference_type,
          time_of_occurrence: isoTime(e.effective_at),
          create_date: isoTime(e.inserted_at),
          request_id: e.request_id,
          transaction_id: e.transaction_id,
          idempotency_id: e.idempotency_id,
        }));
        return ok({ results, total_records: page.total, skip: b.skip ?? 0, take: b.take ?? 100 });
      },
    );
  }
};
