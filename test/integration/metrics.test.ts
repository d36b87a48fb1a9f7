/**
 * Prometheus metrics during a real run (docs/operations.md, "Metrics"): `serve` in-process on
 * loopback with RELEVO_METRICS_ADDR, a real receiver that answers 500 and then 200, and the
 * metrics listener scraped over HTTP. Counters, histograms and gauges move as the outbox does:
 * pending grows, a dead letter appears, latency is recorded once the receiver answers 200. The
 * failed attempt's log line names the request that created its event.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type RunningServer, serve } from '../../src/server.js';
import { postJson, requestJson, seedOverHttp } from '../helpers/http-client.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../helpers/test-database.js';

const TOKEN = 'metrics-test-admin-token-0123456789';
let dir: string;
let db: TestDatabase | undefined;
let server: RunningServer;
let receiver: Receiver;
const logs: Array<Record<string, unknown>> = [];
/** What the receiver answers. */
let answer = 500;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relevo-metrics-'));
  db = TEST_DB === 'postgres' ? await createTestDatabase(dir) : undefined;
  receiver = await startReceiver();
  receiver.respond(() => ({ kind: 'status', status: answer }));
  const config = loadConfig({
    DATABASE_URL: db?.url ?? `sqlite:${join(dir, 'relevo.db')}`,
    PORT: '0',
    HOST: '127.0.0.1',
    RELEVO_ADMIN_TOKEN: TOKEN,
    RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
    // Two attempts, 2 s apart: the event stays pending for 2 s, longer than the gauges' 1 s cache.
    RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,2s',
    RELEVO_METRICS_ADDR: '127.0.0.1:0',
  });
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  server = await serve(config, { logger, stderr: () => undefined });
});
afterAll(async () => {
  await server?.stop();
  await receiver?.close();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function scrape(path = '/metrics'): Promise<{ status: number; type: string | null; text: string }> {
  const url = new URL(path, server.metricsUrl);
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

/** The value of one sample, e.g. `relevo_outbox_pending` or `relevo_events_total{type="message"}`. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** Scrapes until `ok` holds for a scrape, or fails with the last one. */
async function scrapeUntil(ok: (text: string) => boolean, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = (await scrape()).text;
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`metrics never matched; last scrape:\n${last}`);
}

it('serves the Prometheus text on its own listener, and 404 elsewhere', async () => {
  expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  expect(new URL(server.metricsUrl ?? '').port).not.toBe(String(server.port));
  const res = await scrape();
  expect(res.status).toBe(200);
  expect(res.type).toBe('text/plain; version=0.0.4; charset=utf-8');
  for (const name of [
    'relevo_http_requests_total',
    'relevo_http_request_duration_seconds',
    'relevo_events_total',
    'relevo_delivery_attempts_total',
    'relevo_delivery_latency_seconds',
    'relevo_outbox_pending',
    'relevo_outbox_oldest_pending_age_seconds',
    'relevo_outbox_dead',
    'process_cpu_seconds_total',
    'nodejs_eventloop_lag_seconds',
  ]) {
    expect(res.text).toContain(`# TYPE ${name} `);
  }
  // The pool exists on PostgreSQL only.
  expect(res.text.includes('# TYPE relevo_db_pool_connections gauge')).toBe(TEST_DB === 'postgres');
  expect((await scrape('/')).status).toBe(404);
  expect((await scrape('/metrics/x')).status).toBe(404);
  // Not on the API's port.
  expect((await requestJson(server.port, 'GET', '/metrics')).status).toBe(404);
});

it('counts requests by route pattern, events, attempts; gauges follow the outbox to a dead letter; latency once delivered', async () => {
  const seed = await seedOverHttp([server.port], TOKEN, {
    name: 'Metrics',
    webhookUrl: receiver.url,
    pairs: 3,
  });
  const [first, second, third] = seed.pairs;
  if (first === undefined || second === undefined || third === undefined)
    throw new Error('seeded three pairs');
  const started = await fetch(
    `http://127.0.0.1:${server.port}/v1/external-support/${seed.projectId}/conversations/start`,
    {
      method: 'POST',
      headers: { ...seed.key, 'content-type': 'application/json', 'x-request-id': 'req-metrics-start-1' },
      body: JSON.stringify(first),
    },
  );
  expect(started.status).toBe(200);

  // The first attempt failed (500) and the event waits 2 s for its retry: pending, and aging.
  let text = await scrapeUntil((t) => sample(t, 'relevo_outbox_pending') === 1);
  expect(sample(text, 'relevo_outbox_oldest_pending_age_seconds')).toBeGreaterThan(0);
  expect(sample(text, 'relevo_outbox_dead')).toBe(0);
  // Then the second and last: a dead letter, nothing pending.
  text = await scrapeUntil(
    (t) => sample(t, 'relevo_outbox_dead') === 1 && sample(t, 'relevo_outbox_pending') === 0,
  );
  expect(sample(text, 'relevo_delivery_attempts_total{outcome="retrying"}')).toBe(1);
  expect(sample(text, 'relevo_delivery_attempts_total{outcome="dead"}')).toBe(1);
  expect(sample(text, 'relevo_outbox_oldest_pending_age_seconds')).toBe(0);
  expect(sample(text, 'relevo_delivery_latency_seconds_count')).toBe(0);

  // The receiver recovers: the next event is delivered, and its latency recorded.
  answer = 200;
  expect(
    (
      await postJson(
        server.port,
        `/v1/external-support/${seed.projectId}/conversations/start`,
        seed.key,
        second,
      )
    ).status,
  ).toBe(200);
  text = await scrapeUntil((t) => sample(t, 'relevo_delivery_attempts_total{outcome="delivered"}') === 1);
  expect(sample(text, 'relevo_delivery_latency_seconds_count')).toBe(1);
  expect(sample(text, 'relevo_delivery_latency_seconds_sum')).toBeGreaterThan(0);
  expect(sample(text, 'relevo_delivery_latency_seconds_bucket{le="+Inf"}')).toBe(1);
  expect(sample(text, 'relevo_events_total{type="conversation.start"}')).toBe(2);

  // A 410 disables the integration: counted as such (the event waits for it to be enabled).
  answer = 410;
  expect(
    (
      await postJson(
        server.port,
        `/v1/external-support/${seed.projectId}/conversations/start`,
        seed.key,
        third,
      )
    ).status,
  ).toBe(200);
  text = await scrapeUntil((t) => sample(t, 'relevo_delivery_attempts_total{outcome="disabled"}') === 1);
  expect(sample(text, 'relevo_events_total{type="conversation.start"}')).toBe(3);

  // Requests by route pattern, never by raw URL; a path no route matches is "unmatched".
  expect((await requestJson(server.port, 'GET', `/no/such/${seed.projectId}`)).status).toBe(404);
  text = (await scrape()).text;
  const route = '/v1/external-support/:projectId/conversations/start';
  expect(sample(text, `relevo_http_requests_total{method="POST",route="${route}",status="200"}`)).toBe(3);
  expect(sample(text, `relevo_http_request_duration_seconds_count{method="POST",route="${route}"}`)).toBe(3);
  // This one and the first test's GET /metrics on the API's port.
  expect(sample(text, 'relevo_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(2);
  expect(text).not.toContain(seed.projectId);

  // The failed attempt's log line: event id, attempt number, and the creating request's id.
  const failed = logs.filter((l) => l.msg === 'webhook attempt failed');
  expect(failed.map((l) => [l.attempt, l.requestId, l.action])).toEqual([
    [1, 'req-metrics-start-1', 'retry'],
    [2, 'req-metrics-start-1', 'dead'],
    // The third start sent no X-Request-Id: the one relevo made for it.
    [1, expect.stringMatching(/^[0-9a-f-]{36}$/), 'disable'],
  ]);
  expect(failed[0]?.eventId).toMatch(/^evt_/);
  expect(failed[0]?.eventId).toBe(failed[1]?.eventId);
});

it.skipIf(TEST_DB !== 'postgres')('reports the PostgreSQL pool by state', async () => {
  const text = await scrapeUntil((t) => (sample(t, 'relevo_db_pool_connections{state="idle"}') ?? 0) >= 1);
  expect(sample(text, 'relevo_db_pool_connections{state="busy"}')).toBeGreaterThanOrEqual(0);
  expect(sample(text, 'relevo_db_pool_connections{state="waiting"}')).toBe(0);
});
