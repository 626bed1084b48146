import { transact } from '../db/unit-of-work.js';
import { campaignStep, type CampaignEventResult } from '../modules/campaigns/index.js';
import { recordCampaignEvent } from './campaign-award.js';
import type { Db } from '../db/index.js';
import { eventName, lockAndRecordEvent, recordEvent, type EventInput, type MemberEvent } from '../modules/events/service.js';
import { isUuid } from '../lib/ids.js';
import { DomainError } from '../errors.js';
import { lockMemberRef, type Actor, type MemberSummary } from '../modules/members/service.js';
import { runRules } from './apply-rule-outcomes.js';
import type { RuleOutcome } from '../modules/rules/evaluate.js';

export interface IngestInput {
  /** A member id or one of the retailer's external ids. */
  userRef: string;
  name: string;
  /** The event's own date; absent: it counts at processing time. A past date counts at that date (period limits, counts). */
  occurredAt?: Date;
  context?: Record<string, unknown>;
  qty?: number;
}

export interface IngestResult {
  member: MemberSummary;
  event: MemberEvent;
  /** Every outcome of every rule the event achieved ({rule_id, discriminator, is_outcome_applied, points_awarded, ...}). */
  outcomes: RuleOutcome[];
  /** What the event did to the member's campaign progress. */
  campaigns: CampaignEventResult;
}

/**
 * A member's custom event, in one transaction: the member's lock first (so a
 * member's events are processed one after the other and each rule's limits
 * hold exactly), the event recorded, the rules it triggers run with their
 * outcomes, and campaign progress. Restricted members (account_status
 * 'restricted') still get rule outcomes: SPEC §5.8 only keeps them out of
 * campaigns; a rule can exclude them with a condition on member.account_status.
 */
export async function ingestEvent(db: Db, actor: Actor, input: IngestInput): Promise<IngestResult> {
  return transact(db, async (tx) => {
    const eventInput = { name: input.name, occurredAt: input.occurredAt, context: input.context, qty: input.qty };
    // by member id, the lock and the event are one statement; an external id, an unknown id or a refused event take the long way
    // (so that an unknown member is answered before a refused event, as ever)
    const quick = isUuid(input.userRef) && acceptable(eventInput) ? await lockAndRecordEvent(tx, actor, input.userRef.toLowerCase(), eventInput) : undefined;
    const member = quick?.member ?? (await lockMemberRef(tx, actor.retailerId, input.userRef));
    const event = quick?.event ?? (await recordEvent(tx, actor, member, eventInput));
    // campaign progress for this event, in the same transaction and under the same lock (restricted members
    // take part in no campaign: the campaigns module decides); with the rules' statements when the rules
    // cannot change what it reads (no campaign counting the event has an audience) and some rule matches;
    // then nothing follows the rules, and their last writes go with the commit
    const occurrences = [{ qty: event.qty, occurredAt: event.occurred_at }];
    const step = await campaignStep(tx, actor, member, event.name, occurrences, { openOnly: true });
    const outcomes = await runRules(tx, actor, member, { type: 'event', name: event.name, occurredAt: event.occurred_at, context: event.context, eventId: event.id }, { companion: step, last: !!step });
    const campaigns = step?.planned ? step.result : await recordCampaignEvent(tx, actor, member, event.name, occurrences);

    return { member, event, outcomes, campaigns };
  });
}

/** Whether recordEvent would take this event (else it throws, once the member is known). */
function acceptable(input: EventInput): boolean {
  try {
    eventName(input.name);
  } catch (err) {
    if (err instanceof DomainError) return false;
    throw err;
  }
  const qty = input.qty ?? 1;
  return Number.isInteger(qty) && qty >= 1 && qty <= 1_000_000;
}
