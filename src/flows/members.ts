import { transact } from '../db/unit-of-work.js';
import type { Db } from '../db/index.js';
import { createMember, deleteMember, lockMember, updateMember, type Actor, type Member, type MemberInput } from '../modules/members/service.js';
import { runRules } from './apply-rule-outcomes.js';
import { addTags } from '../modules/tags/service.js';

/**
 * Member changes that rules can be triggered by (SPEC 5.8: signup, profile
 * change, tag), each in one transaction with the rules' outcomes.
 */

/** Enrolls a member and runs the signup rules. */
export async function enrollMember(db: Db, actor: Actor, input: MemberInput): Promise<Member> {
  return transact(db, async (tx) => {
    const member = await createMember(tx, actor, input);
    await runRules(tx, actor, member, { type: 'signup', occurredAt: new Date(), context: { referred: member.referred_by !== null } });
    return member;
  });
}

/** Changes a member's profile and runs the profile_change rules of every changed attribute. */
export async function changeProfile(db: Db, actor: Actor, memberId: string, input: MemberInput): Promise<Member> {
  return transact(db, async (tx) => {
    const before = await lockMember(tx, actor.retailerId, memberId);
    const after = await updateMember(tx, actor, memberId, input);
    const now = new Date();
    for (const attribute of changedAttributes(before, after)) {
      const value = attribute.startsWith('user_profile.') ? after.user_profile[attribute.slice(13)] : after[attribute as keyof Member];
      await runRules(tx, actor, after, { type: 'profile_change', name: attribute.replace(/^user_profile\./, ''), occurredAt: now, context: { attribute, value } });
    }
    return after;
  });
}

/** Drops tags on a member and runs the tag rules of each. */
export async function dropTags(db: Db, actor: Actor, memberId: string, tags: string[], ttlSeconds?: number): Promise<Record<string, number>> {
  return transact(db, async (tx) => {
    const result = await addTags(tx, actor, memberId, tags, ttlSeconds);
    const member = await lockMember(tx, actor.retailerId, memberId);
    const now = new Date();
    for (const tag of new Set(tags.map((t) => t.trim()))) {
      await runRules(tx, actor, member, { type: 'tag', name: tag, occurredAt: now, context: { tag, count: result[tag] ?? 0 } });
    }
    return result;
  });
}

/** Closes a member's account (its history stays). */
export const closeMember = (db: Db, actor: Actor, memberId: string) => transact(db, (tx) => deleteMember(tx, actor, memberId));

const COMPARED = ['email', 'first_name', 'last_name', 'gender', 'dob', 'address', 'address2', 'city', 'state', 'zip', 'country', 'dma', 'locale', 'opted_in', 'activated', 'suspended', 'test_account', 'account_status', 'profile_photo_url'] as const;

function changedAttributes(before: Member, after: Member): string[] {
  const changed: string[] = COMPARED.filter((k) => before[k] !== after[k]);
  const keys = new Set([...Object.keys(before.user_profile), ...Object.keys(after.user_profile)]);
  for (const key of keys) if (JSON.stringify(before.user_profile[key]) !== JSON.stringify(after.user_profile[key])) changed.push(`user_profile.${key}`);
  return changed;
}
