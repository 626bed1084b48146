// Builds members with a full history for the privacy and merge tests, and scans
// the database for leftovers of a forgotten member.
import { transact } from '../../src/db/unit-of-work.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { changePoints } from '../../src/flows/points.js';
import { issueToMembers } from '../../src/flows/offers.js';
import { addTags } from '../../src/modules/tags/service.js';
import { recordEvent } from '../../src/modules/events/service.js';
import { memberSummary } from '../../src/modules/members/service.js';
import { parseAmount } from '../../src/modules/points/amount.js';
import type { Db } from '../../src/db/index.js';
import { call, createMemberViaApi, type TestApp, type TestTenant } from './harness.js';
import { offersProgram, pointsProgram, type PointsProgram } from './factories.js';

export interface Program {
  points: PointsProgram;
  offerRoot: string;
}

export async function historyProgram(t: TestApp, tenant: TestTenant): Promise<Program> {
  const points = await pointsProgram(t.db, tenant.retailer_id);
  const offerRoot = randomUUID();
  await offersProgram(t.app, tenant.retailer_id, [{ root_offer_id: offerRoot, offer_type: 'fixed_amount_discount', amount: 5, internal_title: 'Five off', points: 100, monetary_value: 5 }]);
  return { points, offerRoot };
}

/** A member with profile, phones, custom profile, tags, points, an offer, campaign progress, events and a transaction. */
export async function memberWithHistory(t: TestApp, tenant: TestTenant, program: Program) {
  const n = randomBytes(5).toString('hex');
  const personal = {
    email: `zz.${n}@forgetme.example`,
    first_name: `Quentin${n}`,
    last_name: `Zylberstein${n}`,
    phone: `+1 617 ${n.replace(/[a-f]/g, '7').slice(0, 3)} ${n.replace(/[a-f]/g, '3').slice(3, 5)}99`,
    external_id: `EXT-FORGET-${n}`,
    address: `${n} Privacy Lane`,
  };
  const user = await createMemberViaApi(t.app, tenant, {
    email: personal.email,
    first_name: personal.first_name,
    last_name: personal.last_name,
    external_id: personal.external_id,
    address: personal.address,
    phone_numbers: [{ phone_number: personal.phone, phone_type: 'mobile' }],
    user_profile: { nickname: personal.first_name, favourite: 'tea' },
  });
  const actor = tenant.actor;
  // a profile change puts the old and new values in a timeline payload
  await call(t.app, { method: 'PUT', url: `${tenant.base}/users/${user.id}`, headers: { authorization: tenant.core }, payload: { user: { city: `City of ${personal.last_name}` } } });
  await transact(t.db, (tx) => addTags(tx, actor, user.id, ['vip', `tag-${personal.email}`]));
  await changePoints(t.db, actor, user.id, [
    { kind: 'deposit', point_account_id: program.points.spendable, amount: parseAmount(250), reference_id: `order for ${personal.email}` },
    { kind: 'deposit', point_account_id: program.points.tier, amount: parseAmount(120) },
  ], { allowPartialSuccess: false });
  await changePoints(t.db, actor, user.id, [{ kind: 'spend', amount: parseAmount(50), point_account_ids: [program.points.spendable] }], { allowPartialSuccess: false });
  const issued = await issueToMembers(t.db, actor, program.offerRoot, [user.id], { quantity: 1, exactVersion: false });
  await transact(t.db, async (tx) => {
    const member = (await memberSummary(tx, tenant.retailer_id, user.id))!;
    await recordEvent(tx, actor, member, { name: 'app_opened', context: { device_owner: personal.email, phone: personal.phone } });
    await tx.insertInto('member_campaigns').values({ retailer_id: tenant.retailer_id, member_id: user.id, campaign_id: 900001, state: 'in_progress', opted_in_at: new Date() }).execute();
    await tx.insertInto('member_behaviors').values({ retailer_id: tenant.retailer_id, member_id: user.id, behavior_id: 900002, campaign_id: 900001, achieved: 1 }).execute();
    await tx.insertInto('member_goals').values({ retailer_id: tenant.retailer_id, member_id: user.id, behavior_id: 900002, goal_name: 'visit', current_count: 2, seen: [personal.external_id] }).execute();
    const { rows } = await sql<{ ok: boolean }>`SELECT to_regclass('pos_transactions') IS NOT NULL AS ok`.execute(tx);
    if (rows[0]?.ok) {
      await sql`INSERT INTO pos_transactions (retailer_id, id, store_id, transaction_id, member_id, employee_id, items)
                VALUES (${tenant.retailer_id}, ${randomUUID()}, ${randomUUID()}, ${`T-${n}`}, ${user.id}, ${personal.first_name}, ${JSON.stringify([{ name: 'coffee', note: personal.email }])}::jsonb)`.execute(tx);
    }
  });
  return { user, personal, userOfferId: issued.issued[0].userOffer?.id };
}

/** Every (table, column) of type text, varchar, jsonb or text[] of the database whose value contains `needle` (case-insensitive). */
export async function scanDatabase(db: Db, needle: string): Promise<string[]> {
  const { rows: columns } = await sql<{ table_name: string; column_name: string }>`
    SELECT c.table_name, c.column_name FROM information_schema.columns c
      JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
     WHERE c.table_schema = current_schema() AND (c.data_type IN ('text', 'character varying', 'jsonb', 'json') OR (c.data_type = 'ARRAY' AND c.udt_name IN ('_text', '_varchar')))`.execute(db);
  const hits: string[] = [];
  for (const c of columns) {
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(c.table_name)} WHERE ${sql.ref(c.column_name)}::text ILIKE ${`%${needle}%`}`.execute(db);
    if (Number(rows[0].n) > 0) hits.push(`${c.table_name}.${c.column_name}`);
  }
  return hits;
}
