/**
 * Tenants' deliveries are isolated (docs/security.md, "A hostile webhook receiver cannot hold
 * relevo up"): a tenant whose DNS server never answers, a receiver that hangs on an origin other
 * projects post to as well, and many integrations hanging at once each hold only their own.
 * Everything is real: a DNS server on loopback UDP, receivers on loopback, the worker in-process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllowList } from '../../src/delivery/network-policy.js';
import { WebhookSender } from '../../src/delivery/webhook-sender.js';
import { authHeaders, call, createIntegration } from '../helpers/api.js';
import { type FakeDns, startFakeDns } from '../helpers/dns-server.js';
import { eventually, startedPair } from '../helpers/events.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

function putIntegration(h: Harness, s: Seed, webhookUrl: string) {
  return call(h.app, {
    url: `/v1/external-support/${s.project.id}`,
    headers: authHeaders(s, 'apiKey'),
    body: { webhookUrl },
  });
}

const integrate = (h: Harness, s: Seed, webhookUrl: string) => createIntegration(h.app, s, webhookUrl);

const pairs = (h: Harness, s: Seed, n: number) =>
  Promise.all(Array.from({ length: n }, (_, i) => startedPair(h.store, s.project.id, i)));

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('a DNS server that never answers', () => {
  it("holds up only the tenant whose name it serves, and that tenant's deliveries resume once it answers", async () => {
    const dns: FakeDns = await startFakeDns();
    const deadRx = await startReceiver();
    const goodRx = await startReceiver();
    const h = await createHarness(
      { RELEVO_DNS_SERVERS: dns.server, RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,1s,1s,1s,1s,1s,1s,1s,1s,1s' },
      { worker: true },
    );
    open.push(dns, deadRx, goodRx, h);
    // Every name points at loopback (which the harness's RELEVO_WEBHOOK_ALLOW permits).
    dns.answer('dead.test', ['127.0.0.1'], 1);
    dns.answer('good.test', ['127.0.0.1']);
    dns.answer('other.test', ['127.0.0.1']);
    const a = await h.seed('Dead DNS');
    const b = await h.seed('Healthy');
    const c = await h.seed('Newcomer');
    const d = await h.seed('Newcomer on a dead name');
    await integrate(h, a, `http://dead.test:${deadRx.port}/hooks`);
    await integrate(h, b, `http://good.test:${goodRx.port}/hooks`);
    dns.silence('dead.test');

    // Tenant A's first 64 attempts all wait on the silent name.
    const asked = dns.queriesFor('dead.test');
    const aEvents = await pairs(h, a, 100);
    await eventually(
      async () => dns.queriesFor('dead.test'),
      (n) => n > asked,
    );
    await eventually(
      async () => h.worker!.dispatcher.inFlightCount,
      (n) => n === 64,
    );

    // Meanwhile tenant B's events go out, to a name that resolves.
    await pairs(h, b, 20);
    await goodRx.waitFor(20, 10_000);
    expect(h.worker!.dispatcher.inFlightCount).toBeGreaterThanOrEqual(64);
    expect(deadRx.received).toEqual([]);

    // The API still resolves names: a new integration with a host name is created, and one whose
    // name does not answer is refused with the retryable reason (not left hanging).
    await integrate(h, c, `http://other.test:${goodRx.port}/hooks`);
    dns.silence('silent.test');
    const refused = await putIntegration(h, d, 'http://silent.test/hooks');
    expect(refused.statusCode).toBe(422);
    expect(refused.json().validationError.webhookUrl).toEqual([
      'host silent.test could not be resolved (ETIMEOUT); try again in a moment',
    ]);

    // A's attempts failed on DNS and are retried; once the name answers they are delivered,
    // without a restart.
    const first = await eventually(
      () => h.store.queries.deliveryLog.list(aEvents[0]!.eventId),
      (list) => list.length > 0,
    );
    expect(first[0]).toMatchObject({ outcome: 'failed', statusCode: null });
    expect(first[0]!.error).toBe('ETIMEOUT: dead.test got no DNS answer within 3000 ms');
    dns.answer('dead.test', ['127.0.0.1']);
    await deadRx.waitFor(100, 30_000);
    const last = await eventually(
      () => h.store.queries.outbox.get(aEvents[99]!.eventId),
      (e) => e?.status === 'delivered',
    );
    expect(last?.status).toBe('delivered');
  }, 60_000);
});

describe('two projects posting to one origin', () => {
  it('a project whose receiver hangs does not hold the connections or the timer of another', async () => {
    // One server, two paths: /hang never answers, /ok answers after 400 ms.
    const rx = await startReceiver();
    rx.respond((r) =>
      r.path === '/hang' ? { kind: 'hang' } : { kind: 'wait', release: sleep(400), status: 200 },
    );
    // A timeout far longer than the test: the victim's events must never wait for one of the
    // hanging project's attempts to end, however slowly a loaded machine runs them.
    const h = await createHarness(
      { RELEVO_WEBHOOK_TIMEOUT_MS: '30000', RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,1h' },
      { worker: true },
    );
    open.push(rx, h);
    const hanging = await h.seed('Hanging');
    const victim = await h.seed('Victim');
    await integrate(h, hanging, `http://127.0.0.1:${rx.port}/hang`);
    await integrate(h, victim, `http://127.0.0.1:${rx.port}/ok`);

    // 80 events: 64 hold every slot (and connection) the hanging project has.
    await pairs(h, hanging, 80);
    await eventually(
      async () => rx.received.filter((r) => r.path === '/hang').length,
      (n) => n === 64,
    );
    const events = await pairs(h, victim, 20);
    for (const e of events) {
      await eventually(
        () => h.store.queries.outbox.get(e.eventId),
        (ev) => ev?.status === 'delivered',
      );
    }
    // Every victim event arrived before the hanging project's 65th request, which can only be
    // sent once one of its first 64 times out (30 s): none waited for the hanging project.
    const order = rx.received.map((r) => r.path);
    expect(order.filter((p) => p === '/ok')).toHaveLength(20);
    expect(order.slice(0, order.lastIndexOf('/ok')).filter((p) => p === '/hang')).toHaveLength(64);
    // Each was delivered on its first attempt, timed from when it had a connection: no timeout
    // recorded, and a duration that is the receiver's 400 ms.
    for (const e of events) {
      const attempts = await h.store.queries.deliveryLog.list(e.eventId);
      expect(attempts).toHaveLength(1);
      expect(attempts[0]).toMatchObject({
        attemptNumber: 1,
        outcome: 'delivered',
        statusCode: 200,
        error: null,
      });
      expect(attempts[0]!.durationMs).toBeGreaterThanOrEqual(400);
      expect(attempts[0]!.durationMs).toBeLessThan(30_000);
    }
  }, 60_000);
});

describe('connection pools', () => {
  it('are one per integration and origin, and closed once unused', async () => {
    const rx = await startReceiver();
    const sender = new WebhookSender({
      allow: parseAllowList(['127.0.0.0/8']),
      connectionsPerOrigin: 4,
      poolIdleMs: 200,
    });
    open.push(rx, sender);
    const send = (integration: string, path: string) =>
      sender.send({
        url: `http://127.0.0.1:${rx.port}${path}`,
        headers: {},
        body: '{}',
        timeoutMs: 5_000,
        integration,
      });
    expect((await send('prj_a:panel', '/a')).statusCode).toBe(200);
    expect((await send('prj_a:panel', '/a')).statusCode).toBe(200);
    expect((await send('prj_b:panel', '/b')).statusCode).toBe(200);
    // Same origin, two integrations: two pools.
    expect(sender.poolCount).toBe(2);
    await eventually(
      async () => sender.poolCount,
      (n) => n === 0,
    );
    // A later attempt opens a new one.
    expect((await send('prj_a:panel', '/a')).statusCode).toBe(200);
    expect(sender.poolCount).toBe(1);
  });
});

describe('many slow integrations', () => {
  it('ten integrations hanging with every slot full do not stop an eleventh', async () => {
    const slow: Receiver[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await startReceiver();
      r.respond(() => ({ kind: 'hang' }));
      slow.push(r);
    }
    const fast = await startReceiver();
    // Attempts time out after a minute: long past the end of this test.
    const h = await createHarness(
      { RELEVO_WEBHOOK_TIMEOUT_MS: '60000', RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,1h' },
      { worker: true },
    );
    open.push(...slow, fast, h);
    const seeds: Seed[] = [];
    for (let i = 0; i < 10; i++) {
      const s = await h.seed(`Slow ${i}`);
      await integrate(h, s, slow[i]!.url);
      seeds.push(s);
    }
    const healthy = await h.seed('Healthy');
    await integrate(h, healthy, fast.url);

    // 64 events each: 640 attempts wanted, more than the 512 the process shares.
    for (const s of seeds) await pairs(h, s, 64);
    const hung = () => slow.reduce((n, r) => n + r.received.length, 0);
    await eventually(
      async () => hung(),
      (n) => n >= 512,
    );

    // The healthy integration's events arrive while every slow attempt is still hanging.
    await pairs(h, healthy, 30);
    await fast.waitFor(30, 15_000);
    expect(Math.max(...slow.map((r) => r.received.length))).toBeLessThanOrEqual(64);
    // Every slow integration gets attempts out too, not only the first eight (the last ones'
    // requests may still be on their way when the healthy events have arrived).
    for (const r of slow) {
      await eventually(
        async () => r.received.length,
        (n) => n >= 4,
      );
    }
    expect(Math.max(...slow.map((r) => r.received.length))).toBeLessThanOrEqual(64);
  }, 90_000);
});
