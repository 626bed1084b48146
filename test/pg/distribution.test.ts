// Ready to distribute by retailer_id (issue 23): on a migrated database, the
// catalog agrees with src/db/distribution.ts (every table placed; a
// distributed table's primary key, unique indexes and foreign keys to other
// distributed tables include retailer_id, as Citus requires), docs/scaling.md
// says the same, and the hot-path requests send no statement that reads a
// distributed table without naming the retailer (a single-shard statement).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { citusStatements, DISTRIBUTION_COLUMN, PLACEMENT, type Placement } from '../../src/db/distribution.js';
import type { Db } from '../../src/db/index.js';
import { transact } from '../../src/db/unit-of-work.js';
import { applyProgram } from '../../src/flows/program-apply.js';
import { parseProgramText } from '../../src/modules/program/service.js';
import { call, createMemberViaApi, createTenant, postgresApp, postgresDatabase, type TestApp, type TestTenant } from '../support/harness.js';

/**
 * What keeps the database from being distributed as `placement` says, one
 * line each ("table: why"); none when it is ready.
 */
async function distributionViolations(db: Db, placement: Record<string, Placement>): Promise<string[]> {
  const found: string[] = [];
  const placed = (t: string): Placement | undefined => placement[t];
  const distributed = (t: string) => placed(t) === 'distributed';

  const tables = (await sql<{ name: string }>`SELECT c.relname AS name FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')`.execute(db)).rows.map((r) => r.name);
  for (const t of tables) if (!placed(t)) found.push(`${t}: not placed in src/db/distribution.ts (distributed, reference or local?)`);
  for (const t of Object.keys(placement)) if (!tables.includes(t)) found.push(`${t}: placed in src/db/distribution.ts but not in the schema`);

  // the distribution column: present, never null, of one type (tables are co-located only when it is the same)
  const columns = await sql<{ table: string; column: string; type: string; nullable: string; identity: string }>`
    SELECT table_name AS table, column_name AS column, data_type AS type, is_nullable AS nullable, is_identity AS identity
      FROM information_schema.columns WHERE table_schema = 'public'`.execute(db);
  for (const t of tables.filter(distributed)) {
    const key = columns.rows.find((c) => c.table === t && c.column === DISTRIBUTION_COLUMN);
    if (!key) found.push(`${t}: no ${DISTRIBUTION_COLUMN} column`);
    else if (key.type !== 'uuid' || key.nullable !== 'NO') found.push(`${t}: ${DISTRIBUTION_COLUMN} must be uuid NOT NULL (is ${key.type}, nullable ${key.nullable})`);
  }
  // Citus distributes a table with an identity column only when it is a bigint
  for (const c of columns.rows) if (distributed(c.table) && c.identity === 'YES' && c.type !== 'bigint') found.push(`${c.table}: identity column ${c.column} is ${c.type}, not bigint`);

  // primary keys, unique constraints and unique (or exclusion) indexes: enforced per shard, so they must hold the distribution column
  const indexes = await sql<{ table: string; index: string; primary: boolean; keyed: boolean }>`
    SELECT c.relname AS table, i.relname AS index, x.indisprimary AS primary,
           EXISTS (SELECT 1 FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
                     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                    WHERE k.n <= x.indnkeyatts AND a.attname = ${DISTRIBUTION_COLUMN}) AS keyed
      FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
     WHERE c.relnamespace = 'public'::regnamespace AND (x.indisunique OR x.indisexclusion)`.execute(db);
  for (const ix of indexes.rows) {
    if (distributed(ix.table) && !ix.keyed) found.push(`${ix.table}: ${ix.primary ? 'primary key' : 'unique index'} ${ix.index} lacks ${DISTRIBUTION_COLUMN}`);
  }

  // foreign keys: between distributed tables they pair retailer_id with retailer_id (co-located rows);
  // a distributed table may reference a reference table; nothing may reference a distributed table
  // but a distributed table, and a reference or distributed table may not reference a local one
  const foreignKeys = await sql<{ name: string; table: string; referenced: string; columns: string[]; referenced_columns: string[] }>`
    SELECT con.conname AS name, src.relname AS table, dst.relname AS referenced,
           ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, n)
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.n) AS columns,
           ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, n)
                   JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.n) AS referenced_columns
      FROM pg_constraint con JOIN pg_class src ON src.oid = con.conrelid JOIN pg_class dst ON dst.oid = con.confrelid
     WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace`.execute(db);
  for (const fk of foreignKeys.rows) {
    const from = placed(fk.table);
    const to = placed(fk.referenced);
    if (!from || !to) continue;
    if (from === 'distributed' && to === 'distributed') {
      const paired = fk.columns.some((c, i) => c === DISTRIBUTION_COLUMN && fk.referenced_columns[i] === DISTRIBUTION_COLUMN);
      if (!paired) found.push(`${fk.table}: foreign key ${fk.name} to ${fk.referenced} does not pair ${DISTRIBUTION_COLUMN} with ${DISTRIBUTION_COLUMN}`);
    } else if (to === 'distributed' || (to === 'local' && from !== 'local')) {
      found.push(`${fk.table}: foreign key ${fk.name} from a ${from} table to a ${to} table`);
    }
  }

  // Citus creates no trigger on a distributed table (unless told it is safe) nor on a reference table
  const triggers = await sql<{ table: string; name: string }>`
    SELECT c.relname AS table, t.tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace`.execute(db);
  for (const tg of triggers.rows) if (placed(tg.table) === 'distributed' || placed(tg.table) === 'reference') found.push(`${tg.table}: trigger ${tg.name} on a ${placed(tg.table)} table`);
  return found;
}

describe('the schema is ready to distribute by retailer_id', () => {
  let db: Db;
  before(async () => {
    db = (await postgresDatabase()).db;
  });

  it('places every table, and keys every distributed one by retailer_id', async () => {
    assert.deepEqual(await distributionViolations(db, PLACEMENT), []);
  });

  it('finds a new table nobody placed, and a distributed table keyed without retailer_id', async () => {
    const ROLLBACK = new Error('rollback');
    const found = await db
      .transaction()
      .execute(async (tx) => {
        await sql`CREATE TABLE loyalty_cards (retailer_id uuid NOT NULL, member_id uuid NOT NULL, code text NOT NULL UNIQUE, PRIMARY KEY (retailer_id, member_id, code))`.execute(tx);
        await sql`CREATE TABLE card_scans (retailer_id uuid NOT NULL REFERENCES retailers (id), id uuid PRIMARY KEY, code text NOT NULL REFERENCES loyalty_cards (code))`.execute(tx);
        await sql`CREATE TRIGGER card_scans_append_only BEFORE UPDATE ON card_scans FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`.execute(tx);
        const unplaced = await distributionViolations(tx, PLACEMENT);
        const misplaced = await distributionViolations(tx, { ...PLACEMENT, loyalty_cards: 'distributed', card_scans: 'distributed', audit_log: 'distributed' });
        throw Object.assign(ROLLBACK, { unplaced, misplaced });
      })
      .catch((err: unknown) => {
        if (err !== ROLLBACK) throw err;
        return err as Error & { unplaced: string[]; misplaced: string[] };
      });
    assert.deepEqual(found.unplaced.sort(), ['card_scans: not placed in src/db/distribution.ts (distributed, reference or local?)', 'loyalty_cards: not placed in src/db/distribution.ts (distributed, reference or local?)']);
    assert.deepEqual(found.misplaced.sort(), [
      'audit_log: primary key audit_log_pkey lacks retailer_id',
      'audit_log: retailer_id must be uuid NOT NULL (is uuid, nullable YES)',
      'audit_log: trigger audit_log_append_only on a distributed table',
      'card_scans: foreign key card_scans_code_fkey to loyalty_cards does not pair retailer_id with retailer_id',
      'card_scans: primary key card_scans_pkey lacks retailer_id',
      'card_scans: trigger card_scans_append_only on a distributed table',
      'loyalty_cards: unique index loyalty_cards_code_key lacks retailer_id',
    ]);
  });

  it('lists the tables in an order Citus can distribute them in: each after the tables it references', async () => {
    const { rows } = await sql<{ table: string; referenced: string }>`
      SELECT src.relname AS table, dst.relname AS referenced FROM pg_constraint con
        JOIN pg_class src ON src.oid = con.conrelid JOIN pg_class dst ON dst.oid = con.confrelid
       WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace AND con.conrelid <> con.confrelid`.execute(db);
    const order = Object.keys(PLACEMENT);
    const late = rows.filter((r) => order.indexOf(r.referenced) > order.indexOf(r.table)).map((r) => `${r.table} before ${r.referenced}`);
    assert.deepEqual(late, []);
  });

  it('is what docs/scaling.md says: the same placement per table, and the same statements', () => {
    const doc = readFileSync(new URL('../../docs/scaling.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (distributed|reference|local) \|/gm)].map((m) => [m[1], m[2]]);
    assert.deepEqual(Object.fromEntries(rows), PLACEMENT);
    assert.equal(rows.length, Object.keys(PLACEMENT).length, 'each table once');
    const script = citusStatements().join('\n');
    assert.ok(doc.includes(script), `docs/scaling.md holds the statements of citusStatements():\n${script}`);
  });
});

// The hot paths, on the Brand X program.
const PROGRAM_TEXT = readFileSync(new URL('../../examples/brand-x/program.yaml', import.meta.url), 'utf8');
const STORE = '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01';
const SPENDABLE = 'f4d91345-bbe8-4ca7-864d-771761be873e';
const API_DEPOSIT = '425836cd-58e6-41b9-9816-22b987ea392f';

interface Statement {
  request: string;
  text: string;
  values: unknown[];
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Alias?: string;
  Plans?: PlanNode[];
  [condition: string]: unknown;
}

const SCAN_CONDITIONS = ['Index Cond', 'Recheck Cond', 'Filter', 'TID Cond'];
const JOIN_CONDITIONS = ['Hash Cond', 'Merge Cond', 'Join Filter'];

/**
 * The scans of distributed tables in a plan that are not restricted to the
 * retailer: neither by `retailer_id = '<retailer>'` nor by retailer_id = the
 * retailer_id of a row it is joined with. A bitmap scan's index condition is
 * in its child.
 */
function unscopedScans(plan: PlanNode, retailerId: string): string[] {
  const found: string[] = [];
  const walk = (node: PlanNode, joins: string[]) => {
    const table = node['Relation Name'];
    const children = node.Plans ?? [];
    if (table && PLACEMENT[table as keyof typeof PLACEMENT] === 'distributed' && node['Node Type'] !== 'ModifyTable') {
      const alias = node.Alias ?? table;
      const bitmaps = (n: PlanNode): PlanNode[] => (n.Plans ?? []).filter((c) => c['Node Type'].startsWith('Bitmap')).flatMap((c) => [c, ...bitmaps(c)]);
      const own = [...new Set([node, ...bitmaps(node)].flatMap((n) => SCAN_CONDITIONS.map((k) => n[k]).filter((v): v is string => typeof v === 'string')))];
      // the scan's own column (EXPLAIN leaves it unqualified when the statement names one table), another row's
      const ownColumn = `(?:\\b${alias}\\.|(?<![\\w.]))${DISTRIBUTION_COLUMN}\\b`;
      const otherColumn = `\\b\\w+\\.${DISTRIBUTION_COLUMN}\\b`;
      const byValue = new RegExp(`${ownColumn} = '${retailerId}'::uuid|'${retailerId}'::uuid = ${ownColumn}`);
      const byJoin = new RegExp(`${ownColumn} = ${otherColumn}|${otherColumn} = ${ownColumn}`);
      const joined = new RegExp(`\\b${alias}\\.${DISTRIBUTION_COLUMN} = ${otherColumn}|${otherColumn} = \\b${alias}\\.${DISTRIBUTION_COLUMN}\\b`);
      const scoped = own.some((c) => byValue.test(c) || byJoin.test(c)) || joins.some((c) => joined.test(c));
      if (!scoped) found.push(`${node['Node Type']} on ${table} (${alias}): ${own.join(' AND ') || 'no condition'}`);
    }
    const here = JOIN_CONDITIONS.map((k) => node[k]).filter((v): v is string => typeof v === 'string');
    for (const child of children) walk(child, [...joins, ...here]);
  };
  walk(plan, []);
  return found;
}

describe('the hot paths name the retailer in every statement on a distributed table', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let url: string;
  const statements: Statement[] = [];
  let capturing: string | undefined;

  before(async () => {
    t = await postgresApp();
    url = (t.database as typeof t.database & { url: string }).url;
    tenant = await createTenant(t.db);
    await transact(t.db, (tx) => applyProgram(tx, tenant.retailer_id, parseProgramText(PROGRAM_TEXT)));
    // every statement the application's pool sends while `capturing` names a request
    const pool = t.database.pool!;
    const connect = pool.connect as (this: pg.Pool, callback?: unknown) => Promise<pg.PoolClient>;
    const watched = new WeakSet<pg.PoolClient>();
    pool.connect = (async (callback?: unknown) => {
      // pg-pool's own query() checks a client out with a callback: left as it is
      if (callback) return connect.call(pool, callback);
      const client = await connect.call(pool);
      if (!watched.has(client)) {
        watched.add(client);
        const query = client.query.bind(client) as (config: unknown, values?: unknown) => Promise<unknown>;
        client.query = ((config: string | { text: string; values?: unknown[] }, values?: unknown[]) => {
          if (capturing) statements.push(typeof config === 'string' ? { request: capturing, text: config, values: values ?? [] } : { request: capturing, text: config.text, values: config.values ?? [] });
          return query(config, values);
        }) as typeof client.query;
      }
      return client;
    }) as typeof pool.connect;
  });

  /**
   * Plans each statement as PostgreSQL plans it with its values (a custom
   * plan, where the retailer shows as a constant) and answers what is not
   * scoped to `retailerId`, with the distributed tables the statements named.
   */
  async function scopeProblems(sent: Statement[], retailerId: string): Promise<{ problems: string[]; tables: Set<string> }> {
    const explainer = new pg.Client({ connectionString: url });
    await explainer.connect();
    const problems: string[] = [];
    const tables = new Set<string>();
    const relations = (n: PlanNode): string[] => [...(n['Relation Name'] ? [n['Relation Name']] : []), ...(n.Plans ?? []).flatMap(relations)];
    try {
      for (const s of sent) {
        if (!/^\s*(select|insert|update|delete|with)\b/i.test(s.text)) continue;
        const { rows } = await explainer.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${s.text}`, s.values);
        const plan = rows[0]['QUERY PLAN'][0].Plan;
        for (const r of relations(plan)) {
          const placement = PLACEMENT[r as keyof typeof PLACEMENT];
          if (placement === 'distributed') tables.add(r);
          // a coordinator-only table beside the shards would make every such request a distributed transaction
          if (placement === 'local') problems.push(`${s.request}: names the local table ${r}\n  ${s.text}`);
        }
        for (const scan of unscopedScans(plan, retailerId)) problems.push(`${s.request}: ${scan}\n  ${s.text}`);
        if (/\b(pg_advisory\w*|pg_notify|LISTEN|NOTIFY)\b/i.test(s.text)) problems.push(`${s.request}: a lock or notification of one node\n  ${s.text}`);
      }
    } finally {
      await explainer.end();
    }
    return { problems, tables };
  }

  it('tells a statement scoped by retailer_id from one that is not', async () => {
    const r = tenant.retailer_id;
    const check = async (text: string, values: unknown[]) => (await scopeProblems([{ request: 'probe', text, values }], r)).problems.map((p) => p.split(/:\s|\n/).slice(0, 2).join(': '));
    assert.deepEqual(await check('SELECT * FROM members WHERE retailer_id = $1 AND id = $2', [r, randomUUID()]), []);
    assert.deepEqual(await check('SELECT t.tag FROM members m JOIN member_tags t ON t.retailer_id = m.retailer_id AND t.member_id = m.id WHERE m.retailer_id = $1', [r]), []);
    // a lookup by id alone, a join on the member only, another retailer's rows, an update by member only
    assert.deepEqual(await check('SELECT * FROM members WHERE id = $1', [randomUUID()]), ['probe: Index Scan on members (members)']);
    assert.deepEqual(await check('SELECT t.tag FROM members m JOIN member_tags t ON t.member_id = m.id WHERE m.retailer_id = $1', [r]), ['probe: Bitmap Heap Scan on member_tags (t)']);
    assert.deepEqual(await check('SELECT * FROM members WHERE retailer_id = $1', [randomUUID()]), ['probe: Index Scan on members (members)']);
    assert.deepEqual(await check('UPDATE member_tags SET count = 1 WHERE member_id = $1', [randomUUID()]), ['probe: Bitmap Heap Scan on member_tags (member_tags)']);
    assert.deepEqual(await check('SELECT * FROM jobs', []), ['probe: names the local table jobs']);
  });

  async function hotPath(request: string, options: Parameters<typeof call>[1]) {
    capturing = request;
    try {
      const res = await call(t.app, options);
      assert.equal(res.status, 200, `${request}: ${res.body}`);
      return res.json;
    } finally {
      capturing = undefined;
    }
  }

  it('sends POS lookup and send_transaction, deposit, spend, profile reads and custom events scoped by retailer_id', async () => {
    const phone = `617${String(randomBytes(4).readUInt32BE() % 10_000_000).padStart(7, '0')}`;
    const member = await createMemberViaApi(t.app, tenant, { phone_numbers: [{ phone_number: phone, phone_type: 'mobile', preference_flags: ['primary'] }] });
    const pos = (path: string, body: Record<string, unknown>) => ({ method: 'POST' as const, url: `/api/2.0/${path}`, headers: { authorization: tenant.pos }, payload: { store_id: STORE, client_id: tenant.retailer_id, request_id: randomUUID(), ...body } });
    const connect = (path: string, body: Record<string, unknown>) => ({ method: 'POST' as const, url: `/incentives/api/2.0/user_points/${path}`, headers: { authorization: tenant.connect }, payload: { retailer_id: tenant.retailer_id, user_id: member.id, culture: 'en-US', ...body } });
    // the last transaction that locked or updated the retailer's row (creating the member did: its foreign key)
    const retailerXmax = async () => (await sql<{ xmax: string }>`SELECT xmax::text AS xmax FROM retailers WHERE id = ${tenant.retailer_id}`.execute(t.db)).rows[0].xmax;
    const retailerLocked = await retailerXmax();

    const events = await hotPath('custom event', {
      method: 'POST',
      url: `${tenant.base.replace('/v1/', '/v2/')}/events`,
      headers: { authorization: tenant.core },
      payload: { events: [{ name: 'survey_completed', user_id: member.id }, { name: 'PREMIUM_SUBSCRIPTION_STARTED', user_id: member.id }, { name: 'app_downloaded', user_id: member.id }] },
    });
    assert.ok(events.events.every((e: { outcomes: unknown[] }) => e.outcomes.length), 'each event achieved its rule');
    await hotPath('deposit', connect('deposit', { deposit_details: [{ point_account_id: SPENDABLE, point_source_id: API_DEPOSIT, amount: 25, reference_id: 'D-1', reference_type: 'test' }] }));
    await hotPath('spend', connect('spend_multiple', { spend_details: [{ point_account_ids: [SPENDABLE], amount: 10, reference_id: 'S-1', reference_type: 'test' }] }));
    await hotPath('profile get', { method: 'GET', url: `${tenant.base}/users/${member.id}`, headers: { authorization: tenant.core } });
    const basket = { transaction_id: 'L-1', subtotal: 30, items: [{ line_id: '1', item_id: '0', quantity: 1, unit_price: 30, subtotal: 30 }] };
    const lookup = await hotPath('POS lookup', pos('lookup', { request_payload: { phone, transaction: basket } }));
    // the member the till found: the survey's offer, and 100 (the subscription rule) + 25 - 10 points
    assert.equal(lookup.payload[0].user_reference_id, member.id);
    assert.equal(lookup.payload[0].offers.length, 1);
    assert.equal(lookup.payload[0].points, 115);
    const sent = await hotPath(
      'POS send_transaction',
      pos('send_transaction', {
        user_id: member.id,
        request_payload: {
          transaction_id: 'T-1',
          subtotal: 30,
          tax_total: 0,
          open_time: '2025-04-16 09:30:00.000',
          modified_time: '2025-04-16 09:30:00.000',
          items: basket.items,
          payments: [{ payment_id: 'P-1', user_id: member.id, user_id_type: 'SessionM_ID', amount: 30, type: 'CASH' }],
          discounts: [],
        },
      }),
    );
    assert.equal(sent.status, 'OK');

    // no hot path locks the retailer's row, the one row all of a retailer's requests share (a foreign key
    // check would, in every transaction: concurrent ones then share the lock through a new multixact each)
    assert.equal(await retailerXmax(), retailerLocked, 'a hot path locked the retailer row');

    const requests = new Set(statements.map((s) => s.request));
    assert.deepEqual([...requests].sort(), ['POS lookup', 'POS send_transaction', 'custom event', 'deposit', 'profile get', 'spend']);

    const { problems, tables } = await scopeProblems(statements, tenant.retailer_id);
    assert.deepEqual(problems, []);
    // the check saw the tables the hot paths live on
    for (const table of ['members', 'member_phone_numbers', 'member_events', 'rule_achievements', 'timeline_events', 'domain_events', 'point_ledger', 'member_point_accounts', 'user_offers', 'offers', 'pos_transactions', 'stores']) {
      assert.ok(tables.has(table), `a hot path read or wrote ${table}`);
    }
  });
});
