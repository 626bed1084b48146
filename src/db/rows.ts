import { sql, type RawBuilder } from 'kysely';
import type { Db } from './connection.js';
import type { Database } from './schema.js';

/**
 * Rows sent as one jsonb parameter and read back as a table, with each row's
 * position as `n` (INSERT … SELECT … ORDER BY n keeps their order). The
 * statement's text is the same whatever the number of rows, so PostgreSQL
 * prepares it once per connection, and a row costs one JSON value instead of
 * a parameter per column. `columns` are the rows' keys with their SQL types
 * (identifiers from the code, never from a request); a Date travels as its
 * ISO string, an array as a PostgreSQL array, an object as jsonb.
 */
export function recordset(rows: readonly object[], columns: Readonly<Record<string, string>>): RawBuilder<unknown> {
  const definitions = Object.entries(columns).map(([name, type]) => `${name} ${type}`).join(', ');
  return sql`ROWS FROM (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS (${sql.raw(definitions)})) WITH ORDINALITY AS r(${sql.raw(Object.keys(columns).join(', '))}, n)`;
}

/**
 * SQL text with `$1`…`$n` placeholders (a statement's part written once as text,
 * for the constant statements of a hot path) as a Kysely fragment of the values
 * given, for the statements that embed it among others. The text comes from
 * the code, never from a request.
 */
export function textFragment<T>(text: string): (...values: unknown[]) => RawBuilder<T> {
  const parts = text.split(/\$(\d+)/);
  const strings = parts.filter((_, i) => i % 2 === 0);
  const template = Object.assign([...strings], { raw: strings }) as unknown as TemplateStringsArray;
  const positions = parts.filter((_, i) => i % 2 === 1).map((n) => Number(n) - 1);
  return (...values) => sql<T>(template, ...positions.map((i) => values[i]));
}

/**
 * A member's rows of one table as JSON, every column (a data export's part);
 * only the module owning `table` calls this for it (test/unit/ownership.test.ts).
 */
export async function memberRows(db: Db, table: keyof Database, retailerId: string, memberId: string): Promise<Record<string, unknown>[]> {
  const { rows } = await sql<{ row: Record<string, unknown> }>`SELECT to_jsonb(x) AS row FROM ${sql.table(table)} x WHERE retailer_id = ${retailerId} AND member_id = ${memberId}`.execute(db);
  return rows.map((r) => r.row);
}
