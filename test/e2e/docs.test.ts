/**
 * /docs in a real browser with the network closed: every host but relevo's is unresolvable and
 * any request elsewhere is aborted and recorded. A reader authorizes with a project's API key,
 * tries "get the integration" (the 404 envelope) and "start a conversation" (200) against the
 * same server, on a desktop and on a phone-sized screen. Debian's Chromium drives the page; no
 * browser is downloaded. Without /usr/bin/chromium the test is skipped, loudly.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromiumFor, launchChromium } from '../helpers/browser.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';

declare const document: { documentElement: { scrollWidth: number } };

const haveChromium = haveChromiumFor('the /docs browser test');

const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const GET_INTEGRATION = 'operations-integrations-get_jelouapi_v1_external_support__projectId_';
const START = 'operations-conversations-post_jelouapi_v1_external_support__projectId__conversations_start';

describe.skipIf(!haveChromium)('/docs in a browser, offline', () => {
  let h: Harness;
  let s: Seed;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    h = await createHarness();
    s = await h.seed('Acme');
    await h.app.server.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h.app.server.server.address() as AddressInfo).port}`;
    browser = await launchChromium([
      // No name resolves but loopback: a CDN, a font host or a validator could not be reached.
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
    ]);
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  /** A context where only relevo answers; what else the page asked for, and what it complained of. */
  async function offlineContext(options: Parameters<Browser['newContext']>[0]) {
    const context: BrowserContext = await browser.newContext(options);
    const elsewhere: string[] = [];
    const problems: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${base}/`)) return route.continue();
      elsewhere.push(url);
      return route.abort('internetdisconnected');
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // The 404 that "try it" asks for is logged by the browser as a failed resource.
      if (m.type() === 'error' && !m.text().includes('status of 404')) problems.push(m.text());
    });
    return { context, page, elsewhere, problems };
  }

  async function authorize(page: Page, apiKey: string): Promise<void> {
    await page.click('button.authorize');
    const apiKeyBox = page.locator('.modal-ux .auth-container').filter({ hasText: 'x-api-key' });
    await apiKeyBox.locator('input').fill(apiKey);
    await apiKeyBox.locator('button.authorize').click();
    await page.click('.modal-ux button.btn-done');
  }

  /** Opens an operation, switches to "try it out", fills the project id and its body, executes. */
  async function tryIt(page: Page, id: string, body?: unknown): Promise<{ status: string; json: Json }> {
    const op: Locator = page.locator(`#${id}`);
    await op.locator('.opblock-summary').click();
    await op.locator('button.try-out__btn').click();
    await op.locator('input[placeholder="projectId"]').fill(s.project.id);
    if (body !== undefined) await op.locator('textarea.body-param__text').fill(JSON.stringify(body));
    await op.locator('button.execute').click();
    const live = op.locator('.live-responses-table .response');
    await live.locator('.response-col_status').first().waitFor();
    const status = (await live.locator('.response-col_status').first().textContent()) ?? '';
    const text = (await live.locator('.response-col_description pre.microlight').first().textContent()) ?? '';
    return { status: status.trim(), json: JSON.parse(text) };
  }

  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely and asserted on.
  type Json = any;

  it('renders from relevo alone and tries operations with a real key (1280 px)', async () => {
    const { context, page, elsewhere, problems } = await offlineContext({
      viewport: { width: 1280, height: 900 },
    });
    await page.goto(`${base}/docs`);
    await page.waitForSelector(`#${START}`);
    expect(await page.title()).toBe('relevo API reference');
    // Every operation of the document is on the page, and the webhooks too.
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as Json;
    const count = Object.values<Json>(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    expect(await page.locator('.opblock-tag-section .opblock').count()).toBeGreaterThanOrEqual(count);
    expect(await page.locator('[id^="operations-webhooks-"]').count()).toBe(4);

    await authorize(page, s.apiKey);
    const missing = await tryIt(page, GET_INTEGRATION);
    expect(missing.status).toBe('404');
    expect(missing.json.error.code).toBe('integration_not_found');
    expect(missing.json.statusMessage).toBe('failure');

    const started = await tryIt(page, START, { botId: s.bot.id, userId: s.user.id, initialMessage: 'Hello' });
    expect(started.status).toBe('200');
    expect(started.json.data).toMatchObject({ botId: s.bot.id, userId: s.user.id, status: 'active' });
    await page.locator(`#${START}`).screenshot({ path: join(ARTIFACTS, 'docs-try-it-1280.png') });

    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('fits a phone screen (390 px) and still tries an operation', async () => {
    const { context, page, elsewhere, problems } = await offlineContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    await page.goto(`${base}/docs`);
    await page.waitForSelector(`#${GET_INTEGRATION}`);
    // No sideways scrolling of the whole page.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await authorize(page, s.apiKey);
    const missing = await tryIt(page, GET_INTEGRATION);
    expect(missing.status).toBe('404');
    expect(missing.json.error.code).toBe('integration_not_found');
    await page.screenshot({ path: join(ARTIFACTS, 'docs-390.png') });
    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
