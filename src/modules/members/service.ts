import { randomBytes, randomUUID } from 'node:crypto';
import { CompiledQuery, sql, type Selectable } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Db } from '../../db/index.js';
import { noteMemberRead } from '../../db/replica.js';
import { noteMemberWrite } from '../../db/unit-of-work.js';
import type { MembersTable } from '../../db/schema.js';
import { DomainError, memberNotFound } from '../../errors.js';
import type { Tenant } from '../tenants/credentials.js';
import { recordDomainEvent } from '../outbox/service.js';
import { recordTimeline, type TimelineSubject } from '../timeline/service.js';
import { isUuid } from '../../lib/ids.js';
import { normalizeDob, isEmail, digitsOf } from './values.js';

export interface Identifier {
  external_id: string;
  external_id_type: string;
}

export interface PhoneNumber {
  phone_number: string;
  phone_type: string;
  preference_flags: string[];
  verified_ownership: boolean;
}

/** Standard attributes a request may set. */
export interface MemberFields {
  email?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  gender?: string | null;
  dob?: string | null;
  address?: string | null;
  address2?: string | null;
  city?: string | null;
  state?: string | null;
  zip?: string | null;
  country?: string | null;
  dma?: string | null;
  locale?: string | null;
  opted_in?: boolean;
  activated?: boolean;
  suspended?: boolean;
  test_account?: boolean;
  account_status?: string;
  profile_photo_url?: string | null;
}

export interface MemberInput extends MemberFields {
  /** On create: a known id (imports, the demo); absent: a new one. */
  id?: string;
  identifiers?: { external_id: string; external_id_type?: string }[];
  phone_numbers?: { phone_number: string; phone_type?: string; preference_flags?: string[]; verified_ownership?: boolean }[];
  /** Custom profile attributes; on update, merged into the stored ones (null removes one). */
  user_profile?: Record<string, unknown>;
  /** On create: the referrer_code of the member who referred this one. */
  referral_code?: string;
  /** On update: the member keeps only the identifiers listed (clear_identifiers); the others are freed. */
  clearIdentifiers?: boolean;
}

export type MemberRow = Selectable<MembersTable>;

export interface Member extends MemberRow {
  identifiers: Identifier[];
  phone_numbers: PhoneNumber[];
}

/** Who acts, for timeline entries. */
export interface Actor extends Tenant {
  requestId?: string;
}

const STANDARD_FIELDS = [
  'email', 'first_name', 'last_name', 'gender', 'dob', 'address', 'address2', 'city', 'state', 'zip', 'country', 'dma',
  'locale', 'opted_in', 'activated', 'suspended', 'test_account', 'account_status', 'profile_photo_url',
] as const satisfies readonly (keyof MemberFields)[];

/** The members a query may return: merged-away, forgotten and deleted ones are never returned. */
function activeMembers(db: Db, retailerId: string) {
  return db
    .selectFrom('members as m')
    .selectAll('m')
    .select((eb) => [
      jsonArrayFrom(
        eb
          .selectFrom('member_identifiers as i')
          .select(['i.external_id', 'i.external_id_type'])
          .whereRef('i.retailer_id', '=', 'm.retailer_id')
          .whereRef('i.member_id', '=', 'm.id')
          .orderBy('i.position'),
      ).as('identifiers'),
      jsonArrayFrom(
        eb
          .selectFrom('member_phone_numbers as p')
          .select(['p.phone_number', 'p.phone_type', 'p.preference_flags', 'p.verified_ownership'])
          .whereRef('p.retailer_id', '=', 'm.retailer_id')
          .whereRef('p.member_id', '=', 'm.id')
          .orderBy('p.position'),
      ).as('phone_numbers'),
    ])
    .where('m.retailer_id', '=', retailerId)
    .where('m.lifecycle', '=', 'active');
}

/** Members found through `db`: on a replica, one this process has just written is read from the primary instead (db/replica.ts). */
function found<T extends { id: string }>(db: Db, members: T[]): T[] {
  for (const m of members) noteMemberRead(db, m.id);
  return members;
}

export async function getMember(db: Db, retailerId: string, id: string): Promise<Member | undefined> {
  if (!isUuid(id)) return undefined;
  return found(db, (await activeMembers(db, retailerId).where('m.id', '=', id.toLowerCase()).execute()) as Member[])[0];
}

export async function getMembers(db: Db, retailerId: string, ids: string[]): Promise<Member[]> {
  const valid = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
  if (!valid.length) return [];
  return found(db, (await activeMembers(db, retailerId).where('m.id', 'in', valid).orderBy('m.player_id').execute()) as Member[]);
}

/** Finds a member by one of its external ids (any type unless one is given); several matches is an error. */
export async function findByExternalId(db: Db, retailerId: string, externalId: string, type?: string): Promise<Member | undefined> {
  let ids = db
    .selectFrom('member_identifiers')
    .select('member_id')
    .where('retailer_id', '=', retailerId)
    .where(sql`lower(external_id)`, '=', externalId.toLowerCase());
  if (type) ids = ids.where('external_id_type', '=', type);
  const members = found(db, (await activeMembers(db, retailerId).where('m.id', 'in', ids).limit(2).execute()) as Member[]);
  if (members.length > 1) throw new DomainError('multiple_matches', `external_id ${externalId} names several members; give external_id_type`, 'external_id');
  return members[0];
}

export async function findByEmail(db: Db, retailerId: string, email: string): Promise<Member | undefined> {
  return found(db, (await activeMembers(db, retailerId).where(sql`lower(m.email)`, '=', email.trim().toLowerCase()).execute()) as Member[])[0];
}

export async function findByPhone(db: Db, retailerId: string, phone: string): Promise<Member | undefined> {
  const ids = db
    .selectFrom('member_phone_numbers')
    .select('member_id')
    .where('retailer_id', '=', retailerId)
    .where('digits', '=', digitsOf(phone));
  const members = found(db, (await activeMembers(db, retailerId).where('m.id', 'in', ids).limit(2).execute()) as Member[]);
  if (members.length > 1) throw new DomainError('multiple_matches', 'mobile_number matches several members', 'mobile_number');
  return members[0];
}

/**
 * An active member's own row, without its identifiers and phone numbers: for the reads
 * that answer with the member's other data (balances, timelines, campaigns), one index
 * lookup and one row instead of three tables' pages.
 */
export async function getMemberRow(db: Db, retailerId: string, id: string): Promise<MemberRow | undefined> {
  if (!isUuid(id)) return undefined;
  const rows = await db.selectFrom('members').selectAll().where('retailer_id', '=', retailerId).where('id', '=', id.toLowerCase()).where('lifecycle', '=', 'active').execute();
  return found(db, rows)[0];
}

/** resolveMemberRef for the reads that need only the member's own row (getMemberRow). */
export async function resolveMemberRowRef(db: Db, retailerId: string, ref: string): Promise<MemberRow | undefined> {
  return (isUuid(ref) && (await getMemberRow(db, retailerId, ref))) || findByExternalId(db, retailerId, ref);
}

/**
 * Resolves the `user_id` of Connect and POS bodies: a member id, or one of the
 * retailer's external ids (integrations send their own member numbers).
 */
export async function resolveMemberRef(db: Db, retailerId: string, ref: string): Promise<Member | undefined> {
  return (isUuid(ref) && (await getMember(db, retailerId, ref))) || findByExternalId(db, retailerId, ref);
}

export interface SearchCriteria {
  first_name?: string;
  last_name?: string;
  email?: string;
  external_id?: string;
  phone?: string;
  sort?: 'user_id' | 'first_name' | 'last_name' | 'email' | 'created_at' | 'player_id';
  limit: number;
}

/** Advanced search: exact, case-insensitive matches on every criterion given. */
export async function searchMembers(db: Db, retailerId: string, criteria: SearchCriteria): Promise<{ total: number; members: Member[] }> {
  let q = activeMembers(db, retailerId);
  if (criteria.first_name) q = q.where(sql`lower(m.first_name)`, '=', criteria.first_name.toLowerCase());
  if (criteria.last_name) q = q.where(sql`lower(m.last_name)`, '=', criteria.last_name.toLowerCase());
  if (criteria.email) q = q.where(sql`lower(m.email)`, '=', criteria.email.toLowerCase());
  if (criteria.external_id) {
    q = q.where('m.id', 'in', db.selectFrom('member_identifiers').select('member_id').where('retailer_id', '=', retailerId).where(sql`lower(external_id)`, '=', criteria.external_id.toLowerCase()));
  }
  if (criteria.phone) {
    q = q.where('m.id', 'in', db.selectFrom('member_phone_numbers').select('member_id').where('retailer_id', '=', retailerId).where('digits', '=', digitsOf(criteria.phone)));
  }
  const sort = criteria.sort === 'user_id' || !criteria.sort ? 'm.id' : criteria.sort === 'player_id' ? 'm.player_id' : (`m.${criteria.sort}` as const);
  return countAndPage(q, sort, criteria.limit);
}

/** How many members a search matches, and the first `limit` of them by `sort` (then enrolment). */
async function countAndPage(q: ReturnType<typeof activeMembers>, sort: 'm.id' | 'm.player_id' | 'm.first_name' | 'm.last_name' | 'm.email' | 'm.created_at', limit: number) {
  const { total } = await q.clearSelect().select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  const members = (await q.orderBy(sort).orderBy('m.player_id').limit(limit).execute()) as Member[];
  return { total: Number(total), members };
}

/** `text` for LIKE: its wildcards and the escape character match themselves. */
const likeLiteral = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * One search box (what a support agent types): the active members whose
 * email or one of whose external ids is the text (any case), whose phone
 * digits are its digits (when it has at least four: fewer would match
 * numbers by chance), or whose first name, last name or "first last"
 * starts with it. In enrolment order; a blank text matches no one.
 */
export async function searchMembersByText(db: Db, retailerId: string, text: string, limit: number): Promise<{ total: number; members: Member[] }> {
  const value = text.trim().toLowerCase();
  if (!value) return { total: 0, members: [] };
  const digits = digitsOf(value);
  const prefix = `${likeLiteral(value)}%`;
  const q = activeMembers(db, retailerId).where((eb) =>
    eb.or([
      eb(sql`lower(m.email)`, '=', value),
      eb('m.id', 'in', db.selectFrom('member_identifiers').select('member_id').where('retailer_id', '=', retailerId).where(sql`lower(external_id)`, '=', value)),
      ...(digits.length >= 4 ? [eb('m.id', 'in', db.selectFrom('member_phone_numbers').select('member_id').where('retailer_id', '=', retailerId).where('digits', '=', digits))] : []),
      eb('m.first_name', 'ilike', prefix),
      eb('m.last_name', 'ilike', prefix),
      eb(sql`m.first_name || ' ' || m.last_name`, 'ilike', prefix),
    ]),
  );
  return countAndPage(q, 'm.player_id', limit);
}

export function subjectOf(actor: Pick<Actor, 'retailerId'>, member: MemberSummary): TimelineSubject {
  return {
    retailerId: actor.retailerId,
    memberId: member.id,
    playerId: member.player_id,
    userName: [member.first_name, member.last_name].filter(Boolean).join(' '),
  };
}

/** Enrolls a member, in the caller's transaction. */
export async function createMember(tx: Db, actor: Actor, input: MemberInput): Promise<Member> {
  const fields = validateFields(input);
  let referrer: MemberRow | undefined;
  if (input.referral_code) {
    referrer = await tx
      .selectFrom('members')
      .selectAll()
      .where('retailer_id', '=', actor.retailerId)
      .where('referrer_code', '=', input.referral_code.toUpperCase())
      .where('lifecycle', '=', 'active')
      .executeTakeFirst();
    if (!referrer) throw new DomainError('validation', 'referrer_code: no member has this referral code', 'referrer_code');
  }
  const id = input.id?.toLowerCase() ?? randomUUID();
  const now = new Date();
  const row = await insertUnique(() =>
    tx
      .insertInto('members')
      .values({
        ...fields,
        retailer_id: actor.retailerId,
        id,
        referrer_code: newReferrerCode(fields.first_name, fields.last_name),
        referred_by: referrer?.id ?? null,
        user_profile: JSON.stringify(withoutNulls(input.user_profile ?? {})),
        registered_at: now,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow(),
  );
  await addIdentifiers(tx, actor.retailerId, id, distinctIdentifiers(input.identifiers ?? []), 0);
  await replacePhoneNumbers(tx, actor.retailerId, id, input.phone_numbers);
  await recordTimeline(tx, subjectOf(actor, row), [
    referrer
      ? { type: 'SIGNED_UP_WITH_REFERRAL', requestId: actor.requestId, occurredAt: now, payload: { referrer_id: referrer.id } }
      : { type: 'SIGNED_UP_WITHOUT_REFERRAL', requestId: actor.requestId, occurredAt: now },
  ]);
  if (referrer) {
    await recordTimeline(tx, subjectOf(actor, referrer), [
      { type: 'REFERRED_A_USER_TO_SIGN_UP', requestId: actor.requestId, occurredAt: now, payload: { referred_user_id: id } },
    ]);
  }
  const member = (await getMember(tx, actor.retailerId, id))!;
  recordDomainEvent(tx, { type: 'member.created', retailerId: actor.retailerId, memberId: id, occurredAt: now, payload: memberPayload(member) });
  return member;
}

/** What member events carry of the member. */
const memberPayload = (m: Member) => ({
  user_id: m.id,
  external_ids: m.identifiers.map((i) => ({ external_id: i.external_id, external_id_type: i.external_id_type })),
  email: m.email,
  first_name: m.first_name,
  last_name: m.last_name,
  locale: m.locale,
  account_status: m.account_status,
  opted_in: m.opted_in,
});

/** Changes a member's attributes, in the caller's transaction; writes PROFILE_UPDATE with the changed names. */
export async function updateMember(tx: Db, actor: Actor, memberId: string, input: MemberInput): Promise<Member> {
  const current = await lockMember(tx, actor.retailerId, memberId);
  const fields = validateFields(input);
  const changed: { attribute: string; from: unknown; to: unknown }[] = [];
  for (const key of STANDARD_FIELDS) {
    if (key in fields && fields[key] !== current[key]) changed.push({ attribute: key, from: current[key], to: fields[key] });
  }
  let profile = current.user_profile;
  if (input.user_profile) {
    profile = { ...current.user_profile };
    for (const [key, value] of Object.entries(input.user_profile)) {
      if (key === '_version') continue; // the server's counter, shown in the profile; clients echo it back
      if (JSON.stringify(profile[key]) === JSON.stringify(value ?? undefined)) continue;
      changed.push({ attribute: `user_profile.${key}`, from: profile[key] ?? null, to: value });
      if (value === null) delete profile[key];
      else profile[key] = value;
    }
  }
  const profileChanged = profile !== current.user_profile && changed.some((c) => c.attribute.startsWith('user_profile.'));

  // an id the member already has is not new: with its type, or without a type at all
  // (the user answer shows external_id without its type, and clients send it back)
  const existing = new Set(current.identifiers.flatMap((i) => [`${i.external_id_type}\u0000${i.external_id.toLowerCase()}`, `\u0000${i.external_id.toLowerCase()}`]));
  const newIdentifiers = distinctIdentifiers(input.identifiers ?? []).filter((i) => !existing.has(`${i.external_id_type ?? ''}\u0000${i.external_id.trim().toLowerCase()}`));
  for (const i of newIdentifiers) changed.push({ attribute: 'identifiers', from: null, to: i.external_id });
  // clear_identifiers: an id the request does not list is removed (and free for another member)
  const listed = (i: Identifier) =>
    (input.identifiers ?? []).some((k) => k.external_id.trim().toLowerCase() === i.external_id.toLowerCase() && (!k.external_id_type || k.external_id_type === i.external_id_type));
  const removedIdentifiers = input.clearIdentifiers ? current.identifiers.filter((i) => !listed(i)) : [];
  for (const i of removedIdentifiers) changed.push({ attribute: 'identifiers', from: i.external_id, to: null });
  // a change of type, flags or verified_ownership is a change too, not only of the numbers
  const phoneKey = (phones: { phone_number: string; phone_type?: string; preference_flags?: string[]; verified_ownership?: boolean }[]) =>
    JSON.stringify(phones.map((p) => [p.phone_number, p.phone_type ?? 'mobile', p.preference_flags ?? [], p.verified_ownership ?? false]));
  if (input.phone_numbers && phoneKey(normalizePhones(input.phone_numbers)) !== phoneKey(current.phone_numbers)) {
    changed.push({ attribute: 'phone_numbers', from: current.phone_numbers.map((p) => p.phone_number), to: input.phone_numbers.map((p) => p.phone_number) });
  }

  if (changed.length) {
    await insertUnique(() =>
      tx
        .updateTable('members')
        .set({
          ...fields,
          ...(profileChanged ? { user_profile: JSON.stringify(profile), profile_version: current.profile_version + 1 } : {}),
          updated_at: new Date(),
        })
        .where('retailer_id', '=', actor.retailerId)
        .where('id', '=', current.id)
        .execute(),
    );
    for (const i of removedIdentifiers) {
      await tx
        .deleteFrom('member_identifiers')
        .where('retailer_id', '=', actor.retailerId)
        .where('member_id', '=', current.id)
        .where('external_id_type', '=', i.external_id_type)
        .where(sql`lower(external_id)`, '=', i.external_id.toLowerCase())
        .execute();
    }
    await addIdentifiers(tx, actor.retailerId, current.id, newIdentifiers, current.identifiers.length);
    if (input.phone_numbers) await replacePhoneNumbers(tx, actor.retailerId, current.id, input.phone_numbers);
    const updated = { ...current, ...fields };
    await recordTimeline(tx, subjectOf(actor, updated), [
      {
        type: 'PROFILE_UPDATE',
        requestId: actor.requestId,
        payload: { updated_attrs: [...new Set(changed.map((c) => c.attribute))], changes: changed },
      },
    ]);
  }
  const member = (await getMember(tx, actor.retailerId, current.id))!;
  if (changed.length) recordDomainEvent(tx, { type: 'member.updated', retailerId: actor.retailerId, memberId: member.id, payload: { ...memberPayload(member), changed: [...new Set(changed.map((c) => c.attribute))] } });
  return member;
}

/**
 * Closes a member's account: the member is no longer returned by any query, and
 * its email and external ids are free for a new enrolment. History stays.
 */
export async function deleteMember(tx: Db, actor: Actor, memberId: string): Promise<void> {
  const current = await lockMember(tx, actor.retailerId, memberId);
  await tx.deleteFrom('member_identifiers').where('retailer_id', '=', actor.retailerId).where('member_id', '=', current.id).execute();
  await tx.updateTable('members').set({ lifecycle: 'deleted', updated_at: new Date() }).where('retailer_id', '=', actor.retailerId).where('id', '=', current.id).execute();
  await recordTimeline(tx, subjectOf(actor, current), [{ type: 'ACCOUNT_DELETED', requestId: actor.requestId }]);
  recordDomainEvent(tx, { type: 'member.deleted', retailerId: actor.retailerId, memberId: current.id, payload: { user_id: current.id } });
}

/** Loads an active member and locks its row for the rest of the transaction. */
export async function lockMember(tx: Db, retailerId: string, memberId: string): Promise<Member> {
  if (!isUuid(memberId)) throw memberNotFound();
  const locked = await tx
    .selectFrom('members')
    .select('id')
    .where('retailer_id', '=', retailerId)
    .where('id', '=', memberId.toLowerCase())
    .where('lifecycle', '=', 'active')
    .forNoKeyUpdate()
    .executeTakeFirst();
  if (!locked) throw memberNotFound();
  noteMemberWrite(tx, locked.id);
  return (await getMember(tx, retailerId, locked.id))!;
}

/** What timeline entries and point operations need of a member. */
export type MemberSummary = Pick<MemberRow, 'id' | 'player_id' | 'first_name' | 'last_name'>;

/** The summary of any member of the retailer, active or not (timeline entries of past actions). */
export async function memberSummary(db: Db, retailerId: string, id: string): Promise<MemberSummary | undefined> {
  return db.selectFrom('members').select(['id', 'player_id', 'first_name', 'last_name']).where('retailer_id', '=', retailerId).where('id', '=', id).executeTakeFirst();
}

/** The profile row of any member of the retailer, active or not (rule conditions on the member); throws when there is none. */
export async function memberRow(db: Db, retailerId: string, id: string): Promise<MemberRow> {
  return db.selectFrom('members').selectAll().where('retailer_id', '=', retailerId).where('id', '=', id).executeTakeFirstOrThrow();
}

/** Any member's account status and custom profile (what campaign audiences look at). */
export async function memberStatusAndProfile(db: Db, retailerId: string, id: string): Promise<Pick<MemberRow, 'account_status' | 'user_profile'> | undefined> {
  return db.selectFrom('members').select(['account_status', 'user_profile']).where('retailer_id', '=', retailerId).where('id', '=', id).executeTakeFirst();
}

/** A member's account status as a subquery, for a statement of the caller's. */
export const accountStatusQuery = (retailerId: string, memberId: string) =>
  sql<string | null>`(SELECT account_status FROM members WHERE retailer_id = ${retailerId} AND id = ${memberId})`;

/**
 * The statement that locks an active member (as lockMemberRef does) and
 * answers its summary, as SQL text for a caller's raw statement: `retailer`
 * and `member` are expressions of that statement.
 */
export const lockActiveMemberText = (retailer: string, member: string) =>
  `SELECT id, player_id, first_name, last_name FROM members WHERE retailer_id = ${retailer} AND id = ${member} AND lifecycle = 'active' FOR NO KEY UPDATE`;

const LOCK_ACTIVE_MEMBER = lockActiveMemberText('$1', '$2');
const lockReadingTexts = new Map<string, string>();
/** The lock's statement with the caller's subquery (its texts are the callers' constants: a handful). */
function lockReadingText(read: string): string {
  let text = lockReadingTexts.get(read);
  if (text === undefined) lockReadingTexts.set(read, (text = `WITH m AS MATERIALIZED (${LOCK_ACTIVE_MEMBER}) SELECT m.*, ${read} AS read FROM m`));
  return text;
}

/** Locks members (closed ones too) but those another transaction holds (SKIP LOCKED: background work comes back for them later); answers the ones locked. */
export async function tryLockMembers(tx: Db, refs: { retailer_id: string; member_id: string }[]): Promise<(MemberSummary & { retailer_id: string })[]> {
  if (!refs.length) return [];
  const { rows } = await sql<MemberSummary & { retailer_id: string }>`
    SELECT m.retailer_id, m.id, m.player_id, m.first_name, m.last_name FROM members m
      JOIN unnest(${refs.map((x) => x.retailer_id)}::uuid[], ${refs.map((x) => x.member_id)}::uuid[]) AS k(retailer_id, member_id) ON m.retailer_id = k.retailer_id AND m.id = k.member_id
     ORDER BY m.retailer_id, m.id
       FOR NO KEY UPDATE OF m SKIP LOCKED`.execute(tx);
  for (const m of rows) noteMemberWrite(tx, m.id);
  return rows;
}

/**
 * Locks an active member for the rest of the transaction, found by id or, as
 * Connect and POS bodies allow, by one of its external ids. One query when
 * the reference is the member's id.
 */
export async function lockMemberRef(tx: Db, retailerId: string, ref: string): Promise<MemberSummary> {
  return (await lockMemberRefReading(tx, retailerId, ref)).member;
}

/**
 * lockMemberRef, with `read` (the SQL text of a subquery of the caller's module,
 * of the statement's `$1`, the retailer, and `$2`, the member's id) answered by
 * the lock's own statement once the lock is held: a round trip less. The
 * subquery sees the database as the statement began, before any wait for the
 * lock: rows it must see as the member's last holder left them, it locks
 * itself (a row lock reads the row's latest version).
 */
export async function lockMemberRefReading<R = never>(tx: Db, retailerId: string, ref: string, read?: string): Promise<{ member: MemberSummary; read?: R }> {
  // constant texts (every lock by reference, and every deposit and spend with its balances): no query builder work per call
  const text = read === undefined ? LOCK_ACTIVE_MEMBER : lockReadingText(read);
  const lock = async (id: string) => {
    const [locked] = (await tx.executeQuery<MemberSummary & { read?: R }>(CompiledQuery.raw(text, [retailerId, id]))).rows;
    if (!locked) return undefined;
    noteMemberWrite(tx, locked.id);
    const { read: answer, ...member } = locked;
    return { member, read: answer };
  };
  const byId = isUuid(ref) ? await lock(ref.toLowerCase()) : undefined;
  if (byId) return byId;
  const owners = await tx
    .selectFrom('member_identifiers')
    .select('member_id')
    .distinct()
    .where('retailer_id', '=', retailerId)
    .where(sql`lower(external_id)`, '=', ref.toLowerCase())
    .limit(2)
    .execute();
  if (owners.length > 1) throw new DomainError('multiple_matches', `user_id ${ref} names several members`, 'user_id');
  const found = owners.length ? await lock(owners[0].member_id) : undefined;
  if (!found) throw memberNotFound();
  return found;
}

function validateFields(input: MemberInput): Partial<Pick<MemberRow, (typeof STANDARD_FIELDS)[number]>> {
  const fields: Record<string, unknown> = {};
  for (const key of STANDARD_FIELDS) if (input[key] !== undefined) fields[key] = input[key];
  if (typeof fields.email === 'string') {
    fields.email = fields.email.trim();
    if (!isEmail(fields.email as string)) throw new DomainError('validation', 'email: not an email address', 'email');
  }
  if (typeof fields.dob === 'string') fields.dob = normalizeDob(fields.dob);
  for (const i of input.identifiers ?? []) {
    if (!i.external_id.trim()) throw new DomainError('missing_data', 'external_id: must not be empty', 'external_id');
  }
  return fields;
}

/** The identifiers without repeats (`external_id` and `identifiers` may name the same one). */
function distinctIdentifiers<T extends { external_id: string; external_id_type?: string }>(identifiers: T[]): T[] {
  const seen = new Set<string>();
  return identifiers.filter((i) => {
    const key = `${i.external_id_type ?? ''}\u0000${i.external_id.trim().toLowerCase()}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function addIdentifiers(tx: Db, retailerId: string, memberId: string, identifiers: { external_id: string; external_id_type?: string }[], start: number) {
  if (!identifiers.length) return;
  await insertUnique(() =>
    tx
      .insertInto('member_identifiers')
      .values(identifiers.map((i, n) => ({ retailer_id: retailerId, member_id: memberId, external_id: i.external_id.trim(), external_id_type: i.external_id_type ?? '', position: start + n })))
      .execute(),
  );
}

function normalizePhones(phones: NonNullable<MemberInput['phone_numbers']>) {
  return phones.map((p) => ({ ...p, phone_number: p.phone_number.trim() }));
}

async function replacePhoneNumbers(tx: Db, retailerId: string, memberId: string, phones: MemberInput['phone_numbers']) {
  if (phones === undefined) return;
  await tx.deleteFrom('member_phone_numbers').where('retailer_id', '=', retailerId).where('member_id', '=', memberId).execute();
  if (!phones.length) return;
  await tx
    .insertInto('member_phone_numbers')
    .values(
      normalizePhones(phones).map((p, position) => ({
        retailer_id: retailerId,
        member_id: memberId,
        position,
        phone_number: p.phone_number,
        digits: digitsOf(p.phone_number),
        phone_type: p.phone_type ?? 'mobile',
        preference_flags: JSON.stringify(p.preference_flags ?? []),
        verified_ownership: p.verified_ownership ?? false,
      })),
    )
    .execute();
}

/** Runs an insert or update and turns unique violations into the conflict codes clients expect. */
async function insertUnique<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const e = err as { code?: string; constraint?: string; message?: string };
    if (e.code !== '23505') throw err;
    const where = `${e.constraint ?? ''} ${e.message ?? ''}`;
    if (where.includes('members_email')) throw new DomainError('duplicate_email', 'email: a member with this email already exists', 'email');
    if (where.includes('member_identifiers_unique')) throw new DomainError('duplicate_external_id', 'external_id: a member with this external id already exists', 'external_id');
    throw err;
  }
}

function newReferrerCode(first?: string | null, last?: string | null): string {
  const name = `${first ?? ''}${(last ?? '').slice(0, 1)}`.toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 12) || 'MEMBER';
  const hex = () => randomBytes(3).toString('hex').toUpperCase();
  return `${name}-${hex()}-${hex()}`;
}

function withoutNulls(profile: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(profile).filter(([k, v]) => v !== null && v !== undefined && k !== '_version'));
}
