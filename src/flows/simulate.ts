/**
 * Simulation: "if this draft had been live over that window, what would it
 * have given, to whom, and how does that compare with the live program?"
 *
 * The retailer's recorded events and POS transactions of the window are
 * replayed through the real flows (ingestEvent, sendTransaction), member by
 * member, in the order they were received and at their own times, once
 * against the live program and once against the draft applied in a
 * sandbox. Each member starts from its state at `from`, rewound in the
 * sandbox by each module that owns a part of it (ledger entries, rule
 * achievements, offers, tiers, tags, campaign progress since then
 * forgotten). Everything is rolled back: the live data never changes.
 *
 * Members go in batches, one sandbox per batch and program, on a bounded
 * number of connections (SIMULATION_CONCURRENCY) that rest as long as they
 * work, so a simulation never takes more than those from live traffic, and
 * holds no member for longer than its own replay.
 */
import type { Db } from '../db/index.js';
import { sandbox } from '../db/sandbox.js';
import { DomainError } from '../errors.js';
import { rewindCampaignProgress } from '../modules/campaigns/rewind.js';
import { countEvents, membersWithEvents, takeEventsSince } from '../modules/events/rewind.js';
import { resolveMemberRef, type Actor } from '../modules/members/service.js';
import { rewindUserOffers } from '../modules/offers/rewind.js';
import { createSimulation, finishSimulation, recordProgress } from '../modules/simulations/service.js';
import { eventsOfThisTransaction, firstChangesSince } from '../modules/outbox/service.js';
import { fromDb, SCALE, ZERO, type Amount } from '../modules/points/amount.js';
import { rewindBalances } from '../modules/points/rewind.js';
import type { Program } from '../modules/program/service.js';
import { rewindAchievements } from '../modules/rules/rewind.js';
import { rewindTag } from '../modules/tags/rewind.js';
import { rewindTier } from '../modules/tiers/rewind.js';
import { countTransactions, membersWithTransactions, takeTransactionsSince, type RecordedTransaction } from '../modules/transactions/rewind.js';
import { ingestEvent } from './ingest-event.js';
import { applyProgram, currentProgram } from './program-apply.js';
import { sendTransaction, type SendTransactionInput } from './send-transaction.js';

export interface SimulationRequest {
  draft: Program;
  from: Date;
  to: Date;
  /** These members only (ids or external ids); absent: every member with events or transactions in the window. */
  members?: string[];
  /** A random sample of this many of those members. */
  sample?: number;
}

/** What a program gave over the window. */
export interface Tally {
  /** Net points per account: deposits (and pending deposits) less what returns and voids took back. */
  points_by_account: Record<string, string>;
  offers_issued: Record<string, number>;
  tier_changes: number;
  campaign_completions: Record<string, number>;
  rule_achievements: Record<string, number>;
}

export interface SimulationReport {
  window: { from: string; to: string };
  replayed: { events: number; transactions: number; members: number };
  /** Recorded requests the program refused on replay (an unknown store, a spend it could not cover …), per program. */
  refused: { current: number; draft: number };
  current: Tally;
  draft: Tally;
  members_changed: number;
  top_members: { user_id: string; current: Tally; draft: Tally }[];
  /** The names of the accounts, offers, campaigns, rules and tier levels the report names by id (live and draft). */
  names: Record<string, string>;
  /** Where the replay's starting state or evaluation is not exactly what it was (docs/simulation.md). */
  approximations: string[];
}

export const APPROXIMATIONS = [
  'Campaign progress a member made before `from` and added to since starts again from nothing (only the counts as they are now are kept).',
  'Point lots (expiry buckets) and pending points are as they are now; balances are as they were at `from`.',
  'Tiers and tags are put back from the tier.changed and member.tag_added events since `from` (gone once older than EVENT_RETENTION_DAYS); tags removed since are not put back.',
  'Offer redemptions in replayed transactions are not replayed; offers issued before `from` and used since stay used.',
  'Windows of campaigns and offers, and time-of-day facts, are read at the time of the replay; limits and counts use each event’s own time.',
  'Deposits, spends and other API changes of the window are not replayed: only events and POS transactions.',
];

const BATCH = 25;

type MemberTallies = Map<string, { current: Tally; draft: Tally }>;

/** The members a simulation replays, and how much: members with recorded events or transactions in the window (or those named), sampled. */
export async function planSimulation(db: Db, retailerId: string, request: SimulationRequest): Promise<{ members: string[]; events: number; transactions: number }> {
  let members: string[];
  if (request.members) {
    members = [];
    for (const ref of request.members) {
      const member = await resolveMemberRef(db, retailerId, ref);
      if (!member) throw new DomainError('user_not_found', `members: no member ${ref}`, 'members');
      members.push(member.id);
    }
  } else members = [...new Set([...(await membersWithEvents(db, retailerId, request.from, request.to)), ...(await membersWithTransactions(db, retailerId, request.from, request.to))])];
  if (request.sample !== undefined && request.sample < members.length) members = sample(members, request.sample);
  const named = request.members || request.sample !== undefined ? members : undefined;
  return { members, events: await countEvents(db, retailerId, request.from, request.to, named), transactions: await countTransactions(db, retailerId, request.from, request.to, named) };
}

/**
 * Replays the window for the planned members against both programs;
 * `onProgress` hears the fraction done after each batch. `concurrency`
 * workers replay batches at once, each on its own connection; `rest`: after
 * each batch, a worker waits this many times as long as it took (a job
 * yields to live traffic: at 1, it works half of the time at most).
 */
export async function runSimulation(
  db: Db,
  actor: Actor,
  request: SimulationRequest,
  plan: { members: string[] },
  options: { onProgress?: (done: number) => Promise<void>; rest?: number; concurrency?: number } = {},
): Promise<SimulationReport> {
  const retailerId = actor.retailerId;
  const live = await currentProgram(db, retailerId);
  const changes = await firstChangesSince(db, retailerId, request.from);
  const tallies: MemberTallies = new Map();
  const refused = { current: 0, draft: 0 };
  let replayed = { events: 0, transactions: 0 };
  let next = 0;
  let done = 0;
  // each worker takes the next batch, on a connection of its own
  const worker = async () => {
    while (next < plan.members.length) {
      const started = Date.now();
      const batch = plan.members.slice(next, (next += BATCH));
      for (const program of ['current', 'draft'] as const) {
        await sandbox(
          db,
          async (tx) => {
            if (program === 'draft') await applyProgram(tx, retailerId, request.draft);
            for (const memberId of batch) {
              const r = await sandbox(tx, (member) => replayMember(member, actor, memberId, request, changes));
              const entry = tallies.get(memberId) ?? { current: emptyTally(), draft: emptyTally() };
              entry[program] = r.tally;
              tallies.set(memberId, entry);
              refused[program] += r.refused;
              if (program === 'current') replayed = { events: replayed.events + r.events, transactions: replayed.transactions + r.transactions };
            }
          },
          { ownConfiguration: program === 'draft' },
        );
      }
      done += batch.length;
      await options.onProgress?.(Math.min(1, done / plan.members.length));
      if (options.rest) await new Promise((resolve) => setTimeout(resolve, (Date.now() - started) * options.rest!));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
  return report(request, plan.members.length, replayed, refused, tallies, namesOf(live, request.draft));
}

/** One member: rewound to `from`, then its events and transactions of the window again, in order; answers what they recorded. */
async function replayMember(tx: Db, actor: Actor, memberId: string, request: SimulationRequest, changes: Awaited<ReturnType<typeof firstChangesSince>>) {
  const { retailerId } = actor;
  const events = await takeEventsSince(tx, retailerId, memberId, request.from, request.to);
  const transactions = await takeTransactionsSince(tx, retailerId, memberId, request.from, request.to);
  await rewindAchievements(tx, retailerId, memberId, request.from);
  await rewindBalances(tx, retailerId, memberId, request.from);
  await rewindUserOffers(tx, retailerId, memberId, request.from);
  await rewindCampaignProgress(tx, retailerId, memberId, request.from);
  for (const { type, key, payload } of changes.get(memberId) ?? []) {
    if (type === 'tier.changed') await rewindTier(tx, retailerId, memberId, key, (payload.from_tier_level_id as string | null) ?? null);
    else await rewindTag(tx, retailerId, memberId, key, Number(payload.count) - 1);
  }
  const start = (await eventsOfThisTransaction(tx)).length;
  const steps = [
    ...events.map((e) => ({ at: e.received_at.getTime(), run: () => ingestEvent(tx, actor, { userRef: memberId, name: e.name, occurredAt: e.occurred_at, context: e.context, qty: e.qty }) })),
    ...transactions.map((t) => ({ at: t.created_at.getTime(), run: () => replayTransaction(tx, actor, memberId, t) })),
  ].sort((a, b) => a.at - b.at);
  let refused = 0;
  for (const step of steps) {
    try {
      await step.run();
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      refused++;
    }
  }
  return { tally: tallyOf((await eventsOfThisTransaction(tx)).slice(start)), refused, events: events.length, transactions: transactions.length };
}

/** A recorded transaction sent again as it stands (its last lines), then voided if it was. */
async function replayTransaction(tx: Db, actor: Actor, memberId: string, t: RecordedTransaction): Promise<void> {
  const input: SendTransactionInput = {
    storeId: t.store_id,
    transactionId: t.transaction_id,
    userRef: memberId,
    channel: t.channel ?? undefined,
    employeeId: t.employee_id ?? undefined,
    tableId: t.table_id ?? undefined,
    guestCount: t.guest_count ?? undefined,
    subtotal: fromDb(t.subtotal),
    taxTotal: fromDb(t.tax_total),
    openTime: t.open_time ?? undefined,
    modifiedTime: t.modified_time ?? undefined,
    items: t.items,
    payments: t.payments,
    discounts: [],
    receiptCode: t.receipt_code ?? undefined,
    isVoided: false,
    requestId: 'simulation',
    basket: { lines: [], subtotal: fromDb(t.subtotal) },
    discountUserOfferIds: [],
  };
  await sendTransaction(tx, actor, input);
  if (t.is_voided) await sendTransaction(tx, actor, { ...input, isVoided: true });
}

const emptyTally = (): Tally => ({ points_by_account: {}, offers_issued: {}, tier_changes: 0, campaign_completions: {}, rule_achievements: {} });

const SIGN: Record<string, 1n | -1n> = { 'points.deposited': 1n, 'points.pending': 1n, 'points.returned': 1n, 'points.spent': -1n };

function tallyOf(events: { type: string; payload: Record<string, unknown> }[]): Tally {
  const points = new Map<string, Amount>();
  const tally = emptyTally();
  const count = (into: Record<string, number>, key: unknown) => (into[String(key)] = (into[String(key)] ?? 0) + 1);
  for (const { type, payload } of events) {
    if (SIGN[type]) {
      const account = String(payload.point_account_id);
      points.set(account, (points.get(account) ?? ZERO) + SIGN[type] * fromDb(String(payload.amount)));
    } else if (type === 'offer.issued') count(tally.offers_issued, payload.offer_id);
    else if (type === 'tier.changed') tally.tier_changes++;
    else if (type === 'campaign.completed') count(tally.campaign_completions, payload.campaign_id);
    else if (type === 'rule.achieved') count(tally.rule_achievements, payload.rule_id);
  }
  for (const [account, amount] of points) tally.points_by_account[account] = fixed(amount);
  return tally;
}

/** An amount with all four decimal places ("12.5000"), as the report gives points. */
function fixed(amount: Amount): string {
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const factor = 10n ** BigInt(SCALE);
  return `${negative ? '-' : ''}${abs / factor}.${(abs % factor).toString().padStart(SCALE, '0')}`;
}

function addTally(into: Tally, t: Tally): void {
  for (const [k, v] of Object.entries(t.points_by_account)) into.points_by_account[k] = fixed(fromDb(into.points_by_account[k] ?? '0') + fromDb(v));
  for (const key of ['offers_issued', 'campaign_completions', 'rule_achievements'] as const) for (const [k, v] of Object.entries(t[key])) into[key][k] = (into[key][k] ?? 0) + v;
  into.tier_changes += t.tier_changes;
}

const totalPoints = (t: Tally) => Object.values(t.points_by_account).reduce((s, v) => s + fromDb(v), ZERO);

function report(request: SimulationRequest, members: number, replayed: { events: number; transactions: number }, refused: SimulationReport['refused'], tallies: MemberTallies, names: Record<string, string>): SimulationReport {
  const current = emptyTally();
  const draft = emptyTally();
  const changed: { user_id: string; current: Tally; draft: Tally; by: Amount }[] = [];
  for (const [userId, t] of tallies) {
    addTally(current, t.current);
    addTally(draft, t.draft);
    if (JSON.stringify(sorted(t.current)) !== JSON.stringify(sorted(t.draft))) {
      const by = totalPoints(t.draft) - totalPoints(t.current);
      changed.push({ user_id: userId, ...t, by: by < 0n ? -by : by });
    }
  }
  changed.sort((a, b) => (b.by > a.by ? 1 : b.by < a.by ? -1 : a.user_id.localeCompare(b.user_id)));
  return {
    window: { from: request.from.toISOString(), to: request.to.toISOString() },
    replayed: { ...replayed, members },
    refused,
    current,
    draft,
    members_changed: changed.length,
    top_members: changed.slice(0, 10).map(({ by: _by, ...m }) => m),
    names,
    approximations: APPROXIMATIONS,
  };
}

/** A tally with its maps' keys in order, so that two tallies compare as JSON. */
const sorted = (t: Tally) => JSON.parse(JSON.stringify(t, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v)));

/** Names beside ids: the accounts, offers, campaigns, rules and tier levels of both programs (the draft's win). */
function namesOf(...programs: Program[]): Record<string, string> {
  const names: Record<string, string> = {};
  for (const p of programs) {
    for (const a of p.point_accounts ?? []) names[a.id] = a.name;
    for (const o of p.offers ?? []) {
      names[o.root_offer_id] = o.internal_title;
      if (o.id) names[o.id] = o.internal_title;
    }
    for (const c of p.campaigns ?? []) names[String(c.id)] = c.name;
    for (const r of p.rules ?? []) names[r.id] = r.name;
    for (const t of p.tier_systems ?? []) for (const l of t.levels) names[l.id] = `${t.name}: ${l.name}`;
  }
  return names;
}

/** A random sample of `n` of the ids. */
function sample(ids: string[], n: number): string[] {
  const copy = [...ids];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, n);
}

// simulations run one at a time in a process: together they take one pooled connection at most
let queue: Promise<unknown> = Promise.resolve();

/**
 * Records a simulation and runs it after those already running in this
 * process, recording its progress after each batch and then its report (or
 * why it failed). Answers its id at once.
 */
export async function startSimulation(
  db: Db,
  actor: Actor,
  request: SimulationRequest,
  plan: { members: string[] },
  asked: Record<string, unknown>,
  options: { concurrency: number; log: { error(details: object, message: string): void } },
): Promise<string> {
  const { retailerId } = actor;
  const id = await createSimulation(db, retailerId, asked);
  queue = queue.then(async () => {
    try {
      const result = await runSimulation(db, actor, request, plan, { onProgress: (done) => recordProgress(db, retailerId, id, done), rest: 1, concurrency: options.concurrency });
      await finishSimulation(db, retailerId, id, { result: result as unknown as Record<string, unknown> });
    } catch (err) {
      await finishSimulation(db, retailerId, id, { error: err instanceof DomainError ? err.message : 'the simulation failed (the log has why)' }).catch(() => undefined);
      if (!(err instanceof DomainError)) options.log.error({ err, simulation_id: id }, 'simulation failed');
    }
  });
  return id;
}
