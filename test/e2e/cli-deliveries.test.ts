import { afterAll, beforeAll, expect, it } from 'vitest';
import { createIntegration } from '../helpers/api.js';
import { eventually, startedPair } from '../helpers/events.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { ensureBuilt, runCli } from '../helpers/spawned-server.js';

let h: Harness;
let s: Seed;
let receiver: Receiver;

beforeAll(async () => {
  ensureBuilt();
  receiver = await startReceiver();
  receiver.respond(() => ({ kind: 'status', status: 500 }));
  h = await createHarness({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,10ms' }, { worker: true });
  s = await h.seed();
  await createIntegration(h.app, s, receiver.url);
});
afterAll(async () => {
  await h.close();
  await receiver.close();
});

const relevo = (args: string[]) =>
  runCli(args, { DATABASE_URL: h.config.databaseUrl, RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8' });

it('lists, shows, retries and replays deliveries from the command line', async () => {
  const pair = await startedPair(h.store, s.project.id);
  // Two failed attempts: the dead letter.
  await eventually(
    () => h.store.queries.outbox.get(pair.eventId),
    (e) => e?.status === 'failed',
  );

  const list = await relevo(['deliveries', 'list', s.project.id, '--status', 'failed']);
  expect(list.code).toBe(0);
  const page = JSON.parse(list.stdout);
  expect(page.items.map((d: { id: string }) => d.id)).toEqual([pair.eventId]);
  expect(page.nextCursor).toBeNull();

  const show = await relevo(['deliveries', 'show', s.project.id, pair.eventId]);
  expect(show.code).toBe(0);
  const detail = JSON.parse(show.stdout);
  expect(detail.status).toBe('failed');
  expect(detail.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 500]);

  receiver.respond(() => ({ kind: 'status', status: 200 }));
  const retry = await relevo(['deliveries', 'retry', s.project.id, pair.eventId]);
  expect(retry.code).toBe(0);
  expect(JSON.parse(retry.stdout).requeued).toBe(true);
  // The worker (in this test's app) sends it with the same webhook-id.
  await eventually(
    () => h.store.queries.outbox.get(pair.eventId),
    (e) => e?.status === 'delivered',
  );
  expect(receiver.received.at(-1)?.headers['webhook-id']).toBe(pair.eventId);

  const replay = await relevo(['deliveries', 'replay', s.project.id, '--since', '2000-01-01T00:00:00Z']);
  expect(replay.code).toBe(0);
  expect(JSON.parse(replay.stdout)).toEqual({ replayed: 1 });
  await eventually(
    async () => receiver.received.filter((r) => r.headers['webhook-id'] === pair.eventId).length,
    (n) => n === 4,
  );
});

it('reports bad input as usage errors and unknown deliveries as failures', async () => {
  const bad = await relevo(['deliveries', 'list', s.project.id, '--status', 'lost']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/status/);
  const missing = await relevo(['deliveries', 'show', s.project.id, 'evt_nope']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/delivery_not_found/);
  const since = await relevo(['deliveries', 'replay', s.project.id, '--since', 'yesterday']);
  expect(since.code).toBe(2);
});
