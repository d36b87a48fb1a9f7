/**
 * docs/api.md §5.10 — a project at a glance, after real deliveries to a loopback receiver: active
 * conversations, events waiting, dead letters, and the last hour's attempts per minute with the
 * success rate; another project's figures never mixed in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_AUTH, authHeaders, call, createIntegration } from '../helpers/api.js';
import { eventually, startedPair } from '../helpers/events.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

let h: Harness;
let s: Seed;
let other: Seed;
let receiver: Receiver;

beforeAll(async () => {
  // Two attempts a second apart, then the event is a dead letter.
  h = await createHarness({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,1s' }, { worker: true });
  s = await h.seed('Acme');
  other = await h.seed('Other');
  receiver = await startReceiver();
  await createIntegration(h.app, s, receiver.url);
  await createIntegration(h.app, other, receiver.url);
});
afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: the test reads the JSON answer loosely.
const overview = async (seed: Seed, headers = authHeaders(seed, 'apiKey')): Promise<any> => {
  const res = await call(h.app, {
    method: 'GET',
    url: `/v1/external-support/${seed.project.id}/overview`,
    headers,
  });
  expect(res.statusCode).toBe(200);
  expect(res.json().message).toEqual(['Overview retrieved successfully']);
  return res.json().data;
};

describe('the overview', () => {
  it('starts at zero, with sixty empty minutes and no success rate', async () => {
    const o = await overview(s);
    expect(o).toMatchObject({ activeConversations: 0, eventsWaiting: 0, deadLetters: 0 });
    expect(o.lastHour).toMatchObject({ delivered: 0, failed: 0, successRate: null });
    expect(o.lastHour.perMinute).toHaveLength(60);
    const minutes = o.lastHour.perMinute.map((m: { minute: string }) => Date.parse(m.minute));
    expect(minutes[59] - minutes[0]).toBe(59 * 60_000);
    expect(minutes[0]).toBe(Date.parse(o.lastHour.from));
    expect(Date.parse(o.lastHour.to) - minutes[59]).toBeLessThan(60_000);
  });

  it('counts deliveries, failures and dead letters of its own project only', async () => {
    // The first event fails twice (a dead letter); the next two are delivered.
    receiver.respond((_r, i) =>
      i < 2 ? { kind: 'status', status: 500, body: 'down' } : { kind: 'status', status: 200 },
    );
    await startedPair(h.store, s.project.id, 1);
    await eventually(
      () => overview(s),
      (o) => o.deadLetters === 1,
      15_000,
    );
    await startedPair(h.store, s.project.id, 2);
    await startedPair(h.store, s.project.id, 3);
    // The counts and the minutes are two reads, each its own snapshot on PostgreSQL: the second
    // delivery can land between them, so wait until both show it (one CI run under the whole
    // suite's load failed here when the wait looked at the minutes alone).
    const o = await eventually(
      () => overview(s),
      (o) => o.lastHour.delivered === 2 && o.eventsWaiting === 0,
      15_000,
    );
    expect(o).toMatchObject({ activeConversations: 3, eventsWaiting: 0, deadLetters: 1 });
    expect(o.lastHour).toMatchObject({ delivered: 2, failed: 2, successRate: 0.5 });
    const perMinute = o.lastHour.perMinute as { delivered: number; failed: number }[];
    expect(perMinute.reduce((n, m) => n + m.delivered + m.failed, 0)).toBe(4);
    // The admin token reads the same figures; the other project has none of them.
    expect(await overview(s, ADMIN_AUTH)).toMatchObject({ activeConversations: 3, deadLetters: 1 });
    expect(await overview(other)).toMatchObject({ activeConversations: 0, deadLetters: 0 });
  });

  it('counts events waiting while the receiver is down', async () => {
    receiver.respond(() => ({ kind: 'status', status: 503 }));
    await startedPair(h.store, other.project.id, 4);
    const o = await eventually(
      () => overview(other),
      (o) => o.eventsWaiting === 1 && o.lastHour.failed >= 1,
      15_000,
    );
    expect(o.activeConversations).toBe(1);
  });
});
