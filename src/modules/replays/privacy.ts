import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** Drops the retailer's kept replay answers that contain any of `texts` (a forgotten member's id and what names it): they carry its profile. */
export async function dropReplaysMentioning(tx: Db, retailerId: string, texts: string[]): Promise<void> {
  const patterns = texts.map((n) => `%${n.replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
  await sql`DELETE FROM message_replays WHERE retailer_id = ${retailerId} AND response_body ILIKE ANY (${patterns}::text[])`.execute(tx);
}
