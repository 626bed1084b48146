import pg from 'pg';

/**
 * One execution of a named prepared statement on a pg client, doing less per
 * execution than `client.query({ name, text, values })`:
 *
 * - the query is built as it is, without pg copying its config (its property
 *   descriptors, on every query);
 * - once the connection has parsed the statement, it goes by its name alone:
 *   pg no longer compares its text, kilobytes long, with the parsed one;
 * - once a statement's result shape is known (its first execution in the
 *   pool, answered with a RowDescription), later executions send Bind,
 *   Execute and Sync without Describe, and read their rows with the shape's
 *   column names and type parsers instead of PostgreSQL describing the columns
 *   again and pg looking up their parsers on every execution;
 * - a Date parameter goes as its ISO text where that says what pg's own text
 *   would (the process's time zone is UTC and the year is 1–9999).
 *
 * A statement's shape is the same on every connection of a pool (the pool keeps
 * one Statement per text): its name is the hash of its text. Should the schema
 * under it change, PostgreSQL refuses the cached plan ("cached plan must not
 * change result type") rather than answer in another shape, and the next
 * connection's first execution describes it again.
 *
 * This leans on pg 8's Query internals (prepare, _result, handleRowDescription),
 * the extension point pg-cursor uses; test/pg/prepared-query.test.ts holds it
 * to pg's own answers.
 */

interface Shape {
  fields: pg.FieldDef[];
  parsers: unknown[];
  empty: Record<string, null>;
}

/** The parts of pg's Connection this uses. */
interface Connection {
  parsedStatements: Record<string, string | undefined>;
  submittedNamedStatements: Record<string, string | undefined>;
  bind(config: { portal: string; statement: string; values: unknown[]; valueMapper: (v: unknown) => unknown }): void;
  execute(config: { portal: string }): void;
  sync(): void;
  close(config: { type: 'S'; name: string }): void;
}

/** pg's Query as pg-cursor sees it: the state and steps a subclass takes over. */
declare class QueryInternals {
  constructor(text: string);
  text: string | undefined;
  name: string;
  values: unknown[];
  callback: (err: Error | null, result: pg.QueryResult) => void;
  _result: { fields: pg.FieldDef[]; _parsers: unknown[]; _prebuiltEmptyResultObject: Record<string, null> };
  _accumulateRows: boolean;
  submit(connection: Connection): Error | null;
  prepare(connection: Connection): void;
  handleRowDescription(message: unknown): void;
  handleCommandComplete(message: unknown, connection: Connection): void;
  handleError(err: Error, connection: Connection): void;
}
const Query = pg.Query as unknown as typeof QueryInternals;

/** A pool's named statement: the shape is learned from its first described execution. */
export interface Statement {
  name: string;
  shape?: Shape;
}
/** A statement that answers no rows (an INSERT without RETURNING). */
const NO_ROWS: Shape = { fields: [], parsers: [], empty: {} };

const { prepareValue } = (pg as unknown as { utils: { prepareValue(v: unknown): unknown } }).utils;
const FIRST_YEAR = Date.UTC(1, 0, 1);
const AFTER_LAST_YEAR = Date.UTC(10_000, 0, 1);
/** pg writes a Date in the process's local time: where that is UTC, its text and the ISO text name the same date and time. */
const UTC = ['UTC', 'Etc/UTC'].includes(Intl.DateTimeFormat().resolvedOptions().timeZone);

/** A Date as ISO text where that is what pg's own text says (UTC, years 1–9999); anything else as it is, for pg. */
function parameter(value: unknown): unknown {
  if (!(value instanceof Date)) return value;
  const t = value.getTime();
  return t >= FIRST_YEAR && t < AFTER_LAST_YEAR ? value.toISOString() : value;
}

export class PreparedQuery extends Query {
  /** Described on this execution: its shape is learned from the answer. */
  private described = false;
  private sawRows = false;

  constructor(
    private readonly statement: Statement,
    text: string,
    values: readonly unknown[],
  ) {
    // a text, not a config: pg copies a config object's property descriptors
    super(text);
    this.name = statement.name;
    this.values = UTC ? values.map(parameter) : (values as unknown[]);
  }

  override submit(connection: Connection): Error | null {
    // parsed (or being parsed) on this connection: by its name alone
    if (connection.parsedStatements[this.name] !== undefined || connection.submittedNamedStatements[this.name] !== undefined) this.text = undefined;
    return super.submit(connection);
  }

  override prepare(connection: Connection): void {
    const shape = this.text === undefined ? this.statement.shape : undefined;
    if (!shape) {
      this.described = true;
      super.prepare(connection);
      return;
    }
    this._result.fields = shape.fields;
    this._result._parsers = shape.parsers;
    this._result._prebuiltEmptyResultObject = shape.empty;
    this._accumulateRows = true;
    try {
      connection.bind({ portal: '', statement: this.name, values: this.values, valueMapper: prepareValue });
    } catch (err) {
      // as pg does: the statement is closed on the server, so it is parsed again next time
      connection.close({ type: 'S', name: this.name });
      connection.sync();
      delete connection.parsedStatements[this.name];
      this.handleError(err as Error, connection);
      return;
    }
    connection.execute({ portal: '' });
    connection.sync();
  }

  override handleRowDescription(message: unknown): void {
    super.handleRowDescription(message);
    this.sawRows = true;
    this.statement.shape = { fields: this._result.fields, parsers: this._result._parsers, empty: this._result._prebuiltEmptyResultObject };
  }

  override handleCommandComplete(message: unknown, connection: Connection): void {
    super.handleCommandComplete(message, connection);
    if (this.described && !this.sawRows) this.statement.shape = NO_ROWS;
  }
}
