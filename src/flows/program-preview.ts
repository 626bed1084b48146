/**
 * Knowing what a program change will do before it goes live: the diff of
 * applying a draft, and one event or transaction evaluated against a draft
 * (or the live program) for one member. Both run in a sandbox: the draft is
 * applied there with every real rule of applying, the request runs through
 * the real flow, and everything is rolled back.
 */
import type { Db } from '../db/index.js';
import { sandbox } from '../db/sandbox.js';
import { DomainError } from '../errors.js';
import { resolveMemberRef, type Actor } from '../modules/members/service.js';
import { eventsOfThisTransaction } from '../modules/outbox/service.js';
import { memberBalances } from '../modules/points/queries.js';
import { toDecimal, ZERO } from '../modules/points/amount.js';
import { diffPrograms, type ProgramDiff } from '../modules/program/diff.js';
import { exportProgram, type Program } from '../modules/program/service.js';
import { ingestEvent, type IngestInput } from './ingest-event.js';
import { applyProgram, currentProgram } from './program-apply.js';
import { sendTransaction, type SendTransactionInput } from './send-transaction.js';

/** What applying `draft` would create, change and retire; nothing is applied. */
export function diffProgram(db: Db, retailerId: string, draft: Program): Promise<ProgramDiff> {
  return sandbox(
    db,
    async (tx) => {
      const before = await currentProgram(tx, retailerId);
      await applyProgram(tx, retailerId, draft);
      return diffPrograms(before, await exportProgram(tx, retailerId));
    },
    { ownConfiguration: true },
  );
}

/** An event (as Connect's trigger_user_event gives it) or a POS transaction, for one member. */
export type EvaluatedRequest = { kind: 'event'; input: Omit<IngestInput, 'userRef'> } | { kind: 'transaction'; input: Omit<SendTransactionInput, 'userRef'> };

export interface Evaluation {
  program: 'draft' | 'live';
  user_id: string;
  /** The domain events the request would record: points, offers, tags, tier moves, rule achievements, campaign completions. */
  outcomes: { type: string; user_id: string | null; payload: Record<string, unknown> }[];
  /** The member's available balance in each account before and after. */
  balances: { point_account_id: string; name: string; before: string; after: string }[];
}

/**
 * Runs one request for a member against `draft` (applied in the sandbox) or,
 * without one, the live program, and answers what it would record; nothing is
 * written. Errors are those the real request would give.
 */
export function evaluateRequest(db: Db, actor: Actor, draft: Program | undefined, memberRef: string, request: EvaluatedRequest): Promise<Evaluation> {
  return sandbox(
    db,
    async (tx) => {
      if (draft) await applyProgram(tx, actor.retailerId, draft);
      const member = await resolveMemberRef(tx, actor.retailerId, memberRef);
      if (!member) throw new DomainError('user_not_found', `member: no member ${memberRef}`, 'member');
      const before = await memberBalances(tx, actor.retailerId, member.id);
      const position = await eventsOfThisTransaction(tx).then((events) => events.length);
      if (request.kind === 'event') await ingestEvent(tx, actor, { ...request.input, userRef: member.id });
      else await sendTransaction(tx, actor, { ...request.input, userRef: member.id });
      const after = await memberBalances(tx, actor.retailerId, member.id);
      const balances = after.details.map((a) => ({
        point_account_id: a.point_account_id,
        name: a.account_name,
        before: toDecimal(before.details.find((b) => b.point_account_id === a.point_account_id)?.available_balance ?? ZERO),
        after: toDecimal(a.available_balance),
      }));
      // the draft's own events (applying it records none today) are not the request's
      return { program: draft ? 'draft' : 'live', user_id: member.id, outcomes: (await eventsOfThisTransaction(tx)).slice(position), balances };
    },
    { ownConfiguration: true },
  );
}
