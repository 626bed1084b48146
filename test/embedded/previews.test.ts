// Dry runs and program previews (issue 20) on the embedded database, whose
// one connection is held for a sandbox's whole transaction: a dry POS
// transaction and an evaluation against a draft answer and write nothing,
// and a simulation replays the window, while other requests wait their turn.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { transact } from '../../src/db/unit-of-work.js';
import { applyProgram } from '../../src/flows/program-apply.js';
import { parseProgramText, type Program } from '../../src/modules/program/service.js';
import { tableSnapshot } from '../support/snapshot.js';
import { call, createMemberViaApi, createTenant, embeddedApp, type TestApp, type TestTenant } from '../support/harness.js';

const PROGRAM_TEXT = readFileSync(new URL('../../examples/brand-x/program.yaml', import.meta.url), 'utf8');
const STORE = '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01';
const TIER_POINTS = '3d1c4e93-8b93-432f-a9c9-ab6854b57b7f';
const PURCHASE_RULE = '0e0d5ac3-65c2-4a7f-83e7-4a121908e91c';

describe('dry runs and previews on the embedded database', () => {
  let t: TestApp;
  let tenant: TestTenant;
  before(async () => {
    t = await embeddedApp();
    tenant = await createTenant(t.db);
    await transact(t.db, (tx) => applyProgram(tx, tenant.retailer_id, parseProgramText(PROGRAM_TEXT)));
  });
  const send = (userId: string, subtotal: number, extra: Record<string, unknown> = {}) =>
    call(t.app, {
      method: 'POST',
      url: '/api/2.0/send_transaction',
      headers: { authorization: tenant.pos },
      payload: { store_id: STORE, client_id: tenant.retailer_id, request_id: randomUUID(), user_id: userId, request_payload: { transaction_id: `E-${randomUUID()}`, subtotal, items: [] }, ...extra },
    });

  it('answers a dry transaction as the real one, writing nothing, while another request waits its turn', async () => {
    const m = (await createMemberViaApi(t.app, tenant)).id as string;
    const before = await tableSnapshot(t.db);
    const [dry, lookup] = await Promise.all([
      send(m, 40, { dry_run: true }),
      call(t.app, { method: 'POST', url: '/api/2.0/lookup', headers: { authorization: tenant.pos }, payload: { store_id: STORE, client_id: tenant.retailer_id, request_payload: { user_id: m } } }),
    ]);
    assert.equal(dry.status, 200, dry.body);
    assert.equal(lookup.status, 200, lookup.body);
    assert.equal(dry.json.dry_run, true);
    assert.ok(dry.json.outcomes.some((o: any) => o.type === 'points.deposited' && o.payload.amount === '40'));
    assert.deepEqual(await tableSnapshot(t.db), before);
  });

  it('evaluates against a draft and simulates a window against it', async () => {
    const m = (await createMemberViaApi(t.app, tenant)).id as string;
    const from = new Date(Date.now() - 1000).toISOString();
    assert.equal((await send(m, 25)).status, 200);
    const to = new Date(Date.now() + 1000).toISOString();
    const draft = parseYaml(PROGRAM_TEXT) as Program;
    const rule = draft.rules!.find((r) => r.id === PURCHASE_RULE)!;
    rule.outcomes = rule.outcomes.map((o) => ({ ...o, amount: { per: 1, of: 'subtotal', points: 3 } })) as typeof rule.outcomes;
    const admin = (path: string, payload: unknown) => call(t.app, { method: 'POST', url: `/admin/tenants/${tenant.retailer_id}${path}`, headers: { authorization: 'Bearer test-admin-token-0123456789' }, payload: payload as never });

    const before = await tableSnapshot(t.db);
    const evaluated = await admin('/program/evaluate', { program: draft, member: m, request: { store_id: STORE, request_payload: { transaction_id: 'EVAL-1', subtotal: 10 } } });
    assert.equal(evaluated.status, 200, evaluated.body);
    assert.equal(evaluated.json.balances.find((b: any) => b.point_account_id === TIER_POINTS).after, '55', '25 before, and 3 × 10');
    const simulated = await admin('/program/simulate', { program: draft, from, to, members: [m] });
    assert.equal(simulated.status, 200, simulated.body);
    assert.equal(simulated.json.result.current.points_by_account[TIER_POINTS], '25.0000');
    assert.equal(simulated.json.result.draft.points_by_account[TIER_POINTS], '75.0000');
    assert.deepEqual(await tableSnapshot(t.db), before);
  });
});
