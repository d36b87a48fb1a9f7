/**
 * What one anonymous web chat visitor may cost the server: open streams per session and per
 * address, the write buffer of a stream nobody reads, and sessions per address (over a real
 * port: streams are sockets).
 */

import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_BUFFERED_BYTES } from '../../src/channels/webchat/webchat.routes.js';
import type { Message } from '../../src/model/types.js';
import { authHeaders, errorOf, openWebchatSession } from '../helpers/api.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { openStream } from '../helpers/sse.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function listening(env: NodeJS.ProcessEnv = {}): Promise<{ h: Harness; s: Seed; base: string }> {
  const h = await createHarness(env);
  open.push(h);
  const s = await h.seed();
  await h.app.server.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(h.app.server.server.address() as AddressInfo).port}`;
  return { h, s, base };
}

const newSession = (h: Harness, s: Seed) => openWebchatSession(h.app, s.bot.id);

async function stream(base: string, s: Seed, token: string) {
  const st = await openStream(`${base}/webchat/${s.bot.id}/stream?token=${token}`);
  open.push(st);
  return st;
}

function connections(h: Harness): Promise<number> {
  return new Promise((resolve, reject) =>
    h.app.server.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
  );
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function expectRateLimited(status: number, headers: Headers, body: string) {
  expect(status).toBe(429);
  const e = errorOf({ body });
  expect(e).toMatchObject({ status: 0, error: { code: 'rate_limited', key: 'rate_limited' } });
  expect(headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
}

describe('streams per session', () => {
  it("a session's sixth stream closes its first, which is told not to reconnect", async () => {
    const { h, s, base } = await listening();
    const session = await newSession(h, s);
    const streams = [];
    for (let i = 0; i < 5; i++) {
      const st = await stream(base, s, session.sessionToken);
      expect(st.res.status).toBe(200);
      await st.waitFor(1);
      streams.push(st);
    }
    expect(h.app.server.webchatHub.listenerCount).toBe(5);
    const sixth = await stream(base, s, session.sessionToken);
    expect(sixth.res.status).toBe(200);
    await sixth.waitFor(1);
    // The first stream ends, with the frame that tells the page to stop; the others stay.
    await streams[0]?.done;
    expect(streams[0]?.named.at(-1)).toEqual({ event: 'superseded', data: '{}' });
    expect(h.app.server.webchatHub.listenerCount).toBe(5);
    for (const st of streams.slice(1)) expect(st.named.some((e) => e.event === 'superseded')).toBe(false);
    // Another session of the same address is not affected.
    const other = await stream(base, s, (await newSession(h, s)).sessionToken);
    await other.waitFor(1);
    expect(h.app.server.webchatHub.listenerCount).toBe(6);
  });
});

describe('streams per address', () => {
  it('the 51st stream of one address gets 429, while /healthz and the panel API still answer', async () => {
    // Room for the 50 streams and a few more connections only: before the cap, one address
    // could take every connection the process accepts.
    const { h, s, base } = await listening({ RELEVO_MAX_CONNECTIONS: '56' });
    for (let i = 0; i < 10; i++) {
      const session = await newSession(h, s);
      for (let j = 0; j < 5; j++) {
        const st = await stream(base, s, session.sessionToken);
        expect(st.res.status).toBe(200);
      }
    }
    await until(() => h.app.server.webchatHub.listenerCount === 50, '50 streams are live');
    const fresh = await newSession(h, s);
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${base}/webchat/${s.bot.id}/stream?token=${fresh.sessionToken}`);
      expectRateLimited(res.status, res.headers, await res.text());
      expect(res.headers.get('retry-after')).toBe('30');
      expect(res.headers.get('content-type')).toContain('application/json');
    }
    expect(h.app.server.webchatHub.listenerCount).toBe(50);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    const panel = await fetch(`${base}/v1/external-support/${s.project.id}/conversations`, {
      headers: authHeaders(s, 'apiKey'),
    });
    expect(panel.status).toBe(200);
    // A closed stream gives its place back.
    const first = open.find((o) => 'res' in o) as Awaited<ReturnType<typeof openStream>>;
    await first.close();
    await until(() => h.app.server.webchatHub.listenerCount === 49, 'the stream is gone');
    const again = await stream(base, s, fresh.sessionToken);
    expect(again.res.status).toBe(200);
  });
});

describe('a client that does not read', () => {
  it('is disconnected once its unread output passes the bound', async () => {
    const { h, s, base } = await listening();
    const session = await newSession(h, s);
    const port = Number(new URL(base).port);
    const socket: Socket = connect(port, '127.0.0.1');
    open.push({ close: async () => void socket.destroy() });
    socket.on('error', () => {});
    let received = '';
    socket.on('data', (c: Buffer) => {
      received += c.toString('latin1');
    });
    socket.write(`GET /webchat/${s.bot.id}/stream?token=${session.sessionToken} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => received.includes('event: handoff'), 'the stream opened');
    expect(received).toMatch(/^HTTP\/1\.1 200/);
    socket.pause();
    const before = await connections(h);
    expect(before).toBe(1);
    // Messages far larger than the kernel's socket buffers, published as if just committed.
    const body = 'x'.repeat(512 * 1024);
    const messages: Message[] = Array.from({ length: 40 }, (_, i) => ({
      id: `msg_z${String(i).padStart(25, '0')}`,
      projectId: s.project.id,
      roomId: session.roomId,
      conversationId: null,
      sender: 'operator',
      type: 'text',
      content: { body },
      externalId: null,
      createdAt: Date.now(),
    }));
    h.app.server.webchatHub.publish({ events: [], messages });
    // The server lets go of the socket (and what it buffered) although the client never reads.
    await until(async () => (await connections(h)) === 0, 'the server closed the connection');
    expect(h.app.server.webchatHub.listenerCount).toBe(0);
    expect(MAX_BUFFERED_BYTES).toBe(256 * 1024);
  });
});

describe('sessions per address', () => {
  it('a burst of 20, then one every 3 s; more get 429 with Retry-After, other addresses do not', async () => {
    const h = await createHarness({ RELEVO_WEBCHAT_SESSION_RATE: '20/m' });
    open.push(h);
    const s = await h.seed();
    const create = (remoteAddress: string) =>
      h.app.server.inject({
        method: 'POST',
        url: `/webchat/${s.bot.id}/sessions`,
        headers: { 'content-type': 'application/json' },
        payload: '{}',
        remoteAddress,
      });
    const before = (await h.store.queries.endUsers.list(s.project.id, { limit: 200 })).items.length;
    for (let i = 0; i < 20; i++) expect((await create('203.0.113.7')).statusCode).toBe(201);
    const refused = await create('203.0.113.7');
    expect(refused.statusCode).toBe(429);
    expect(errorOf(refused).error.code).toBe('rate_limited');
    // The next token is 3 s away (20 a minute).
    expect(refused.headers['retry-after']).toBe('3');
    expect(refused.headers['x-request-id']).toBeTypeOf('string');
    // Nothing was written for it.
    const after = (await h.store.queries.endUsers.list(s.project.id, { limit: 200 })).items.length;
    expect(after - before).toBe(20);
    // An IPv6 client counts per /64: another address in it shares the bucket.
    for (let i = 0; i < 20; i++) expect((await create(`2001:db8:1:2::${i + 1}`)).statusCode).toBe(201);
    expect((await create('2001:db8:1:2:ffff::9')).statusCode).toBe(429);
    expect((await create('198.51.100.1')).statusCode).toBe(201);
  });
});

describe('framing', () => {
  const page = async (env: NodeJS.ProcessEnv, bot?: string) => {
    const h = await createHarness(env);
    open.push(h);
    const s = await h.seed();
    return h.app.server.inject({ method: 'GET', url: `/webchat/${bot ?? s.bot.id}` });
  };
  const policies = (res: { headers: Record<string, unknown> }) => {
    const csp = res.headers['content-security-policy'];
    // One policy, not two headers: the frame rule is part of the page's own.
    expect(typeof csp).toBe('string');
    return String(csp)
      .split(';')
      .map((d) => d.trim());
  };

  it("by default only relevo's own pages may frame the chat", async () => {
    const res = await page({});
    expect(res.statusCode).toBe(200);
    const csp = policies(res);
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp.filter((d) => d.startsWith('frame-ancestors'))).toHaveLength(1);
    expect(csp.some((d) => d.startsWith('script-src'))).toBe(true);
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
  });

  it('the not-found page carries the same rule', async () => {
    const res = await page({}, 'bot_unknown');
    expect(res.statusCode).toBe(404);
    expect(policies(res)).toContain("frame-ancestors 'self'");
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
  });

  it('RELEVO_WEBCHAT_FRAME_ANCESTORS lets the sites that embed the widget frame it', async () => {
    const res = await page({ RELEVO_WEBCHAT_FRAME_ANCESTORS: "'self', https://shop.example.com" });
    expect(policies(res)).toContain("frame-ancestors 'self' https://shop.example.com");
    expect(res.headers['x-frame-options']).toBeUndefined();
    const none = await page({ RELEVO_WEBCHAT_FRAME_ANCESTORS: "'none'" });
    expect(policies(none)).toContain("frame-ancestors 'none'");
    expect(none.headers['x-frame-options']).toBe('DENY');
  });
});
