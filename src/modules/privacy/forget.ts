import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { namingValues } from '../members/privacy.js';

/** A table that holds member-owned rows (retailer_id and member_id) and its text-like columns. */
export interface MemberTable {
  table: string;
  /** text, varchar and jsonb columns, and text arrays. */
  columns: { name: string; kind: 'text' | 'jsonb' | 'text[]' }[];
}

/**
 * Every table of the current schema with retailer_id and member_id columns,
 * read from the catalog so that tables added by later migrations (point of
 * sale transactions, ...) are covered without naming them here.
 */
export async function memberTables(db: Db): Promise<MemberTable[]> {
  const { rows } = await sql<{ table_name: string; column_name: string; data_type: string; udt_name: string }>`
    SELECT c.table_name, c.column_name, c.data_type, c.udt_name
      FROM information_schema.columns c
      JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
     WHERE c.table_schema = current_schema()
       AND c.table_name IN (SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'member_id')
       AND c.table_name IN (SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'retailer_id')
     ORDER BY c.table_name, c.ordinal_position`.execute(db);
  const tables = new Map<string, MemberTable>();
  for (const r of rows) {
    const t = tables.get(r.table_name) ?? { table: r.table_name, columns: [] };
    tables.set(r.table_name, t);
    const kind = r.data_type === 'jsonb' || r.data_type === 'json' ? 'jsonb' : r.data_type === 'text' || r.data_type === 'character varying' ? 'text' : r.data_type === 'ARRAY' && (r.udt_name === '_text' || r.udt_name === '_varchar') ? 'text[]' : undefined;
    if (kind && r.column_name !== 'retailer_id' && r.column_name !== 'member_id') t.columns.push({ name: r.column_name, kind: r.data_type === 'json' ? 'jsonb' : kind });
  }
  return [...tables.values()];
}

/** The strings that name the member: what forget removes wherever it appears. */
export async function personalNeedles(tx: Db, retailerId: string, memberId: string): Promise<string[]> {
  const values = await namingValues(tx, retailerId, memberId);
  // longest first, so that "First Last" goes before "First"; very short values would scrub unrelated text
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.trim().length >= 2).map((v) => v.trim()))].sort((a, b) => b.length - a.length);
}

/** Exports are copies of the data: a forgotten member's go. */
export async function dropExportDocuments(tx: Db, retailerId: string, memberId: string): Promise<void> {
  await tx.updateTable('privacy_requests').set({ document: null }).where('retailer_id', '=', retailerId).where('member_id', '=', memberId).execute();
}

/**
 * Scrubs the needles from every text, jsonb and text-array column of every
 * member-owned table's rows of the member (members aside): the rows stay,
 * anonymised. Answers the tables it changed.
 */
export async function scrubMemberRows(tx: Db, retailerId: string, memberId: string, needles: string[]): Promise<string[]> {
  const touched: string[] = [];
  for (const t of await memberTables(tx)) {
    if (t.table === 'members' || !t.columns.length) continue;
    const sets = t.columns.map((c) =>
      c.kind === 'jsonb'
        ? sql`${sql.ref(c.name)} = loyalist_scrub_jsonb(${sql.ref(c.name)}, ${needles}::text[])`
        : c.kind === 'text'
          ? sql`${sql.ref(c.name)} = loyalist_scrub_text(${sql.ref(c.name)}, ${needles}::text[])`
          : sql`${sql.ref(c.name)} = (SELECT coalesce(array_agg(loyalist_scrub_text(x, ${needles}::text[]) ORDER BY n), '{}') FROM unnest(${sql.ref(c.name)}) WITH ORDINALITY AS u(x, n))`,
    );
    const result = await sql`UPDATE ${sql.table(t.table)} SET ${sql.join(sets)} WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(tx);
    if (Number(result.numAffectedRows ?? 0) > 0) touched.push(t.table);
  }
  return touched;
}
