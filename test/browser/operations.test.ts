// The dashboard and the operations screens in Chromium: the dashboard's numbers against the API's
// and its period; a webhook endpoint to a real receiver on the loopback, an event delivered to it
// with its attempt; the team (invite, change role, the last owner kept, remove), credentials, the
// privacy queue and the audit trail showing those changes; and what a viewer is not offered.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import pino from 'pino';
import { startDispatcher, type Dispatcher } from '../../src/jobs/webhooks.js';
import { assertAccessible, consoleWorld, newPage, screenshot, signIn, type ConsoleWorld } from '../support/browser.js';

const MEMBER = '0f58fb38-1a1c-11f0-9791-b515ac110002';
const OTHER_MEMBER = '8e588453-1693-11ea-94c7-0242ac11000b';
const SPENDABLE = 'f4d91345-bbe8-4ca7-864d-771761be873e';


/** Polls until `check` holds (no sleeps of a fixed length: each poll waits on the page or the API). */
async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('console: the dashboard and the operations screens', () => {
  let w: ConsoleWorld;
  let owner: Page;
  let dispatcher: Dispatcher;
  const received: { type: string; id: string }[] = [];
  let receiverUrl = '';
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        received.push(JSON.parse(body));
      } catch {
        // not JSON: not ours
      }
      res.writeHead(200).end('ok');
    });
  });
  const adminApi = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${w.url}/admin/tenants/${w.demo.retailer_id}${path}`, {
      method,
      headers: { authorization: `Bearer ${w.t.config.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
    return res.json() as Promise<any>;
  };
  /** Opens a screen afresh (a test that failed leaves no modal in the way of the next). */
  const open = async (path: string, heading: string) => {
    await owner.goto(`/console/r/${w.demo.retailer_id}/${path}`);
    await owner.getByRole('heading', { name: heading, level: 2 }).waitFor();
  };

  before(async () => {
    // plain http to the loopback, for the test's webhook receiver
    w = await consoleWorld({ webhookHttpHosts: '127.0.0.1' });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/loyalist`;
    // the console world's server runs no worker: the dispatcher runs here, as in test/pg/webhooks.test.ts
    dispatcher = startDispatcher(w.t.db, pino({ level: 'silent' }), { retrySchedule: [1, 1, 1], timeoutMs: 2000, allowPrivate: true, pollMs: 50 });
    ({ page: owner } = await newPage(w));
    owner.setDefaultTimeout(10_000);
    await signIn(w, owner, 'owner');
  });
  after(async () => {
    await dispatcher?.stop();
    await new Promise((r) => server.close(r));
  });

  it('shows the dashboard: the member total the API counts, a chart, and the chosen period', async () => {
    const api = await adminApi('GET', '/dashboard');
    assert.ok(api.members.total > 0);
    const stat = owner.getByRole('heading', { name: 'Members', exact: true }).locator('..');
    await until('the member total', async () => (await stat.innerText()).includes(api.members.total.toLocaleString('en-US')));
    const chart = owner.getByRole('img', { name: /^Points per day/ });
    await chart.waitFor();
    await chart.locator('.recharts-wrapper').waitFor();
    await owner.getByRole('table').filter({ hasText: 'Members holding' }).waitFor();
    for (const a of api.liability.slice(0, 3)) await owner.getByRole('row', { name: new RegExp(a.name.replace(/[[\]]/g, '\\$&')) }).first().waitFor();

    const period = owner.getByTestId('period');
    const day = (daysBack: number) => {
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: api.time_zone }).format(new Date());
      const d = new Date(`${today}T00:00:00Z`);
      d.setUTCDate(d.getUTCDate() - daysBack);
      return new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(d);
    };
    await until('the 30 days', async () => (await period.innerText()).startsWith(`${day(29)} – ${day(0)}`));
    await owner.mouse.move(0, 0); // the sign-in click left the pointer over the chart: no tooltip in the picture
    await screenshot(owner, 'dashboard');
    await assertAccessible(owner, 'dashboard');
    await owner.getByText('Last 7 days').click();
    await until('the 7 days', async () => (await period.innerText()).startsWith(`${day(6)} – ${day(0)}`));
    assert.match(owner.url(), /days=7/);
    await owner.getByText('Last 90 days').click();
    await until('the 90 days', async () => (await period.innerText()).startsWith(`${day(89)} – ${day(0)}`));
    // the numbers, day by day, are there to read as well as the chart
    await owner.getByRole('button', { name: /The numbers, day by day/ }).click();
    await owner.getByRole('columnheader', { name: 'Issued' }).waitFor();

    const { page: tablet, context } = await newPage(w, { width: 820, height: 1180 });
    await signIn(w, tablet, 'owner');
    await tablet.getByRole('img', { name: /^Points per day/ }).locator('.recharts-wrapper').waitFor();
    await tablet.mouse.move(0, 0);
    await screenshot(tablet, 'dashboard-tablet');
    await assertAccessible(tablet, 'dashboard at tablet size');
    await context.close();
  });

  it('adds a webhook endpoint, shows its secret once, and shows a delivery with its attempt', async () => {
    await open('webhooks', 'Webhooks');
    await owner.getByText('No webhook endpoint yet').waitFor();
    await owner.getByRole('button', { name: 'Add endpoint' }).click();
    const form = owner.getByRole('dialog', { name: 'Add a webhook endpoint' });
    await form.getByLabel('URL', { exact: true }).fill('http://example.com/not-allowed');
    await form.getByRole('button', { name: 'Add endpoint' }).click();
    await form.getByText(/must be https/).waitFor();
    await form.getByLabel('URL', { exact: true }).fill(receiverUrl);
    await form.getByLabel('Description', { exact: true }).fill('CRM sync');
    await form.getByRole('button', { name: 'Add endpoint' }).click();
    const shown = owner.getByRole('dialog', { name: 'The endpoint’s signing secret' });
    const secret = await shown.getByLabel('Signing secret', { exact: true }).innerText();
    assert.match(secret, /^whsec_/);
    await shown.getByRole('button', { name: 'Done' }).click();
    await owner.getByRole('button', { name: `Endpoint ${receiverUrl}` }).waitFor();
    await owner.getByText('Nothing has been sent to this endpoint yet').waitFor();

    // an event: points adjusted through the API; it reaches the receiver and shows with its attempt
    await adminApi('POST', `/members/${MEMBER}/points`, { point_account_id: SPENDABLE, kind: 'deposit', amount: '25', reason: 'browser test: a webhook event' });
    const event = await until('the receiver to get the event', async () => received.find((e) => e.type === 'points.deposited'));
    const deliveries = owner.getByRole('table', { name: `Deliveries to ${receiverUrl}` });
    const row = deliveries.getByRole('row').filter({ hasText: event.id });
    await row.getByText('succeeded').waitFor({ timeout: 15_000 });
    await row.getByText('points.deposited').waitFor();
    assert.match(await row.innerText(), /200[\s\S]*\d+ ms/, 'the attempt: its status code and duration');

    // redelivery, confirmed, makes a second attempt
    await row.getByRole('button', { name: 'Redeliver' }).click();
    const confirm = owner.getByRole('dialog', { name: 'Send this delivery again?' });
    await confirm.getByText(event.id).waitFor();
    await confirm.getByRole('button', { name: 'Redeliver now' }).click();
    await until('the second attempt', async () => (await row.innerText()).match(/200/g)?.length === 2);
    // the confirmation's closing transition (its close button without its label) is not the page to check
    await confirm.waitFor({ state: 'hidden' });
    await screenshot(owner, 'webhooks');
    await assertAccessible(owner, 'webhooks');
  });

  it('invites an operator, changes their role, keeps the last owner, and removes them', async () => {
    await open('operators', 'Operators');
    const table = owner.getByRole('table', { name: 'Operators' });
    await table.getByText('viewer@brandx.example').waitFor();
    await owner.getByRole('button', { name: 'Invite operator' }).click();
    const form = owner.getByRole('dialog', { name: /Invite an operator/ });
    await form.getByLabel('Email', { exact: true }).fill('new.analyst@brandx.example');
    await form.getByLabel('Name', { exact: true }).fill('New Analyst');
    await form.getByRole('button', { name: 'Invite' }).click();
    const invitation = owner.getByRole('dialog', { name: 'Invitation' });
    assert.ok((await invitation.getByLabel('Invitation token', { exact: true }).innerText()).length >= 20, 'the token to pass on');
    await invitation.getByText('is now viewer').waitFor();
    const link = await invitation.getByLabel('Invitation link', { exact: true }).innerText();
    assert.match(link, new RegExp(`^${w.url}/console/invitation#`));
    await screenshot(owner, 'operators-invitation');
    await invitation.getByRole('button', { name: 'Done' }).click();
    const invited = table.getByRole('row').filter({ hasText: 'new.analyst@brandx.example' });
    await invited.getByText('Invited, no password yet').waitFor();
    await invited.getByText('Viewer').waitFor();

    // the invited person opens the link in a browser of their own, sets a password and signs in
    const { page: newcomer, context } = await newPage(w);
    await newcomer.goto(link);
    await newcomer.getByLabel('New password', { exact: true }).fill('short');
    await newcomer.getByLabel('Repeat the password', { exact: true }).fill('short');
    await newcomer.getByRole('button', { name: 'Set password' }).click();
    await newcomer.getByRole('alert').getByText(/12/).waitFor();
    await assertAccessible(newcomer, 'invitation');
    await newcomer.getByLabel('New password', { exact: true }).fill('the analyst’s own password');
    await newcomer.getByLabel('Repeat the password', { exact: true }).fill('the analyst’s own password');
    await newcomer.getByRole('button', { name: 'Set password' }).click();
    await newcomer.getByRole('link', { name: 'Go to sign-in' }).click();
    await newcomer.getByLabel('Email', { exact: true }).fill('new.analyst@brandx.example');
    await newcomer.getByLabel('Password', { exact: true }).fill('the analyst’s own password');
    await newcomer.getByRole('button', { name: 'Sign in' }).click();
    await newcomer.getByText('new.analyst@brandx.example · viewer').waitFor();
    await context.close();
    await owner.reload();
    await invited.getByText('Invited, no password yet').waitFor({ state: 'detached' });

    await owner.getByRole('button', { name: 'Change the role of new.analyst@brandx.example' }).click();
    let dialog = owner.getByRole('dialog', { name: 'Change the role?' });
    await dialog.getByRole('combobox', { name: 'New role' }).click();
    await owner.getByRole('option', { name: /^Marketer/ }).click();
    await dialog.getByText('As marketer: the program').waitFor();
    await dialog.getByRole('button', { name: 'Change role' }).click();
    await invited.getByText('Marketer').waitFor();

    // the only owner cannot become anything else: the API's refusal is said plainly
    await owner.getByRole('button', { name: 'Change the role of owner@brandx.example' }).click();
    dialog = owner.getByRole('dialog', { name: 'Change the role?' });
    await dialog.getByRole('combobox', { name: 'New role' }).click();
    await owner.getByRole('option', { name: /^Viewer/ }).click();
    await dialog.getByRole('button', { name: 'Change role' }).click();
    await dialog.getByRole('alert').getByText('The retailer needs an owner').waitFor();
    await screenshot(owner, 'operators-last-owner');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await table.getByRole('row').filter({ hasText: 'owner@brandx.example' }).getByText('Owner', { exact: true }).waitFor();

    await owner.getByRole('button', { name: 'Remove new.analyst@brandx.example' }).click();
    dialog = owner.getByRole('dialog', { name: 'Remove from the team?' });
    await dialog.getByText('loses their role').waitFor();
    await dialog.getByRole('button', { name: 'Remove operator' }).click();
    await invited.waitFor({ state: 'detached' });
    await dialog.waitFor({ state: 'detached' });
    await screenshot(owner, 'operators');
    await assertAccessible(owner, 'operators');
  });

  it('issues credentials (secrets shown once) and revokes one', async () => {
    await open('credentials', 'Credentials');
    const table = owner.getByRole('table', { name: 'Credentials' });
    await table.getByText('Core API').first().waitFor();
    const before = await table.getByRole('row').count();
    await owner.getByRole('button', { name: 'Issue credentials' }).click();
    await owner.getByRole('dialog', { name: 'Issue a new set of credentials?' }).getByRole('button', { name: 'Issue credentials' }).click();
    const shown = owner.getByRole('dialog', { name: 'New credentials' });
    const appkey = await shown.getByLabel('Core appkey', { exact: true }).innerText();
    assert.ok((await shown.getByLabel('Core secret', { exact: true }).innerText()).length > 10);
    await shown.getByRole('button', { name: 'Done' }).click();
    await until('three more rows', async () => (await table.getByRole('row').count()) === before + 3);
    await owner.getByRole('button', { name: `Revoke Core API ${appkey}` }).click();
    const confirm = owner.getByRole('dialog', { name: 'Revoke this credential?' });
    await confirm.getByText(`Core API ${appkey} stops working at once`).waitFor();
    await confirm.getByRole('button', { name: 'Revoke credential' }).click();
    await table.getByRole('row').filter({ hasText: appkey }).getByText('revoked', { exact: true }).waitFor();
    await confirm.waitFor({ state: 'detached' });
    await screenshot(owner, 'credentials');
    await assertAccessible(owner, 'credentials');
  });

  it('lists privacy requests by status, each linking to its member', async () => {
    await adminApi('POST', `/members/${OTHER_MEMBER}/restrict`, { reason: 'browser test: a privacy request' });
    await open('privacy', 'Privacy requests');
    const table = owner.getByRole('table', { name: 'Privacy requests' });
    const row = table.getByRole('row').filter({ hasText: 'Restrict' });
    await row.getByText('completed', { exact: true }).waitFor();
    await screenshot(owner, 'privacy');
    await assertAccessible(owner, 'privacy requests');
    await owner.getByRole('combobox', { name: 'Status' }).click();
    await owner.getByRole('option', { name: 'Pending' }).click();
    await owner.getByText('No pending privacy request.').waitFor();
    await owner.getByRole('combobox', { name: 'Status' }).click();
    await owner.getByRole('option', { name: 'Completed' }).click();
    await row.getByRole('link').click();
    await owner.waitForURL(new RegExp(`/members/${OTHER_MEMBER}$`));
  });

  it('shows those changes in the audit trail, filtered, with what each changed', async () => {
    await open('audit', 'Audit trail');
    const table = owner.getByRole('table', { name: 'Audit records' });
    for (const action of ['webhook.create', 'webhook.redeliver', 'operator.invite', 'operator.change_role', 'operator.remove', 'credential.issue', 'credential.revoke', 'points.adjust']) {
      await table.getByText(action, { exact: true }).first().waitFor();
    }
    await owner.getByRole('combobox', { name: 'Action' }).fill('operator.change_role');
    await owner.getByRole('button', { name: 'Filter', exact: true }).click();
    await until('only role changes', async () => {
      const actions = await table.locator('tbody tr td:nth-child(4)').allInnerTexts();
      return actions.length > 0 && actions.every((a) => a === 'operator.change_role');
    });
    await table.getByRole('button', { name: /Show the details of operator.change_role/ }).first().click();
    const changed = owner.getByRole('table', { name: 'What changed' });
    const roleRow = changed.getByRole('row').filter({ hasText: 'role' }).first();
    await roleRow.waitFor();
    assert.match(await roleRow.innerText(), /viewer[\s\S]*marketer/);
    await screenshot(owner, 'audit');
    await assertAccessible(owner, 'audit trail');
    await owner.getByRole('button', { name: 'Clear filters' }).click();
    await table.getByText('webhook.create', { exact: true }).waitFor();
  });

  it('offers a viewer no operators, credentials or audit, and no webhook changes', async () => {
    const { page, context } = await newPage(w);
    await signIn(w, page, 'viewer');
    const nav = await page.getByRole('navigation', { name: 'Screens' }).getByRole('link').allInnerTexts();
    for (const hidden of ['Operators', 'Credentials', 'Audit trail']) assert.ok(!nav.includes(hidden), `${hidden} not offered`);
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('button', { name: `Endpoint ${receiverUrl}` }).click();
    await page.getByRole('table', { name: `Deliveries to ${receiverUrl}` }).getByText('points.deposited').first().waitFor();
    for (const name of ['Add endpoint', 'Edit', 'Rotate secret', 'Remove', 'Redeliver']) assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, `no ${name} button`);
    await page.waitForFunction(() => (globalThis as unknown as { document: { getAnimations(): unknown[] } }).document.getAnimations().length === 0); // the panel has opened fully
    await screenshot(page, 'webhooks-viewer');
    await page.goto(`/console/r/${w.demo.retailer_id}/operators`);
    await page.getByRole('alert').getByText('Not available to your role').waitFor();
    await context.close();
  });
});
