/**
 * Abuse limits (docs/api.md §5.2): the per-credential rate limit, the throttle on repeated
 * authentication failures, and the server's timeouts and connection cap against slow clients
 * (over a real port: a slowloris attack is about sockets, which inject() has none of).
 */
import { connect, type Socket } from 'node:net';
import type { InjectOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { FailureThrottle } from '../../src/http/failure-throttle.js';
import { clientKey, retryAfterSeconds } from '../../src/http/rate-limit.js';
import { TokenBuckets } from '../../src/http/token-buckets.js';
import { authHeaders, call, errorOf } from '../helpers/api.js';
import { ADMIN_TOKEN, basic, createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { openStream } from '../helpers/sse.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function harness(env: NodeJS.ProcessEnv): Promise<{ h: Harness; s: Seed }> {
  const h = await createHarness(env);
  open.push(h);
  return { h, s: await h.seed() };
}

const ENVELOPE_KEYS = ['message', 'statusMessage', 'status', 'error', 'validationError'];
const ERROR_KEYS = ['code', 'key', 'description', 'developerMessages', 'clientMessages'];

function expectRateLimited(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  expect(res.statusCode).toBe(429);
  const e = errorOf(res);
  expect(Object.keys(e)).toEqual(ENVELOPE_KEYS);
  expect(Object.keys(e.error)).toEqual(ERROR_KEYS);
  expect(e).toMatchObject({
    message: 'Too many requests',
    statusMessage: 'failure',
    status: 0,
    error: { code: 'rate_limited', key: 'rate_limited' },
    validationError: {},
  });
  expect(Object.keys(e.error.developerMessages)).toEqual(['en', 'es', 'pt']);
  expect(Object.keys(e.error.clientMessages)).toEqual(['en', 'es', 'pt']);
  expect(String(res.headers['retry-after'])).toMatch(/^[1-9]\d*$/);
  expect(res.headers['x-request-id']).toBeTypeOf('string');
  return e;
}

const getIntegration = (h: Harness, s: Seed, headers = authHeaders(s, 'apiKey'), prefix = '/v1') =>
  call(h.app, { method: 'GET', url: `${prefix}/external-support/${s.project.id}`, headers });

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function secondCredential(h: Harness, s: Seed): Promise<Seed> {
  const res = await call(h.app, {
    url: `/admin/v1/projects/${s.project.id}/credentials`,
    headers: admin,
    body: {},
  });
  expect(res.statusCode).toBe(201);
  const c = res.json();
  return { ...s, apiKey: c.apiKey, clientId: c.clientId, clientSecret: c.clientSecret, credentialId: c.id };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('per-credential rate limit', () => {
  it('is off by default: 200 quick requests all pass', async () => {
    const { h, s } = await harness({});
    expect(h.config.rateLimit).toBeUndefined();
    for (let i = 0; i < 200; i++) {
      // 404 integration_not_found: the route ran.
      expect((await getIntegration(h, s)).statusCode).toBe(404);
    }
  });

  it('answers 429 rate_limited with Retry-After in whole seconds once the burst is spent', async () => {
    // Per minute, so that no token comes back while the test runs, however slow the machine.
    const { h, s } = await harness({ RELEVO_RATE_LIMIT: '5/m' });
    for (let i = 0; i < 5; i++) expect((await getIntegration(h, s)).statusCode).toBe(404);
    const res = await getIntegration(h, s);
    const e = expectRateLimited(res);
    // One token every 12 s.
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(11);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(12);
    expect(e.error.description).toMatch(/5 requests per minute; retry in 1[12] seconds/);
  });

  it('says how long until the next token for a per-minute rate', async () => {
    const { h, s } = await harness({ RELEVO_RATE_LIMIT: '2/m' });
    expect((await getIntegration(h, s)).statusCode).toBe(404);
    expect((await getIntegration(h, s)).statusCode).toBe(404);
    const res = await getIntegration(h, s);
    expectRateLimited(res);
    // A token every 30 s.
    const seconds = Number(res.headers['retry-after']);
    expect(seconds).toBeGreaterThanOrEqual(29);
    expect(seconds).toBeLessThanOrEqual(30);
  });

  it('refills: after the wait a request passes again, and only as many as refilled', async () => {
    const { h, s } = await harness({ RELEVO_RATE_LIMIT: '5/s' });
    for (let i = 0; i < 5; i++) expect((await getIntegration(h, s)).statusCode).toBe(404);
    expectRateLimited(await getIntegration(h, s));
    const emptyAt = performance.now();
    // 5/s: a token every 200 ms, so 500 ms refill at least two.
    await sleep(500);
    let passed = 0;
    let res = await getIntegration(h, s);
    while (res.statusCode === 404) {
      passed += 1;
      res = await getIntegration(h, s);
    }
    expectRateLimited(res);
    // No more than refilled while waiting and asking (plus the fraction left when it emptied),
    // however slow the machine.
    const refilled = ((performance.now() - emptyAt) * 5) / 1000;
    expect(passed).toBeGreaterThanOrEqual(2);
    expect(passed).toBeLessThanOrEqual(Math.floor(refilled) + 1);
  });

  it('keeps one bucket per credential: two credentials of one project do not share', async () => {
    const { h, s } = await harness({ RELEVO_RATE_LIMIT: '3/m' });
    const other = await secondCredential(h, s);
    for (let i = 0; i < 3; i++) expect((await getIntegration(h, s)).statusCode).toBe(404);
    expectRateLimited(await getIntegration(h, s));
    for (let i = 0; i < 3; i++) expect((await getIntegration(h, other)).statusCode).toBe(404);
    expectRateLimited(await getIntegration(h, other));
    // Another project is untouched too.
    const third = await h.seed('Globex');
    expect((await getIntegration(h, third)).statusCode).toBe(404);
  });

  it('counts a credential once whatever its scheme and prefix', async () => {
    const { h, s } = await harness({ RELEVO_RATE_LIMIT: '3/m' });
    expect((await getIntegration(h, s, authHeaders(s, 'apiKey'), '/v1')).statusCode).toBe(404);
    expect((await getIntegration(h, s, { authorization: basic(s) }, '/jelouapi/v1')).statusCode).toBe(404);
    expect((await getIntegration(h, s, authHeaders(s, 'apiKey'), '/platform/v1')).statusCode).toBe(404);
    expectRateLimited(await getIntegration(h, s, { authorization: basic(s) }, '/v1'));
  });

  it('refuses before the route runs: nothing is stored and an Idempotency-Key is not used up', async () => {
    const { h, s } = await harness({ RELEVO_RATE_LIMIT: '1/m' });
    expect((await getIntegration(h, s)).statusCode).toBe(404);
    const start = () =>
      call(h.app, {
        url: `/v1/external-support/${s.project.id}/conversations/start`,
        headers: { ...authHeaders(s, 'apiKey'), 'idempotency-key': 'k-1' },
        body: { botId: s.bot.id, userId: s.user.id },
      });
    expectRateLimited(await start());
    const listed = await h.store.queries.conversations.list(s.project.id, {}, { limit: 10 });
    expect(listed.items).toHaveLength(0);
    // The same key on another credential of the project runs the route for the first time.
    const other = await secondCredential(h, s);
    const res = await call(h.app, {
      url: `/v1/external-support/${s.project.id}/conversations/start`,
      headers: { ...authHeaders(other, 'apiKey'), 'idempotency-key': 'k-1' },
      body: { botId: s.bot.id, userId: s.user.id },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['idempotent-replay']).toBeUndefined();
  });

  it('leaves the admin API, the signed inbound routes and unauthenticated 401s alone', async () => {
    const { h, s } = await harness({ RELEVO_RATE_LIMIT: '1/m' });
    for (let i = 0; i < 5; i++) {
      expect(
        (await call(h.app, { method: 'GET', url: `/admin/v1/projects/${s.project.id}`, headers: admin }))
          .statusCode,
      ).toBe(200);
      // No credential: a 401, never a 429 (there is no bucket to charge).
      expect((await getIntegration(h, s, {})).statusCode).toBe(401);
      expect((await call(h.app, { url: '/v1/external-support/webhook', body: {} })).statusCode).toBe(401);
    }
  });
});

describe('authentication-failure throttle', () => {
  const fromAddress = (h: Harness, s: Seed, remoteAddress: string, headers: Record<string, string>) =>
    h.app.server.inject({
      method: 'GET',
      url: `/v1/external-support/${s.project.id}`,
      headers,
      remoteAddress,
    });
  const wrongKey = (s: Seed) => ({ 'x-api-key': `${s.apiKey.slice(0, -4)}AAAA` });

  it('is on by default at 20 failures a minute', async () => {
    const { h } = await harness({ RELEVO_AUTH_FAILURE_LIMIT: '' });
    expect(h.config.authFailureLimit).toBe(20);
  });

  it('kicks in after 20 failures, not before, for that address only, for a minute', async () => {
    const { h, s } = await harness({ RELEVO_AUTH_FAILURE_LIMIT: '20' });
    const attacker = '203.0.113.7';
    for (let i = 1; i <= 19; i++) {
      expect((await fromAddress(h, s, attacker, wrongKey(s))).statusCode).toBe(401);
    }
    // 19 failures: a valid credential from the same address still works.
    expect((await fromAddress(h, s, attacker, authHeaders(s, 'apiKey'))).statusCode).toBe(404);
    expect((await fromAddress(h, s, attacker, wrongKey(s))).statusCode).toBe(401);
    // The 20th failure: now everything from that address waits, valid credentials included.
    const refused = await fromAddress(h, s, attacker, authHeaders(s, 'apiKey'));
    const e = expectRateLimited(refused);
    expect(e.error.description).toMatch(/failed authentication/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(59);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expectRateLimited(await fromAddress(h, s, attacker, wrongKey(s)));
    // Another address is unaffected, and the health check always answers.
    expect((await fromAddress(h, s, '203.0.113.8', authHeaders(s, 'apiKey'))).statusCode).toBe(404);
    const health = await h.app.server.inject({ method: 'GET', url: '/healthz', remoteAddress: attacker });
    expect(health.statusCode).toBe(200);
  });

  it('lets exactly the limit of 1 000 parallel wrong guesses through, on every database', async () => {
    // Each guess waits for a credential lookup (a round trip on PostgreSQL): counted only once
    // answered, hundreds of guesses would pass the check before the first failure was counted.
    const { h, s } = await harness({ RELEVO_AUTH_FAILURE_LIMIT: '20' });
    const attacker = '203.0.113.66';
    const guesses = Array.from({ length: 1000 }, (_, i) =>
      fromAddress(h, s, attacker, { 'x-api-key': `${s.apiKey.slice(0, -6)}${String(i).padStart(6, '0')}` }),
    );
    const statuses = (await Promise.all(guesses)).map((r) => r.statusCode);
    expect(statuses.filter((c) => c === 401)).toHaveLength(20);
    expect(statuses.filter((c) => c === 429)).toHaveLength(980);
    // And the address stays refused, valid credentials included.
    expectRateLimited(await fromAddress(h, s, attacker, authHeaders(s, 'apiKey')));
  });

  it('does not refuse parallel valid requests from one address, however many', async () => {
    const { h, s } = await harness({ RELEVO_AUTH_FAILURE_LIMIT: '20' });
    const all = await Promise.all(
      Array.from({ length: 300 }, () => fromAddress(h, s, '203.0.113.67', authHeaders(s, 'apiKey'))),
    );
    // 404 integration_not_found: every one was authenticated and ran the route.
    expect(all.map((r) => r.statusCode)).toEqual(Array(300).fill(404));
  });

  it('counts Basic and signed-route failures in a parallel flood the same way', async () => {
    const { h, s } = await harness({ RELEVO_AUTH_FAILURE_LIMIT: '5' });
    const remoteAddress = '203.0.113.68';
    const flood = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0
        ? fromAddress(h, s, remoteAddress, {
            authorization: basic({ clientId: s.clientId, clientSecret: `x${i}` }),
          })
        : h.app.server.inject({
            method: 'POST',
            url: '/v1/external-support/webhook',
            headers: { 'content-type': 'application/json', 'x-jelou-signature': `sha256=${'0'.repeat(64)}` },
            payload: JSON.stringify({ project_id: s.project.id, n: i }),
            remoteAddress,
          }),
    );
    const statuses = (await Promise.all(flood)).map((r) => r.statusCode);
    expect(statuses.filter((c) => c === 401)).toHaveLength(5);
    expect(statuses.filter((c) => c === 429)).toHaveLength(195);
  });

  it('open web chat streams do not hold the places of their address (over a real port)', async () => {
    const { h, s } = await harness({ RELEVO_AUTH_FAILURE_LIMIT: '2' });
    await h.app.server.listen({ port: 0, host: '127.0.0.1' });
    const address = h.app.server.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    const streams: Array<Awaited<ReturnType<typeof openStream>>> = [];
    open.push({ close: async () => void (await Promise.all(streams.map((st) => st.close()))) });
    for (let i = 0; i < 3; i++) {
      const session = (await (
        await fetch(`${base}/webchat/${s.bot.id}/sessions`, { method: 'POST' })
      ).json()) as {
        sessionToken: string;
      };
      const stream = await openStream(`${base}/webchat/${s.bot.id}/stream?token=${session.sessionToken}`);
      expect(stream.res.status).toBe(200);
      streams.push(stream);
    }
    // Three streams stay open from 127.0.0.1, more than the limit of 2: a request is still
    // admitted at once instead of waiting for a stream to end.
    const res = await fetch(`${base}/v1/external-support/${s.project.id}`, {
      headers: authHeaders(s, 'apiKey'),
    });
    expect(res.status).toBe(404);
  });

  it('gives back the place of a request whose client left while it waited for one (over a real port)', async () => {
    const { h, s } = await harness({ RELEVO_AUTH_FAILURE_LIMIT: '2' });
    await h.app.server.listen({ port: 0, host: '127.0.0.1' });
    const address = h.app.server.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const sockets: Socket[] = [];
    open.push({
      close: async () => {
        for (const so of sockets) so.destroy();
      },
    });
    const send = (text: string) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(text);
      sockets.push(socket);
      return socket;
    };
    // A signed POST whose body stops after a few bytes: admitted, it holds a place while its
    // body (and so its signature) is awaited.
    const unfinished = () =>
      send(
        'POST /v1/external-support/webhook HTTP/1.1\r\nHost: relevo\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"pro',
      );
    const holders = [unfinished(), unfinished()];
    await sleep(300);
    // Two more wait for a place; their clients give up.
    const waiters = [unfinished(), unfinished()];
    await sleep(300);
    for (const w of waiters) w.destroy();
    await sleep(100);
    // The holders go too: each waiter is admitted on a connection already closed, whose body
    // will never come. Its place must come back now, or the address waits forever.
    for (const w of holders) w.destroy();
    await sleep(100);
    const res = await fetch(`http://127.0.0.1:${port}/v1/external-support/${s.project.id}`, {
      headers: authHeaders(s, 'apiKey'),
      // A hang fails the test instead of stalling it; nothing here is measured.
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('integration_not_found');
  });

  it('gives back the places of refused bodies (413, 415, malformed JSON) and does not count them', async () => {
    const { h, s } = await harness({ RELEVO_AUTH_FAILURE_LIMIT: '2' });
    const remoteAddress = '203.0.113.69';
    const url = `/v1/external-support/${s.project.id}/conversations/start`;
    const headers = authHeaders(s, 'apiKey');
    const bodies = [
      { headers: { ...headers, 'content-type': 'text/plain' }, payload: 'hi', status: 415 },
      { headers: { ...headers, 'content-type': 'application/json' }, payload: '{"botId":', status: 422 },
      {
        headers: { ...headers, 'content-type': 'application/json' },
        payload: JSON.stringify({ pad: 'x'.repeat(h.config.bodyLimitBytes) }),
        status: 413,
      },
    ];
    const all = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const b = bodies[i % bodies.length]!;
        return h.app.server.inject({
          method: 'POST',
          url,
          headers: b.headers,
          payload: b.payload,
          remoteAddress,
        });
      }),
    );
    expect(all.map((r) => r.statusCode)).toEqual(Array.from({ length: 30 }, (_, i) => bodies[i % 3]!.status));
    // Thirty refusals, none a 401: the address is neither blocked nor short of places.
    const ok = await fromAddress(h, s, remoteAddress, headers);
    expect(ok.statusCode).toBe(404);
  });

  it('counts the admin API, both signed inbound routes and web chat sessions', async () => {
    const { h, s } = await harness({ RELEVO_AUTH_FAILURE_LIMIT: '8' });
    const remoteAddress = '198.51.100.20';
    const httpBot = await call(h.app, {
      url: `/admin/v1/projects/${s.project.id}/bots`,
      headers: admin,
      body: { name: 'App', channel: 'http' },
    });
    const botId = httpBot.json().id as string;
    const configured = await h.app.server.inject({
      method: 'PUT',
      url: `/admin/v1/projects/${s.project.id}/bots/${botId}/channel`,
      headers: { ...admin, 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(configured.statusCode).toBe(201);
    const failures: InjectOptions[] = [
      {
        method: 'GET',
        url: '/admin/v1/projects',
        headers: { authorization: 'Bearer wrong-token-0123456789' },
      },
      { method: 'GET', url: '/admin/v1/projects' },
      {
        method: 'POST',
        url: '/v1/external-support/webhook',
        headers: { 'content-type': 'application/json', 'x-jelou-signature': `sha256=${'0'.repeat(64)}` },
        payload: JSON.stringify({ project_id: s.project.id }),
      },
      {
        method: 'POST',
        url: `/v1/custom-channel/${botId}`,
        headers: { 'content-type': 'application/json', 'x-jelou-signature': `sha256=${'0'.repeat(64)}` },
        payload: '{}',
      },
      {
        method: 'GET',
        url: `/webchat/${s.bot.id}/messages`,
        headers: { authorization: `Bearer ${'A'.repeat(43)}` },
      },
      {
        method: 'GET',
        url: `/v1/external-support/${s.project.id}`,
        headers: { authorization: 'Basic Og==' },
      },
      { method: 'GET', url: `/jelouapi/v1/external-support/${s.project.id}` },
    ];
    for (const f of failures) {
      const res = await h.app.server.inject({ ...f, remoteAddress });
      expect(res.statusCode, JSON.stringify(f)).toBe(401);
    }
    // Seven failures so far; the eighth (another kind again) starts the pause.
    expect((await h.app.server.inject({ ...(failures[0] as InjectOptions), remoteAddress })).statusCode).toBe(
      401,
    );
    expectRateLimited(
      await h.app.server.inject({
        method: 'GET',
        url: '/admin/v1/projects',
        headers: admin,
        remoteAddress,
      }),
    );
  });

  it('can be turned off with 0', async () => {
    const { h, s } = await harness({ RELEVO_AUTH_FAILURE_LIMIT: '0' });
    for (let i = 0; i < 100; i++) {
      expect((await fromAddress(h, s, '203.0.113.9', wrongKey(s))).statusCode).toBe(401);
    }
    expect((await fromAddress(h, s, '203.0.113.9', authHeaders(s, 'apiKey'))).statusCode).toBe(404);
  });

  it('counts an IPv6 /64 as one client, and an IPv4-mapped address as its IPv4 address', async () => {
    const { h, s } = await harness({ RELEVO_AUTH_FAILURE_LIMIT: '4' });
    for (const a of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff::3', '2001:db8:1:2:0:0:0:4']) {
      expect((await fromAddress(h, s, a, wrongKey(s))).statusCode).toBe(401);
    }
    expectRateLimited(await fromAddress(h, s, '2001:db8:1:2::99', authHeaders(s, 'apiKey')));
    expect((await fromAddress(h, s, '2001:db8:1:3::1', authHeaders(s, 'apiKey'))).statusCode).toBe(404);
    for (let i = 0; i < 4; i++) {
      expect((await fromAddress(h, s, '::ffff:192.0.2.1', wrongKey(s))).statusCode).toBe(401);
    }
    expectRateLimited(await fromAddress(h, s, '192.0.2.1', authHeaders(s, 'apiKey')));
  });

  it('believes X-Forwarded-For only from the proxies of RELEVO_TRUST_PROXY', async () => {
    const direct = await harness({ RELEVO_AUTH_FAILURE_LIMIT: '3' });
    // Without a trusted proxy a forged header changes nothing: the peer address counts.
    for (let i = 0; i < 3; i++) {
      const res = await fromAddress(direct.h, direct.s, '203.0.113.50', {
        ...wrongKey(direct.s),
        'x-forwarded-for': `192.0.2.${i}`,
      });
      expect(res.statusCode).toBe(401);
    }
    expectRateLimited(
      await fromAddress(direct.h, direct.s, '203.0.113.50', {
        ...authHeaders(direct.s, 'apiKey'),
        'x-forwarded-for': '192.0.2.200',
      }),
    );

    const proxied = await harness({ RELEVO_AUTH_FAILURE_LIMIT: '3', RELEVO_TRUST_PROXY: '10.0.0.0/8' });
    const { h, s } = proxied;
    for (let i = 0; i < 3; i++) {
      const res = await fromAddress(h, s, '10.1.1.1', { ...wrongKey(s), 'x-forwarded-for': '192.0.2.77' });
      expect(res.statusCode).toBe(401);
    }
    // The client behind the proxy waits; another client behind the same proxy does not.
    expectRateLimited(
      await fromAddress(h, s, '10.1.1.1', { ...authHeaders(s, 'apiKey'), 'x-forwarded-for': '192.0.2.77' }),
    );
    expect(
      (await fromAddress(h, s, '10.1.1.1', { ...authHeaders(s, 'apiKey'), 'x-forwarded-for': '192.0.2.78' }))
        .statusCode,
    ).toBe(404);
  });
});

describe('the limiters, on a clock the test moves', () => {
  it('TokenBuckets: burst, refill, wait time, and forgetting full buckets', () => {
    let t = 0;
    const b = new TokenBuckets(3, 1000, () => t);
    expect([b.take('a'), b.take('a'), b.take('a')]).toEqual([0, 0, 0]);
    // Empty: one token is 1000/3 ms away.
    expect(b.take('a')).toBe(334);
    t += 334;
    expect(b.take('a')).toBe(0);
    expect(b.take('a')).toBeGreaterThan(0);
    expect(b.take('b')).toBe(0);
    t += 10_000;
    // Never more than the capacity, however long the wait.
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a') > 0]).toEqual([0, 0, 0, true]);
    t += 10_000;
    b.sweep();
    expect(b.size).toBe(0);
  });

  it('TokenBuckets: holds at most maxKeys keys, dropping the oldest', () => {
    const b = new TokenBuckets(1, 60_000, () => 0, 3);
    for (const k of ['a', 'b', 'c', 'd']) expect(b.take(k)).toBe(0);
    expect(b.size).toBe(3);
    // 'a' was dropped: it starts with a full bucket again; 'd' is still empty.
    expect(b.take('a')).toBe(0);
    expect(b.take('d')).toBeGreaterThan(0);
  });

  it('FailureThrottle: N failures within the window block for the block time, then it starts over', () => {
    let t = 0;
    const f = new FailureThrottle(3, 60_000, 60_000, () => t);
    expect(f.fail('x')).toBe(false);
    t += 30_000;
    expect(f.fail('x')).toBe(false);
    expect(f.blockedFor('x')).toBe(0);
    t += 29_000;
    expect(f.fail('x')).toBe(true);
    expect(f.blockedFor('x')).toBe(60_000);
    t += 59_999;
    expect(f.blockedFor('x')).toBe(1);
    t += 1;
    expect(f.blockedFor('x')).toBe(0);
    // A fresh count: two more failures do not block.
    expect(f.fail('x')).toBe(false);
    expect(f.fail('x')).toBe(false);
    expect(f.blockedFor('x')).toBe(0);
  });

  it('FailureThrottle: failures spread wider than the window never block', () => {
    let t = 0;
    const f = new FailureThrottle(3, 60_000, 60_000, () => t);
    for (let i = 0; i < 100; i++) {
      expect(f.fail('slow')).toBe(false);
      t += 30_001;
    }
    f.sweep();
    expect(f.size).toBe(0);
  });

  it('FailureThrottle: counts an attempt when admitted; past the limit the next one waits, then runs or is refused', async () => {
    let t = 0;
    const f = new FailureThrottle(3, 60_000, 60_000, () => t);
    expect(await f.admit('x')).toBe(0);
    expect(await f.admit('x')).toBe(0);
    expect(await f.admit('x')).toBe(0);
    // Three undecided attempts: the fourth waits for one of them.
    let fourth: number | undefined;
    const waiting = f.admit('x').then((ms) => {
      fourth = ms;
    });
    await new Promise((r) => setImmediate(r));
    expect(fourth).toBeUndefined();
    // A success frees its place: the fourth runs.
    expect(f.settle('x', false)).toBe(false);
    await waiting;
    expect(fourth).toBe(0);
    // Two failures and one more undecided: the next waits again, and the third failure blocks.
    expect(f.settle('x', true)).toBe(false);
    expect(f.settle('x', true)).toBe(false);
    let fifth: number | undefined;
    const blocked = f.admit('x').then((ms) => {
      fifth = ms;
    });
    await new Promise((r) => setImmediate(r));
    expect(fifth).toBeUndefined();
    expect(f.settle('x', true)).toBe(true);
    await blocked;
    expect(fifth).toBe(60_000);
    t += 60_000;
    expect(await f.admit('x')).toBe(0);
    f.settle('x', false);
    f.sweep();
    expect(f.size).toBe(0);
  });

  it('FailureThrottle: a freed place goes to the oldest waiter, not to an attempt that arrives after it', async () => {
    const f = new FailureThrottle(1, 60_000, 60_000, () => 0);
    expect(await f.admit('x')).toBe(0);
    const order: string[] = [];
    const first = f.admit('x').then((ms) => order.push(`first ${ms}`));
    const second = f.admit('x').then((ms) => order.push(`second ${ms}`));
    f.settle('x', false);
    // Arrives the moment the place is freed, before the waiter has run again.
    const late = f.admit('x').then((ms) => order.push(`late ${ms}`));
    await first;
    expect(order).toEqual(['first 0']);
    f.settle('x', false);
    await second;
    f.settle('x', false);
    await late;
    expect(order).toEqual(['first 0', 'second 0', 'late 0']);
    f.settle('x', false);
    expect(f.size).toBe(0);
  });

  it('FailureThrottle: the failure that blocks a key refuses every waiter with the time left', async () => {
    let t = 0;
    const f = new FailureThrottle(1, 60_000, 60_000, () => t);
    expect(await f.admit('x')).toBe(0);
    const waiting = [f.admit('x'), f.admit('x')];
    t = 1_000;
    expect(f.settle('x', true)).toBe(true);
    expect(await Promise.all(waiting)).toEqual([60_000, 60_000]);
  });

  it('FailureThrottle: an entry dropped past maxKeys lets its waiters go on instead of hanging', async () => {
    const f = new FailureThrottle(1, 60_000, 60_000, () => 0, 1);
    expect(await f.admit('a')).toBe(0);
    const waiting = f.admit('a');
    await new Promise((r) => setImmediate(r));
    expect(await f.admit('b')).toBe(0);
    // 'a' was dropped for 'b'; its waiter is admitted afresh.
    expect(await waiting).toBe(0);
  });

  it('clientKey: IPv4 as is, IPv4-mapped as IPv4, IPv6 by /64', () => {
    expect(clientKey('192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('::FFFF:192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff:0:0:1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
  });

  it('retryAfterSeconds: whole seconds, rounded up, at least 1', () => {
    expect([
      retryAfterSeconds(0),
      retryAfterSeconds(1),
      retryAfterSeconds(1000),
      retryAfterSeconds(1001),
    ]).toEqual([1, 1, 1, 2]);
  });
});

describe('slow clients, over a real port', () => {
  async function listening(env: NodeJS.ProcessEnv = {}) {
    const { h, s } = await harness({
      RELEVO_HEADERS_TIMEOUT_MS: '500',
      RELEVO_REQUEST_TIMEOUT_MS: '1000',
      ...env,
    });
    await h.app.server.listen({ port: 0, host: '127.0.0.1' });
    const address = h.app.server.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    return { h, s, port };
  }

  interface Watched {
    readonly socket: Socket;
    readonly received: () => string;
    /** Resolves with the milliseconds from connecting to the server closing the socket. */
    readonly closed: Promise<number>;
  }

  function watch(port: number): Promise<Watched> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      let received = '';
      const socket = connect(port, '127.0.0.1');
      const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - started)));
      socket.on('data', (d: Buffer) => {
        received += d.toString('latin1');
      });
      socket.on('error', () => {});
      socket.once('connect', () => resolve({ socket, received: () => received, closed }));
      socket.once('error', reject);
    });
  }

  /** Writes `text` one byte every `everyMs`, until done or the socket closes. */
  function dribble(socket: Socket, text: string, everyMs: number): () => void {
    let i = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || i >= text.length) {
        clearInterval(timer);
        return;
      }
      socket.write(text[i++] ?? '');
    }, everyMs);
    return () => clearInterval(timer);
  }

  const within = async (p: Promise<number>, ms: number) =>
    Promise.race([p, sleep(ms).then(() => Number.POSITIVE_INFINITY)]);

  it('closes a connection that sends its headers one byte at a time, and keeps serving others', async () => {
    const { h, s, port } = await listening();
    const slow = await watch(port);
    // About 90 bytes at 30 ms a byte: close to 3 s of headers, six times the 500 ms allowed.
    const headers = `GET /v1/external-support/${s.project.id} HTTP/1.1\r\nHost: relevo\r\nX-Slow: 1\r\n\r\n`;
    const stop = dribble(slow.socket, headers, 30);
    open.push({ close: async () => stop() });
    // Meanwhile a normal client on its own connection is served at once.
    const ok = await fetch(`http://127.0.0.1:${port}/v1/external-support/${s.project.id}`, {
      headers: authHeaders(s, 'apiKey'),
    });
    expect(ok.status).toBe(404);
    expect(((await ok.json()) as { error: { code: string } }).error.code).toBe('integration_not_found');
    const closedAfter = await within(slow.closed, 5_000);
    // The 500 ms timeout, checked every 50 ms, with room for a loaded machine.
    expect(closedAfter).toBeGreaterThanOrEqual(450);
    expect(closedAfter).toBeLessThan(3_000);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    slow.socket.destroy();
    // And the server still answers normally afterwards.
    const after = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(after.status).toBe(200);
    expect(h.app.server.server.listening).toBe(true);
  });

  it('closes a connection that connects and sends nothing', async () => {
    const { port } = await listening();
    const idle = await watch(port);
    const closedAfter = await within(idle.closed, 5_000);
    expect(closedAfter).toBeLessThan(3_000);
    idle.socket.destroy();
  });

  it('closes a connection that sends its body too slowly', async () => {
    const { s, port } = await listening();
    const slow = await watch(port);
    slow.socket.write(
      `POST /v1/external-support/${s.project.id}/conversations/start HTTP/1.1\r\nHost: relevo\r\n` +
        `x-api-key: ${s.apiKey}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`,
    );
    const stop = dribble(slow.socket, '{"botId":"'.padEnd(200, 'b'), 50);
    open.push({ close: async () => stop() });
    const closedAfter = await within(slow.closed, 5_000);
    // The request timeout is 1000 ms.
    expect(closedAfter).toBeGreaterThanOrEqual(900);
    expect(closedAfter).toBeLessThan(3_500);
    slow.socket.destroy();
  });

  it('accepts at most RELEVO_MAX_CONNECTIONS connections, and recovers when they go', async () => {
    const { port } = await listening({
      RELEVO_HEADERS_TIMEOUT_MS: '10000',
      RELEVO_REQUEST_TIMEOUT_MS: '10000',
      RELEVO_MAX_CONNECTIONS: '3',
    });
    const held = await Promise.all([watch(port), watch(port), watch(port)]);
    // Give the server a moment to count them.
    await sleep(50);
    const extra = await watch(port);
    expect(await within(extra.closed, 2_000)).toBeLessThan(2_000);
    expect(extra.received()).toBe('');
    for (const c of held) c.socket.destroy();
    await Promise.all(held.map((c) => c.closed));
    await sleep(50);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
  });
});
