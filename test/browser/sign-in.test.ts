// Signing in and out of the console in Chromium, the retailer frame, and what each role is offered.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { assertAccessible, consoleWorld, newPage, PASSWORD, screenshot, signIn, type ConsoleWorld } from '../support/browser.js';

describe('console: sign-in and the frame', () => {
  let w: ConsoleWorld;
  before(async () => {
    w = await consoleWorld();
  });

  it('refuses a wrong password without saying whether the email exists, then signs in and out', async () => {
    const { page } = await newPage(w);
    await page.goto('/console/');
    await page.waitForURL(/\/console\/sign-in/);
    await screenshot(page, 'sign-in');
    await assertAccessible(page, 'sign-in');
    await page.getByLabel('Email', { exact: true }).fill(w.emails.owner);
    await page.getByLabel('Password', { exact: true }).fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('The email or the password is not right.').waitFor();
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/dashboard$/);
    await page.getByText('owner@brandx.example · owner').waitFor();
    // a reload keeps the session (the cookie) and its CSRF token (GET /admin/me)
    await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in$/);
    await page.goto(`/console/r/${w.demo.retailer_id}/members`);
    await page.waitForURL(/\/sign-in$/);
  });

  it('offers each role only its screens', async () => {
    const screens = async (role: 'owner' | 'support' | 'viewer') => {
      const { page, context } = await newPage(w);
      await signIn(w, page, role);
      const nav = page.getByRole('navigation', { name: 'Screens' });
      await nav.getByRole('link', { name: 'Dashboard' }).waitFor();
      const names = await nav.getByRole('link').allInnerTexts();
      await context.close();
      return names;
    };
    assert.deepEqual(await screens('owner'), ['Dashboard', 'Members', 'Program', 'Webhooks', 'Privacy requests', 'Operators', 'Credentials', 'Audit trail']);
    assert.deepEqual(await screens('viewer'), ['Dashboard', 'Members', 'Program', 'Webhooks', 'Privacy requests']);
    assert.deepEqual(await screens('support'), ['Dashboard', 'Members', 'Program', 'Webhooks', 'Privacy requests']);
  });

  it('serves the console with its own assets only, and a page for every path of the application', async () => {
    const page = await fetch(`${w.url}/console/r/x/members`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const html = await page.text();
    assert.match(html, /<div id="root">/);
    assert.equal(page.headers.get('cache-control'), 'no-cache', 'a new release is picked up at once');
    const script = await fetch(`${w.url}/console/${/assets\/index-[\w-]+\.js/.exec(html)![0]}`, { headers: { 'accept-encoding': 'br' } });
    assert.equal(script.status, 200);
    assert.equal(script.headers.get('content-encoding'), 'br', 'sent compressed');
    assert.match(script.headers.get('cache-control') ?? '', /immutable/);
    assert.equal((await fetch(`${w.url}/console/assets/nothing-here.js`)).status, 404);
  });
});
