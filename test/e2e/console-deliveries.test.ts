/**
 * The console's Deliveries screen in a real browser, against the built server, at 1280 and 390
 * px: a receiver that answers 500 turns a test event into a dead letter; the console lists it
 * under "Dead letters", its page shows each attempt with the receiver's status and answer; the
 * receiver is fixed, "Retry now" is pressed, and the page shows it delivered without a reload.
 * Replay asks for a confirmation and says how many events it queued. Screenshots in
 * test-artifacts/, axe-core on every screen, no Content-Security-Policy violation.
 */
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
      await attempts.first().getByText('Request').click();
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
      expect(problems).toEqual([]);
      await context.close();
    }, 120_000);
  }
});
