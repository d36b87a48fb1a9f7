/**
 * The console's WhatsApp channel form in a real browser, against the built server and the Graph
 * API stand-in, at 1280 and 390 px: a whatsapp bot is created in the console; its page shows the
 * callback URL and verify token to paste into Meta's app (which then pass Meta's handshake), saves
 * the settings without ever showing the access token or app secret again; a token Meta refuses
 * (190) stops the channel's sending and the page says so; a new token resumes it and the held
 * message reaches WhatsApp; a message Meta refuses for good (131047) is a dead letter on the
 * Channels side of Deliveries, with Meta's reason. Screenshots in test-artifacts/, axe-core on each state, no
 * Content-Security-Policy violation.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromiumFor, launchChromium } from '../helpers/browser.js';
import { checkScreen, openConsole, signInWithAdminToken, WIDTHS } from '../helpers/console-page.js';
import { type GraphApiStandIn, META_ERRORS, startGraphApiStandIn } from '../helpers/graph-api-stand-in.js';
import { type Served, spawnServer } from '../helpers/spawned-server.js';

const haveChromium = haveChromiumFor('the console WhatsApp browser test');
const TOKEN = 'console-whatsapp-admin-token-0123456789';
const ADMIN = { authorization: `Bearer ${TOKEN}` };

describe.skipIf(!haveChromium)('console: a WhatsApp bot', () => {
  let dir: string;
  let served: Served;
  let base: string;
  let browser: Browser;
  let graph: GraphApiStandIn;
  const problems: string[] = [];

  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...ADMIN },
      body: body === undefined ? null : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: the test reads JSON answers loosely.
    return { status: r.status, body: (await r.json()) as any };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'relevo-console-whatsapp-'));
    graph = await startGraphApiStandIn();
    served = await spawnServer({
      DATABASE_URL: `sqlite:${join(dir, 'console.db')}`,
      RELEVO_ADMIN_TOKEN: TOKEN,
      RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
      RELEVO_WHATSAPP_GRAPH_URL: graph.url,
    });
    base = `http://127.0.0.1:${served.port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    served?.child.kill('SIGTERM');
    await served?.exited;
    await graph?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  WIDTHS.forEach((width, n) => {
    it(`at ${width.width} px: create, configure, see the sending stopped by Meta's 190, resume it`, async () => {
      graph.answerSends(() => undefined);
      const project = await call('POST', '/admin/v1/projects', { name: `WhatsApp ${width.name}` });
      const projectId = project.body.id as string;
      const phone = `10654035224292${n}`;
      const appSecret = `app-secret-${width.name}`;

      const { context, page } = await openConsole(browser, base, width, problems);
      await signInWithAdminToken(page, TOKEN);
      await page.goto(`${base}/console/projects/${projectId}/bots`);
      await page.getByLabel('Name', { exact: true }).fill('Loja');
      await page.getByLabel('Channel').selectOption('whatsapp');
      await page.getByRole('button', { name: 'Create the bot' }).click();
      await page.getByRole('heading', { level: 1, name: 'Loja' }).waitFor();
      const botId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
      expect(botId).toMatch(/^bot_/);
      await page.getByRole('heading', { name: 'WhatsApp channel' }).waitFor();
      await checkScreen(page, 'whatsapp-new', width);

      // A token Meta will refuse, first.
      await page.getByLabel('Phone number ID').fill(phone);
      await page.getByLabel('Access token').fill('EAAG-expired-token');
      await page.getByLabel('App secret').fill(appSecret);
      await page.getByLabel('Verify token', { exact: true }).fill(`verify-${width.name}`);
      await page.getByRole('button', { name: 'Save the WhatsApp settings' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
      // What to paste into Meta's app, and it passes Meta's handshake.
      const callback = await page.getByRole('textbox', { name: 'Callback URL', exact: true }).inputValue();
      expect(callback).toBe(`${base}/v1/channels/whatsapp/${botId}`);
      const verify = await page
        .getByRole('textbox', { name: 'Verify token', exact: true })
        .first()
        .inputValue();
      expect(verify).toBe(`verify-${width.name}`);
      const handshake = await fetch(
        `${callback}?hub.mode=subscribe&hub.verify_token=${verify}&hub.challenge=42`,
      );
      expect(await handshake.text()).toBe('42');
      // The secrets are not on the page, and their fields are empty again.
      expect(await page.getByLabel('Access token').inputValue()).toBe('');
      expect(await page.getByLabel('Graph API version').inputValue()).toBe('v23.0');
      expect(await page.content()).not.toContain('EAAG-expired-token');
      expect(await page.content()).not.toContain(appSecret);
      await checkScreen(page, 'whatsapp-configured', width);

      // A user writes; the greeting's send gets 190; the channel stops and the page says so.
      const userWrites = async (body: string, wamid: string) => {
        const raw = JSON.stringify({
          object: 'whatsapp_business_account',
          entry: [
            {
              id: '1',
              changes: [
                {
                  field: 'messages',
                  value: {
                    messaging_product: 'whatsapp',
                    metadata: { display_phone_number: '15550783881', phone_number_id: phone },
                    contacts: [{ profile: { name: 'Ana' }, wa_id: `52155${n}1234567` }],
                    messages: [
                      { from: `52155${n}1234567`, id: wamid, timestamp: '1', type: 'text', text: { body } },
                    ],
                  },
                },
              ],
            },
          ],
        });
        const posted = await fetch(callback, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`,
          },
          body: raw,
        });
        expect(posted.status).toBe(200);
      };
      await userWrites('hola', `wamid.console-${n}`);
      const channelPath = `/admin/v1/projects/${projectId}/bots/${botId}/channel`;
      await expect
        .poll(async () => (await call('GET', channelPath)).body.sendingDisabled !== null, { timeout: 15_000 })
        .toBe(true);
      await page.reload();
      const alert = page.getByRole('alert').filter({ hasText: 'Sending is stopped' });
      await alert.waitFor();
      expect(await alert.textContent()).toContain(
        'Meta refused the access token (WhatsApp error 190: Error validating access token: Session has expired.)',
      );
      await checkScreen(page, 'whatsapp-sending-stopped', width);

      // The right token: sending resumes, the held greeting goes out first.
      const mine = () =>
        graph.sent.filter((s) => s.path.endsWith(`/${phone}/messages`) && s.wamid !== undefined);
      await page.getByLabel('Access token').fill(graph.token);
      await page.getByRole('button', { name: 'Save the WhatsApp settings' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
      expect(await page.getByRole('alert').filter({ hasText: 'Sending is stopped' }).count()).toBe(0);
      await expect.poll(() => mine().length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
      expect(mine()[0]?.body.text.body).toBe(
        'Hi! I am a virtual assistant. Type "human" at any time to talk to a person.',
      );

      // A message Meta refuses for good (131047: outside the 24-hour window) is a dead letter on
      // the Channels side of Deliveries, with Meta's reason.
      graph.answerSends(() => META_ERRORS.outsideWindow);
      await userWrites('¿siguen ahí?', `wamid.console-${n}-again`);
      await page.goto(`${base}/console/projects/${projectId}/deliveries`);
      await page.getByRole('button', { name: 'Channels' }).click();
      await page.getByRole('button', { name: /^Dead letters/ }).click();
      const dead = page.locator('[data-delivery]').filter({ hasText: 'WhatsApp error 131047' });
      await expect
        .poll(
          async () => {
            if ((await dead.count()) > 0) return true;
            await page.getByRole('button', { name: /^Dead letters/ }).click();
            return false;
          },
          { timeout: 15_000 },
        )
        .toBe(true);
      await checkScreen(page, 'whatsapp-deliveries-channel', width);
      await dead.first().getByRole('link').click();
      await page.waitForURL(/\/deliveries\/channel\/evt_/);
      await page.getByRole('heading', { level: 2, name: 'Message', exact: true }).waitFor();
      expect(await page.locator('pre.payload').last().textContent()).toContain('"event": "message"');
      await page
        .getByText(/WhatsApp error 131047/)
        .first()
        .waitFor();
      await checkScreen(page, 'whatsapp-delivery-channel', width);
      graph.answerSends(() => undefined);
      expect(problems).toEqual([]);
      await context.close();
    }, 120_000);
  });
});
