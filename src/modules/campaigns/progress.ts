/**
 * One event's campaign step for a member: which goals count it (the
 * catalog, the audiences), its progress read (the store), advanced (pure,
 * advance.ts), and what that plans: the store's writes, the timeline entries,
 * campaign.completed events, and the deposits of the points awarded.
 */
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';
import { subjectOf, type Actor, type MemberSummary } from '../members/service.js';
import { recordDomainEvents } from '../outbox/service.js';
import { listPointAccounts } from '../points/accounts.js';
import { parseAmount } from '../points/amount.js';
import { balancesJson, type BalanceRow, type DepositDetail } from '../points/ledger.js';
import { planTimeline } from '../timeline/service.js';
import { advance, noProgress, type Advance, type CampaignEventResult, type CampaignOccurrence } from './advance.js';
import { audienceFacts, inAudience, isEmptyAudience, type AudienceFacts } from './audience.js';
import { campaignCatalog, type BehaviorDef, type CampaignCatalog, type GoalRef } from './config.js';
import { planProgressWrites, progressOf, progressRead, type MemberProgress } from './progress-store.js';

/**
 * The campaign progress one event makes for a member, in steps the rules
 * can run within their own statements (flows/apply-rule-outcomes.ts):
 * `read` (the member's progress on the behaviours the event counts for) comes
 * with the rules' read under the member's lock, then `plan` (given what was
 * read, advances it: plans the writes in the unit of work and answers the
 * awards to deposit, all or nothing, after the rules'), then `result`.
 * The campaign-award flow runs them in statements of their own.
 */
export interface CampaignStep {
  /** A json value to read with the rules' state. */
  read: RawBuilder<unknown>;
  /** Whether plan may answer deposits (the member's point accounts are then read too). */
  mayDeposit: boolean;
  /** Given the value read (before any rule's outcome), plans its writes in the unit of work and answers its deposits. */
  plan(read: unknown): Promise<DepositDetail[]>;
  /** Whether plan ran. */
  planned: boolean;
  /** What the event did, once planned. */
  result: CampaignEventResult;
}

/**
 * The step of an event's occurrences (see recordCampaignEvent), or nothing
 * when no goal the member may work on counts them. Campaigns with an
 * audience read the member's facts here, first; `openOnly` answers nothing
 * for those instead (a caller whose own writes may change the facts runs
 * recordCampaignEvent after them).
 */
export async function campaignStep(
  tx: Db,
  actor: Actor,
  member: MemberSummary,
  eventName: string,
  occurrences: CampaignOccurrence[],
  options: { campaignId?: number; openOnly?: boolean } = {},
): Promise<CampaignStep | undefined> {
  const catalog = await campaignCatalog(tx, actor.retailerId);
  let refs: GoalRef[] = catalog.byEvent.get(eventName.trim().toLowerCase()) ?? [];
  if (options.campaignId !== undefined) refs = refs.filter((r) => r.campaign.id === options.campaignId);
  const ordered = occurrences.filter((o) => o.qty > 0).sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime());
  if (!refs.length || !ordered.length) return undefined;

  const campaigns = [...new Map(refs.map((r) => [r.campaign.id, r.campaign])).values()];
  // every campaign open to all but restricted members: the member's status comes with its progress
  const open = campaigns.every((c) => isEmptyAudience(c.audience));
  let facts: AudienceFacts | undefined;
  if (!open) {
    if (options.openOnly) return undefined;
    facts = await audienceFacts(tx, actor.retailerId, member.id, true);
    if (facts.restricted) return undefined;
    const eligible = new Set(campaigns.filter((c) => inAudience(c.audience, facts!)).map((c) => c.id));
    refs = refs.filter((r) => eligible.has(r.campaign.id));
    if (!refs.length) return undefined;
  }
  const behaviors = [...new Map(refs.map((r) => [r.behavior.id, r])).values()].map((r) => ({
    campaign: r.campaign,
    behavior: r.behavior,
    goals: refs.filter((x) => x.behavior.id === r.behavior.id).map((x) => x.goal),
  }));
  const step: CampaignStep = {
    // opt-ins are read only when a campaign counting this event needs one
    read: progressRead(actor.retailerId, member.id, behaviors.map((b) => b.behavior.id), {
      optIns: behaviors.some((b) => b.campaign.opt_in_required),
      status: open,
      states: [...new Set(behaviors.map((b) => b.campaign.id))],
    }),
    mayDeposit: behaviors.some((b) => b.behavior.points > 0 || b.behavior.goals.some((g) => g.points > 0)),
    planned: false,
    result: noProgress(),
    async plan(read) {
      step.planned = true;
      const progress = progressOf(read, open);
      if (progress.restricted) return [];
      const moved = advance(catalog, behaviors, progress, facts ?? { restricted: false, tags: new Set(), tierLevelIds: new Set(), profile: {} }, ordered, step.result, actor.requestId);
      return planAdvance(tx, actor, member, catalog, behaviors.map((b) => b.behavior), progress, moved);
    },
  };
  return step;
}

/** What a step reads, in one statement of its own (with the member's point accounts when it may deposit). */
export async function readStep(tx: Db, actor: Actor, member: MemberSummary, step: CampaignStep): Promise<{ progress: unknown; balances?: BalanceRow[] }> {
  const { rows } = await sql<{ progress: unknown; balances: BalanceRow[] | null }>`
    SELECT ${step.read} AS progress, ${step.mayDeposit ? balancesJson(actor.retailerId, member.id) : sql`NULL::json`} AS balances`.execute(tx);
  return { progress: rows[0].progress, balances: rows[0].balances ?? undefined };
}

/** Plans what an advance changed in the unit of work; answers the deposits of its awards. */
async function planAdvance(tx: Db, actor: Actor, member: MemberSummary, catalog: CampaignCatalog, behaviors: BehaviorDef[], progress: MemberProgress, moved: Advance): Promise<DepositDetail[]> {
  planProgressWrites(tx, actor.retailerId, member.id, progress, behaviors, moved);
  planTimeline(tx, subjectOf(actor, member), moved.timeline);
  const now = new Date();
  recordDomainEvents(
    tx,
    moved.states
      .filter((r) => r.state === 'completed')
      .map((r) => ({ type: 'campaign.completed', retailerId: actor.retailerId, memberId: member.id, occurredAt: now, payload: { campaign_id: String(r.campaign_id), campaign_name: catalog.byId.get(r.campaign_id)!.name } })),
  );
  if (!moved.awards.length) return [];
  const fallback = (await listPointAccounts(tx, actor.retailerId)).find((a) => a.is_default && a.active)?.id;
  return moved.awards.map((a) => {
    const account = a.campaign.point_account_id ?? fallback;
    if (!account) throw new DomainError('point_account_not_found', `campaign ${a.campaign.id} awards points but names no point account and the retailer has no default one`);
    return { kind: 'deposit', point_account_id: account, amount: parseAmount(a.points), reference_id: a.reference, reference_type: 'campaign' };
  });
}
