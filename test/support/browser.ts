// The browser tests' world: a real server on PostgreSQL (its own database) with the Brand X
// demo and an operator of each role, listening on the loopback; Debian's Chromium driven by
// Playwright; screenshots of what the tests saw (test-results/screenshots, not committed); and
// axe-core's accessibility check of each screen.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Config } from '../../src/config.js';
import { loadDemo } from '../../src/demo.js';
import { createOperatorWithPassword } from '../../src/flows/operators.js';
import { CONSOLE_DIST } from '../../src/http/console.js';
import type { Role } from '../../src/modules/operators/roles.js';
import { onFileEnd, postgresApp, type TestApp } from './harness.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const PASSWORD = 'a long enough password';

export interface ConsoleWorld {
  t: TestApp;
  /** http://127.0.0.1:PORT */
  url: string;
  /** The demo's ids and credentials (loadDemo). */
  demo: Record<string, string>;
  /** The sign-in email of the demo retailer's operator of each role. */
  emails: Record<Role, string>;
  browser: Browser;
}

/** A server (its config as `overrides` say) with the demo and its operators, and a browser; both end with the test file. */
export async function consoleWorld(overrides: Partial<Config> = {}): Promise<ConsoleWorld> {
  assert.ok(existsSync(join(CONSOLE_DIST, 'index.html')), 'the console is built (npm run build, or npm ci)');
  assert.ok(existsSync(CHROMIUM), `Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  const t = await postgresApp(overrides);
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const demo = await loadDemo(t.db, address);
  const emails = {} as Record<Role, string>;
  for (const role of ['owner', 'marketer', 'support', 'viewer'] as const) {
    emails[role] = `${role}@brandx.example`;
    await createOperatorWithPassword(t.db, { email: emails[role], name: `${role[0].toUpperCase()}${role.slice(1)} Operator`, password: PASSWORD, role, retailerId: demo.retailer_id });
  }
  // the flags this machine needs: no sandbox as root, and nothing that reaches out to the network
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  onFileEnd(() => browser.close());
  mkdirSync(SCREENSHOTS, { recursive: true });
  return { t, url: address, demo, emails, browser };
}

/** A new browser context (its own cookies) at a laptop's size, or a tablet's. */
export async function newPage(world: ConsoleWorld, viewport: { width: number; height: number } = { width: 1366, height: 860 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await world.browser.newContext({ viewport, locale: 'en-US', baseURL: world.url });
  const page = await context.newPage();
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  page.on('requestfailed', (r) => failures.push(`${r.url()} ${r.failure()?.errorText}`));
  page.on('request', (r) => assert.ok(r.url().startsWith(world.url) || r.url().startsWith('data:'), `no request leaves the server: ${r.url()}`));
  onFileEnd(() => assert.deepEqual(failures.filter((f) => !/ERR_ABORTED/.test(f)), [], 'no script error or failed request'));
  return { context, page };
}

/** Signs in through the form as an operator of `role`, and waits for the dashboard. */
export async function signIn(world: ConsoleWorld, page: Page, role: Role): Promise<void> {
  await page.goto('/console/');
  await page.getByLabel('Email', { exact: true }).fill(world.emails[role]);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/console\/r\/[^/]+\/dashboard/);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** axe-core on the page as it is: no serious or critical violation (labels, contrast, roles, keyboard). */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze();
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`),
    [],
    `${what}: accessibility`,
  );
}
