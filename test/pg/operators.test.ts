// Operators as a loyalty team meets them: signing in and out, sessions that
// end, CSRF refusals, rate-limited sign-ins that never tell which emails
// exist, password changes, invitations, personal tokens, the last owner, and
// `loyalist operator create`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { transact } from '../../src/db/unit-of-work.js';
import { createOperatorWithPassword } from '../../src/flows/operators.js';
import { jobHandlers } from '../../src/jobs/worker.js';
import { call, createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

const PASSWORD = 'correct horse battery staple';
let n = 0;
const email = () => `operator.${process.pid}.${++n}@brand.example`;

describe('operators', () => {
  let t: TestApp;
  let a: TestTenant;
  let ownerEmail: string;

  before(async () => {
    t = await postgresApp();
    a = await createTenant(t.db);
    ownerEmail = email();
    await createOperatorWithPassword(t.db, { email: ownerEmail, name: 'Olivia Owner', password: PASSWORD, role: 'owner', retailerId: a.retailer_id });
  });

  /** Signs in: the session's cookie header and CSRF token. */
  const signIn = async (who: string, password = PASSWORD, remoteAddress = '10.0.0.1') => {
    const res = await call(t.app, { method: 'POST', url: '/admin/session', payload: { email: who, password }, remoteAddress });
    const cookie = String(res.headers['set-cookie'] ?? '');
    return { res, cookie: cookie.split(';')[0], setCookie: cookie, csrf: res.json?.csrf_token as string };
  };
  const asSession = (s: { cookie: string; csrf?: string }, withCsrf = true) => ({ cookie: s.cookie, ...(withCsrf && s.csrf ? { 'x-csrf-token': s.csrf } : {}) });
  const issueCredentials = (headers: Record<string, string>) => call(t.app, { method: 'POST', url: `/admin/tenants/${a.retailer_id}/credentials`, headers });
  const credentialCount = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM credentials WHERE retailer_id = ${a.retailer_id}`.execute(t.db)).rows[0].n);

  it('signs in with an HttpOnly, SameSite=Strict cookie for the admin API, and answers who the operator is', async () => {
    const s = await signIn(ownerEmail);
    assert.equal(s.res.status, 200, s.res.body);
    assert.match(s.setCookie, /^loyalist_session=[\w-]{40,};/);
    assert.match(s.setCookie, /HttpOnly/);
    assert.match(s.setCookie, /SameSite=Strict/);
    assert.match(s.setCookie, /Path=\/admin/);
    assert.doesNotMatch(s.setCookie, /Secure/, 'plain http: a Secure cookie would never come back');
    assert.equal(s.res.json.operator.email, ownerEmail);
    assert.deepEqual(s.res.json.retailers.map((r: { retailer_id: string; role: string }) => [r.retailer_id, r.role]), [[a.retailer_id, 'owner']]);
    const me = await call(t.app, { method: 'GET', url: '/admin/me', headers: asSession(s, false) });
    assert.equal(me.status, 200);
    assert.equal(me.json.csrf_token, s.csrf);
    const tenants = await call(t.app, { method: 'GET', url: '/admin/tenants', headers: asSession(s, false) });
    assert.deepEqual(tenants.json.retailers.map((r: { retailer_id: string }) => r.retailer_id), [a.retailer_id], 'only the retailers the operator holds a role at');
  });

  it('answers a wrong password and an unknown email alike', async () => {
    const wrong = await signIn(ownerEmail, 'not the password at all', '10.0.1.1');
    const unknown = await signIn('nobody@brand.example', PASSWORD, '10.0.1.2');
    assert.equal(wrong.res.status, 401);
    assert.deepEqual(unknown.res.json, wrong.res.json);
    assert.equal(wrong.res.headers['set-cookie'], undefined);
  });

  it('refuses a cookie-authenticated write without the CSRF token, and changes nothing', async () => {
    const s = await signIn(ownerEmail);
    const before = await credentialCount();
    for (const headers of [asSession(s, false), { ...asSession(s, false), 'x-csrf-token': 'forged' }]) {
      const res = await issueCredentials(headers);
      assert.equal(res.status, 403, res.body);
      assert.equal(res.json.errors.code, 'csrf_refused');
    }
    assert.equal(await credentialCount(), before);
    const res = await issueCredentials(asSession(s));
    assert.equal(res.status, 201, res.body);
    assert.equal(await credentialCount(), before + 3);
  });

  it('signs out: the cookie opens nothing afterwards', async () => {
    const s = await signIn(ownerEmail);
    const out = await call(t.app, { method: 'DELETE', url: '/admin/session', headers: asSession(s) });
    assert.equal(out.status, 200);
    assert.match(String(out.headers['set-cookie']), /loyalist_session=;/);
    const me = await call(t.app, { method: 'GET', url: '/admin/me', headers: asSession(s, false) });
    assert.equal(me.status, 401);
  });

  it('ends a session after ADMIN_SESSION_IDLE_SECONDS without a request', async () => {
    const s = await signIn(ownerEmail);
    assert.equal((await call(t.app, { method: 'GET', url: '/admin/me', headers: asSession(s, false) })).status, 200);
    // the session was last used longer ago than the idle time (1800 s by default)
    await sql`UPDATE operator_sessions SET last_seen_at = now() - interval '31 minutes'`.execute(t.db);
    const me = await call(t.app, { method: 'GET', url: '/admin/me', headers: asSession(s, false) });
    assert.equal(me.status, 401);
    assert.match(me.json.errors.message, /session has ended/);
    // housekeeping removes sessions past their end
    await sql`UPDATE operator_sessions SET expires_at = now() - interval '1 second'`.execute(t.db);
    await transact(t.db, (tx) => jobHandlers()['operators.prune-sessions'](tx, {}));
    assert.deepEqual((await sql`SELECT 1 FROM operator_sessions`.execute(t.db)).rows, []);
  });

  it('rate-limits sign-ins per account, even with the right password, and per address', async () => {
    const victim = email();
    await createOperatorWithPassword(t.db, { email: victim, name: 'V', password: PASSWORD, role: 'viewer', retailerId: a.retailer_id });
    for (let i = 0; i < 5; i++) assert.equal((await signIn(victim, `guess number ${i} wrong`, `10.1.0.${i}`)).res.status, 401);
    const locked = await signIn(victim, PASSWORD, '10.1.1.1');
    assert.equal(locked.res.status, 429, locked.res.body);
    assert.equal(locked.res.json.errors.code, 'too_many_attempts');
    assert.ok(Number(locked.res.headers['retry-after']) > 0 && Number(locked.res.headers['retry-after']) <= 900);
    // another account is not locked by it
    assert.equal((await signIn(ownerEmail, PASSWORD, '10.1.1.1')).res.status, 200);

    // one address trying many accounts
    for (let i = 0; i < 20; i++) await signIn(`spray.${i}@brand.example`, 'spray password', '10.2.0.1');
    assert.equal((await signIn(ownerEmail, PASSWORD, '10.2.0.1')).res.status, 429);
    assert.equal((await signIn(ownerEmail, PASSWORD, '10.2.0.2')).res.status, 200);
  });

  it('changes the own password: the current one is checked, other sessions end, this one stays', async () => {
    const who = email();
    await createOperatorWithPassword(t.db, { email: who, name: 'P', password: PASSWORD, role: 'viewer', retailerId: a.retailer_id });
    const [mine, other] = [await signIn(who), await signIn(who)];
    const change = (body: object) => call(t.app, { method: 'PUT', url: '/admin/me/password', headers: asSession(mine), payload: body });
    const wrong = await change({ current_password: 'not my password', new_password: 'a brand new passphrase' });
    assert.equal(wrong.status, 422);
    assert.equal(wrong.json.errors.code, 'validation');
    const short = await change({ current_password: PASSWORD, new_password: 'short' });
    assert.equal(short.status, 400);
    assert.match(short.json.errors.message, /new_password/);
    assert.equal((await change({ current_password: PASSWORD, new_password: 'a brand new passphrase' })).status, 200);
    assert.equal((await call(t.app, { method: 'GET', url: '/admin/me', headers: asSession(mine, false) })).status, 200);
    assert.equal((await call(t.app, { method: 'GET', url: '/admin/me', headers: asSession(other, false) })).status, 401);
    assert.equal((await signIn(who, PASSWORD, '10.3.0.1')).res.status, 401);
    assert.equal((await signIn(who, 'a brand new passphrase', '10.3.0.2')).res.status, 200);
    const audit = await sql<{ t: string }>`SELECT string_agg(to_jsonb(a)::text, ' ') AS t FROM audit_log a`.execute(t.db);
    assert.ok(!audit.rows[0].t.includes('brand new passphrase') && !audit.rows[0].t.includes(PASSWORD), 'no password in the audit trail');
  });

  it('invites a new person: a set-password token, once; then they sign in with their role', async () => {
    const owner = await signIn(ownerEmail);
    const invitee = email();
    const invited = await call(t.app, { method: 'POST', url: `/admin/tenants/${a.retailer_id}/operators`, headers: asSession(owner), payload: { email: invitee, name: 'Sam Support', role: 'support' } });
    assert.equal(invited.status, 201, invited.body);
    assert.equal(invited.json.operator.password_set, false);
    const token = invited.json.invitation.token;
    assert.equal((await signIn(invitee, PASSWORD, '10.4.0.1')).res.status, 401, 'no password yet');
    const accept = (password: string) => call(t.app, { method: 'POST', url: '/admin/invitations/accept', payload: { token, password } });
    assert.equal((await accept('short')).status, 400);
    assert.equal((await accept('my own long passphrase')).status, 200);
    assert.equal((await accept('another long passphrase')).status, 422, 'an invitation works once');
    const s = await signIn(invitee, 'my own long passphrase', '10.4.0.2');
    assert.equal(s.res.status, 200);
    assert.deepEqual(s.res.json.retailers.map((r: { role: string }) => r.role), ['support']);
    const team = await call(t.app, { method: 'GET', url: `/admin/tenants/${a.retailer_id}/operators`, headers: asSession(owner, false) });
    assert.ok(team.json.operators.some((o: { email: string; role: string }) => o.email === invitee && o.role === 'support'));
    const audit = await sql<{ t: string }>`SELECT string_agg(to_jsonb(a)::text, ' ') AS t FROM audit_log a`.execute(t.db);
    assert.ok(!audit.rows[0].t.includes(token), 'no invitation token in the audit trail');
  });

  it('never leaves a retailer without an owner', async () => {
    const b = await createTenant(t.db);
    const solo = email();
    const created = await createOperatorWithPassword(t.db, { email: solo, name: 'Solo', password: PASSWORD, role: 'owner', retailerId: b.retailer_id });
    const s = await signIn(solo, PASSWORD, '10.5.0.1');
    const demote = await call(t.app, { method: 'PUT', url: `/admin/tenants/${b.retailer_id}/operators/${created.id}`, headers: asSession(s), payload: { role: 'viewer' } });
    assert.equal(demote.status, 409);
    assert.equal(demote.json.errors.code, 'last_owner');
    const remove = await call(t.app, { method: 'DELETE', url: `/admin/tenants/${b.retailer_id}/operators/${created.id}`, headers: asSession(s) });
    assert.equal(remove.status, 409);
    const roles = await sql<{ role: string }>`SELECT role FROM operator_roles WHERE operator_id = ${created.id}`.execute(t.db);
    assert.deepEqual(roles.rows, [{ role: 'owner' }]);
  });

  it("issues personal API tokens: bearer, no CSRF, capped by the token's role, revocable", async () => {
    const s = await signIn(ownerEmail);
    const issue = (body: object) => call(t.app, { method: 'POST', url: '/admin/me/tokens', headers: asSession(s), payload: body });
    const full = await issue({ name: 'deploy script' });
    assert.equal(full.status, 201, full.body);
    assert.match(full.json.token, /^lop_/);
    const bearer = { authorization: `Bearer ${full.json.token}` };
    assert.equal((await issueCredentials(bearer)).status, 201, 'a bearer token carries no cookie, so needs no CSRF token');
    const viewer = await issue({ name: 'dashboard', retailer_id: a.retailer_id, role: 'viewer' });
    const asViewer = { authorization: `Bearer ${viewer.json.token}` };
    assert.equal((await call(t.app, { method: 'GET', url: `/admin/tenants/${a.retailer_id}/program`, headers: asViewer })).status, 200);
    const refused = await issueCredentials(asViewer);
    assert.equal(refused.status, 403);
    assert.equal(refused.json.errors.code, 'forbidden');
    const listed = await call(t.app, { method: 'GET', url: '/admin/me/tokens', headers: asSession(s, false) });
    assert.ok(!listed.body.includes(full.json.token), 'never a token again');
    const revoked = await call(t.app, { method: 'DELETE', url: `/admin/me/tokens/${full.json.token_id}`, headers: asSession(s) });
    assert.equal(revoked.status, 200);
    assert.equal((await issueCredentials(bearer)).status, 401);
    const forged = `${full.json.token.slice(0, -4)}AAAA`;
    assert.equal((await issueCredentials({ authorization: `Bearer ${forged}` })).status, 401);
  });

  it('loyalist operator create prints a one-time password the operator signs in with', async () => {
    const url = (t.database as unknown as { url: string }).url;
    const who = email();
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((done) =>
      execFile(process.execPath, ['--import', 'tsx', 'test/support/loyalist-from-source.ts', 'operator', 'create', '--email', who, '--role', 'marketer', '--retailer', a.retailer_id], { cwd: resolve(import.meta.dirname, '..', '..'), env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'silent' }, timeout: 60_000 }, (err, stdout, stderr) =>
        done({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    assert.equal(run.code, 0, run.stderr);
    const password = /password[^:]*: (\S+)/.exec(run.stdout)?.[1];
    assert.ok(password && password.length >= 20, run.stdout);
    const s = await signIn(who, password, '10.6.0.1');
    assert.equal(s.res.status, 200);
    assert.deepEqual(s.res.json.retailers.map((r: { role: string }) => r.role), ['marketer']);
    const again = await new Promise<number>((done) =>
      execFile(process.execPath, ['--import', 'tsx', 'test/support/loyalist-from-source.ts', 'operator', 'create', '--email', who, '--superadmin'], { cwd: resolve(import.meta.dirname, '..', '..'), env: { ...process.env, DATABASE_URL: url }, timeout: 60_000 }, (err) => done(err ? 1 : 0)),
    );
    assert.equal(again, 1, 'an email already taken');
  });
});

describe('operators behind a reverse proxy (TRUST_PROXY)', () => {
  it("takes the client's address and protocol from the proxy: Secure cookies over https, sign-in limits per client", async () => {
    const t = await postgresApp({ trustProxy: true });
    const a = await createTenant(t.db);
    const who = email();
    await createOperatorWithPassword(t.db, { email: who, name: 'Proxied', password: PASSWORD, role: 'viewer', retailerId: a.retailer_id });
    const signIn = (password: string, client: string) =>
      call(t.app, { method: 'POST', url: '/admin/session', payload: { email: who, password }, remoteAddress: '10.9.9.9', headers: { 'x-forwarded-for': client, 'x-forwarded-proto': 'https' } });
    const ok = await signIn(PASSWORD, '203.0.113.7');
    assert.equal(ok.status, 200);
    assert.match(String(ok.headers['set-cookie']), /Secure/);
    for (let i = 0; i < 20; i++) await call(t.app, { method: 'POST', url: '/admin/session', payload: { email: `spray.${i}@brand.example`, password: 'spray password' }, remoteAddress: '10.9.9.9', headers: { 'x-forwarded-for': '198.51.100.1' } });
    assert.equal((await signIn(PASSWORD, '198.51.100.1')).status, 429, 'the spraying client is limited');
    assert.equal((await signIn(PASSWORD, '203.0.113.7')).status, 200, 'another client behind the same proxy is not');
  });
});
