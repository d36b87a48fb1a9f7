/**
 * docs/api.md §2.1: the admin token on the management routes, acting as any project (what the
 * console signs in with): reads and writes of every project under every prefix, 404
 * project_not_found for an unknown project, the uniform 401 unauthorized for a wrong token, the event
 * stream (ending when the project is deleted), and nothing of it when the admin API is off.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_AUTH, call, errorOf, PREFIXES } from '../helpers/api.js';
import { startedPair } from '../helpers/events.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { openStream } from '../helpers/sse.js';

let h: Harness;
let a: Seed;
let b: Seed;

beforeAll(async () => {
  h = await createHarness({ RELEVO_EVENT_STREAM_IDLE_TIMEOUT_MS: '1500' });
  a = await h.seed('Acme');
  b = await h.seed('Beta');
});
afterAll(async () => h?.close());

describe('the admin token on the management routes', () => {
  it("reads and changes any project's integration and conversations, under every prefix", async () => {
    const pair = await startedPair(h.store, b.project.id, 1);
    for (const prefix of PREFIXES) {
      const list = await call(h.app, {
        method: 'GET',
        url: `${prefix}/external-support/${b.project.id}/conversations`,
        headers: ADMIN_AUTH,
      });
      expect(list.statusCode).toBe(200);
      expect(list.json().data.items.map((c: { roomId: string }) => c.roomId)).toContain(pair.roomId);
    }
    const created = await call(h.app, {
      url: `/v1/external-support/${a.project.id}`,
      headers: ADMIN_AUTH,
      body: { webhookUrl: 'http://127.0.0.1:9/hooks' },
    });
    expect(created.statusCode).toBe(200);
    expect(created.json().data.signingSecret).toMatch(/\S{20,}/);
    // The same integration as the project's own credential sees.
    const seen = await call(h.app, {
      method: 'GET',
      url: `/v1/external-support/${a.project.id}`,
      headers: { 'x-api-key': a.apiKey },
    });
    expect(seen.json().data.webhookUrl).toBe('http://127.0.0.1:9/hooks');
  });

  it('answers 404 project_not_found for an unknown project, the uniform 401 for a wrong token', async () => {
    const missing = await call(h.app, {
      method: 'GET',
      url: '/v1/external-support/prj_unknown/conversations',
      headers: ADMIN_AUTH,
    });
    expect(missing.statusCode).toBe(404);
    expect(errorOf(missing).error.code).toBe('project_not_found');
    const wrong = await call(h.app, {
      method: 'GET',
      url: `/v1/external-support/${a.project.id}/conversations`,
      headers: { authorization: 'Bearer not-the-token' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(errorOf(wrong).error.code).toBe('unauthorized');
    // An API key alongside a bearer token: the key is the credential checked (§2.1).
    const both = await call(h.app, {
      method: 'GET',
      url: `/v1/external-support/${b.project.id}/conversations`,
      headers: { ...ADMIN_AUTH, 'x-api-key': a.apiKey },
    });
    expect(both.statusCode).toBe(401);
    expect(errorOf(both).error.code).toBe('unauthorized');
  });

  it("streams any project's events, and ends the stream when the project is deleted", async () => {
    await h.app.server.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(h.app.server.server.address() as AddressInfo).port}`;
    const doomed = await h.seed('Doomed');
    const stream = await openStream(
      `${base}/v1/external-support/${doomed.project.id}/events/stream`,
      ADMIN_AUTH,
    );
    expect(stream.res.status).toBe(200);
    try {
      await new Promise((r) => setTimeout(r, 200));
      const pair = await startedPair(h.store, doomed.project.id, 2);
      const [got] = await stream.waitForAll(1);
      expect(got?.id).toBe(pair.eventId);
      expect(got?.event).toBe('conversation.start');
      const deleted = await call(h.app, {
        method: 'DELETE',
        url: `/admin/v1/projects/${doomed.project.id}?force=true`,
        headers: ADMIN_AUTH,
      });
      expect(deleted.statusCode).toBe(200);
      // The next heartbeat's check finds the project gone and ends the stream.
      await stream.done;
    } finally {
      await stream.close();
    }
  });
});

describe('with the admin API off', () => {
  let off: Harness;
  let s: Seed;
  beforeAll(async () => {
    off = await createHarness({ RELEVO_ADMIN_TOKEN: 'off' });
    s = await off.seed('Acme');
  });
  afterAll(async () => off?.close());

  it('refuses a bearer token like any bad credential', async () => {
    const res = await call(off.app, {
      method: 'GET',
      url: `/v1/external-support/${s.project.id}/conversations`,
      headers: ADMIN_AUTH,
    });
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).error.code).toBe('unauthorized');
  });
});
