/** A member's achievements of rules: written by this module only, with their timeline entries and rule.achieved events. */
import type { Db } from '../../db/index.js';
import { recordset } from '../../db/rows.js';
import { unitOf } from '../../db/unit-of-work.js';
import { subjectOf, type Actor, type MemberSummary } from '../members/service.js';
import { recordDomainEvents, type NewEvent } from '../outbox/service.js';
import { parseAmount, toDecimal } from '../points/amount.js';
import { planTimeline } from '../timeline/service.js';
import { sql } from 'kysely';
import type { Rule } from './config.js';
import type { RuleOutcome, Trigger } from './evaluate.js';

/**
 * Plans, in the unit of work, the rules one trigger achieved with what their
 * outcomes did: the achievements, a LOYALTY_RULE_ACHIEVED entry and a
 * rule.achieved event each.
 */
export function planAchievements(tx: Db, actor: Actor, member: MemberSummary, trigger: Trigger, achieved: { rule: Rule; applied: RuleOutcome[] }[]): void {
  if (!achieved.length) return;
  unitOf(tx).plan(achievementsInsert(actor, member, trigger, achieved.map(({ rule, applied }) => ({ rule_id: rule.id, outcomes: applied }))));
  planTimeline(
    tx,
    subjectOf(actor, member),
    achieved.map(({ rule, applied }) => ({
      type: 'LOYALTY_RULE_ACHIEVED',
      requestId: actor.requestId,
      payload: {
        rule_id: rule.id,
        rule_name: rule.name,
        trigger: trigger.type,
        ...(trigger.name ? { trigger_name: trigger.name } : {}),
        ...(trigger.eventId ? { event_id: trigger.eventId } : {}),
        event_time: trigger.occurredAt.toISOString(),
        outcomes: applied.map(({ rule_id: _r, rule_name: _n, ...o }) => o),
      },
    })),
  );
  recordDomainEvents(tx, achieved.map(({ rule, applied }) => achievedEvent(actor, member, rule, trigger, applied)));
}

/** rule.achieved: the rule and what each of its outcomes did. */
function achievedEvent(actor: Actor, member: MemberSummary, rule: Rule, trigger: Trigger, applied: RuleOutcome[]): NewEvent<'rule.achieved'> {
  return {
    type: 'rule.achieved',
    retailerId: actor.retailerId,
    memberId: member.id,
    payload: {
      rule_id: rule.id,
      rule_name: rule.name,
      trigger: trigger.type,
      event_id: trigger.eventId ?? null,
      outcomes: applied.map((o) => ({ type: o.discriminator, applied: o.is_outcome_applied, points_awarded: toDecimal(parseAmount(o.points_awarded, 'points', false)) })),
    },
  };
}

const ACHIEVEMENT_COLUMNS = { rule_id: 'uuid', outcomes: 'jsonb' };

/** The member's achievements of rules on one trigger, with their outcomes. */
const achievementsInsert = (actor: Actor, member: MemberSummary, trigger: Trigger, rows: { rule_id: string; outcomes: RuleOutcome[] }[]) =>
  sql`INSERT INTO rule_achievements (retailer_id, member_id, rule_id, event_id, achieved_at, outcomes, request_id)
      SELECT ${actor.retailerId}::uuid, ${member.id}::uuid, rule_id, ${trigger.eventId ?? null}::uuid, ${trigger.occurredAt}::timestamptz, outcomes, ${actor.requestId ?? null}::text
        FROM ${recordset(rows, ACHIEVEMENT_COLUMNS)} ORDER BY n`;

