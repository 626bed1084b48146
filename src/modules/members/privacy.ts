import { memberRows } from '../../db/rows.js';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { digitsOf } from './values.js';

/** Locks a member whatever its lifecycle (a privacy request outlives the member being active); throws when there is none. */
export async function lockAnyMember(tx: Db, retailerId: string, memberId: string): Promise<void> {
  await tx.selectFrom('members').select('id').where('retailer_id', '=', retailerId).where('id', '=', memberId).forUpdate().executeTakeFirstOrThrow();
}

/**
 * Restricts (account_status 'restricted') or reinstates ('good') a member's
 * account, the caller holding its lock; answers whether that changed it.
 */
export async function restrictAccount(tx: Db, retailerId: string, memberId: string, restricted: boolean): Promise<boolean> {
  const row = await tx.selectFrom('members').select('account_status').where('retailer_id', '=', retailerId).where('id', '=', memberId).executeTakeFirstOrThrow();
  if (restricted === (row.account_status === 'restricted')) return false;
  await tx.updateTable('members').set({ account_status: restricted ? 'restricted' : 'good', updated_at: new Date() }).where('retailer_id', '=', retailerId).where('id', '=', memberId).execute();
  return true;
}

/** Every value of the profile, identifiers and phone numbers that names the member, as stored (null for those not set). */
export async function namingValues(tx: Db, retailerId: string, memberId: string): Promise<unknown[]> {
  const member = await tx.selectFrom('members').selectAll().where('retailer_id', '=', retailerId).where('id', '=', memberId).executeTakeFirstOrThrow();
  const identifiers = await tx.selectFrom('member_identifiers').select('external_id').where('retailer_id', '=', retailerId).where('member_id', '=', memberId).execute();
  const phones = await tx.selectFrom('member_phone_numbers').select(['phone_number', 'digits']).where('retailer_id', '=', retailerId).where('member_id', '=', memberId).execute();
  const rawDob: unknown = member.dob;
  const dob = rawDob instanceof Date ? rawDob.toISOString().slice(0, 10) : typeof rawDob === 'string' ? rawDob.slice(0, 10) : null;
  return [
    member.email,
    member.first_name && member.last_name ? `${member.first_name} ${member.last_name}` : null,
    member.first_name,
    member.last_name,
    member.address,
    member.address2,
    member.profile_photo_url,
    member.referrer_code,
    dob,
    ...identifiers.map((i) => i.external_id),
    ...phones.flatMap((p) => [p.phone_number, p.digits, digitsOf(p.phone_number)]),
  ];
}

/**
 * Forgets a member's profile (the caller holds its lock): its identifiers and
 * phone numbers are deleted, its personal attributes and custom profile
 * blanked, and it becomes 'forgotten', which no query or lookup finds.
 */
export async function forgetProfile(tx: Db, retailerId: string, memberId: string): Promise<void> {
  await tx.deleteFrom('member_identifiers').where('retailer_id', '=', retailerId).where('member_id', '=', memberId).execute();
  await tx.deleteFrom('member_phone_numbers').where('retailer_id', '=', retailerId).where('member_id', '=', memberId).execute();
  await tx
    .updateTable('members')
    .set({
      lifecycle: 'forgotten',
      email: null,
      first_name: null,
      last_name: null,
      gender: null,
      dob: null,
      address: null,
      address2: null,
      city: null,
      state: null,
      zip: null,
      country: null,
      dma: null,
      profile_photo_url: null,
      opted_in: false,
      user_profile: '{}',
      referrer_code: `FORGOTTEN-${randomBytes(8).toString('hex').toUpperCase()}`,
      updated_at: new Date(),
    })
    .where('retailer_id', '=', retailerId)
    .where('id', '=', memberId)
    .execute();
}

/** The member's profile row as JSON, for its data export; null when there is none. */
export async function exportMemberProfile(db: Db, retailerId: string, memberId: string): Promise<Record<string, unknown> | null> {
  const { rows } = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(m) AS row FROM members m WHERE retailer_id = ${retailerId} AND id = ${memberId}`.execute(db);
  return rows[0]?.row ?? null;
}

/** The member's identifiers and phone numbers as JSON rows, by table, for its data export. */
export async function exportMemberIdentifiers(db: Db, retailerId: string, memberId: string): Promise<{ member_identifiers: Record<string, unknown>[]; member_phone_numbers: Record<string, unknown>[] }> {
  const identifiers = await memberRows(db, 'member_identifiers', retailerId, memberId);
  const phones = await memberRows(db, 'member_phone_numbers', retailerId, memberId);
  return { member_identifiers: identifiers, member_phone_numbers: phones };
}
