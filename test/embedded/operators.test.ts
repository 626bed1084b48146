// Operators on the embedded database: a sign-in, a cookie write with its CSRF
// token, its one audit record, and the trigger that keeps the trail append-only.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createOperatorWithPassword } from '../../src/flows/operators.js';
import { call, createTenant, embeddedApp, type TestApp, type TestTenant } from '../support/harness.js';

describe('operators on the embedded database', () => {
  let t: TestApp;
  let tenant: TestTenant;
  before(async () => {
    t = await embeddedApp();
    tenant = await createTenant(t.db);
    await createOperatorWithPassword(t.db, { email: 'owner@brand.example', name: 'Owner', password: 'an embedded passphrase', role: 'owner', retailerId: tenant.retailer_id });
  });

  it('signs in, writes with the CSRF token, and records the write once in an append-only trail', async () => {
    const signIn = await call(t.app, { method: 'POST', url: '/admin/session', payload: { email: 'owner@brand.example', password: 'an embedded passphrase' } });
    assert.equal(signIn.status, 200, signIn.body);
    const cookie = String(signIn.headers['set-cookie']).split(';')[0];
    const url = `/admin/tenants/${tenant.retailer_id}/webhooks`;
    const refused = await call(t.app, { method: 'POST', url, headers: { cookie }, payload: { url: 'https://hooks.brand.example/x' } });
    assert.equal(refused.status, 403);
    const created = await call(t.app, { method: 'POST', url, headers: { cookie, 'x-csrf-token': signIn.json.csrf_token }, payload: { url: 'https://hooks.brand.example/x' } });
    assert.equal(created.status, 201, created.body);
    const audit = await call(t.app, { method: 'GET', url: `/admin/tenants/${tenant.retailer_id}/audit`, headers: { cookie } });
    assert.deepEqual(audit.json.records.map((r: { action: string; actor: { email: string }; object_id: string }) => [r.action, r.actor.email, r.object_id]), [['webhook.create', 'owner@brand.example', created.json.id]]);
    await assert.rejects(sql`DELETE FROM audit_log`.execute(t.db), /append-only/);
  });
});
