import { CompiledQuery } from 'kysely';
import type { Db } from '../../db/index.js';
import { noteMemberRead } from '../../db/replica.js';
import { DomainError } from '../../errors.js';
import { usableUserOffersText, type UsableUserOfferTuple, type UserOffer } from '../offers/user-offers.js';
import { listPointAccounts } from '../points/accounts.js';
import { fromDb, ZERO, type Amount } from '../points/amount.js';
import { balanceTuplesText, type AccountBalance, type BalanceTuple } from '../points/queries.js';
import { isUuid } from '../../lib/ids.js';
import { digitsOf } from './values.js';

/**
 * The point of sale's member lookup in one statement: the member found by one
 * key (email, phone, member id or external id) with what the till shows —
 * its first phone number, its issued user offers still inside their
 * redemption window (newest first, at most 1000), and its point balances.
 *
 * It answers what `findByEmail` / `findByPhone` / `resolveMemberRef` /
 * `findByExternalId`, `listUserOffers(statuses: [issued])`, `memberBalances`
 * and `availablePoints` answer together, in one round trip with a constant
 * text per key (a prepared statement each): the till's hottest read.
 */

export type LookupKey = { email: string } | { phone: string } | { id: string } | { externalId: string };

/** The fields of a user offer the lookup reads (pricing and its answer). */
export type LookupUserOffer = Pick<UserOffer, 'id' | 'member_id' | 'offer_id' | 'status' | 'redemption_start_date' | 'redemption_end_date' | 'lock_key' | 'redemption_code' | 'custom_data'>;

export interface LookupMember {
  id: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  profile_version: number;
  user_profile: Record<string, unknown>;
  /** The first phone number (by position); null without one. */
  phone: string | null;
  /** Issued, not past their redemption end, newest first. */
  userOffers: LookupUserOffer[];
  /** One per point account of the retailer (zero where unused), in program order. */
  balances: AccountBalance[];
  /** The default accounts' balances (all accounts when none is default). */
  availablePoints: Amount;
}

interface Row {
  id: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  profile_version: number;
  user_profile: Record<string, unknown>;
  phone: string | null;
  offers: UsableUserOfferTuple[];
  balances: BalanceTuple[] | null;
}

/**
 * The member's columns and what the till shows of it, for the member ids the
 * key's subquery finds. Each id reads its member once (a LATERAL lookup): the
 * plain `m.id IN (…)` semi-join, planned without statistics (a database never
 * analyzed), read every member of the retailer and probed the key's index
 * once per member.
 */
const select = (keys: string) => `SELECT m.id, m.first_name, m.last_name, m.email, m.profile_version, m.user_profile,
  (SELECT p.phone_number FROM member_phone_numbers p WHERE p.retailer_id = m.retailer_id AND p.member_id = m.id ORDER BY p.position LIMIT 1) AS phone,
  ${usableUserOffersText('m.retailer_id', 'm.id', '$3')} AS offers,
  ${balanceTuplesText('m.retailer_id', 'm.id')} AS balances
FROM (${keys}) k,
  LATERAL (SELECT * FROM members m WHERE m.retailer_id = $1 AND m.id = k.member_id AND m.lifecycle = 'active' LIMIT 1) m
LIMIT 2`;

// $1 retailer, $2 the key's value, $3 now
const BY = {
  id: select('SELECT $2::uuid AS member_id'),
  email: select(`SELECT id AS member_id FROM members WHERE retailer_id = $1 AND lower(email) = $2 AND lifecycle = 'active' AND email IS NOT NULL`),
  phone: select('SELECT DISTINCT member_id FROM member_phone_numbers WHERE retailer_id = $1 AND digits = $2'),
  externalId: select('SELECT DISTINCT member_id FROM member_identifiers WHERE retailer_id = $1 AND lower(external_id) = $2'),
} as const;

async function rows(db: Db, by: keyof typeof BY, retailerId: string, value: string, now: Date): Promise<Row[]> {
  return (await db.executeQuery<Row>(CompiledQuery.raw(BY[by], [retailerId, value, now]))).rows;
}

/** A `user_id` of a POS body: a member id, or one of the retailer's external ids (as `resolveMemberRef`). */
async function findRows(db: Db, retailerId: string, key: LookupKey, now: Date): Promise<Row[]> {
  if ('email' in key) return rows(db, 'email', retailerId, key.email.trim().toLowerCase(), now);
  if ('phone' in key) {
    const found = await rows(db, 'phone', retailerId, digitsOf(key.phone), now);
    if (found.length > 1) throw new DomainError('multiple_matches', 'mobile_number matches several members', 'mobile_number');
    return found;
  }
  if ('id' in key && isUuid(key.id)) {
    const found = await rows(db, 'id', retailerId, key.id.toLowerCase(), now);
    if (found.length) return found;
  }
  const externalId = 'id' in key ? key.id : key.externalId;
  const found = await rows(db, 'externalId', retailerId, externalId.toLowerCase(), now);
  if (found.length > 1) throw new DomainError('multiple_matches', `external_id ${externalId} names several members; give external_id_type`, 'external_id');
  return found;
}

/** The member the till names, with its usable user offers and balances; undefined: no such active member. */
export async function lookupMember(db: Db, retailerId: string, key: LookupKey, now = new Date()): Promise<LookupMember | undefined> {
  const [accounts, found] = await Promise.all([listPointAccounts(db, retailerId), findRows(db, retailerId, key, now)]);
  const row = found[0];
  if (!row) return undefined;
  noteMemberRead(db, row.id);
  const date = (v: string | null) => (v === null ? null : new Date(v));
  const byAccount = new Map((row.balances ?? []).map((b) => [b[0], b]));
  let available = ZERO;
  let defaultAvailable = ZERO;
  const balances = accounts.map((a): AccountBalance => {
    const b = byAccount.get(a.id);
    const balance = b ? fromDb(b[2]) : ZERO;
    available += balance;
    if (a.is_default) defaultAvailable += balance;
    return {
      account_name: a.name,
      user_point_account_id: b?.[1] ?? '',
      point_account_id: a.id,
      grouping_label: a.grouping_label,
      available_balance: balance,
      life_time_value: b ? fromDb(b[3]) : ZERO,
      pending_balance: b ? fromDb(b[4]) : ZERO,
      expiring_points: b?.[5]?.map(([at, amount]) => ({ amount: fromDb(amount), expires_at: new Date(at) })),
    };
  });
  return {
    id: row.id,
    first_name: row.first_name,
    last_name: row.last_name,
    email: row.email,
    profile_version: row.profile_version,
    user_profile: row.user_profile,
    phone: row.phone,
    userOffers: row.offers.map(([id, offer_id, status, start, end, lock_key, redemption_code, custom_data]) => ({
      id,
      member_id: row.id,
      offer_id,
      status,
      redemption_start_date: date(start),
      redemption_end_date: date(end),
      lock_key,
      redemption_code,
      custom_data,
    })),
    balances,
    availablePoints: accounts.some((a) => a.is_default) ? defaultAvailable : available,
  };
}
