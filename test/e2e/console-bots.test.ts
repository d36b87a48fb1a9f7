/**
 * The console's Bots and Integration screens in a real browser, against the built server, at
 * 1280 and 390 px. With the admin token: the bot list pages with "Load more"; a web chat bot is
 * created; rules with a JSON typo and then an invalid rule are refused where they are (the
 * problem's path under the editor, the editor marked invalid, the message under the input of its
 * field), then fixed through the greeting, handoff and assignment inputs; the external engine's
 * signing secret is shown once and regenerated after a confirmation; the chat link and embed
 * snippet are there with copy buttons; an http bot's channel key is shown once and regenerated
 * after a confirmation; a bot that is not there is said to be so. With a project
 * API key: Bots is not offered; the integration is refused for an address relevo may not reach
 * (the reason under the field), created for a loopback receiver, its secret rotated after a
 * confirmation, changed to a bearer token (refused under the field without one), a test event
 * sent and received signed with the new secret and carrying the token, and the integration
 * deleted. Screenshots in test-artifacts/, axe-core on every screen, no Content-Security-Policy
 * violation.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromiumFor, launchChromium } from '../helpers/browser.js';
import {
  checkScreen,
  openConsole,
  signInWithAdminToken,
  signInWithApiKey,
  WIDTHS,
} from '../helpers/console-page.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type Served, spawnServer } from '../helpers/spawned-server.js';

const haveChromium = haveChromiumFor('the console bots and integration browser test');
const TOKEN = 'console-bots-admin-token-0123456789abcd';
const ADMIN = { authorization: `Bearer ${TOKEN}` };

describe.skipIf(!haveChromium)('console: bots and integration', () => {
  let dir: string;
  let served: Served;
  let base: string;
  let browser: Browser;
  let receiver: Receiver;
  const problems: string[] = [];

  const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? null : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: the test reads JSON answers loosely.
    return { status: r.status, body: (await r.json()) as any };
  };

  const nav = (page: Page, label: string) =>
    page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();

  const shownSecret = async (page: Page, label: string) => {
    const value = await page.getByRole('textbox', { name: label, exact: true }).inputValue();
    await page.getByRole('button', { name: 'I have saved them' }).click();
    return value;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'relevo-console-bots-'));
    receiver = await startReceiver();
    served = await spawnServer({
      DATABASE_URL: `sqlite:${join(dir, 'console.db')}`,
      RELEVO_ADMIN_TOKEN: TOKEN,
      RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
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

  for (const width of WIDTHS) {
    it(`at ${width.width} px: bots with the admin token (list, rules, engine, channel)`, async () => {
      const name = `Bots ${width.name}`;
      const project = await call('POST', '/admin/v1/projects', ADMIN, { name });
      expect(project.status).toBe(201);
      const projectId = project.body.id as string;
      // One more http bot than a page holds (20), so the list has a second page.
      for (let i = 1; i <= 21; i++) {
        const bot = await call('POST', `/admin/v1/projects/${projectId}/bots`, ADMIN, {
          name: `App bot ${String(i).padStart(2, '0')}`,
          channel: 'http',
        });
        expect(bot.status).toBe(201);
      }

      const { context, page } = await openConsole(browser, base, width, problems);
      await signInWithAdminToken(page, TOKEN);
      await page.getByRole('link', { name }).click();
      await nav(page, 'Bots');
      const list = page.getByRole('list', { name: 'Bots' });
      await list.getByRole('link', { name: 'App bot 01' }).waitFor();
      expect(await list.getByRole('listitem').count()).toBe(20);
      await checkScreen(page, 'bots-list', width);
      await page.getByRole('button', { name: 'Load more bots' }).click();
      await list.getByRole('link', { name: 'App bot 21' }).waitFor();
      expect(await list.getByRole('listitem').count()).toBe(21);
      expect(await page.getByRole('button', { name: 'Load more bots' }).count()).toBe(0);

      // An http bot: its channel's signing key, shown once, then regenerated after a confirmation.
      await list.getByRole('link', { name: 'App bot 21' }).click();
      await page.getByRole('heading', { level: 1, name: 'App bot 21' }).waitFor();
      await page.getByLabel("Your app's URL").fill(`${receiver.url}/app`);
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.getByRole('heading', { name: 'Channel signing key' }).waitFor();
      const key = await shownSecret(page, 'Signing key');
      expect(key.length).toBeGreaterThanOrEqual(32);
      await page.getByRole('button', { name: 'Regenerate the signing key' }).click();
      await page.getByRole('button', { name: 'Yes, regenerate the signing key' }).click();
      await page.getByRole('heading', { name: 'Channel signing key' }).waitFor();
      const key2 = await shownSecret(page, 'Signing key');
      expect(key2).not.toBe(key);
      await page.getByRole('link', { name: '← Bots' }).click();

      // A web chat bot, created in the console; its page opens.
      await page.getByLabel('Name', { exact: true }).fill('Helper');
      await page.getByRole('button', { name: 'Create the bot' }).click();
      await page.getByRole('heading', { level: 1, name: 'Helper' }).waitFor();
      const botId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
      expect(botId).toMatch(/^bot_/);
      expect(new URL(page.url()).pathname).toBe(`/console/projects/${projectId}/bots/${botId}`);

      // The chat link and the embed snippet, each with a copy button that copies it.
      expect(await page.getByLabel('Chat link', { exact: true }).inputValue()).toBe(
        `${base}/webchat/${botId}`,
      );
      const snippet = `<script src="${base}/webchat/${botId}/widget.js" async></script>`;
      expect(await page.getByLabel('Embed snippet', { exact: true }).inputValue()).toBe(snippet);
      await page.getByRole('button', { name: 'Copy Embed snippet' }).click();
      expect(await page.evaluate('navigator.clipboard.readText()')).toBe(snippet);

      // Rules: a JSON typo is caught before sending, with its line and column.
      const editor = page.getByLabel('Rules (JSON)');
      const original = await editor.inputValue();
      const rules = JSON.parse(original) as Record<string, unknown>;
      await editor.fill(`${original.slice(0, -1)},}`);
      await page.getByRole('button', { name: 'Save the rules' }).click();
      await page.getByText(/This is not valid JSON at line \d+, column \d+/).waitFor();
      expect(await editor.getAttribute('aria-invalid')).toBe('true');
      // The usual fields read the JSON, so they wait while it does not parse.
      const greetingInput = page.getByLabel('Greeting', { exact: true });
      expect(await greetingInput.isDisabled()).toBe(true);

      // An invalid rule: the server's 422, each path with its messages under the editor.
      await editor.fill(JSON.stringify({ ...rules, greeting: '' }, null, 2));
      await page.getByRole('button', { name: 'Save the rules' }).click();
      const listed = page.getByRole('list', { name: 'Problems in the rules' });
      await listed.getByRole('listitem').filter({ hasText: 'greeting' }).waitFor();
      expect(await editor.getAttribute('aria-invalid')).toBe('true');
      // The list sits right under the editor and the editor points at it.
      expect(await editor.getAttribute('aria-describedby')).toBe('rules-json-hint rules-problems');
      expect(await page.locator('#rules-problems').getByRole('list').count()).toBe(1);
      // ... and under the Greeting input, which is marked invalid and points at it.
      expect(await greetingInput.isDisabled()).toBe(false);
      expect(await page.locator('#rules-greeting-error').textContent()).toBe('must not be empty');
      expect(await greetingInput.getAttribute('aria-invalid')).toBe('true');
      expect(await greetingInput.getAttribute('aria-describedby')).toBe(
        'rules-greeting-hint rules-greeting-error',
      );
      await checkScreen(page, 'bots-rules-invalid', width);

      // The usual fields write the JSON: a greeting, then a handoff keyword that could never match,
      // refused with its problem under the keywords input (the second keyword, as a person counts).
      const greeting = `Hi, I am Helper (${width.name}).`;
      await greetingInput.fill(greeting);
      expect(JSON.parse(await editor.inputValue()).greeting).toBe(greeting);
      const keywordsInput = page.getByLabel('Handoff keywords');
      await keywordsInput.fill('agent, ?!');
      expect(JSON.parse(await editor.inputValue()).handoff.keywords).toEqual(['agent', '?!']);
      await page.getByRole('button', { name: 'Save the rules' }).click();
      await listed.getByRole('listitem').filter({ hasText: 'handoff.keywords.1' }).waitFor();
      expect(await page.locator('#rules-handoff-keywords-error').textContent()).toMatch(
        /^keyword 2: must contain a letter or a digit/,
      );
      expect(await keywordsInput.getAttribute('aria-invalid')).toBe('true');
      expect(await greetingInput.getAttribute('aria-invalid')).toBe('false');
      await checkScreen(page, 'bots-rules-fields-invalid', width);
      // Typed key by key, a keyword's comma stays until the next keyword comes.
      await keywordsInput.fill('');
      await keywordsInput.pressSequentially('agent, talk to a person');
      expect(await keywordsInput.inputValue()).toBe('agent, talk to a person');
      await page.getByLabel('Assign to').selectOption('queue');
      await page.getByLabel('Queue, operator or team').fill('SALES');
      await page.getByRole('button', { name: 'Save the rules' }).click();
      await page.getByText('Saved: the bot answers with these rules').waitFor();
      expect(await editor.getAttribute('aria-invalid')).toBe('false');
      expect(await keywordsInput.getAttribute('aria-invalid')).toBe('false');
      expect(await listed.count()).toBe(0);
      const stored = await call('GET', `/admin/v1/projects/${projectId}/bots/${botId}/rules`, ADMIN);
      expect(stored.body.rules).toEqual({
        ...rules,
        greeting,
        handoff: {
          ...(rules.handoff as object),
          keywords: ['agent', 'talk to a person'],
          assignment: { type: 'queue', target: 'SALES' },
        },
      });
      expect(stored.body.isDefault).toBe(false);

      // The external engine: its signing secret once; regenerated after a confirmation.
      await page.getByLabel('Your own bot, over signed webhooks').check();
      await page.getByLabel("Your bot's webhook URL").fill(`${receiver.url}/bot`);
      await page.getByRole('button', { name: 'Save the engine' }).click();
      await page.getByRole('heading', { name: "Your bot's signing secret" }).waitFor();
      await checkScreen(page, 'bots-engine-secret', width);
      const secret = await shownSecret(page, 'Signing secret');
      expect(secret.length).toBe(64);
      expect(await page.getByRole('textbox', { name: 'Signing secret', exact: true }).count()).toBe(0);
      const engine = await call('GET', `/admin/v1/projects/${projectId}/bots/${botId}/engine`, ADMIN);
      expect(engine.body).toMatchObject({ type: 'external', webhookUrl: `${receiver.url}/bot` });
      await page.getByRole('button', { name: 'Regenerate the signing secret' }).click();
      await checkScreen(page, 'bots-engine-regenerate-confirm', width);
      await page.getByRole('button', { name: 'Yes, regenerate the signing secret' }).click();
      await page.getByRole('heading', { name: "Your bot's signing secret" }).waitFor();
      const secret2 = await shownSecret(page, 'Signing secret');
      expect(secret2.length).toBe(64);
      expect(secret2).not.toBe(secret);
      await checkScreen(page, 'bots-webchat', width);

      // A bot that is not there: said so, with the way back to the list.
      await page.goto(`${base}/console/projects/${projectId}/bots/bot_nothere`);
      await page.getByText('No bot with id "bot_nothere" exists in this project.', { exact: true }).waitFor();
      await page.getByRole('link', { name: '← Bots' }).waitFor();
      await checkScreen(page, 'bots-not-found', width);
      expect(problems).toEqual([]);
      await context.close();
    }, 180_000);

    it(`at ${width.width} px: the integration with a project API key (create, rotate, change, test event, delete)`, async () => {
      const project = await call('POST', '/admin/v1/projects', ADMIN, { name: `Integration ${width.name}` });
      const projectId = project.body.id as string;
      const { context, page } = await openConsole(browser, base, width, problems);
      await signInWithApiKey(page, projectId, project.body.apiKey as string);
      // Bots calls the admin API: a project credential is not offered it.
      expect(
        await page
          .getByRole('navigation', { name: 'Main' })
          .getByRole('link', { name: 'Bots', exact: true })
          .count(),
      ).toBe(0);

      await nav(page, 'Integration');
      await page.getByText('This project has no integration yet').waitFor();
      await checkScreen(page, 'integration-empty', width);

      // An address relevo may not reach: the server's reason under the field.
      const url = page.getByLabel('Webhook URL');
      await url.fill('http://10.1.2.3/events');
      await page.getByRole('button', { name: 'Create the integration' }).click();
      const fieldError = page.locator('#integration-webhookUrl-error');
      await fieldError.waitFor();
      expect((await fieldError.textContent())?.length).toBeGreaterThan(0);
      expect(await url.getAttribute('aria-invalid')).toBe('true');
      expect(await url.getAttribute('aria-describedby')).toBe('integration-webhookUrl-error');
      await checkScreen(page, 'integration-invalid', width);

      // Created for the loopback receiver: its signing secret once.
      const path = `/${width.name}/events`;
      await url.fill(`${receiver.url}${path}`);
      await page.getByRole('button', { name: 'Create the integration' }).click();
      await page.getByRole('heading', { name: 'Integration created' }).waitFor();
      const secret = await shownSecret(page, 'Signing secret');
      expect(secret.length).toBe(64);
      await page.getByRole('heading', { name: 'Webhook' }).waitFor();
      await page.getByText(`${receiver.url}${path}`, { exact: true }).waitFor();

      // Rotated after a confirmation whose Cancel has the focus.
      await page.getByRole('button', { name: 'Rotate' }).click();
      await expect.poll(() => page.evaluate('document.activeElement.textContent')).toBe('Cancel');
      await page.getByRole('button', { name: 'Yes, rotate' }).click();
      await page.getByRole('heading', { name: 'Signing secret rotated' }).waitFor();
      const rotated = await shownSecret(page, 'Signing secret');
      expect(rotated).not.toBe(secret);

      // Changed to a bearer token: without the token the server's reason is under its field;
      // with it, the webhook says so and the receiver gets the token (the test event below).
      await page.getByRole('button', { name: 'Change' }).click();
      await page.getByLabel('How relevo authenticates to it').selectOption('bearer');
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      const tokenError = page.locator('#integration-authorization-error');
      await tokenError.waitFor();
      expect(await tokenError.textContent()).toBe('is required when authType is bearer');
      const token = page.getByLabel('Token or key');
      expect(await token.getAttribute('aria-invalid')).toBe('true');
      expect(await token.getAttribute('aria-describedby')).toBe('integration-authorization-error');
      await checkScreen(page, 'integration-change-invalid', width);
      await token.fill(`panel-token-${width.name}`);
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.getByText('Bearer token (Authorization: Bearer …)', { exact: true }).waitFor();
      expect(await page.getByRole('button', { name: 'Change' }).count()).toBe(1);

      // A test message event: "Sent", a link to its delivery, and the receiver gets it signed
      // with the new secret.
      const before = receiver.received.length;
      await page.getByRole('combobox', { name: 'Event', exact: true }).selectOption('message');
      await page.getByRole('button', { name: 'Send test event' }).click();
      const status = page.getByRole('status').filter({ hasText: 'Sent.' });
      await status.waitFor();
      const link = status.getByRole('link', { name: 'See its delivery' });
      const href = (await link.getAttribute('href')) ?? '';
      expect(href).toMatch(new RegExp(`^/console/projects/${projectId}/deliveries/evt_[0-9a-z]+$`));
      const eventId = href.split('/').pop();
      await checkScreen(page, 'integration-test-sent', width);
      const mine = () => receiver.received.slice(before).filter((r) => r.path.endsWith(path));
      await expect.poll(() => mine().length, { timeout: 15_000 }).toBe(1);
      const [got] = mine();
      expect(JSON.parse(got?.body ?? '{}').event_type).toBe('message');
      expect(got?.headers.authorization).toBe(`Bearer panel-token-${width.name}`);
      expect(got?.headers['x-jelou-signature']).toBe(
        `sha256=${createHmac('sha256', rotated)
          .update(got?.body ?? '')
          .digest('hex')}`,
      );
      const logged = await call('GET', `/v1/external-support/${projectId}/deliveries/${eventId}`, {
        'x-api-key': project.body.apiKey as string,
      });
      expect(logged.body.data.eventType).toBe('message');
      await link.click();
      await page.locator('.lead').getByText('Delivered', { exact: true }).waitFor();

      // Deleted after a confirmation: back to the empty state.
      await nav(page, 'Integration');
      await page.getByRole('button', { name: 'Delete' }).click();
      await page.getByRole('button', { name: 'Yes, delete' }).click();
      await page.getByText('This project has no integration yet').waitFor();
      const gone = await call('GET', `/v1/external-support/${projectId}`, {
        'x-api-key': project.body.apiKey as string,
      });
      expect(gone.status).toBe(404);
      expect(gone.body.code ?? gone.body.error?.code).toBe('integration_not_found');
      expect(problems).toEqual([]);
      await context.close();
    }, 120_000);
  }

  it("a bot's page names a bot that is past the first page of 200; a project without bots says so", async () => {
    const project = await call('POST', '/admin/v1/projects', ADMIN, { name: 'Many bots' });
    const projectId = project.body.id as string;
    let last = '';
    for (let i = 1; i <= 201; i++) {
      const bot = await call('POST', `/admin/v1/projects/${projectId}/bots`, ADMIN, { name: `Bot ${i}` });
      last = bot.body.id as string;
    }
    const page1 = await call('GET', `/admin/v1/projects/${projectId}/bots?limit=200`, ADMIN);
    expect(page1.body.items.map((b: { id: string }) => b.id)).not.toContain(last);
    const { context, page } = await openConsole(browser, base, WIDTHS[0], problems);
    await signInWithAdminToken(page, TOKEN);
    await page.goto(`${base}/console/projects/${projectId}/bots/${last}`);
    await page.getByRole('heading', { level: 1, name: 'Bot 201' }).waitFor();
    // A project without bots says so, with the form to create one.
    const empty = await call('POST', '/admin/v1/projects', ADMIN, { name: 'No bots' });
    await page.goto(`${base}/console/projects/${empty.body.id as string}/bots`);
    await page.getByText('This project has no bot yet: create one above.', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Create the bot' }).waitFor();
    await checkScreen(page, 'bots-empty', WIDTHS[0]);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});
