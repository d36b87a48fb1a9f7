/**
 * The console's browser tests share this: the two widths every flow runs at, a page that records
 * Content-Security-Policy violations and page errors, the check made on every screen (a
 * screenshot in test-artifacts/, an axe-core scan with no serious or critical violation, no
 * sideways scrolling), and the two ways to sign in.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';

// page.evaluate's callbacks run in the browser; the project compiles without the DOM library.
interface AxeResult {
  readonly violations: readonly {
    readonly id: string;
    readonly impact: string | null;
    readonly help: string;
    readonly nodes: readonly { readonly target: readonly unknown[] }[];
  }[];
}
declare const axe: { run(context: unknown, options: unknown): Promise<AxeResult> };
declare const document: { readonly documentElement: { readonly scrollWidth: number } };

export const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export const WIDTHS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;
export type Width = (typeof WIDTHS)[number];

export interface ConsolePage {
  readonly context: BrowserContext;
  readonly page: Page;
}

/** A new browser context at `width` on `${base}/console`; CSP violations and page errors go to `problems`. */
export async function openConsole(
  browser: Browser,
  base: string,
  width: Width,
  problems: string[],
  path = '/console',
): Promise<ConsolePage> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const context = await browser.newContext({ viewport: { width: width.width, height: width.height } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = await context.newPage();
  // A step that waits longer has failed: say which, before the test's own timeout.
  page.setDefaultTimeout(15_000);
  page.on('console', (m) => {
    if (/Content[- ]Security[- ]Policy|Refused to/i.test(m.text()))
      problems.push(`${width.name}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${width.name}: ${e.message}`));
  await page.goto(`${base}${path}`);
  return { context, page };
}

/** Screenshot, axe-core scan (no serious or critical violation) and no sideways scrolling. */
export async function checkScreen(page: Page, name: string, width: Width): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `console-${name}-${width.name}.png`), fullPage: true });
  // Through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(AXE);
  const result = await page.evaluate(() =>
    axe.run(document, { resultTypes: ['violations'], runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }),
  );
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
  expect(bad, `${name} at ${width.name}`).toEqual([]);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width.width);
}

export async function signInWithAdminToken(page: Page, token: string): Promise<void> {
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Admin token', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
}

export async function signInWithApiKey(page: Page, projectId: string, apiKey: string): Promise<void> {
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel("A project's API key", { exact: true }).check();
  await page.getByLabel('Project id', { exact: true }).fill(projectId);
  await page.getByLabel('API key', { exact: true }).fill(apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // A project credential lands on the list of its one project; its page opens with the overview.
  await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
  await page.getByRole('list', { name: 'Projects' }).getByRole('link', { name: projectId }).click();
  await page.getByRole('heading', { level: 2, name: 'Overview' }).waitFor();
}
