// The members screens in Chromium: finding a member, their whole picture, and what support does to
// them (points adjusted with a reason, an offer revoked), what a viewer is not offered, the
// timeline's infinite scroll, accessibility and screenshots at laptop and tablet sizes.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { call } from '../support/harness.js';
import { assertAccessible, consoleWorld, newPage, screenshot, signIn, type ConsoleWorld } from '../support/browser.js';

// examples/brand-x/members.yaml: Pat Till holds 800 points in Spendable Account and four offers
const PAT = { id: '6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d90', email: 'pat.till@brandx.example' };
const SPENDABLE = 'f4d91345-bbe8-4ca7-864d-771761be873e';
const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };

/** The available balance the Points tab shows for an account. */
async function available(page: Page, account: string): Promise<string> {
  const row = page.getByRole('table', { name: 'Point accounts' }).getByRole('row').filter({ has: page.getByRole('rowheader', { name: account, exact: true }) });
  return (await row.getByRole('cell').first().innerText()).trim();
}

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`waited for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('console: members', { timeout: 240_000 }, () => {
  let w: ConsoleWorld;
  let memberUrl: string;
  before(async () => {
    w = await consoleWorld();
    memberUrl = `/console/r/${w.demo.retailer_id}/members/${PAT.id}`;
  });

  it('finds a member by email, keeps the search in the URL and opens their page', async () => {
    const { page } = await newPage(w);
    await signIn(w, page, 'support');
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Members' }).click();
    await page.getByLabel('Search members').fill(PAT.email);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL(/members\?q=pat\.till/);
    const results = page.getByRole('table', { name: 'Members found' });
    await results.getByRole('link', { name: 'Pat Till' }).waitFor();
    assert.match(await results.innerText(), /BRANDX-MEMBER-0005/);
    assert.match(await results.innerText(), /6175550123/);
    await screenshot(page, 'members-search');
    await assertAccessible(page, 'member search');
    // the start of a name finds them too
    await page.getByLabel('Search members').fill('Pa');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL(/members\?q=Pa$/);
    await results.getByRole('link', { name: 'Pat Till' }).waitFor();
    await results.getByRole('link', { name: 'Pat Till' }).click();
    await page.getByRole('heading', { name: 'Pat Till' }).waitFor();
    await page.getByText('Top level').or(page.getByText(/ of [\d,]+ points to /)).first().waitFor();
    assert.match(await page.getByText(/points to Gold/).innerText(), /^800 of 1,500 points to Gold/);
    await screenshot(page, 'member');
    await assertAccessible(page, 'member overview');
    // back returns to the results of the search
    await page.goBack();
    await page.waitForURL(/members\?q=Pa$/);
    await results.getByRole('link', { name: 'Pat Till' }).waitFor();
    assert.equal(await page.getByLabel('Search members').inputValue(), 'Pa');
  });

  it('adjusts points with a reason only: the ledger gains the entry and the balance moves by exactly the amount', async () => {
    const { page } = await newPage(w);
    await signIn(w, page, 'support');
    await page.goto(memberUrl);
    await page.getByRole('tab', { name: 'Points' }).click();
    await page.getByRole('table', { name: 'Ledger' }).waitFor();
    assert.equal(await available(page, 'Spendable Account'), '800');
    await screenshot(page, 'member-points');
    await assertAccessible(page, 'member points');

    await page.getByRole('button', { name: 'Adjust points' }).click();
    const dialog = page.getByRole('dialog', { name: 'Adjust points' });
    await dialog.getByLabel('Point account', { exact: true }).first().click();
    await page.getByRole('option', { name: /^Spendable Account \(/ }).click();
    await dialog.getByLabel('Amount').fill('25');
    await assertAccessible(page, 'adjust points');
    // without a reason, the API refuses and says so on the field
    await dialog.getByRole('button', { name: 'Deposit 25 points' }).click();
    const reason = dialog.getByRole('textbox', { name: /^Reason/ });
    await until('the reason field marked invalid', async () => (await reason.getAttribute('aria-invalid')) === 'true');
    const describedBy = (await reason.getAttribute('aria-describedby')) ?? '';
    const errorText = await page.locator(describedBy.split(' ').map((id) => `[id="${id}"]`).join(',')).allInnerTexts();
    assert.ok(errorText.some((t) => /reason/i.test(t)), `the error names the reason: ${errorText.join(' | ')}`);
    assert.equal(await available(page, 'Spendable Account'), '800', 'nothing was deposited');

    await reason.fill('Goodwill: the Boston till was down');
    await dialog.getByRole('button', { name: 'Deposit 25 points' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('status').getByText('Deposited 25 points into Spendable Account: the balance is now 825.').waitFor();
    await until('the balance of 825', async () => (await available(page, 'Spendable Account')) === '825');
    const first = page.getByRole('table', { name: 'Ledger' }).getByRole('row').nth(1);
    await until('the ledger entry', async () => /Goodwill: the Boston till was down/.test(await first.innerText()));
    const cells = await first.getByRole('cell').allInnerTexts();
    assert.equal(cells[1], 'Spendable Account');
    assert.equal(cells[3], '+25');
    assert.equal(cells[4], '825');
    assert.match(cells[6], /support@brandx\.example/);
    // the ledger filters by kind
    await page.getByLabel('Kinds', { exact: true }).first().click();
    await page.getByRole('option', { name: 'Expiry' }).click();
    await page.getByText('No entry matches these filters.').waitFor();
  });

  it('revokes an offer: its status becomes Revoked', async () => {
    const { page } = await newPage(w);
    await signIn(w, page, 'support');
    await page.goto(`${memberUrl}?tab=offers`);
    const table = page.getByRole('table', { name: 'Offers' });
    const row = table.locator('tr').filter({ has: page.getByRole('button', { name: /^Revoke \$5 Reward/ }) }).first();
    const button = row.getByRole('button', { name: /^Revoke/ });
    await button.waitFor();
    const offerId = await row.getAttribute('data-offer');
    assert.ok(offerId);
    const same = table.locator(`tr[data-offer="${offerId}"]`);
    assert.match(await same.innerText(), /Issued/);
    await screenshot(page, 'member-offers');
    await assertAccessible(page, 'member offers');
    await button.click();
    const dialog = page.getByRole('dialog', { name: 'Revoke an offer' });
    assert.match(await dialog.innerText(), /can no longer be redeemed/);
    await dialog.getByLabel('Reason', { exact: true }).fill('Issued by mistake');
    await dialog.getByRole('button', { name: 'Revoke offer' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await until('the offer revoked', async () => /Revoked/.test(await same.innerText()));
    assert.match(await same.innerText(), /Issued by mistake/);
    assert.equal(await same.getByRole('button', { name: /^Revoke/ }).count(), 0, 'a revoked offer is not offered for revoking again');
  });

  it('shows a viewer the member but no action', async () => {
    const { page } = await newPage(w);
    await signIn(w, page, 'viewer');
    await page.goto(memberUrl);
    await page.getByRole('heading', { name: 'Pat Till' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Adjust points' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'More actions' }).count(), 0);
    await page.getByRole('tab', { name: /^Offers/ }).click();
    await page.getByRole('table', { name: 'Offers' }).waitFor();
    assert.equal(await page.getByRole('button', { name: /^Revoke/ }).count(), 0);
  });

  it('loads older timeline entries when the end of the list is scrolled into view', async () => {
    // more than a page (20) of entries: deposits through the API
    for (let i = 0; i < 24; i++) {
      const res = await call(w.t.app, { method: 'POST', url: `/admin/tenants/${w.demo.retailer_id}/members/${PAT.id}/points`, headers: ADMIN, payload: { point_account_id: SPENDABLE, kind: 'deposit', amount: 1, reason: `timeline filler ${i}` } });
      assert.equal(res.status, 200, res.body);
    }
    const { page } = await newPage(w);
    await signIn(w, page, 'support');
    await page.goto(`${memberUrl}?tab=timeline`);
    const entries = page.getByTestId('timeline-entry');
    await page.getByText('20 entries loaded; scroll for older ones').waitFor();
    assert.equal(await entries.count(), 20);
    await assertAccessible(page, 'member timeline');
    await screenshot(page, 'member-timeline');
    await page.getByRole('region', { name: 'Timeline entries' }).evaluate((box) => {
      const b = box as unknown as { scrollTop: number; scrollHeight: number };
      b.scrollTop = b.scrollHeight;
    });
    await until('a second page', async () => (await entries.count()) > 20);
    await page.getByText(/^(All \d+ entries|\d+ entries loaded; scroll for older ones)$/).waitFor();
    assert.ok((await entries.count()) > 20);
  });

  it('fits a tablet', async () => {
    const { page } = await newPage(w, { width: 820, height: 1180 });
    await signIn(w, page, 'support');
    await page.goto(`/console/r/${w.demo.retailer_id}/members?q=${encodeURIComponent(PAT.email)}`);
    await page.getByRole('table', { name: 'Members found' }).getByRole('link', { name: 'Pat Till' }).waitFor();
    await screenshot(page, 'members-search-tablet');
    await assertAccessible(page, 'member search (tablet)');
    await page.getByRole('link', { name: 'Pat Till' }).click();
    await page.getByRole('heading', { name: 'Pat Till' }).waitFor();
    await page.getByText(/points to Gold/).waitFor();
    await screenshot(page, 'member-tablet');
    await page.getByRole('tab', { name: 'Points' }).click();
    await page.getByRole('table', { name: 'Ledger' }).waitFor();
    await screenshot(page, 'member-points-tablet');
    await assertAccessible(page, 'member points (tablet)');
  });
});
