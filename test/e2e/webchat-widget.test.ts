/**
 * The embeddable widget in a real browser: another site (a loopback server on another port, and
 * another site name: localhost, while relevo is 127.0.0.1) with its own strict policy, which
 * allows scripts and frames from relevo's origin only and no inline code, includes the one
 * <script> tag. The launcher appears, opens the chat in a frame, the visitor is greeted, writes,
 * and reads the bot's answer; at 1280 px (a corner panel) and on a 390 px phone (the whole
 * screen). Keyboard: Enter opens, the focus goes to the panel's close button, Escape (on the page
 * or inside the chat's frame) closes and gives the focus back. axe-core finds no serious or critical problem on the host page with the
 * chat open, nor in the chat's frame. Screenshots go to test-artifacts/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../src/bots/rules/rule-bot.js';
import { haveChromiumFor, launchChromium } from '../helpers/browser.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';

// The callbacks given to page.evaluate run in the browser; the project compiles without the DOM
// library, so the few browser globals they touch are declared here, for this file only.
interface BrowserElement {
  readonly textContent: string | null;
  readonly shadowRoot: { readonly activeElement: BrowserElement | null } | null;
  getAttribute(name: string): string | null;
}
declare const document: {
  querySelector(selector: string): BrowserElement | null;
  querySelectorAll(selector: string): Iterable<BrowserElement>;
  readonly documentElement: { readonly scrollWidth: number };
};
interface AxeResult {
  violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown }> }>;
}
declare const axe: { run(context: unknown, options: unknown): Promise<AxeResult> };

const haveChromium = haveChromiumFor('the web chat widget browser test');

const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const HELLO = 'Hello, do you ship to Quito?';

const WIDTHS = [
  { name: '1280', options: { viewport: { width: 1280, height: 800 } } },
  {
    name: '390',
    options: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  },
] as const;

/** Another site: pages that include the widget's tag, under a policy that allows relevo only. */
async function startHostSite(relevo: string, botId: string): Promise<{ server: Server; url: string }> {
  const policy = [
    "default-src 'none'",
    `script-src ${relevo}`,
    `frame-src ${relevo}`,
    "style-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const page = (title: string, body: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/site.css">
</head>
<body>
<main>
<h1>${title}</h1>
<p>Hand-made ceramics from Cuenca. Orders ship within two working days.</p>
<p><a href="/shipping">Shipping and returns</a></p>
</main>
${body}
</body>
</html>`;
  const pages: Record<string, string> = {
    '/': page('Cerámica Andina', `<script src="${relevo}/webchat/${botId}/widget.js" async></script>`),
    '/unknown': page(
      'Cerámica Andina',
      `<script src="${relevo}/webchat/bot_doesnotexist/widget.js" async></script>`,
    ),
    '/named': page(
      'Cerámica Andina',
      `<script data-name="Ana Pérez" src="${relevo}/webchat/${botId}/widget.js" async></script>`,
    ),
    // The plain chat page in a frame: refused, since only the ?embed=1 variant may be framed.
    '/plain': page('Cerámica Andina', `<iframe src="${relevo}/webchat/${botId}" title="Chat"></iframe>`),
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/site.css') {
      res.writeHead(200, { 'content-type': 'text/css' });
      // A site's own rules that would spoil a widget that did not keep to its shadow root.
      res.end(
        'body{margin:0;font:17px/1.6 Georgia,serif;color:#222;background:#faf7f2}main{max-width:640px;margin:0 auto;padding:24px}button{background:red!important;border:4px solid lime}iframe{border:8px solid orange}',
      );
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const html = pages[path];
    if (html === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': policy });
    res.end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://localhost:${(server.address() as AddressInfo).port}` };
}

describe.skipIf(!haveChromium)('the web chat widget on another site', () => {
  let h: Harness;
  let s: Seed;
  let relevo: string;
  let site: { server: Server; url: string };
  let browser: Browser;

  beforeAll(async () => {
    h = await createHarness();
    s = await h.seed('Acme');
    await h.app.server.listen({ port: 0, host: '127.0.0.1' });
    relevo = `http://127.0.0.1:${(h.app.server.server.address() as AddressInfo).port}`;
    site = await startHostSite(relevo, s.bot.id);
    browser = await launchChromium(['--disable-quic']);
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => site?.server.close(r));
    await h?.close();
  });

  /** A visitor's tab on the host site, recording policy refusals, script errors and warnings. */
  async function visit(options: (typeof WIDTHS)[number]['options'], path = '/') {
    const context = await browser.newContext(options);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const problems: string[] = [];
    const warnings: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (/Content[- ]Security[- ]Policy|Refused to/i.test(m.text())) problems.push(m.text());
      else if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      if (m.type() === 'warning') warnings.push(m.text());
    });
    await page.goto(`${site.url}${path}`);
    return { context, page, problems, warnings };
  }

  const label = () => `Chat with ${s.bot.name}`;
  /** The launcher, also while it is hidden (a phone's open panel covers and hides it). */
  const launcherOf = (page: Page) => page.locator('[data-relevo-webchat] button[aria-controls]');

  /** Which element of the widget has the focus (by its label), or null. */
  const focused = (page: Page) =>
    page.evaluate(
      () =>
        document
          .querySelector('[data-relevo-webchat]')
          ?.shadowRoot?.activeElement?.getAttribute('aria-label') ?? null,
    );

  async function axeFinds(target: Page | Frame, name: string): Promise<void> {
    // Through the DevTools protocol, which the page's policy does not govern.
    await target.evaluate(AXE);
    const result = await target.evaluate(() =>
      axe.run(document, { resultTypes: ['violations'], runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }),
    );
    const bad = result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
    expect(bad, name).toEqual([]);
  }

  for (const width of WIDTHS) {
    describe(`at ${width.name} px`, () => {
      it('adds a launcher that opens the chat; the visitor is greeted, writes, and reads the answer', async () => {
        const { context, page, problems } = await visit(width.options);
        const launcher = launcherOf(page);
        await page.getByRole('button', { name: label() }).waitFor();
        expect(await launcher.getAttribute('aria-expanded')).toBe('false');
        // Nothing of the chat (no frame, no session) until the visitor opens it.
        expect(page.frames()).toHaveLength(1);
        await page.screenshot({ path: join(ARTIFACTS, `webchat-widget-closed-${width.name}.png`) });

        await launcher.click();
        const dialog = page.getByRole('dialog', { name: label() });
        await dialog.waitFor();
        expect(await focused(page)).toBe('Close chat');
        const frame = page.frameLocator(`iframe[title="${label()}"]`);
        await frame.locator('#log .msg.bot .bubble', { hasText: DEFAULT_RULES.greeting ?? '' }).waitFor();
        await frame.locator('#status[data-state="online"]').waitFor();

        await frame.locator('#input').fill(HELLO);
        await frame.locator('#input').press('Enter');
        await frame.locator('#log .msg.user:not(.pending) .bubble', { hasText: HELLO }).waitFor();
        await frame.locator('#log .msg.bot .bubble', { hasText: DEFAULT_RULES.fallback ?? '' }).waitFor();

        // Where the panel is: the whole phone screen; a corner panel on a desktop.
        const box = await dialog.boundingBox();
        if (width.name === '390') {
          expect(box).toEqual({ x: 0, y: 0, width: 390, height: 844 });
        } else {
          // 640 px high when the window has room (800 − 92 − 640 = 68 px above it).
          expect(box).toEqual({ x: 1280 - 20 - 380, y: 800 - 92 - 640, width: 380, height: 640 });
          expect(await launcher.isVisible()).toBe(true);
        }
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
          width.options.viewport.width,
        );
        await page.screenshot({ path: join(ARTIFACTS, `webchat-widget-open-${width.name}.png`) });

        await axeFinds(page, `host page with the chat open at ${width.name}`);
        const chat = page.frames().find((f) => f.url().startsWith(`${relevo}/webchat/`));
        expect(chat?.url()).toBe(`${relevo}/webchat/${s.bot.id}?embed=1`);
        if (chat !== undefined) await axeFinds(chat, `the chat's frame at ${width.name}`);

        // The close button hides the panel and gives the focus back to the launcher.
        await page.getByRole('button', { name: 'Close chat' }).click();
        await dialog.waitFor({ state: 'hidden' });
        expect(await launcher.getAttribute('aria-expanded')).toBe('false');
        expect(await focused(page)).toBe(label());
        expect(problems).toEqual([]);
        await context.close();
      });

      it('works from the keyboard: Enter opens, Escape closes, the focus comes back', async () => {
        const { context, page, problems } = await visit(width.options);
        const launcher = launcherOf(page);
        await page.getByRole('button', { name: label() }).waitFor();
        // Tab from the page's own link reaches the launcher.
        await page.getByRole('link', { name: 'Shipping and returns' }).focus();
        await page.keyboard.press('Tab');
        expect(await focused(page)).toBe(label());
        await page.screenshot({ path: join(ARTIFACTS, `webchat-widget-focus-${width.name}.png`) });
        await page.keyboard.press('Enter');
        await page.getByRole('dialog', { name: label() }).waitFor();
        expect(await launcher.getAttribute('aria-expanded')).toBe('true');
        expect(await focused(page)).toBe('Close chat');
        await page.screenshot({ path: join(ARTIFACTS, `webchat-widget-keyboard-open-${width.name}.png`) });
        await page.keyboard.press('Escape');
        await page.getByRole('dialog', { name: label() }).waitFor({ state: 'hidden' });
        expect(await focused(page)).toBe(label());
        // Escape typed inside the chat's frame (in its message box) closes it too.
        await page.keyboard.press('Enter');
        const frame = page.frameLocator(`iframe[title="${label()}"]`);
        await frame.locator('#status[data-state="online"]').waitFor();
        await frame.locator('#input').focus();
        await page.keyboard.press('Escape');
        await page.getByRole('dialog', { name: label() }).waitFor({ state: 'hidden' });
        expect(await launcher.getAttribute('aria-expanded')).toBe('false');
        expect(await focused(page)).toBe(label());
        expect(problems).toEqual([]);
        await context.close();
      });
    });
  }

  it("names the visitor with the tag's data-name", async () => {
    const { context, page, problems } = await visit(WIDTHS[0].options, '/named');
    await page.getByRole('button', { name: label() }).click();
    const frame = page.frameLocator(`iframe[title="${label()}"]`);
    await frame.locator('#status[data-state="online"]').waitFor();
    const chat = page.frames().find((f) => f.url().startsWith(`${relevo}/webchat/`));
    expect(chat?.url()).toBe(`${relevo}/webchat/${s.bot.id}?embed=1&name=Ana+P%C3%A9rez`);
    const users = await h.store.queries.endUsers.list(s.project.id, { limit: 200 });
    expect(users.items.map((u) => u.names)).toContain('Ana Pérez');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('shows nothing for an unknown bot, and says why in the console', async () => {
    const { context, page, problems, warnings } = await visit(WIDTHS[0].options, '/unknown');
    await page.waitForLoadState('load');
    await expect
      .poll(() => warnings)
      .toEqual([
        'relevo web chat: there is no web chat bot with the id "bot_doesnotexist"; check the id in widget.js\'s URL. The chat button is not shown.',
      ]);
    expect(await page.evaluate(() => document.querySelector('[data-relevo-webchat]') === null)).toBe(true);
    expect(await page.getByRole('button').count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('shows nothing on a site that RELEVO_WEBCHAT_FRAME_ANCESTORS does not list, and says why', async () => {
    const listed = await createHarness({ RELEVO_WEBCHAT_FRAME_ANCESTORS: 'https://shop.example.com' });
    const other = await listed.seed('Listed');
    await listed.app.server.listen({ port: 0, host: '127.0.0.1' });
    const origin = `http://127.0.0.1:${(listed.app.server.server.address() as AddressInfo).port}`;
    const elsewhere = await startHostSite(origin, other.bot.id);
    try {
      const context = await browser.newContext(WIDTHS[0].options);
      const page = await context.newPage();
      const warnings: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'warning') warnings.push(m.text());
      });
      await page.goto(elsewhere.url);
      await expect
        .poll(() => warnings)
        .toEqual([
          `relevo web chat: this site (${elsewhere.url}) is not among those that may show the chat (RELEVO_WEBCHAT_FRAME_ANCESTORS); the chat button is not shown.`,
        ]);
      expect(await page.getByRole('button').count()).toBe(0);
      await context.close();
    } finally {
      await new Promise((r) => elsewhere.server.close(r));
      await listed.close();
    }
  });

  it('the plain chat page may not be framed by another site', async () => {
    const { context, problems } = await visit(WIDTHS[0].options, '/plain');
    await expect.poll(() => problems.some((p) => /frame-ancestors/.test(p))).toBe(true);
    await context.close();
  });
});
