import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** The member's privacy requests (without the export documents) as JSON rows, for its data export. */
export async function exportPrivacyRequests(db: Db, retailerId: string, memberId: string): Promise<{ privacy_requests: Record<string, unknown>[] }> {
  const { rows } = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) - 'document' AS row FROM privacy_requests x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  return { privacy_requests: rows.map((r) => r.row) };
}

