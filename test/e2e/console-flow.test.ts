/**
 * The console's whole flow, as an operator and an agent live it, in a real browser against the
 * built server, at 1280 and 390 px (issue "the console", Checked by): sign in with the admin
 * token; create a project, a web chat bot with rules (a broken JSON and an invalid rule shown
 * where they are, then fixed), an external engine whose secret is shown once, and an
 * integration to a receiver that fails; an end user opens the web chat in a second page and
 * asks for a person; the agent answers from the console and the answer arrives in the chat;
 * the agent closes at a step of the bot's flow; the failed deliveries show the receiver's
 * answer; the receiver is fixed, a delivery retried, and shown delivered; a test event is sent
 * from the Integration screen. Screenshots in test-artifacts/, axe-core on every screen, no
 * Content-Security-Policy violation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../src/bots/rules/rule-bot.js';
import { haveChromiumFor, launchChromium } from '../helpers/browser.js';
import { checkScreen, openConsole, signInWithAdminToken, WIDTHS } from '../helpers/console-page.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type Served, spawnServer } from '../helpers/spawned-server.js';

const haveChromium = haveChromiumFor('the console flow browser test');
const TOKEN = 'console-flow-admin-token-0123456789ab';

// The browser's document, for the few page.evaluate callbacks (the project compiles without DOM).
declare const document: { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> };

describe.skipIf(!haveChromium)('console: the whole flow', () => {
  let dir: string;
  let served: Served;
  let base: string;
  let browser: Browser;
  let receiver: Receiver;
  const problems: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'relevo-console-flow-'));
    receiver = await startReceiver();
    served = await spawnServer({
      DATABASE_URL: `sqlite:${join(dir, 'console.db')}`,
      RELEVO_ADMIN_TOKEN: TOKEN,
      RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
      RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,1s',
    });
    base = `http://127.0.0.1:${served.port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    served?.child.kill('SIGTERM');
    await served?.exited;
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const nav = (page: Page, label: string) =>
    page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();

  /** The chat page's bubbles of one sender, as text. */
  const chatSays = (chat: Page, who: string) =>
    chat.evaluate(
      (sel) => Array.from(document.querySelectorAll(sel), (b) => b.textContent ?? ''),
      `#log .msg.${who} .bubble`,
    );

  for (const width of WIDTHS) {
    it(`at ${width.width} px: project, bot, integration, handoff, answer, close, failed delivery, retry`, async () => {
      receiver.respond(() => ({ kind: 'status', status: 500, body: `panel down (${width.name})` }));
      const { context, page } = await openConsole(browser, base, width, problems);
      await signInWithAdminToken(page, TOKEN);

      // A project; its secrets once.
      const name = `Flow ${width.name}`;
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByRole('button', { name: 'Create project' }).click();
      await page.getByRole('heading', { name: `Project “${name}” created` }).waitFor();
      await page.getByRole('button', { name: 'I have saved them' }).click();
      await page.getByRole('link', { name }).click();
      await page.getByRole('heading', { level: 2, name: 'Overview' }).waitFor();

      // A web chat bot.
      await nav(page, 'Bots');
      await page.getByRole('heading', { level: 1, name: 'Bots' }).waitFor();
      await page.getByText('This project has no bot yet').waitFor();
      await checkScreen(page, 'bots-empty', width);
      await page.getByLabel('Name', { exact: true }).fill('Helper');
      await page.getByRole('button', { name: 'Create the bot' }).click();
      await page.getByRole('heading', { level: 1, name: 'Helper' }).waitFor();
      const botId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
      expect(botId).toMatch(/^bot_/);
      const snippet = await page.getByLabel('Embed snippet', { exact: true }).inputValue();
      expect(snippet).toBe(`<script src="${base}/webchat/${botId}/widget.js" async></script>`);

      // Rules: a JSON typo, then an invalid rule, each said where it is; then the rules fixed.
      const editor = page.getByLabel('Rules (JSON)');
      const original = await editor.inputValue();
      const rules = JSON.parse(original) as Record<string, unknown>;
      await editor.fill(`${original.slice(0, -1)},}`);
      await page.getByRole('button', { name: 'Save the rules' }).click();
      await page.getByText(/This is not valid JSON at line \d+, column \d+/).waitFor();
      await editor.fill(JSON.stringify({ ...rules, greeting: '' }, null, 2));
      await page.getByRole('button', { name: 'Save the rules' }).click();
      const listed = page.getByRole('list', { name: 'Problems in the rules' });
      await listed.getByText('greeting').waitFor();
      await checkScreen(page, 'bot-rules-invalid', width);
      await editor.fill(JSON.stringify({ ...rules, greeting: `Hi! I am Helper (${width.name}).` }, null, 2));
      await page.getByRole('button', { name: 'Save the rules' }).click();
      await page.getByText('Saved: the bot answers with these rules').waitFor();

      // An external engine: its secret once; then back to the rules for this flow.
      await page.getByLabel('Your own bot, over signed webhooks').check();
      await page.getByLabel("Your bot's webhook URL").fill(`${receiver.url}/bot`);
      await page.getByRole('button', { name: 'Save the engine' }).click();
      await page.getByRole('heading', { name: "Your bot's signing secret" }).waitFor();
      expect((await page.getByRole('textbox', { name: 'Signing secret' }).inputValue()).length).toBe(64);
      await checkScreen(page, 'bot-engine-secret', width);
      await page.getByRole('button', { name: 'I have saved them' }).click();
      await page.getByLabel("relevo's rules (below)").check();
      await page.getByRole('button', { name: 'Save the engine' }).click();
      await page.getByText('Saved', { exact: true }).waitFor();
      await checkScreen(page, 'bot', width);

      // The integration, to a receiver that answers 500.
      await nav(page, 'Integration');
      await page.getByText('This project has no integration yet').waitFor();
      await page.getByLabel('Webhook URL').fill('not a url');
      await page.getByLabel('Webhook URL').fill(receiver.url);
      await page.getByRole('button', { name: 'Create the integration' }).click();
      await page.getByRole('heading', { name: 'Integration created' }).waitFor();
      expect((await page.getByRole('textbox', { name: 'Signing secret' }).inputValue()).length).toBe(64);
      await page.getByRole('button', { name: 'I have saved them' }).click();
      await page.getByRole('heading', { name: 'Webhook' }).waitFor();
      await checkScreen(page, 'integration', width);

      // The end user, in a second page: the web chat, asking for a person.
      const chatContext = await browser.newContext({
        viewport: { width: width.width, height: width.height },
      });
      const chat = await chatContext.newPage();
      await chat.goto(`${base}/webchat/${botId}?name=${encodeURIComponent(`Maria ${width.name}`)}`);
      await expect.poll(() => chatSays(chat, 'bot')).toContain(`Hi! I am Helper (${width.name}).`);
      await chat.fill('#input', 'human please');
      await chat.press('#input', 'Enter');
      // The bot's handoff reply commits with the conversation: after it, the list has it.
      await expect.poll(() => chatSays(chat, 'bot')).toContain(DEFAULT_RULES.handoff?.reply);

      // The agent finds the conversation and answers; the answer reaches the chat.
      await nav(page, 'Conversations');
      await page.getByRole('link', { name: `Maria ${width.name}` }).click();
      await page.getByRole('heading', { level: 2, name: 'Answer the end user' }).waitFor();
      await page.getByLabel('Message', { exact: true }).fill('Hello Maria, Ana here. How can I help?');
      await page.getByRole('button', { name: 'Send' }).click();
      await expect.poll(() => chatSays(chat, 'operator')).toContain('Hello Maria, Ana here. How can I help?');
      // And the end user's reply reaches the console without a reload.
      await chat.fill('#input', 'My order is late.');
      await chat.press('#input', 'Enter');
      await page.locator('.bubble-user').filter({ hasText: 'My order is late.' }).waitFor();
      await chat.screenshot({ path: join('test-artifacts', `console-flow-chat-${width.name}.png`) });

      // Closed at a step of the bot's flow: the bot has the end user again.
      await page.getByLabel("At a step of the bot's flow").check();
      await page.getByLabel('Step name').fill('main_menu');
      await page.getByRole('button', { name: 'Close conversation' }).click();
      await page.getByText('This conversation is closed').waitFor();

      // The deliveries failed: the receiver's answer is there. Fixed, retried, delivered.
      const projectId = decodeURIComponent(new URL(page.url()).pathname.split('/')[3] ?? '');
      await expect
        .poll(
          async () => {
            const r = await fetch(`${base}/v1/external-support/${projectId}/deliveries?status=failed`, {
              headers: { authorization: `Bearer ${TOKEN}` },
            });
            return ((await r.json()) as { data: { items: { eventType: string }[] } }).data.items.map(
              (d) => d.eventType,
            );
          },
          { timeout: 20_000 },
        )
        .toContain('conversation.start');
      await nav(page, 'Deliveries');
      await page.getByRole('button', { name: 'Dead letters' }).click();
      const dead = page.locator('[data-delivery]').filter({ hasText: 'conversation.start' });
      await dead.waitFor();
      await dead.getByRole('link', { name: 'conversation.start' }).click();
      const attempts = page.locator('[data-attempt]');
      await attempts.first().getByText(`panel down (${width.name})`).waitFor();
      await checkScreen(page, 'flow-delivery-failed', width);
      receiver.respond(() => ({ kind: 'status', status: 200 }));
      await page.getByRole('button', { name: 'Retry now' }).click();
      await page.locator('.lead').getByText('Delivered', { exact: true }).waitFor();

      // A test event from the Integration screen, delivered.
      await nav(page, 'Integration');
      await page.getByRole('button', { name: 'Send test event' }).click();
      await page.getByRole('link', { name: 'See its delivery' }).click();
      await page.locator('.lead').getByText('Delivered', { exact: true }).waitFor();

      // Rotate the signing secret (shown once), then delete the integration.
      await nav(page, 'Integration');
      await page.getByRole('button', { name: 'Rotate' }).click();
      await page.getByRole('button', { name: 'Yes, rotate' }).click();
      await page.getByRole('heading', { name: 'Signing secret rotated' }).waitFor();
      expect((await page.getByRole('textbox', { name: 'Signing secret' }).inputValue()).length).toBe(64);
      await page.getByRole('button', { name: 'I have saved them' }).click();
      await page.getByRole('button', { name: 'Delete' }).click();
      await checkScreen(page, 'integration-delete-confirm', width);
      await page.getByRole('button', { name: 'Yes, delete' }).click();
      await page.getByText('This project has no integration yet').waitFor();

      // The overview counts what happened.
      await nav(page, 'Overview');
      await page.getByRole('heading', { level: 3, name: /Webhook attempts per minute/ }).waitFor();
      await page.locator('svg[role="img"]').waitFor();
      await checkScreen(page, 'flow-overview', width);
      expect(problems).toEqual([]);
      await chatContext.close();
      await context.close();
    }, 180_000);
  }
});
