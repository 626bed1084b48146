// Point expiry across real server processes on one PostgreSQL database: two
// servers' settlers share the work of writing off 300 members' lots that
// expire at one instant, each lot once, each member's balance to zero.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { memberBody, postgresDatabase } from '../support/harness.js';
import { startServer, type ServerProcess } from '../support/processes.js';

const ADMIN = 'Bearer chaos-admin-token-0123456789';
const MEMBERS = 300;

describe('point expiry by real server processes', () => {
  let url: string;
  let db: pg.Client;
  const servers: ServerProcess[] = [];
  before(async () => {
    url = (await postgresDatabase()).url;
    db = new pg.Client({ connectionString: url });
    await db.connect();
  });
  after(async () => {
    for (const s of servers) await s.kill('SIGTERM');
    await db.end();
  });

  const json = async (server: ServerProcess, path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown }) => {
    const res = await fetch(`${server.url}${path}`, { method: init.method ?? 'POST', headers: { 'content-type': 'application/json', ...init.headers }, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
    const text = await res.text();
    assert.ok(res.status < 300, `${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };

  it('two servers expire each of 300 members’ lots once', async () => {
    const [a, b] = [await startServer({ DATABASE_URL: url }), await startServer({ DATABASE_URL: url })];
    servers.push(a, b);
    const tenant = await json(a, '/admin/tenants', { headers: { authorization: ADMIN }, body: { name: `Expiry ${Date.now()}` } });
    const account = randomUUID();
    await json(a, `/admin/tenants/${tenant.retailer_id}/program`, { method: 'PUT', headers: { authorization: ADMIN }, body: { point_accounts: [{ id: account, name: 'Spendable', default: true }] } });
    const core = `Basic ${Buffer.from(`${tenant.appkey}:${tenant.secret}`).toString('base64')}`;
    const connect = `Basic ${Buffer.from(`${tenant.appkey_connect}:${tenant.secret_connect}`).toString('base64')}`;
    // every member gets 2 lots (20 and 30 points), all expiring at one instant a few seconds from now
    const expiresAt = new Date(Date.now() + 8000).toISOString();
    const members: string[] = [];
    for (let i = 0; i < MEMBERS; i++) {
      const server = i % 2 ? b : a;
      const user = (await json(server, `/priv/v1/apps/${tenant.appkey}/users`, { headers: { authorization: core }, body: memberBody() })).user.id;
      await json(server, '/incentives/api/2.0/user_points/deposit', {
        headers: { authorization: connect },
        body: { retailer_id: tenant.retailer_id, user_id: user, deposit_details: [{ point_account_id: account, amount: 20, expiration_date: expiresAt }, { point_account_id: account, amount: 30, expiration_date: new Date(Date.parse(expiresAt) + 1).toISOString() }] },
      });
      members.push(user);
    }
    assert.ok(Date.now() < Date.parse(expiresAt), 'seeded before the instant');
    const count = async () => Number((await db.query(`SELECT count(*)::int AS n FROM point_ledger WHERE retailer_id = $1 AND modification_type = 'expiry'`, [tenant.retailer_id])).rows[0].n);
    const deadline = Date.now() + 60_000;
    while ((await count()) < MEMBERS) {
      assert.ok(Date.now() < deadline, `${await count()} of ${MEMBERS} members' expiries written within a minute`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 1500));
    const { rows } = await db.query(
      `SELECT member_id, count(*)::int AS entries, sum(amount)::text AS amount FROM point_ledger WHERE retailer_id = $1 AND modification_type = 'expiry' GROUP BY member_id`,
      [tenant.retailer_id],
    );
    assert.equal(rows.length, MEMBERS);
    assert.ok(rows.every((r) => r.entries === 1 && r.amount === '-50.0000'), 'one entry of both lots per member');
    const lots = (await db.query(`SELECT state, count(*)::int AS n FROM point_lots WHERE retailer_id = $1 GROUP BY state`, [tenant.retailer_id])).rows;
    assert.deepEqual(lots, [{ state: 'expired', n: 2 * MEMBERS }]);
    const balances = (await db.query(`SELECT count(*)::int AS n FROM member_point_accounts WHERE retailer_id = $1 AND (available_balance <> 0 OR next_change_at IS NOT NULL)`, [tenant.retailer_id])).rows[0].n;
    assert.equal(balances, 0);
  });
});
