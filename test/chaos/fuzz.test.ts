// Hostile input over every operation of the OpenAPI document (generated from it):
// wrong types for each field, missing required fields, deep nesting, huge strings,
// lone surrogates and NUL, extreme numbers, garbage path and query parameters,
// invalid JSON and wrong content types. Every answer must be below 500, a refusal
// must be in its surface's envelope with a code and a message, and no business
// table may change when the answer is not 2xx.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { InjectOptions } from 'fastify';
import { loadDemo } from '../../src/demo.js';
import { UNVALIDATED_MESSAGE } from '../../src/http/errors.js';
import { postgresApp, type TestApp } from '../support/harness.js';
import { fieldPaths, fillPath, operationsOf, sampleOf, withoutValueAt, withValueAt, type Operation, type SurfaceName } from '../support/operations.js';

const PLACEHOLDER = '"__fuzz_value__"';
const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

/** Raw JSON texts put in place of one field. */
const FIELD_VALUES = [
  '1e400', '-1e400', '1e-400', 'true', 'false', '0', '-1', '12345', '9223372036854775808', '0.30000000000000004',
  '"x"', '"not-a-uuid"', '"1e400"', '"NaN"', '"-99999999999999999999999"', '"2026-13-45 25:61:61"',
  `"${'y'.repeat(100_000)}"`, '"\\ud800x"', '"a\\u0000b"', '{}', '[]', '[1,"a",null,{}]', '{"\\ud800": 1}', deep(100),
];
/** Raw path and query parameter values (already percent-encoded where needed). */
const PARAM_VALUES = ['not-a-uuid', '12345', 'true', '1e400', '-1', '99999999999999999999', '%00', '%ED%A0%80', '%F0%9F%98%80', 'x'.repeat(3000), '..%2F..%2Fetc', '%25'];
/** Whole bodies that are not what any operation takes. */
const BODIES: { type: string; text: string }[] = [
  { type: 'application/json', text: '{"a":' },
  { type: 'application/json', text: '' },
  { type: 'application/json', text: 'null' },
  { type: 'application/json', text: '"text"' },
  { type: 'application/json', text: '12' },
  { type: 'application/json', text: '[]' },
  { type: 'application/json', text: deep(5000) },
  { type: 'application/json', text: `{"user":${deep(5000)},"request_payload":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}` },
  { type: 'application/json', text: '{"a":"\\ud800"}' },
  { type: 'text/plain', text: 'hello' },
  { type: 'application/x-www-form-urlencoded', text: 'a=b&c=d' },
  { type: 'application/xml', text: '<a/>' },
];
/** Fields of one body mutated, nearest first, per operation. */
const FIELDS_PER_OPERATION = 14;

interface Failure {
  request: string;
  problem: string;
}

describe('fuzz: hostile input over every documented operation', () => {
  let t: TestApp;
  let headers: Record<SurfaceName, string>;
  let pathValues: Record<string, string>;
  let known: Record<string, unknown>;
  let fingerprint: () => Promise<string>;

  before(async () => {
    t = await postgresApp();
    const demo = await loadDemo(t.db, 'http://127.0.0.1');
    const member = await sql<{ id: string; external_id: string }>`
      SELECT member_id AS id, external_id FROM member_identifiers WHERE retailer_id = ${demo.retailer_id} ORDER BY created_at, position LIMIT 1`.execute(t.db);
    const { id, external_id } = member.rows[0];
    const basic = (key: string, secret: string) => `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
    headers = { core: basic(demo.appkey, demo.secret), connect: basic(demo.appkey_connect, demo.secret_connect), pos: demo.cloudpos_authorization, admin: `Bearer ${t.config.adminToken}` };
    pathValues = { appkey: demo.appkey, retailer_id: demo.retailer_id, user_id: id, external_id, survivor_external_id: demo.survivor_external_id, campaign_id: demo.campaign_id, view: 'END_USER_MEMBER_STATEMENT' };
    known = {
      user_id: id, store_id: demo.store_id, client_id: demo.retailer_id, retailer_id: demo.retailer_id, offer_id: demo.offer_id,
      reward_store_id: demo.reward_store_id, store_offer_id: demo.store_offer_id, point_account_id: demo.award_points_id, point_source_id: demo.award_points_id,
    };
    const tables = await sql<{ name: string }>`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('schema_migrations', 'message_replays') ORDER BY 1`.execute(t.db);
    // (the replay store keeps refusals too, to answer a repeat the same way)
    // a committed insert or update leaves a newer xmin; a delete lowers the count
    const text = tables.rows.map(({ name }) => `(SELECT count(*) || ':' || coalesce(max(xmin::text::bigint), 0) FROM "${name}")`).join(" || ',' || ");
    fingerprint = async () => (await sql<{ f: string }>`SELECT ${sql.raw(text)} AS f`.execute(t.db)).rows[0].f;
  });

  it('answers every malformed request below 500, in its envelope, changing nothing', async () => {
    const operations = order(await operationsOf(t.app));
    assert.ok(operations.length >= 90, `the document lists ${operations.length} operations`);
    const failures: Failure[] = [];
    let sent = 0;
    let before = await fingerprint();
    const statuses = new Map<number, number>();

    const send = async (op: Operation, label: string, options: InjectOptions) => {
      const res = await t.app.inject({ ...options, method: op.method as InjectOptions['method'], headers: { authorization: headers[op.surface], ...options.headers } });
      sent++;
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const after = await fingerprint();
      const request = `${op.method} ${op.path} ${label}`;
      const problem = judge(op.surface, res.statusCode, res.body) ?? (res.statusCode >= 300 && after !== before ? 'a refused request changed the database' : undefined);
      if (problem) failures.push({ request, problem: `${res.statusCode} ${problem}: ${res.body.slice(0, 200)}` });
      before = after;
    };

    for (const op of operations) {
      const url = (path = fillPath(op.path, pathValues)) => path;
      const query = Object.fromEntries(op.query.filter((q) => q.name in known).map((q) => [q.name, String(known[q.name])]));
      const base = op.body ? sampleOf(op.body, known) : undefined;
      const json = (text: string, type = 'application/json') => ({ url: url(), query, payload: text, headers: { 'content-type': type } });

      await send(op, 'baseline', op.body ? json(JSON.stringify(base)) : { url: url(), query });
      for (const param of op.pathParams) {
        for (const raw of PARAM_VALUES) {
          const path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => (name === param ? raw : encodeURIComponent(pathValues[name] ?? 'x')));
          await send(op, `path ${param}=${raw.slice(0, 20)}`, op.body ? { ...json(JSON.stringify(base)), url: path } : { url: path });
        }
      }
      for (const q of op.query) {
        for (const raw of PARAM_VALUES) {
          const path = `${url()}?${encodeURIComponent(q.name)}=${raw}`;
          await send(op, `query ${q.name}=${raw.slice(0, 20)}`, op.body ? { ...json(JSON.stringify(base)), url: path } : { url: path });
        }
      }
      if (!op.body) continue;
      for (const { type, text } of BODIES) await send(op, `body ${type} ${text.slice(0, 20)}`, json(text, type));
      for (const path of fieldPaths(op.body, FIELDS_PER_OPERATION)) {
        const template = JSON.stringify(withValueAt(base, path, JSON.parse(PLACEHOLDER)));
        for (const raw of FIELD_VALUES) await send(op, `${path.join('.')}=${raw.slice(0, 24)}`, json(template.replace(PLACEHOLDER, raw)));
        await send(op, `${path.join('.')} missing`, json(JSON.stringify(withoutValueAt(base, path))));
      }
    }

    console.log(`fuzz: ${sent} requests over ${operations.length} operations; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    assert.deepEqual(failures.slice(0, 40), [], `${failures.length} of ${sent} answers failed`);
  });
});

/** What is wrong with an answer, or undefined. */
function judge(surface: SurfaceName, status: number, body: string): string | undefined {
  if (status >= 500) return 'a server error';
  if (status < 300) return undefined;
  let json: any;
  try {
    json = JSON.parse(body);
  } catch {
    return 'not JSON';
  }
  const errors = surface === 'pos' ? (json.payload === null && Array.isArray(json.errors) ? json.errors[0] : undefined) : json.errors;
  if (json.status !== 'error' || typeof errors?.code !== 'string' || typeof errors?.message !== 'string') return `not the ${surface} envelope`;
  if (errors.message === UNVALIDATED_MESSAGE) return 'unvalidated input reached the database';
  return undefined;
}

/** Operations that close or replace what others use run last: deletes, then the admin API. */
function order(operations: Operation[]): Operation[] {
  const rank = (op: Operation) => (op.surface === 'admin' ? 2 : op.method === 'DELETE' ? 1 : 0);
  return [...operations].sort((a, b) => rank(a) - rank(b));
}
