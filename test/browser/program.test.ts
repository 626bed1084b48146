// The program screens in Chromium: the view of every section, the editor's validation on the field,
// the diff, a simulation, applying and the history of applies; and what each role is offered.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { assertAccessible, consoleWorld, newPage, screenshot, signIn, type ConsoleWorld } from '../support/browser.js';

const MARCUS = '0f58fb38-1a1c-11f0-9791-b515ac110002';
const RULE = 'Rule: Premium subscription started';


/** Polls until the text is shown (no sleeps: waits on what the user sees). */
async function seen(page: Page, text: string | RegExp) {
  await page.getByText(text).first().waitFor();
}

describe('console: the program', () => {
  let w: ConsoleWorld;
  before(async () => {
    w = await consoleWorld();
    // one recorded event for the simulation to replay: the premium rule's 100 points
    const res = await fetch(`${w.url}/incentives/api/1.0/user_events/trigger_user_event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${w.demo.appkey_connect}:${w.demo.secret_connect}`).toString('base64')}` },
      body: JSON.stringify({ retailer_id: w.demo.retailer_id, user_id: MARCUS, event_lookup: 'PREMIUM_SUBSCRIPTION_STARTED' }),
    });
    assert.equal(res.status, 200, await res.text());
  });

  it('lets a marketer edit a rule: the error on the field, the diff, a simulation, apply; the owner sees the apply in the history', async () => {
    const { page } = await newPage(w);
    await signIn(w, page, 'marketer');
    await page.goto(`/console/r/${w.demo.retailer_id}/program`);
    const rule = page.getByRole('article', { name: RULE });
    await rule.getByText('100 points into Spendable Account').waitFor();
    // every section readable
    for (const section of ['Retailer', 'Stores', 'Point accounts and expiry', 'Point sources', 'Tiers and levels', 'Offers', 'Reward stores', 'Campaigns', 'Rules']) {
      await page.getByRole('region', { name: section, exact: true }).waitFor();
    }
    await page.getByRole('region', { name: 'Tiers and levels' }).getByRole('cell', { name: '1,500 Tier Points' }).waitFor();
    await page.getByRole('article', { name: 'Offer: $5 Reward' }).getByText('Terms: Terms and Conditions').waitFor();
    await page.getByRole('article', { name: 'Campaign: Test_Multi_Codes' }).getByText(/Goal promotion_25_code_claimed/).waitFor();
    assert.equal(await page.getByRole('region', { name: 'History of applies' }).count(), 0, 'the history needs the team permission');
    await screenshot(page, 'program-view');
    await assertAccessible(page, 'program view');
    await page.getByRole('tab', { name: 'YAML' }).click();
    await seen(page, 'PREMIUM_SUBSCRIPTION_STARTED');
    await screenshot(page, 'program-view-yaml');

    await page.getByRole('link', { name: 'Edit program' }).click();
    await page.getByRole('heading', { name: 'Edit program' }).waitFor();
    // the YAML tab holds the whole program, and the form takes it back
    await page.getByRole('tab', { name: 'YAML' }).click();
    assert.match(await page.getByLabel('Program (YAML)').inputValue(), /name: PREMIUM_SUBSCRIPTION_STARTED/);
    await page.getByRole('tab', { name: 'Form' }).click();
    const group = page.getByRole('group', { name: RULE });
    const points = group.getByLabel('Points', { exact: true });
    assert.equal(await points.inputValue(), '100');
    await points.fill('-5');
    await page.getByRole('button', { name: 'Review changes' }).click();
    await group.getByText('must be greater than 0').waitFor();
    assert.equal(await points.getAttribute('aria-invalid'), 'true', 'the error is on the points field');
    await page.getByRole('alert').getByText(/^rules\.\d+\.outcomes\.0\.amount: must be greater than 0/).waitFor();
    await screenshot(page, 'program-editor-error');
    await assertAccessible(page, 'program editor with an error');

    await points.fill('101');
    assert.equal(await group.getByText('must be greater than 0').count(), 0, 'the error goes once the field changes');
    await page.getByRole('button', { name: 'Review changes' }).click();
    const changes = page.getByRole('article', { name: 'Changes to Rules' });
    await changes.getByText('Changed: Premium subscription started').waitFor();
    await changes.getByRole('row', { name: /outcomes\[0\]\.amount\s+100\s+101/ }).waitFor();
    await screenshot(page, 'program-diff');

    await page.getByRole('button', { name: 'Run simulation' }).click();
    const result = page.getByRole('region', { name: 'Simulation result' });
    await result.getByText(/replayed 1 events/).waitFor();
    await result.getByRole('row', { name: /Spendable Account\s+100\s+101/ }).waitFor();
    await result.getByRole('row', { name: /Premium subscription started\s+1\s+1/ }).waitFor();
    await screenshot(page, 'program-simulation');
    await assertAccessible(page, 'program diff and simulation');

    await page.getByRole('button', { name: 'Apply…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Apply the program?' });
    await dialog.getByText('Rules: 1 changed (Premium subscription started)').waitFor();
    await dialog.getByRole('button', { name: 'Apply 1 changes' }).click();
    await page.waitForURL(/\/program$/);
    await page.getByRole('status').getByText('Rules: 1 changed (Premium subscription started)').waitFor();
    await page.getByRole('article', { name: RULE }).getByText('101 points into Spendable Account').waitFor();

    const owner = await newPage(w);
    await signIn(w, owner.page, 'owner');
    await owner.page.goto(`/console/r/${w.demo.retailer_id}/program`);
    const history = owner.page.getByRole('region', { name: 'History of applies' });
    const apply = history.getByRole('row', { name: /marketer@brandx\.example/ });
    await apply.waitFor();
    await screenshot(owner.page, 'program-history');
    assert.match(await apply.innerText(), /UTC\s+marketer@brandx\.example\s+127\.0\.0\.1/, 'when, who and from where');
    await assertAccessible(owner.page, 'program view with history');
  });

  it('offers no editing to support or viewers, and refuses the editor to them', async () => {
    for (const role of ['support', 'viewer'] as const) {
      const { page, context } = await newPage(w, { width: 820, height: 1180 });
      await signIn(w, page, role);
      await page.goto(`/console/r/${w.demo.retailer_id}/program`);
      await page.getByRole('article', { name: RULE }).waitFor();
      assert.equal(await page.getByRole('link', { name: 'Edit program' }).count(), 0, `${role}: no Edit program`);
      assert.equal(await page.getByRole('button', { name: /Edit|Apply/ }).count(), 0, `${role}: no edit actions`);
      assert.equal(await page.getByRole('region', { name: 'History of applies' }).count(), 0);
      if (role === 'viewer') await screenshot(page, 'program-view-tablet');
      await page.goto(`/console/r/${w.demo.retailer_id}/program/edit`);
      await page.getByRole('alert').getByText('Not available to your role').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Review changes' }).count(), 0);
      await context.close();
    }
  });
});
