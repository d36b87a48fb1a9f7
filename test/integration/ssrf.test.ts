/**
 * The network policy end to end (docs/webhooks.md, "Network policy and DNS"), where a unit test cannot reach:
 * a webhook that redirects to an internal service is never followed, and a host name that is
 * public when the URL is checked but internal when the sender connects (DNS rebinding) is
 * refused at connect time. The internal service is a real server on another loopback address,
 * so "nothing reached it" is observed, not assumed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { checkWebhookUrl, parseAllowList, type Resolver } from '../../src/delivery/network-policy.js';
import { WebhookSender } from '../../src/delivery/webhook-sender.js';
import { authHeaders, call, createIntegration } from '../helpers/api.js';
import { eventually, startedPair } from '../helpers/events.js';
import { createHarness } from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/** A public address (example.com's, from the documentation) that the fake DNS hands out. */
const PUBLIC = '93.184.216.34';
const publicDns: Resolver = async () => [PUBLIC];

describe('redirects', () => {
  it.each([301, 302, 303, 307, 308])(
    'a webhook answering %i towards an internal service is not followed',
    async (status) => {
      // The panel's receiver on 127.0.0.1 (allowed by the operator); the internal service on
      // 127.0.0.2, which the policy forbids and which a followed redirect would reach.
      const panel = await startReceiver('127.0.0.1');
      const internal = await startReceiver('127.0.0.2');
      const h = await createHarness(
        { RELEVO_WEBHOOK_ALLOW: '127.0.0.1', RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,20ms' },
        { worker: true },
      );
      open.push(panel, internal, h);
      panel.respond(() => ({ kind: 'status', status, headers: { location: `${internal.url}/steal` } }));
      const s = await h.seed();
      await createIntegration(h.app, s, panel.url, {
        authType: 'bearer',
        authorization: 'panel-secret-token',
      });
      // The operator's policy really forbids the internal service: it cannot be set directly.
      const direct = await call(h.app, {
        method: 'PATCH',
        url: `/v1/external-support/${s.project.id}`,
        headers: authHeaders(s, 'apiKey'),
        body: { webhookUrl: internal.url },
      });
      expect(direct.statusCode).toBe(400);
      expect(direct.json().validationError.webhookUrl[0]).toMatch(/^host 127\.0\.0\.2 is a loopback address/);

      const pair = await startedPair(h.store, s.project.id);
      const event = await eventually(
        () => h.store.queries.outbox.get(pair.eventId),
        (e) => e?.status === 'failed',
      );
      expect(event?.lastError).toBe(`HTTP ${status}`);
      // Both scheduled attempts went to the panel, none anywhere else.
      expect(panel.received.map((r) => r.path)).toEqual(['/hooks', '/hooks']);
      expect(internal.received).toEqual([]);
      const attempts = await h.store.queries.deliveryLog.list(pair.eventId);
      expect(attempts.map((a) => a.statusCode)).toEqual([status, status]);
    },
  );
});

describe('DNS rebinding', () => {
  it('a host public at create time and loopback at connect time is refused when dialled', async () => {
    const receiver = await startReceiver('127.0.0.1');
    open.push(receiver);
    // "localhost" stands for the attacker's name: the create-time check is given a public
    // answer, while the system resolver the sender uses answers loopback.
    const url = receiver.url.replace('127.0.0.1', 'localhost');
    const sendEvent = (through: WebhookSender) =>
      through.send({
        url,
        headers: { 'content-type': 'application/json' },
        body: '{"event":"conversation.start"}',
        timeoutMs: 5_000,
      });
    const none = parseAllowList([]);
    const atCreate = await checkWebhookUrl(url, none, publicDns);
    expect(atCreate.ok).toBe(true);

    const sender = new WebhookSender({ allow: none, connectionsPerOrigin: 1 });
    open.push(sender);
    const result = await sendEvent(sender);
    expect(result.outcome.kind).toBe('refused');
    expect(result.statusCode).toBeNull();
    expect(result.error).toMatch(
      /^refused by the network policy: host localhost resolves to .*, a loopback address/,
    );
    expect(receiver.received).toEqual([]);

    // The same request through a sender whose policy allows loopback arrives: the refusal above
    // is the policy's doing, not a broken test setup.
    const allowed = new WebhookSender({
      allow: parseAllowList(['127.0.0.0/8', '::1']),
      connectionsPerOrigin: 1,
    });
    open.push(allowed);
    const ok = await sendEvent(allowed);
    expect(ok.statusCode).toBe(200);
    expect(receiver.received).toHaveLength(1);
  });

  it('a literal address is checked before dialling, whatever the create-time check said', async () => {
    const internal = await startReceiver('127.0.0.2');
    open.push(internal);
    const sender = new WebhookSender({ allow: parseAllowList(['127.0.0.1']), connectionsPerOrigin: 1 });
    open.push(sender);
    const result = await sender.send({ url: internal.url, headers: {}, body: '{}', timeoutMs: 5_000 });
    expect(result.outcome.kind).toBe('refused');
    expect(result.error).toMatch(/host 127\.0\.0\.2 is a loopback address/);
    expect(internal.received).toEqual([]);
  });
});
