/**
 * The console's Deliveries screen in a real browser, against the built server, at 1280 and 390
 * px: a receiver that answers 500 turns a test event into a dead letter; the console lists it
 * under "Dead letters", its page shows each attempt with the receiver's status and answer; the
 * receiver is fixed, "Retry now" is pressed, and the page shows it delivered without a reload.
 * Replay asks for a confirmation and says how many events it queued. The "Dead letters" button
 * counts them. A bot with an outside engine whose webhook answers 500 has its own dead letter
 * under "Bots' engines", with its attempts and the bot's answer. Screenshots in test-artifacts/,
 * axe-core on every screen, no Content-Security-Policy violation.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromiumFor, launchChromium } from '../helpers/browser.js';
import { checkScreen, openConsole, signInWithApiKey, WIDTHS } from '../helpers/console-page.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type Served, spawnServer } from '../helpers/spawned-server.js';

const haveChromium = haveChromiumFor('the console deliveries browser test');
const TOKEN = 'console-deliveries-admin-token-012345';

describe.skipIf(!haveChromium)('console: deliveries', () => {
  let dir: string;
  let served: Served;
  let base: string;
  let browser: Browser;
  let receiver: Receiver;
  /** The outside engine's webhook, and the http channel the end user writes from. */
  let botHook: Receiver;
  let channel: Receiver;
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

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'relevo-console-deliveries-'));
    receiver = await startReceiver();
    botHook = await startReceiver();
    channel = await startReceiver();
    served = await spawnServer({
      DATABASE_URL: `sqlite:${join(dir, 'console.db')}`,
      RELEVO_ADMIN_TOKEN: TOKEN,
      RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
      // Two attempts a second apart, then a dead letter.
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
    await botHook?.close();
    await channel?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const width of WIDTHS) {
    it(`at ${width.width} px: a dead letter's attempts with the receiver's answer, then a retry that delivers`, async () => {
      const p = await call(
        'POST',
        '/admin/v1/projects',
        { authorization: `Bearer ${TOKEN}` },
        { name: `Log ${width.name}` },
      );
      const projectId = p.body.id as string;
      const key = { 'x-api-key': p.body.apiKey as string };
      expect(
        (await call('POST', `/v1/external-support/${projectId}`, key, { webhookUrl: receiver.url })).status,
      ).toBe(200);
      receiver.respond(() => ({ kind: 'status', status: 500, body: `receiver down (${width.name})` }));
      const sent = await call('POST', `/v1/external-support/${projectId}/events/test`, key, {
        type: 'conversation.start',
      });
      expect(sent.status).toBe(200);
      const eventId = sent.body.data.eventId as string;
      await expect
        .poll(
          async () =>
            (await call('GET', `/v1/external-support/${projectId}/deliveries/${eventId}`, key)).body.data
              .status,
          {
            timeout: 15_000,
          },
        )
        .toBe('failed');

      const { context, page } = await openConsole(browser, base, width, problems);
      await signInWithApiKey(page, projectId, p.body.apiKey);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deliveries' }).click();
      await page.getByRole('heading', { level: 1, name: 'Deliveries' }).waitFor();
      await page.locator('[data-delivery]').first().waitFor();
      await checkScreen(page, 'deliveries', width);
      // The count comes from the overview: one dead letter in this project.
      await page.locator('[data-dead-letters="1"]').waitFor();
      await page.getByRole('button', { name: 'Dead letters' }).click();
      const dead = page.locator(`[data-delivery="${eventId}"]`);
      await dead.getByText('Dead letter').waitFor();
      expect(await page.locator('[data-delivery]').count()).toBe(1);
      await dead.getByRole('link', { name: 'conversation.start' }).click();

      // Each attempt with the receiver's status and answer.
      await page.getByRole('heading', { level: 2, name: 'Attempts' }).waitFor();
      const attempts = page.locator('[data-attempt]');
      expect(await attempts.count()).toBe(2);
      await attempts.first().getByText('HTTP 500').waitFor();
      await attempts.first().getByText(`receiver down (${width.name})`).waitFor();
      await attempts.first().getByText('Request', { exact: true }).click();
      await attempts.first().getByText(`webhook-id: ${eventId}`).waitFor();
      await checkScreen(page, 'delivery-failed', width);

      // Fixed receiver, retry: delivered, shown without a reload.
      receiver.respond(() => ({ kind: 'status', status: 200 }));
      await page.getByRole('button', { name: 'Retry now' }).click();
      await page.locator('.lead').getByText('Delivered', { exact: true }).waitFor();
      await attempts.first().getByText('HTTP 200').waitFor();
      expect(await attempts.count()).toBe(3);
      await checkScreen(page, 'delivery-retried', width);

      // Replay since an hour ago, after a confirmation.
      await page.getByRole('link', { name: '← Deliveries' }).click();
      await page.getByRole('button', { name: 'Replay…' }).click();
      await page.getByRole('button', { name: 'Yes, replay' }).click();
      await page.getByText('1 event queued to be sent again.').waitFor();
      await page.locator('[data-dead-letters="0"]').waitFor();

      // A bot's outside engine answering 500: its dead letter is on the other side of the log.
      const admin = { authorization: `Bearer ${TOKEN}` };
      const bot = await call('POST', `/admin/v1/projects/${projectId}/bots`, admin, {
        name: 'Outside bot',
        channel: 'http',
      });
      expect(bot.status).toBe(201);
      const botId = bot.body.id as string;
      const put = await call('PUT', `/admin/v1/projects/${projectId}/bots/${botId}/channel`, admin, {
        webhookUrl: channel.url,
      });
      expect(put.status).toBe(201);
      const channelKey = put.body.signingKey as string;
      expect(
        (
          await call('PUT', `/admin/v1/projects/${projectId}/bots/${botId}/engine`, admin, {
            type: 'external',
            webhookUrl: botHook.url,
          })
        ).status,
      ).toBe(200);
      botHook.respond(() => ({ kind: 'status', status: 500, body: `bot down (${width.name})` }));
      const raw = JSON.stringify({
        referenceId: `user-${width.name}`,
        message: { type: 'text', content: { body: 'hello bot' } },
      });
      const wrote = await fetch(`${base}/v1/custom-channel/${botId}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-jelou-signature': `sha256=${createHmac('sha256', channelKey).update(raw).digest('hex')}`,
        },
        body: raw,
      });
      expect(wrote.status).toBe(202);
      const botLog = `/v1/external-support/${projectId}/deliveries?destination=bot&status=failed`;
      await expect
        .poll(async () => (await call('GET', botLog, key)).body.data.items.length, { timeout: 15_000 })
        .toBe(1);
      await page.getByRole('button', { name: "Bots' engines" }).click();
      await page.getByRole('button', { name: 'Dead letters' }).click();
      const botDead = page.locator('[data-delivery]');
      await botDead.getByText('Dead letter').waitFor();
      expect(await botDead.count()).toBe(1);
      // The overview counts the webhook's dead letters only: the bots' button has no count.
      expect(await page.locator('[data-dead-letters]').count()).toBe(0);
      // The panel side's replay confirmation does not follow to the bots' side.
      expect(await page.getByText('queued to be sent again').count()).toBe(0);
      await checkScreen(page, 'deliveries-bot', width);
      await botDead.getByRole('link', { name: 'message' }).click();
      expect(new URL(page.url()).pathname).toMatch(
        new RegExp(`^/console/projects/${projectId}/deliveries/bot/evt_`),
      );
      await page.getByRole('heading', { level: 2, name: 'Attempts' }).waitFor();
      expect(await attempts.count()).toBe(2);
      await attempts.first().getByText(`bot down (${width.name})`).waitFor();
      await attempts.first().getByText('Request', { exact: true }).click();
      await attempts.first().getByText(`POST ${botHook.url}`).waitFor();
      await checkScreen(page, 'delivery-bot', width);
      expect(problems).toEqual([]);
      await context.close();
    }, 120_000);
  }
});
