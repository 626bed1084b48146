import { Type, type FastifyPluginAsyncTypebox, type Static } from '@fastify/type-provider-typebox';
import { changePoints } from '../../flows/points.js';
import { toErrorAnswer } from '../errors.js';
import { parseAmount, toDecimal, toJson, ZERO, type Amount } from '../../modules/points/amount.js';
import type { DetailResult, PointChangeOutcome, PointDetail } from '../../modules/points/ledger.js';
import { auditLog, memberBalances, type Balances } from '../../modules/points/queries.js';
import { actorOf, tenantOf } from '../context.js';
import { checkRetailer, ConnectBase, isoTime, memberOf, parseTime } from './common.js';

const Opt = Type.Optional;
const Id = Type.String({ minLength: 1, maxLength: 64 });
const Text = Type.String({ maxLength: 255 });
/**
 * Amounts as JSON numbers or decimal strings; parsed exactly, never through a
 * float. String first: type coercion then reads a number as its decimal text
 * and refuses a boolean (`true` would otherwise be coerced to 1).
 */
const AmountField = Type.Union([Type.String({ maxLength: 40 }), Type.Number()]);

const Common = {
  point_source_id: Opt(Id),
  reference_id: Opt(Text),
  reference_type: Opt(Text),
  transaction_id: Opt(Text),
  idempotency_id: Opt(Type.String({ minLength: 1, maxLength: 200 })),
  rank: Opt(Type.Integer()),
};

const DepositDetail = Type.Object({ ...Common, point_account_id: Id, amount: AmountField });
const SpendDetail = Type.Object({
  ...Common,
  amount: AmountField,
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
  return details.map((d, i) => ({ ...d, kind: 'deposit', amount: parseAmount(d.amount, `deposit_details[${i}].amount`) }));
}

function spendDetails(details: Static<typeof SpendDetail>[]): PointDetail[] {
  return details.map((d, i) => ({ ...d, kind: 'spend', amount: parseAmount(d.amount, `spend_details[${i}].amount`) }));
}

const sum = (values: Amount[]) => values.reduce((a, b) => a + b, ZERO);

/** One answer row per account a detail touched; a failed detail answers one row with its code. */
function detailRows(results: DetailResult[], verb: 'deposited' | 'spent') {
  return results.flatMap((r): Record<string, unknown>[] => {
    const echo = { reference_id: r.detail.reference_id ?? null, reference_type: r.detail.reference_type ?? null, idempotency_id: r.detail.idempotency_id ?? null, point_source_id: r.detail.point_source_id ?? null };
    if (!r.ok) {
      const account = r.detail.kind === 'deposit' ? r.detail.point_account_id : (r.detail.point_account_ids?.[0] ?? null);
      return [{ account_name: null, user_point_account_id: null, point_account_id: account, [`amount_${verb}`]: 0, remaining_balance: 0, life_time_value: 0, ...echo, error_status: r.error!.code, message: r.error!.message }];
    }
    return r.lines.map((l) => ({
      account_name: l.account_name,
      user_point_account_id: l.user_point_account_id,
      point_account_id: l.point_account_id,
      [`amount_${verb}`]: toJson(verb === 'spent' ? -l.amount : l.amount),
      remaining_balance: toJson(l.available_balance),
      life_time_value: toJson(l.life_time_value),
      ...echo,
      error_status: null,
      message: r.replayed ? 'already applied (idempotency_id)' : 'success',
    }));
  });
}

function pointsAnswer(memberId: string, retailerId: string, outcome: PointChangeOutcome, verb: 'deposited' | 'spent') {
  const applied = outcome.results.filter((r) => r.ok).flatMap((r) => r.lines);
  const last = new Map(applied.map((l) => [l.point_account_id, l.available_balance]));
  return {
    retailer_id: retailerId,
    user_id: memberId,
    details: detailRows(outcome.results, verb),
    summary: {
      [`amount_${verb}`]: toJson(sum(applied.map((l) => (verb === 'spent' ? -l.amount : l.amount)))),
      remaining_balance: toJson(sum([...last.values()])),
      succeeded: outcome.results.filter((r) => r.ok).length,
      failed: outcome.results.filter((r) => !r.ok).length,
    },
    time_of_occurrence: isoTime(outcome.time),
  };
}

export function renderBalances(retailerId: string, memberId: string, balances: Balances) {
  return {
    retailer_id: retailerId,
    user_id: memberId,
    summary: { total_points: toJson(balances.total_points), life_time_points: toJson(balances.life_time_points) },
    details: balances.details.map((d) => ({ ...d, available_balance: toJson(d.available_balance), life_time_value: toJson(d.life_time_value) })),
  };
}

/** /incentives/api/{1.0,2.0}/user_points/... and the point audit log (collection 4.2.x). */
export const pointRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  const tags = ['Connect: points'];

  for (const version of ['1.0', '2.0']) {
    app.post(`/${version}/user_points/deposit`, { schema: { summary: 'Deposit points (4.2.1)', tags, body: DepositBody } }, async (request) => {
      const b = request.body;
      checkRetailer(request, b.retailer_id);
      const outcome = await changePoints(db, actorOf(request), b.user_id, depositDetails(b.deposit_details), { allowPartialSuccess: b.allow_partial_success ?? false });
      return { status: 'ok', payload: pointsAnswer(outcome.member.id, tenantOf(request).retailerId, outcome, 'deposited') };
    });

    app.post(`/${version}/user_points/spend_multiple`, { schema: { summary: 'Spend points from given or default accounts; returns put points back (4.2.3)', tags, body: SpendBody } }, async (request) => {
      const b = request.body;
      checkRetailer(request, b.retailer_id);
      const outcome = await changePoints(db, actorOf(request), b.user_id, spendDetails(b.spend_details), { allowPartialSuccess: b.allow_partial_success ?? false });
      return { status: 'ok', payload: pointsAnswer(outcome.member.id, tenantOf(request).retailerId, outcome, 'spent') };
    });

    app.post(`/${version}/user_points/balance`, { schema: { summary: "A member's balances (4.2.5)", tags, body: BalanceBody } }, async (request) => {
      const b = request.body;
      checkRetailer(request, b.retailer_id);
      const member = await memberOf(db, request, b.user_id);
      return { status: 'ok', payload: renderBalances(member.retailer_id, member.id, await memberBalances(db, member.retailer_id, member.id, b.point_account_ids)) };
    });
  }

  app.post('/1.0/user_points/all_balances', { schema: { summary: 'Balances of every point account', tags, body: Type.Object({ ...ConnectBase, user_id: Id }) } }, async (request) => {
    checkRetailer(request, request.body.retailer_id);
    const member = await memberOf(db, request, request.body.user_id);
    return { status: 'ok', payload: { point_account_balances: renderBalances(member.retailer_id, member.id, await memberBalances(db, member.retailer_id, member.id)) } };
  });

  app.post('/2.0/user_points/spend_multiple_batch', { schema: { summary: 'Spends for many members, each answered (4.2.4)', tags, body: BatchBody } }, async (request) => {
    const b = request.body;
    checkRetailer(request, b.retailer_id);
    const actor = actorOf(request);
    const results = [];
    // each member's spend is its own transaction: one member's failure leaves the others applied
    for (const spend of b.spend_requests) {
      try {
        const outcome = await changePoints(db, actor, spend.user_id, spendDetails(spend.spend_details), { allowPartialSuccess: spend.allow_partial_success ?? false });
        results.push({ user_id: spend.user_id, status: 'ok', payload: pointsAnswer(outcome.member.id, actor.retailerId, outcome, 'spent'), errors: null });
      } catch (err) {
        const answer = toErrorAnswer(err);
        if (answer.status >= 500) throw err;
        results.push({ user_id: spend.user_id, status: 'error', payload: null, errors: { code: answer.code, message: answer.message } });
      }
    }
    return { status: 'ok', payload: { results } };
  });

  const audit = async (request: { body: Static<typeof AuditBody> } & Parameters<typeof tenantOf>[0]) => {
    const b = request.body;
    checkRetailer(request, b.retailer_id);
    const member = await memberOf(db, request, b.user_id);
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
    return { status: 'ok', payload: { results, total_records: page.total, skip: b.skip ?? 0, take: b.take ?? 100 } };
  };
  app.post('/2.0/user_points/fetch_point_audit_logs', { schema: { summary: 'Point audit log, newest first (4.2.2)', tags, body: AuditBody } }, audit);
  app.post('/1.0/point_audit_logs/fetch_point_audit_logs', { schema: { summary: 'Point audit log (1.0 form)', tags, body: AuditBody } }, audit);
};
