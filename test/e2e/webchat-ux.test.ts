/**
 * What a visitor meets in the web chat beyond the happy path, in a real browser against a real
 * `relevo serve` process, at 1280 px and on a 390×844 phone:
 *
 *   - the server goes away: the status says so, messages typed meanwhile wait with a visible
 *     state, and go out once (and only once) when the same server is back on the same port and
 *     database; a send whose answer is lost is repeated and stored once;
 *   - the panel takes the room: the header names the person, a line says so, their messages
 *     carry their name, and closing hands the header back to the bot;
 *   - a six-line draft: the composer grows and the last message stays above it;
 *   - the icon: /favicon.ico is served, and the browser logs no failed request;
 *   - loading, the server down at load, and an unknown chat.
 *
 * Screenshots go to a directory under the system's temp dir (printed once).
 */
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../src/bots/rules/rule-bot.js';
import { haveChromiumFor, launchChromium } from '../helpers/browser.js';
import { postJson, requestJson } from '../helpers/http-client.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { ensureBuilt, type Served, spawnServer } from '../helpers/spawned-server.js';

// Browser globals for the callbacks that run in the page (the project compiles without the DOM
// library).
interface BrowserElement {
  readonly textContent: string | null;
  readonly className: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): BrowserElement | null;
}
declare const document: {
  querySelector(selector: string): BrowserElement | null;
  querySelectorAll(selector: string): Iterable<BrowserElement>;
};
declare const localStorage: Record<string, string>;
declare function requestAnimationFrame(callback: () => void): number;
declare const window: { __pwned?: number };

const haveChromium = haveChromiumFor('the web chat UX browser test');

const ADMIN = 'webchat-ux-admin-token-0123456789';
const SHOTS = join(tmpdir(), 'relevo-webchat-screenshots');

const VIEWPORTS = [
  { name: 'desktop', options: { viewport: { width: 1280, height: 800 } } },
  {
    name: 'phone',
    options: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  },
] as const;

describe.skipIf(!haveChromium)('web chat in a browser: connection, handoff, layout and states', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let server: Served;
  let port: number;
  let base: string;
  let browser: Browser;
  let receiver: Receiver;
  let projectId: string;
  let apiKey: string;
  let botId: string;
  let signingSecret: string;

  /** A conversation's room, read through the management API. */
  const roomOf = async (conversationId: string): Promise<string> =>
    (
      await requestJson(port, 'GET', `/v1/external-support/${projectId}/conversations/${conversationId}`, {
        'x-api-key': apiKey,
      })
    ).json.data.roomId;

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'relevo-webchat-ux-'));
    mkdirSync(SHOTS, { recursive: true });
    console.info(`web chat screenshots: ${SHOTS}`);
    receiver = await startReceiver();
    env = {
      DATABASE_URL: `sqlite:${join(dir, 'relevo.db')}`,
      RELEVO_ADMIN_TOKEN: ADMIN,
      RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
      LOG_LEVEL: 'info',
    };
    server = await spawnServer(env);
    port = server.port;
    base = `http://127.0.0.1:${port}`;
    const admin = { authorization: `Bearer ${ADMIN}` };
    const project = (await postJson(port, '/admin/v1/projects', admin, { name: 'UX' })).json;
    projectId = project.id;
    apiKey = project.apiKey;
    botId = (await postJson(port, `/admin/v1/projects/${projectId}/bots`, admin, { name: 'Acme Help' })).json
      .id;
    const integration = await postJson(
      port,
      `/v1/external-support/${projectId}`,
      { 'x-api-key': apiKey },
      {
        webhookUrl: receiver.url,
      },
    );
    expect(integration.status).toBe(200);
    signingSecret = integration.json.data.signingSecret;
    browser = await launchChromium(['--disable-quic']);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (server?.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function stopServer(): Promise<void> {
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }
  async function startServer(): Promise<void> {
    server = await spawnServer(env, port);
  }

  /** A fresh visitor (own storage) with every console error and failed request recorded. */
  async function visitor(options: (typeof VIEWPORTS)[number]['options']) {
    const context = await browser.newContext(options);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    return { context, page, problems };
  }

  async function open(page: Page): Promise<{ userId: string; token: string }> {
    const session = page.waitForResponse((r) => r.url().endsWith('/sessions'));
    await page.goto(`${base}/webchat/${botId}`);
    const userId = (await (await session).json()).userId as string;
    await online(page);
    await page.waitForSelector('#log .msg.bot');
    const token = await page.evaluate(
      () => Object.entries(localStorage).find(([k]) => !k.includes('outbox'))?.[1],
    );
    return { userId, token: token ?? '' };
  }

  async function online(page: Page): Promise<void> {
    await page.waitForSelector('#status[data-state="online"]');
    expect(await page.locator('#status-text').textContent()).toBe('Online');
  }

  async function type(page: Page, text: string): Promise<void> {
    await page.fill('#input', text);
    await page.press('#input', 'Enter');
  }

  /** Waits for a stored (not pending) bubble of `sender` with exactly `text`. */
  async function shows(page: Page, sender: string, text: string): Promise<void> {
    await page.waitForFunction(
      ([who, body]) =>
        [...document.querySelectorAll(`#log .msg.${who}[data-id] .bubble`)].some(
          (b) => b.textContent === body,
        ),
      [sender, text] as const,
    );
  }

  /** The log as text lines, in order: "sender: text" per message, "— line" for system lines. */
  async function transcript(page: Page): Promise<string[]> {
    return page.evaluate(() =>
      [...document.querySelectorAll('#log > li')].map((li) =>
        li.className.includes('system')
          ? `— ${li.textContent}`
          : `${li.getAttribute('data-sender')}${li.className.includes('pending') ? ' (pending)' : ''}: ${
              li.querySelector('.bubble')?.textContent ?? ''
            }`,
      ),
    );
  }

  async function storedUserTexts(token: string): Promise<string[]> {
    const res = await requestJson(port, 'GET', `/webchat/${botId}/messages?limit=200`, {
      authorization: `Bearer ${token}`,
    });
    expect(res.status).toBe(200);
    return (res.json.messages as Array<{ sender: string; content: { body: string } }>)
      .filter((m) => m.sender === 'user')
      .map((m) => m.content.body);
  }

  async function panelSays(roomId: string, userId: string, id: string, body: string): Promise<void> {
    const raw = JSON.stringify({
      field: 'messages',
      object: 'message_event',
      event_type: 'incoming_message',
      project_id: projectId,
      room_id: roomId,
      bot_id: botId,
      user_id: userId,
      value: { id, type: 'text', content: { body } },
    });
    const res = await fetch(`${base}/v1/external-support/webhook`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-jelou-signature': `sha256=${createHmac('sha256', signingSecret).update(raw).digest('hex')}`,
      },
      body: raw,
    });
    expect(res.status, await res.text()).toBe(200);
  }

  /** The page's saved unsent messages (their texts), or undefined when none are saved. */
  async function savedOutbox(page: Page): Promise<string[] | undefined> {
    const kept = await page.evaluate(
      () => Object.entries(localStorage).find(([k]) => k.includes('outbox'))?.[1],
    );
    return kept === undefined ? undefined : (JSON.parse(kept) as Array<{ text: string }>).map((i) => i.text);
  }

  it('sends what was unsent at a reload once each, in order, the one whose answer was lost included', async () => {
    const { context, page, problems } = await visitor(VIEWPORTS[0].options);
    // The stream opens but never brings a message, so the page cannot learn from it that the
    // server has one: as when the page is closed right after a send whose answer was lost.
    await page.route(
      (url) => url.pathname.endsWith('/stream'),
      (route) => {
        const url = new URL(route.request().url());
        url.searchParams.set('after', `msg_${'z'.repeat(26)}`);
        return route.continue({ url: url.href });
      },
    );
    // The first send is stored but its answer never reaches the page; later ones fail outright.
    let reached = 0;
    await page.route('**/messages', async (route) => {
      if (route.request().method() !== 'POST') return route.fallback();
      if (reached === 0) {
        reached++;
        await route.fetch();
      }
      await route.abort('connectionreset');
    });
    await page.goto(`${base}/webchat/${botId}`);
    await online(page);
    const token = await page.evaluate(
      () => Object.entries(localStorage).find(([k]) => !k.includes('outbox'))?.[1] ?? '',
    );
    const lost = 'reload: stored, answer lost';
    const never = 'reload: never reached the server';
    await type(page, lost);
    await page.waitForSelector('#log .msg.pending[data-state="failed"]');
    await type(page, never);
    await expect.poll(() => page.locator('#log .msg.pending[data-state="failed"]').count()).toBe(2);
    expect(await savedOutbox(page)).toEqual([lost, never]);
    expect(await storedUserTexts(token)).toEqual([lost]);

    await page.unrouteAll();
    await page.reload();
    await online(page);
    await shows(page, 'user', lost);
    await shows(page, 'user', never);
    await expect.poll(() => page.locator('#log .msg.pending').count()).toBe(0);
    expect(await storedUserTexts(token)).toEqual([lost, never]);
    expect(await savedOutbox(page)).toBeUndefined();
    const users = (await transcript(page)).filter((line) => line.startsWith('user'));
    expect(users).toEqual([`user: ${lost}`, `user: ${never}`]);
    await context.close();
    expect(
      problems.filter((p) => !p.includes('ERR_CONNECTION') && !p.includes('Failed to load resource')),
    ).toEqual([]);
  }, 60_000);

  it("shows the panel's agent name as text, never as markup", async () => {
    const { context, page, problems } = await visitor(VIEWPORTS[0].options);
    const { userId } = await open(page);
    const agentName = '<img src=x onerror="window.__pwned = 1"><b>Ana</b> & co';
    const key = { 'x-api-key': apiKey };
    const started = await postJson(port, `/v1/external-support/${projectId}/conversations/start`, key, {
      botId,
      userId,
      metadata: { agentName },
    });
    expect(started.status, JSON.stringify(started.json)).toBe(200);
    await page.waitForFunction((n) => document.querySelector('#title')?.textContent === n, agentName);
    expect(await page.locator('#avatar').textContent()).toBe('<');
    const roomId = await roomOf(started.json.data.conversationId);
    await panelSays(roomId, userId, 'xss-name-hello', 'Hello from Ana');
    await shows(page, 'operator', 'Hello from Ana');
    expect(await page.locator('#log .msg.operator .label').last().textContent()).toBe(agentName);
    expect(await page.locator('#top img, #top b, #log img, #log b').count()).toBe(0);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    await postJson(port, `/v1/external-support/${projectId}/conversations/close`, key, { botId, userId });
    await page.waitForFunction(() => document.querySelector('#title')?.textContent === 'Acme Help');
    await context.close();
    expect(problems).toEqual([]);
  }, 60_000);

  for (const { name, options } of VIEWPORTS) {
    describe(`at ${options.viewport.width} px`, () => {
      it('queues messages while the server is down, says so, and sends each exactly once when it is back', async () => {
        const { context, page, problems } = await visitor(options);
        const { token } = await open(page);

        await stopServer();
        await page.waitForFunction(
          () => document.querySelector('#status')?.getAttribute('data-state') !== 'online',
        );
        expect(await page.locator('#status-text').textContent()).toMatch(/^(Reconnecting…|Offline)$/);

        await type(page, `${name}: typed while offline`);
        await type(page, `${name}: and another one`);
        const pending = page.locator('#log .msg.pending');
        await expect.poll(() => pending.count()).toBe(2);
        await page.waitForFunction(() =>
          [...document.querySelectorAll('#log .msg.pending')].every(
            (li) => li.getAttribute('data-state') === 'failed',
          ),
        );
        expect(await pending.locator('.state').allTextContents()).toEqual([
          'Not sent. Tap to retry',
          'Not sent. Tap to retry',
        ]);
        await page.screenshot({ path: join(SHOTS, `${name}-offline.png`) });

        await startServer();
        await online(page);
        await shows(page, 'user', `${name}: typed while offline`);
        await shows(page, 'user', `${name}: and another one`);
        await expect.poll(() => pending.count()).toBe(0);
        await page.waitForFunction(
          (fallback) => document.querySelector('#log > li:last-child .bubble')?.textContent === fallback,
          DEFAULT_RULES.fallback ?? '',
        );
        await page.screenshot({ path: join(SHOTS, `${name}-back-online.png`) });
        expect(await storedUserTexts(token)).toEqual([
          `${name}: typed while offline`,
          `${name}: and another one`,
        ]);

        // The server stores a message but its answer never reaches the page: the page sends it
        // again with the same clientMessageId, and it is stored once.
        let cut = 0;
        await page.route('**/messages', async (route) => {
          if (route.request().method() !== 'POST' || cut > 0) return route.fallback();
          cut++;
          await route.fetch();
          await route.abort('connectionreset');
        });
        await type(page, `${name}: answer lost`);
        await shows(page, 'user', `${name}: answer lost`);
        expect(cut).toBe(1);
        await expect.poll(() => pending.count()).toBe(0);
        await page.unroute('**/messages');
        expect(await storedUserTexts(token)).toEqual([
          `${name}: typed while offline`,
          `${name}: and another one`,
          `${name}: answer lost`,
        ]);
        const bubbles = await page.locator(`#log .msg.user .bubble:text-is("${name}: answer lost")`).count();
        expect(bubbles).toBe(1);

        await context.close();
        // The lost answer is a failed request by design; nothing else may fail.
        expect(
          problems.filter((p) => !p.includes('ERR_CONNECTION') && !p.includes('Failed to load resource')),
        ).toEqual([]);
      }, 90_000);

      it('shows who the visitor is talking to, across the handoff and back', async () => {
        const { context, page, problems } = await visitor(options);
        const { userId } = await open(page);
        const bot = 'Acme Help';
        expect(await page.locator('#title').textContent()).toBe(bot);
        expect(await page.locator('#role').textContent()).toBe('Automated assistant');

        // While the bot has the room, "…" shows until its answer is there. The send is held back
        // a moment so there is something to see.
        await page.route('**/messages', async (route) => {
          if (route.request().method() === 'POST') await new Promise((r) => setTimeout(r, 700));
          await route.fallback();
        });
        await type(page, 'where is my order?');
        await page.waitForSelector('#log .typing');
        await shows(page, 'bot', DEFAULT_RULES.fallback ?? '');
        expect(await page.locator('#log .typing').count()).toBe(0);
        await page.unroute('**/messages');

        const key = { 'x-api-key': apiKey };
        const started = await postJson(port, `/v1/external-support/${projectId}/conversations/start`, key, {
          botId,
          userId,
          assignment: { type: 'operator', target: 'agent-17' },
          metadata: { agentName: 'Ana Lima', ticketId: 'T-1' },
        });
        expect(started.status, JSON.stringify(started.json)).toBe(200);
        await page.waitForSelector('#log .system');
        expect(await page.locator('#log .system').textContent()).toBe('You’re now talking to a person');
        expect(await page.locator('#title').textContent()).toBe('Ana Lima');
        expect(await page.locator('#role').textContent()).toBe('Human support');
        expect(await page.locator('#avatar').textContent()).toBe('A');

        const roomId = await roomOf(started.json.data.conversationId);
        await panelSays(roomId, userId, `${name}-hello`, 'Hi, I am Ana. Let me check.');
        await shows(page, 'operator', 'Hi, I am Ana. Let me check.');
        expect(await page.locator('#log .msg.operator .label').first().textContent()).toBe('Ana Lima');
        // No typing signal exists for people at the panel: none is shown.
        await type(page, 'thanks');
        await shows(page, 'user', 'thanks');
        expect(await page.locator('#log .typing').count()).toBe(0);
        await page.screenshot({ path: join(SHOTS, `${name}-handoff.png`) });

        const closed = await postJson(port, `/v1/external-support/${projectId}/conversations/close`, key, {
          botId,
          userId,
          redirectPayload: { type: 'text', text: 'Glad to help, bye!' },
        });
        expect(closed.status).toBe(200);
        await shows(page, 'bot', DEFAULT_RULES.welcomeBack ?? '');
        await page.waitForFunction(() => document.querySelector('#title')?.textContent === 'Acme Help');
        expect(await page.locator('#role').textContent()).toBe('Automated assistant');

        // A start that names nobody: "Support team".
        const again = await postJson(port, `/v1/external-support/${projectId}/conversations/start`, key, {
          botId,
          userId,
          initialMessage: 'Hello again from support',
        });
        expect(again.status).toBe(200);
        await shows(page, 'operator', 'Hello again from support');
        expect(await page.locator('#title').textContent()).toBe('Support team');
        expect(await page.locator('#log .msg.operator .label').last().textContent()).toBe('Support team');

        const live = await transcript(page);
        const expected = [
          `bot: ${DEFAULT_RULES.greeting}`,
          'user: where is my order?',
          `bot: ${DEFAULT_RULES.fallback}`,
          '— You’re now talking to a person',
          'operator: Hi, I am Ana. Let me check.',
          'user: thanks',
          'operator: Glad to help, bye!',
          '— The conversation with support has ended',
          `bot: ${DEFAULT_RULES.welcomeBack}`,
          '— You’re now talking to a person',
          'operator: Hello again from support',
        ];
        expect(live).toEqual(expected);
        await page.screenshot({ path: join(SHOTS, `${name}-handoff-again.png`), fullPage: true });

        // A reload tells the same story from the history, names included.
        await page.reload();
        await online(page);
        await shows(page, 'operator', 'Hello again from support');
        expect(await transcript(page)).toEqual(expected);
        expect(await page.locator('#title').textContent()).toBe('Support team');
        expect(await page.locator('#log .msg.operator .label').first().textContent()).toBe('Ana Lima');

        await postJson(port, `/v1/external-support/${projectId}/conversations/close`, key, { botId, userId });
        await page.waitForFunction(() => document.querySelector('#title')?.textContent === 'Acme Help');
        await context.close();
        expect(problems).toEqual([]);
      }, 60_000);

      it('keeps the last message in view above a six-line draft', async () => {
        const { context, page, problems } = await visitor(options);
        await open(page);
        for (let i = 1; i <= 8; i++) {
          await type(page, `message number ${i}`);
          await shows(page, 'user', `message number ${i}`);
        }
        await page.waitForFunction(
          (fallback) => document.querySelector('#log > li:last-child .bubble')?.textContent === fallback,
          DEFAULT_RULES.fallback ?? '',
        );
        const before = await page.locator('#input').boundingBox();
        await page.fill('#input', ['one', 'two', 'three', 'four', 'five', 'six'].join('\n'));
        const after = await page.locator('#input').boundingBox();
        expect(after?.height ?? 0).toBeGreaterThan((before?.height ?? 0) * 3);
        // The list scrolls from a ResizeObserver, which runs in the next frame's rendering: two
        // frames later it has (measured at once, a loaded machine once saw the list not yet
        // scrolled, the last message 70 px under the composer).
        await page.evaluate(
          () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(null)))),
        );

        const last = await page.locator('#log > li:last-child').boundingBox();
        const composer = await page.locator('#composer').boundingBox();
        const log = await page.locator('#log').boundingBox();
        if (last === null || composer === null || log === null) throw new Error('nothing laid out');
        // Entirely inside the list, and the list ends where the composer begins.
        expect(last.y + last.height).toBeLessThanOrEqual(composer.y + 0.5);
        expect(last.y + last.height).toBeLessThanOrEqual(log.y + log.height + 0.5);
        expect(last.y).toBeGreaterThanOrEqual(log.y - 0.5);
        expect(log.y + log.height).toBeLessThanOrEqual(composer.y + 0.5);
        await page.screenshot({ path: join(SHOTS, `${name}-six-line-draft.png`) });

        // Sent as typed, line breaks kept; the composer is one line again.
        await page.press('#input', 'Enter');
        await shows(page, 'user', 'one\ntwo\nthree\nfour\nfive\nsix');
        expect((await page.locator('#input').boundingBox())?.height).toBe(before?.height);
        await context.close();
        expect(problems).toEqual([]);
      }, 60_000);

      it('has an icon and no failed request', async () => {
        const { context, page, problems } = await visitor(options);
        await open(page);
        expect(await page.locator('link[rel="icon"]').getAttribute('href')).toMatch(
          /^data:image\/svg\+xml;base64,/,
        );
        const icon = await page.goto(`${base}/favicon.ico`);
        expect(icon?.status()).toBe(200);
        expect(icon?.headers()['content-type']).toBe('image/x-icon');
        await context.close();
        expect(problems).toEqual([]);
      });

      it('shows loading, a readable error with a retry, and a not-found page', async () => {
        const { context, page } = await visitor(options);
        // Hold the session request: the page is connecting.
        let release: () => void = () => {};
        const held = new Promise<void>((r) => {
          release = r;
        });
        await page.route('**/sessions', async (route) => {
          await held;
          await route.fallback();
        });
        await page.goto(`${base}/webchat/${botId}`);
        expect(await page.locator('#status-text').textContent()).toBe('Connecting…');
        expect(await page.locator('#placeholder').textContent()).toBe('Connecting to the chat…');
        await page.screenshot({ path: join(SHOTS, `${name}-connecting.png`) });

        // The server goes down before the page gets its session: a readable error and a button.
        await stopServer();
        release();
        await page.waitForSelector('#notice:not([hidden])');
        expect(await page.locator('#notice-text').textContent()).toMatch(
          /^Cannot reach the chat\. Check your connection\. Retrying in \d+ s\.$/,
        );
        expect(await page.locator('#status-text').textContent()).toBe('Offline');
        expect(await page.locator('#retry').textContent()).toBe('Try again');
        await page.screenshot({ path: join(SHOTS, `${name}-server-down.png`) });
        await startServer();
        // The page also retries by itself (after 1 s, then 2 s, 4 s…): on a loaded machine it can
        // be back before the click lands, which is as good for the visitor. Either way it must
        // end online with its history.
        const retry = page.locator('#retry');
        if (await retry.isVisible()) await retry.click({ timeout: 5_000 }).catch(() => undefined);
        await online(page);
        await page.waitForSelector('#log .msg.bot');
        expect(await page.locator('#notice').isHidden()).toBe(true);
        expect(await page.locator('#placeholder').isHidden()).toBe(true);

        const missing = await page.goto(`${base}/webchat/bot_doesnotexist`);
        expect(missing?.status()).toBe(404);
        expect(await page.locator('h1').textContent()).toBe('Chat not found');
        await page.screenshot({ path: join(SHOTS, `${name}-not-found.png`) });
        await context.close();

        const api = await requestJson(port, 'GET', '/webchat/bot_doesnotexist', {
          accept: 'application/json',
        });
        expect(api.status).toBe(404);
        expect(api.json.error.code).toBe('bot_not_found');
      }, 60_000);
    });
  }
});
