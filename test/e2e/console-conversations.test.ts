/**
 * The console's Conversations and Live events screens in a real browser, against the built server
 * (`relevo serve` in a child process), at 1280 and 390 px: signed in with a project's API key, the
 * live events show a web chat visitor's handoff as it is committed; the conversation's transcript
 * shows the visitor's next message without a reload; the agent answers (the visitor reads it
 * through the web chat's API) and closes at a step of the bot's flow. Signed in with the admin
 * token, a project with 10,000 conversations lists 25, and 25 more on "Load more", and the state
 * filter narrows the list. Screenshots in test-artifacts/, axe-core on every screen, and any
 * Content-Security-Policy violation fails the test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConversation } from '../../src/domain/conversations/start.js';
import { createBot, createEndUser, createProject } from '../../src/domain/projects/project.service.js';
import { openStore } from '../../src/storage/open-store.js';
import { haveChromiumFor, launchChromium } from '../helpers/browser.js';
import {
  checkScreen,
  openConsole,
  signInWithAdminToken,
  signInWithApiKey,
  WIDTHS,
} from '../helpers/console-page.js';
import { type Served, spawnServer } from '../helpers/spawned-server.js';

const haveChromium = haveChromiumFor('the console conversations browser test');
const TOKEN = 'console-conversations-admin-token-0123';
const SEEDED = 10_000;

describe.skipIf(!haveChromium)('console: conversations and live events', () => {
  let dir: string;
  let served: Served;
  let base: string;
  let browser: Browser;
  let big: { projectId: string; closedId: string };
  const problems: string[] = [];

  const json = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await r.text();
    // biome-ignore lint/suspicious/noExplicitAny: the test reads JSON answers loosely.
    return { status: r.status, body: (text === '' ? undefined : JSON.parse(text)) as any };
  };
  const admin = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'relevo-console-conv-'));
    const url = `sqlite:${join(dir, 'console.db')}`;
    // A project with 10,000 conversations, written before the server starts (one transaction:
    // a second or two), the newest one closed.
    const store = await openStore(url);
    await store.migrate();
    big = await store.transaction(async (tx) => {
      const now = Date.now() - 60_000;
      const { project } = await createProject(tx, 'Busy', now);
      const bot = await createBot(tx, project.id, 'Busy Bot', 'webchat', now);
      let last = '';
      for (let i = 0; i < SEEDED; i++) {
        const user = await createEndUser(tx, project.id, `Customer ${i}`, null, now + i);
        const started = await startConversation(tx, {
          projectId: project.id,
          botId: bot.id,
          userId: user.id,
          now: now + i,
        });
        last = started.conversation.id;
      }
      await tx.conversations.close(last, now + SEEDED, 'closed_by_operator');
      return { projectId: project.id, closedId: last };
    });
    await store.close();
    served = await spawnServer({ DATABASE_URL: url, RELEVO_ADMIN_TOKEN: TOKEN });
    base = `http://127.0.0.1:${served.port}`;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    served?.child.kill('SIGTERM');
    await served?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A project with a web chat bot (the default rules: "human please" hands off). */
  async function projectWithWebchat(name: string) {
    const p = await json('POST', '/admin/v1/projects', { name }, admin);
    expect(p.status).toBe(201);
    const b = await json(
      'POST',
      `/admin/v1/projects/${p.body.id}/bots`,
      { name: 'Helper', channel: 'webchat' },
      admin,
    );
    expect(b.status).toBe(201);
    return { projectId: p.body.id as string, apiKey: p.body.apiKey as string, botId: b.body.id as string };
  }

  /** A web chat visitor, writing through the chat's own API. */
  async function visitor(botId: string, name: string) {
    const s = await json('POST', `/webchat/${botId}/sessions`, { name });
    expect(s.status).toBe(201);
    const auth = { authorization: `Bearer ${s.body.sessionToken}` };
    return {
      say: async (body: string) =>
        expect(
          (await json('POST', `/webchat/${botId}/messages`, { type: 'text', content: { body } }, auth))
            .status,
        ).toBe(202),
      read: async () => {
        const r = await json('GET', `/webchat/${botId}/messages?limit=200`, undefined, auth);
        return (r.body.messages as { sender: string; content: { body?: string } }[]).map(
          (m) => `${m.sender}: ${m.content.body ?? ''}`,
        );
      },
    };
  }

  async function go(page: Page, label: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label }).click();
  }

  for (const width of WIDTHS) {
    it(`at ${width.width} px: live events, a live transcript, the agent's answer and a close at a step`, async () => {
      const p = await projectWithWebchat(`Shop ${width.name}`);
      const { context, page } = await openConsole(browser, base, width, problems);
      await signInWithApiKey(page, p.projectId, p.apiKey);

      // Live events: empty, then the handoff as it is committed.
      await go(page, 'Live events');
      await page.getByText('Waiting for events.').waitFor();
      await page.getByText('Live', { exact: true }).waitFor();
      await checkScreen(page, 'live-events-empty', width);
      const maria = await visitor(p.botId, `Maria ${width.name}`);
      await maria.say('human please');
      const started = page.locator('[data-event]').filter({ hasText: 'conversation.start' });
      await started.waitFor();
      await expect(started.getByText(`Maria ${width.name}`)).toBeTruthy();
      await started.getByText('Payload').click();
      await checkScreen(page, 'live-events', width);

      // The conversation from the list, filtered to the active ones.
      await go(page, 'Conversations');
      await page.getByLabel('State').selectOption('active');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      const row = page.locator('[data-conversation]');
      await row.first().waitFor();
      expect(await row.count()).toBe(1);
      await checkScreen(page, 'conversations', width);
      await row.getByRole('link', { name: `Maria ${width.name}` }).click();
      await page.getByRole('heading', { level: 1, name: `Maria ${width.name}` }).waitFor();
      await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();

      // The visitor writes: the transcript shows it without a reload.
      await maria.say('Is anyone there?');
      await page.locator('.bubble-user').filter({ hasText: 'Is anyone there?' }).waitFor();

      // The agent answers; the visitor reads it in the chat.
      await page.getByLabel('Message', { exact: true }).fill(`Hello Maria, this is Ana (${width.name}).`);
      await page.getByRole('button', { name: 'Send' }).click();
      await page.locator('.bubble-operator').filter({ hasText: 'this is Ana' }).waitFor();
      await expect
        .poll(async () =>
          (await maria.read()).includes(`operator: Hello Maria, this is Ana (${width.name}).`),
        )
        .toBe(true);
      await checkScreen(page, 'conversation', width);

      // The answer to a send is lost after the server took it: the agent sees the failure, edits
      // the text and sends again. The edit is a new message (a new id), not a repeat of the first.
      let cut = true;
      await page.route('**/messages', async (route) => {
        if (!cut || route.request().method() !== 'POST') return route.continue();
        cut = false;
        await route.fetch();
        await route.abort('connectionreset');
      });
      await page.getByLabel('Message', { exact: true }).fill('One moment.');
      await page.getByRole('button', { name: 'Send' }).click();
      await page.getByText('relevo is not reachable. Check that the server is running.').waitFor();
      await page.getByLabel('Message', { exact: true }).fill('One moment, please.');
      await page.getByRole('button', { name: 'Send' }).click();
      await page.locator('.bubble-operator').filter({ hasText: 'One moment, please.' }).waitFor();
      await expect
        .poll(async () => (await maria.read()).filter((m) => m.startsWith('operator: One moment')))
        .toEqual(['operator: One moment.', 'operator: One moment, please.']);
      await page.unroute('**/messages');

      // A picture by URL with no MIME type: the form will not send it.
      await page.getByRole('combobox', { name: /^Type/ }).selectOption('image');
      await page.getByLabel('URL', { exact: true }).fill('https://example.com/a.png');
      await page.getByRole('button', { name: 'Send' }).click();
      expect(
        await page
          .getByLabel('MIME type')
          .evaluate((e) => (e as unknown as { validity: { valid: boolean } }).validity.valid),
      ).toBe(false);

      // Close at a step of the bot's flow.
      await page.getByLabel("At a step of the bot's flow").check();
      await page.getByLabel('Step name').fill('main_menu');
      await page.getByRole('button', { name: 'Close conversation' }).click();
      await page.getByText('This conversation is closed').waitFor();
      const url = new URL(page.url());
      const conversationId = decodeURIComponent(url.pathname.split('/').pop() ?? '');
      const read = await json(
        'GET',
        `/v1/external-support/${p.projectId}/conversations/${conversationId}`,
        undefined,
        {
          'x-api-key': p.apiKey,
        },
      );
      expect(read.body.data.state).toBe('closed');
      await checkScreen(page, 'conversation-closed', width);
      expect(problems).toEqual([]);
      await context.close();
    }, 120_000);
  }

  it('lists 10,000 conversations 25 at a time, and filters them, with the admin token', async () => {
    const width = WIDTHS[0];
    const { context, page } = await openConsole(browser, base, width, problems);
    await signInWithAdminToken(page, TOKEN);
    await page.goto(`${base}/console/projects/${big.projectId}/conversations`);
    const rows = page.locator('[data-conversation]');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(25);
    // Newest first: the closed one heads the list.
    expect(await rows.first().getAttribute('data-conversation')).toBe(big.closedId);
    await page.getByRole('button', { name: 'Load more conversations' }).click();
    await expect.poll(() => rows.count()).toBe(50);
    await checkScreen(page, 'conversations-10000', width);
    await page.getByLabel('State').selectOption('closed');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    await page.getByLabel('End user id').fill('nobody');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No conversation matches these filters.').waitFor();
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
