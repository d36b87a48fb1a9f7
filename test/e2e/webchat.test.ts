/**
 * The web chat in a real browser, end to end: a person chats with the bot, asks for a human, the
 * panel (a real webhook receiver that answers through the signed API) takes over, answers, and
 * closes; the bot takes the room back. Debian's Chromium drives the page; no browser is ever
 * downloaded. Without /usr/bin/chromium the test is skipped, loudly.
 */
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../src/bots/rules/rule-bot.js';
import { call, createIntegration } from '../helpers/api.js';
import { haveChromiumFor, launchChromium } from '../helpers/browser.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

// The callbacks given to page.evaluate and waitForFunction run in the browser. The project
// compiles without the DOM library, so the few browser globals they touch are declared here,
// for this file only.
interface BrowserElement {
  readonly textContent: string | null;
  readonly classList: { contains(name: string): boolean };
  querySelector(selector: string): BrowserElement | null;
}
interface BrowserImage extends BrowserElement {
  readonly complete: boolean;
  readonly naturalWidth: number;
}
declare const document: {
  querySelector(selector: string): BrowserElement | null;
  querySelectorAll(selector: string): Iterable<BrowserElement>;
};
declare const localStorage: Record<string, string>;
declare const window: { __pwned?: number };

const haveChromium = haveChromiumFor('the web chat browser test');

const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const HUMAN = 'I want to talk to a human';
const PANEL_HELLO = 'Hi, this is Ana from support. How can I help?';
const REPLY =
  'My order never arrived <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 1">';
const BYE = 'Thanks, bye!';

/** An SVG picture and a small text file, served on loopback for the panel's media messages. */
const PICTURE = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="270" viewBox="0 0 480 270">
<rect width="480" height="270" fill="#dbeafe"/><circle cx="120" cy="135" r="70" fill="#2563eb"/>
<rect x="230" y="90" width="180" height="22" rx="11" fill="#93c5fd"/><rect x="230" y="130" width="130" height="22" rx="11" fill="#93c5fd"/>
</svg>`;

async function startMediaServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.url === '/label.svg') {
      res.writeHead(200, { 'content-type': 'image/svg+xml' }).end(PICTURE);
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('Return label for order 1234\n');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface PanelEvent {
  event?: string;
  event_type: string;
  room_id: string;
  contact: { id: string; name: string };
  conversation: { id: string };
  bot: { id: string };
  value: Record<string, unknown>;
}

describe.skipIf(!haveChromium)('web chat in a browser', () => {
  let h: Harness;
  let s: Seed;
  let receiver: Receiver;
  let media: { server: Server; url: string };
  let browser: Browser;
  let base: string;
  let signingSecret: string;

  beforeAll(async () => {
    h = await createHarness({ RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8' }, { worker: true });
    s = await h.seed('Acme');
    await h.app.server.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h.app.server.server.address() as AddressInfo).port}`;
    receiver = await startReceiver();
    media = await startMediaServer();
    signingSecret = (await createIntegration(h.app, s, receiver.url)).signingSecret;
    browser = await launchChromium(['--disable-quic']);
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await new Promise((r) => media?.server.close(r));
    await h?.close();
  });

  const events = (): PanelEvent[] => receiver.received.map((r) => JSON.parse(r.body) as PanelEvent);

  async function panelEvent(match: (e: PanelEvent) => boolean, what: string): Promise<PanelEvent> {
    const until = Date.now() + 10_000;
    for (;;) {
      const found = events().find(match);
      if (found !== undefined) return found;
      if (Date.now() > until) {
        throw new Error(`the panel never got ${what}; it got: ${events().map((e) => e.event_type)}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** The panel's side of docs/api.md §4.10: a message for the end user, signed with the secret. */
  async function panelSays(start: PanelEvent, id: string, type: string, content: Record<string, string>) {
    const raw = JSON.stringify({
      field: 'messages',
      object: 'message_event',
      event_type: 'incoming_message',
      project_id: s.project.id,
      room_id: start.room_id,
      bot_id: start.bot.id,
      user_id: start.contact.id,
      value: { id, type, content },
    });
    const signature = createHmac('sha256', signingSecret).update(raw).digest('hex');
    const res = await call(h.app, {
      url: '/v1/external-support/webhook',
      headers: { 'x-jelou-signature': `sha256=${signature}` },
      body: raw,
    });
    expect(res.statusCode, res.body).toBe(200);
  }

  /** Waits until the chat shows a bubble of `sender` whose text is exactly `text`. */
  async function shows(page: Page, sender: 'user' | 'bot' | 'operator', text: string): Promise<void> {
    await page.waitForFunction(
      ([who, body]) =>
        [...document.querySelectorAll(`#log .msg.${who} .bubble`)].some((b) => b.textContent === body),
      [sender, text] as const,
    );
  }

  async function type(page: Page, text: string): Promise<void> {
    await page.fill('#input', text);
    await page.press('#input', 'Enter');
  }

  it('greets, hands off to the panel, carries both sides live, and hands back to the bot', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 1300 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('Failed to load resource')) problems.push(m.text());
    });

    // 1. The person opens the chat and the bot greets them.
    await page.goto(`${base}/webchat/${s.bot.id}`);
    await shows(page, 'bot', DEFAULT_RULES.greeting ?? '');
    await page.waitForSelector('#status[data-state="online"]');
    const token = await page.evaluate(() => Object.entries(localStorage)[0]?.[1]);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // 2. They ask for a human: the panel gets conversation.start with their words.
    await type(page, HUMAN);
    await shows(page, 'user', HUMAN);
    await shows(page, 'bot', DEFAULT_RULES.handoff?.reply ?? '');
    const start = await panelEvent((e) => e.event_type === 'start', 'conversation.start');
    expect(start.value.initial_message).toBe(HUMAN);
    expect(start.contact.name).toBe('Web visitor');

    // 3. The panel answers through the signed API; the person sees it live.
    await panelSays(start, 'panel-1', 'text', { body: PANEL_HELLO });
    await shows(page, 'operator', PANEL_HELLO);
    await panelSays(start, 'panel-2', 'image', {
      url: `${media.url}/label.svg`,
      mime_type: 'image/svg+xml',
      caption: 'Your return label',
    });
    await panelSays(start, 'panel-3', 'document', {
      url: `${media.url}/label.txt`,
      mime_type: 'text/plain',
      filename: 'return-label.txt',
    });
    await page.waitForFunction(() => {
      const img = document.querySelector('#log .msg.operator img') as BrowserImage | null;
      return img?.complete === true && img.naturalWidth > 0;
    });
    const doc = page.locator('#log .msg.operator a.doc');
    await doc.waitFor();
    expect(await doc.getAttribute('href')).toBe(`${media.url}/label.txt`);
    expect(await doc.getAttribute('download')).toBe('return-label.txt');
    expect(await doc.locator('.name').textContent()).toBe('return-label.txt');
    expect(await page.locator('#log .msg.operator .caption').textContent()).toBe('Your return label');
    expect(await page.locator('#log .msg.operator .label').first().textContent()).toBe('Support team');

    // 4. The person replies (markup and all, which must stay text); the panel gets a message event.
    await type(page, REPLY);
    await shows(page, 'user', REPLY);
    const message = await panelEvent((e) => e.event_type === 'message', 'the message event');
    expect(message.conversation.id).toBe(start.conversation.id);
    expect(message.value).toMatchObject({ type: 'text', content: { body: REPLY } });
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    expect(await page.locator('#log script, #log .bubble img[src="x"]').count()).toBe(0);

    // 5. The panel closes with a text redirect: the person sees it, then the bot is back.
    const closed = await call(h.app, {
      url: `/v1/external-support/${s.project.id}/conversations/close`,
      headers: { 'x-api-key': s.apiKey },
      body: { botId: s.bot.id, userId: start.contact.id, redirectPayload: { type: 'text', text: BYE } },
    });
    expect(closed.statusCode, closed.body).toBe(200);
    await shows(page, 'operator', BYE);
    await shows(page, 'bot', DEFAULT_RULES.welcomeBack ?? '');
    await panelEvent((e) => e.event_type === 'close', 'conversation.close');

    // 6. A new message goes to the bot again, not to the panel.
    const panelEventsBefore = receiver.received.length;
    await type(page, 'hello again');
    await shows(page, 'user', 'hello again');
    await page.waitForFunction((fallback) => {
      const last = document.querySelector('#log .msg:last-child');
      return last?.classList.contains('bot') && last.querySelector('.bubble')?.textContent === fallback;
    }, DEFAULT_RULES.fallback ?? '');

    // 7. A reload keeps the session: same visitor, the whole conversation shown once.
    const bubbles = await page.locator('#log .msg').count();
    await page.reload();
    await shows(page, 'bot', DEFAULT_RULES.fallback ?? '');
    await page.waitForSelector('#status[data-state="online"]');
    expect(await page.locator('#log .msg').count()).toBe(bubbles);
    expect(await page.evaluate(() => Object.entries(localStorage)[0]?.[1])).toBe(token);
    expect(receiver.received.length).toBe(panelEventsBefore);

    await page.screenshot({ path: join(ARTIFACTS, 'webchat.png'), fullPage: true });

    // The same conversation on a phone.
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      storageState: await context.storageState(),
    });
    const phonePage = await phone.newPage();
    await phonePage.goto(`${base}/webchat/${s.bot.id}`);
    await shows(phonePage, 'bot', DEFAULT_RULES.fallback ?? '');
    await phonePage.waitForSelector('#status[data-state="online"]');
    expect(await phonePage.locator('#log .msg').count()).toBe(bubbles);
    // Wait for the picture so the screenshot is the settled page.
    await phonePage.waitForFunction(() => {
      const img = document.querySelector('#log img') as BrowserImage | null;
      return img?.complete === true;
    });
    await phonePage.screenshot({ path: join(ARTIFACTS, 'webchat-phone.png'), fullPage: true });

    await phone.close();
    await context.close();
    expect(problems).toEqual([]);
  }, 90_000);

  it('shows a not-found page for a bot that does not exist', async () => {
    const page = await browser.newPage();
    const res = await page.goto(`${base}/webchat/bot_doesnotexist`);
    expect(res?.status()).toBe(404);
    expect(await page.locator('h1').textContent()).toBe('Chat not found');
    await page.close();
  });
});
