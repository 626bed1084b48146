// Several server processes on one PostgreSQL database (issue 23), as a user of
// the APIs sees them: a program change or a revoked credential made through
// one process holds on the others within the documented time (each process
// keeps configuration for a few seconds), privacy requests are carried out
// once and housekeeping is scheduled once however many processes poll the
// queue, a replayed POS request_id or Core Message-ID answers the first answer
// on every process and acts once, and one deposit's idempotency_id sent to
// every process at once deposits once. Then `serve --processes 2`: both
// processes answer on one port, a killed one is replaced, SIGTERM stops all.
// (Webhook delivery and point expiry across processes: webhook-processes and
// expiry-processes.)
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { get } from 'node:http';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { CONFIG_CACHE_MS } from '../../src/lib/config-cache.js';
import { CREDENTIAL_CACHE_MS } from '../../src/modules/tenants/credentials.js';
import { memberBody, postgresDatabase } from '../support/harness.js';
import { startServer, type ServerProcess } from '../support/processes.js';

const ADMIN = 'Bearer chaos-admin-token-0123456789';
/** Beyond a cache's lifetime: the read that refreshes it, and a probe's own request on a loaded two-core machine. */
const MARGIN_MS = 3000;

const STORE = randomUUID();
const SPENDABLE = randomUUID();
const BONUS = randomUUID();
const PURCHASE_RULE = randomUUID();
const FIVE_PERCENT = randomUUID();
const storeSection = {
  stores: [{ id: STORE, name: 'Seaport' }],
  offers: [{ root_offer_id: FIVE_PERCENT, offer_type: 'percent_discount', internal_title: '5% off', amount: 5, does_not_expire: true, acquisition_start_date: '2025-01-01T00:00:00Z', redemption_start_date: '2025-01-01T00:00:00Z' }],
};
/** Before the change: one account, purchases earn a point per unit of the subtotal. */
const programBefore = {
  ...storeSection,
  point_accounts: [{ id: SPENDABLE, name: 'Spendable', default: true }],
  rules: [{ id: PURCHASE_RULE, name: 'Purchase earning', trigger: { type: 'purchase' }, outcomes: [{ type: 'points', point_account_id: SPENDABLE, amount: { per: 1, of: 'subtotal' } }] }],
};
/** After: a second account, and every purchase earns 7 points. */
const programAfter = {
  ...storeSection,
  point_accounts: [...programBefore.point_accounts, { id: BONUS, name: 'Bonus' }],
  rules: [{ ...programBefore.rules[0], outcomes: [{ type: 'points', point_account_id: SPENDABLE, amount: 7 }] }],
};

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function request(server: ServerProcess, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

async function ok(answer: Promise<Answer>): Promise<any> {
  const a = await answer;
  assert.ok(a.status < 300, `${a.status} ${a.text}`);
  return a.json;
}

/** Polls `holds` until it answers true; fails once `deadline` has passed. */
async function until(what: string, deadline: number, holds: () => Promise<boolean>): Promise<void> {
  while (!(await holds())) {
    assert.ok(Date.now() < deadline, `not within the documented time: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('three server processes on one database', () => {
  let url: string;
  let db: pg.Client;
  let servers: ServerProcess[];
  let tenant: Record<string, string>;
  let core: string;
  let connect: string;

  before(async () => {
    url = (await postgresDatabase()).url;
    db = new pg.Client({ connectionString: url });
    await db.connect();
    // privacy requests are due at once; the first server migrates before the others start
    const env = { DATABASE_URL: url, PRIVACY_GRACE_SECONDS: '0' };
    const first = await startServer(env);
    servers = [first, ...(await Promise.all([startServer(env), startServer(env)]))];
    tenant = await ok(request(first, 'POST', '/admin/tenants', { authorization: ADMIN }, { name: `Processes ${Date.now()}` }));
    core = `Basic ${Buffer.from(`${tenant.appkey}:${tenant.secret}`).toString('base64')}`;
    connect = `Basic ${Buffer.from(`${tenant.appkey_connect}:${tenant.secret_connect}`).toString('base64')}`;
    await ok(request(first, 'PUT', `/admin/tenants/${tenant.retailer_id}/program`, { authorization: ADMIN }, programBefore));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.kill('SIGTERM')));
    await db.end();
  });

  const enrol = async (on: ServerProcess, overrides: Record<string, unknown> = {}) => (await ok(request(on, 'POST', `/priv/v1/apps/${tenant.appkey}/users`, { authorization: core }, memberBody(overrides)))).user.id as string;
  const purchase = (memberId: string, requestId = randomUUID()) => ({
    store_id: STORE,
    client_id: tenant.retailer_id,
    user_id: memberId,
    request_id: requestId,
    request_payload: {
      transaction_id: `T-${randomUUID()}`,
      subtotal: 30,
      tax_total: 0,
      items: [{ item_id: '1', line_id: '1', quantity: 1, unit_price: 30, subtotal: 30 }],
      payments: [{ payment_id: '1', user_id: memberId, user_id_type: 'SessionM_ID', amount: 30, type: 'CASH' }],
      discounts: [],
    },
  });
  const pos = (on: ServerProcess, body: unknown) => request(on, 'POST', '/api/2.0/send_transaction', { authorization: tenant.cloudpos_authorization }, body);
  const deposit = (on: ServerProcess, memberId: string, detail: Record<string, unknown>, headers: Record<string, string> = {}) =>
    request(on, 'POST', '/incentives/api/2.0/user_points/deposit', { authorization: connect, ...headers }, { retailer_id: tenant.retailer_id, user_id: memberId, allow_partial_success: false, deposit_details: [detail] });
  /** The member's ledger as the Connect point audit log shows it, newest first. */
  const ledger = async (memberId: string) =>
    (await ok(request(servers[0], 'POST', '/incentives/api/2.0/user_points/fetch_point_audit_logs', { authorization: connect }, { retailer_id: tenant.retailer_id, user_id: memberId }))).payload.results as { amount: number; modification_type: string; point_account_id: string }[];

  it(`a program change made through one process is used by the others within ${CONFIG_CACHE_MS} ms`, async () => {
    const [a, ...others] = servers;
    // the others hold the program from before: each has earned on a purchase and taken a deposit
    const members = new Map<ServerProcess, string>();
    for (const on of others) {
      const member = await enrol(on);
      members.set(on, member);
      assert.equal((await pos(on, purchase(member))).status, 200);
      assert.equal((await deposit(on, member, { point_account_id: SPENDABLE, amount: 1 })).status, 200);
      assert.deepEqual((await ledger(member)).map((e) => e.amount).sort(), [1, 30]);
    }

    await ok(request(a, 'PUT', `/admin/tenants/${tenant.retailer_id}/program`, { authorization: ADMIN }, programAfter));
    const deadline = Date.now() + CONFIG_CACHE_MS + MARGIN_MS;
    // the process that applied it uses it at once
    const own = await enrol(a);
    assert.equal((await deposit(a, own, { point_account_id: BONUS, amount: 5 })).status, 200);

    await Promise.all(
      others.map(async (on) => {
        const member = members.get(on)!;
        await until('a deposit into the new account', deadline, async () => {
          const answer = await deposit(on, member, { point_account_id: BONUS, amount: 5 });
          assert.ok(answer.status < 500, answer.text);
          // before the change reaches this process: refused as an unknown account
          if (answer.status !== 200) assert.match(answer.text, /point_account_not_found/);
          return answer.status === 200;
        });
        await until('a purchase earning by the changed rule', deadline, async () => {
          assert.equal((await pos(on, purchase(member))).status, 200);
          const earned = (await ledger(member)).find((e) => e.point_account_id === SPENDABLE && e.modification_type === 'deposit')!.amount;
          assert.ok(earned === 30 || earned === 7, `a purchase earns by the rule before or after: ${earned}`);
          return earned === 7;
        });
      }),
    );
  });

  it(`a credential revoked through one process is refused by the others within ${CREDENTIAL_CACHE_MS} ms`, async () => {
    const [a, ...others] = servers;
    const issued = await ok(request(a, 'POST', `/admin/tenants/${tenant.retailer_id}/credentials`, { authorization: ADMIN }, {}));
    const basic = `Basic ${Buffer.from(`${issued.appkey}:${issued.secret}`).toString('base64')}`;
    const member = await enrol(a);
    const read = (on: ServerProcess) => request(on, 'GET', `/priv/v1/apps/${issued.appkey}/users/${member}`, { authorization: basic });
    for (const on of servers) assert.equal((await read(on)).status, 200, 'every process knows the new credential');

    const listed = (await ok(request(a, 'GET', `/admin/tenants/${tenant.retailer_id}/credentials`, { authorization: ADMIN }))).credentials as { credential_id: string; key: string }[];
    const credential = listed.find((c) => c.key === issued.appkey)!;
    await ok(request(a, 'DELETE', `/admin/tenants/${tenant.retailer_id}/credentials/${credential.credential_id}`, { authorization: ADMIN }));
    const deadline = Date.now() + CREDENTIAL_CACHE_MS + MARGIN_MS;
    assert.equal((await read(a)).status, 401, 'refused at once where it was revoked');
    await Promise.all(
      others.map((on) =>
        until('the revoked credential refused', deadline, async () => {
          const { status } = await read(on);
          assert.ok(status === 200 || status === 401, `answered ${status}`);
          return status === 401;
        }),
      ),
    );
  });

  it('carries out each privacy request once, and schedules each housekeeping job once, with three processes polling', async () => {
    const members: { id: string; type: 'export' | 'forget'; request: number }[] = [];
    for (let i = 0; i < 12; i++) {
      const on = servers[i % servers.length];
      const id = await enrol(on);
      const type = i % 3 === 2 ? 'forget' : 'export';
      const filed = await ok(request(on, 'POST', `/priv/v1/apps/${tenant.appkey}/users/${id}/privacy/${type}`, { authorization: core }, {}));
      members.push({ id, type, request: filed.privacy_request.id });
    }
    const feed = async (type: string) => {
      const page = await ok(request(servers[1], 'GET', `/admin/tenants/${tenant.retailer_id}/events?type=${type}&limit=1000`, { authorization: ADMIN }));
      return page.events as { payload: Record<string, unknown> }[];
    };
    const deadline = Date.now() + 60_000;
    while ((await feed('privacy.request_completed')).length < members.length) {
      assert.ok(Date.now() < deadline, `${(await feed('privacy.request_completed')).length} of ${members.length} requests carried out within a minute`);
      await new Promise((r) => setTimeout(r, 250));
    }
    // time for a second run of any of them to show (the processes poll every second)
    await new Promise((r) => setTimeout(r, 2500));

    const completed = (await feed('privacy.request_completed')).map((e) => e.payload.privacy_request_id).sort();
    assert.deepEqual(completed, members.map((m) => m.request).sort(), 'each request completed once');
    const forgotten = (await feed('member.forgotten')).map((e) => e.payload.user_id).sort();
    assert.deepEqual(forgotten, members.filter((m) => m.type === 'forget').map((m) => m.id).sort(), 'each forgotten once');
    for (const m of members.filter((m) => m.type === 'export')) {
      const download = await ok(request(servers[2], 'GET', `/priv/v1/apps/${tenant.appkey}/users/${m.id}/privacy/export/${m.request}`, { authorization: core }));
      assert.equal(download.gdpr_user_data.status, 'completed');
      assert.ok(download.gdpr_user_data.data, 'the export has its document');
    }
    for (const m of members.filter((m) => m.type === 'forget')) {
      assert.equal((await request(servers[0], 'GET', `/priv/v1/apps/${tenant.appkey}/users/${m.id}`, { authorization: core })).status, 404, 'a forgotten member is not found');
    }

    // every process enqueued the housekeeping at start and each run schedules the next: one waiting job per kind
    const { rows } = await db.query(`SELECT queue, count(*)::int AS n FROM jobs WHERE dedupe_key = queue GROUP BY queue ORDER BY queue`);
    assert.ok(rows.some((r) => r.queue === 'tiers.maintenance'), 'housekeeping is scheduled');
    assert.deepEqual(rows.filter((r) => r.n !== 1), [], 'one scheduled job per kind of housekeeping');
  });

  it('answers a POS send_transaction sent again to another process, or to every process at once, the same: one transaction, one ledger entry', async () => {
    const [a, b, c] = servers;
    const member = await enrol(a);
    // send_transaction is kept once per store and transaction_id: sending it again answers the same
    const body = purchase(member);
    const first = await pos(a, body);
    assert.equal(first.status, 200, first.text);
    for (const on of [b, c]) assert.deepEqual((await pos(on, body)).json, first.json);
    assert.equal((await ledger(member)).length, 1, 'the purchase earned once');

    const concurrent = purchase(member);
    const answers = await Promise.all(servers.map((on) => pos(on, concurrent)));
    for (const answer of answers) assert.equal(answer.status, 200, answer.text);
    assert.equal(new Set(answers.map((x) => x.text)).size, 1, 'one answer');
    assert.equal((await ledger(member)).length, 2, 'two purchases, each earned once');
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM pos_transactions WHERE retailer_id = $1 AND member_id = $2`, [tenant.retailer_id, member]);
    assert.equal(rows[0].n, 2, 'two transactions kept');
  });

  it('replays a POS request_id on every process: a redemption sent again answers the first answer, not already redeemed', async () => {
    const redeem = (on: ServerProcess, body: unknown) => request(on, 'POST', '/api/2.0/redeem', { authorization: tenant.cloudpos_authorization }, body);
    const redemption = async () => {
      const member = await enrol(servers[0]);
      const issued = await ok(request(servers[0], 'POST', '/offers/api/2.0/offers/acquisition/issue', { authorization: connect }, { retailer_id: tenant.retailer_id, user_id: member, offer_id: FIVE_PERCENT }));
      const userOffer = issued.payload.status_list[0].user_offer_id as string;
      const basket = { transaction_id: `B-${randomUUID()}`, subtotal: 20, items: [{ line_id: '1', item_id: 'coffee', quantity: 1, unit_price: 20, subtotal: 20 }] };
      return { store_id: STORE, client_id: tenant.retailer_id, request_id: randomUUID(), request_payload: { offer_lookup_code: userOffer, offer_lookup_type: 'userofferid', transaction: basket } };
    };

    const body = await redemption();
    const first = await redeem(servers[0], body);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.payload.status, 'REDEEMED');
    for (const on of servers.slice(1)) {
      const again = await redeem(on, body);
      assert.equal(again.status, 200, again.text);
      assert.equal(again.headers.get('cached-message'), 'true', 'answered from the kept answer');
      assert.deepEqual(again.json, first.json);
    }
    // the same offer under a new request_id is a new request: already redeemed
    const fresh = await redeem(servers[1], { ...body, request_id: randomUUID() });
    assert.equal(fresh.status, 409, fresh.text);

    // at every process at once: one redeems, the others answer that it is in progress or replay its answer
    const concurrent = await redemption();
    const answers = await Promise.all(servers.map((on) => redeem(on, concurrent)));
    for (const answer of answers) assert.ok(answer.status === 200 || (answer.status === 409 && /request_in_progress/.test(answer.text)), `${answer.status} ${answer.text}`);
    const ran = answers.filter((x) => x.status === 200 && x.headers.get('cached-message') !== 'true');
    assert.equal(ran.length, 1, 'one process ran it');
    for (const on of servers) assert.deepEqual((await redeem(on, concurrent)).json, ran[0].json);
  });

  it('replays a Core Message-ID on every process: one member enrolled, the same answer', async () => {
    const enrolOnce = (on: ServerProcess, messageId: string, body: unknown) => request(on, 'POST', `/priv/v1/apps/${tenant.appkey}/users`, { authorization: core, 'message-id': messageId }, body);
    const byEmail = async (email: string) => Number((await db.query(`SELECT count(*)::int AS n FROM members WHERE retailer_id = $1 AND lower(email) = lower($2)`, [tenant.retailer_id, email])).rows[0].n);

    const body = memberBody();
    const messageId = randomUUID();
    const first = await enrolOnce(servers[0], messageId, body);
    assert.equal(first.status, 200, first.text);
    for (const on of servers.slice(1)) {
      const again = await enrolOnce(on, messageId, body);
      assert.equal(again.headers.get('cached-message'), 'true');
      assert.deepEqual(again.json, first.json);
    }
    assert.equal(await byEmail(body.user.email), 1);

    const concurrentBody = memberBody();
    const concurrentId = randomUUID();
    const answers = await Promise.all(servers.map((on) => enrolOnce(on, concurrentId, concurrentBody)));
    for (const answer of answers) assert.ok(answer.status === 200 || (answer.status === 409 && /request_in_progress/.test(answer.text)), `${answer.status} ${answer.text}`);
    const fresh = answers.filter((x) => x.status === 200 && x.headers.get('cached-message') !== 'true');
    assert.equal(fresh.length, 1, 'one process ran it');
    for (const on of servers) assert.deepEqual((await enrolOnce(on, concurrentId, concurrentBody)).json, fresh[0].json);
    assert.equal(await byEmail(concurrentBody.user.email), 1, 'one member enrolled');
  });

  it('deposits once when the same idempotency_id reaches every process at once', async () => {
    const member = await enrol(servers[0]);
    const detail = { point_account_id: SPENDABLE, amount: 25, idempotency_id: `dep-${randomUUID()}`, reference_id: 'order 1' };
    // three requests at each process, all at once
    const answers = await Promise.all([...servers, ...servers, ...servers].map((on) => deposit(on, member, detail)));
    for (const answer of answers) assert.equal(answer.status, 200, answer.text);
    const messages = answers.map((x) => x.json.payload.details[0].message as string);
    assert.equal(messages.filter((m) => m === 'success').length, 1, `one applied: ${messages.join(', ')}`);
    assert.equal(messages.filter((m) => m === 'already applied (idempotency_id)').length, answers.length - 1);
    const entries = await ledger(member);
    assert.deepEqual(entries.map((e) => [e.modification_type, e.amount]), [['deposit', 25]], 'one ledger entry');
    const balance = await ok(request(servers[2], 'POST', '/incentives/api/2.0/user_points/balance', { authorization: connect }, { retailer_id: tenant.retailer_id, user_id: member, point_account_ids: [SPENDABLE] }));
    assert.equal(balance.payload.details[0].available_balance, 25);
  });
});

describe('serve --processes 2', () => {
  let url: string;
  before(async () => {
    url = (await postgresDatabase()).url;
  });

  /** The pid of the process that answered: its request log line, found by the request id sent. */
  async function answeredBy(server: ServerProcess): Promise<number> {
    const id = `which-${randomUUID()}`;
    // a new connection each time: the primary hands each connection to the next process in turn
    const status = await new Promise<number | undefined>((resolve, reject) =>
      get(`${server.url}/healthz`, { agent: false, headers: { 'x-request-id': id } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      }).on('error', reject),
    );
    assert.equal(status, 200);
    for (let i = 0; i < 100; i++) {
      const line = server.logs.find((l) => l.reqId === id && l.msg === 'request completed');
      if (line) return Number(line.pid);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no log line of request ${id}`);
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('serves on one port from two processes, replaces one that is killed, and stops both on SIGTERM', async () => {
    const server = await startServer({ DATABASE_URL: url, PROCESSES: '2' });
    const line = server.logs.find((l) => l.msg === 'loyalist is serving')!;
    assert.equal(line.url, server.url);
    assert.equal(line.processes, 2);
    const pids = line.pids as number[];
    assert.equal(new Set(pids).size, 2);

    const seen = new Set<number>();
    for (let i = 0; i < 20 && seen.size < 2; i++) seen.add(await answeredBy(server));
    assert.deepEqual([...seen].sort(), [...pids].sort(), 'both processes answer');

    process.kill(pids[0], 'SIGKILL');
    const started = Date.now();
    let replacement: number | undefined;
    while (replacement === undefined) {
      assert.ok(Date.now() - started < 60_000, 'a process started in place of the killed one');
      replacement = server.logs.map((l) => (l.msg === 'server process is serving' ? Number(l.pid) : undefined)).find((pid) => pid !== undefined && !pids.includes(pid));
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(server.logs.some((l) => l.msg === 'a server process exited; starting another' && l.server_pid === pids[0] && l.signal === 'SIGKILL'));
    seen.clear();
    for (let i = 0; i < 20 && seen.size < 2; i++) seen.add(await answeredBy(server));
    assert.deepEqual([...seen].sort(), [pids[1], replacement].sort(), 'the survivor and the replacement answer');

    assert.equal(await server.kill('SIGTERM'), 0, 'the primary exits cleanly once its processes have');
    assert.ok(!alive(pids[1]) && !alive(replacement), 'no server process left behind');
  });

  it('refuses several processes on the embedded database, which is one process’s', async () => {
    await assert.rejects(startServer({ DATABASE_URL: '', DATA_DIR: `/tmp/loyalist-processes-${randomUUID()}`, PROCESSES: '2' }), /PROCESSES=2 \(--processes\) needs PostgreSQL \(DATABASE_URL\)/);
  });
});
