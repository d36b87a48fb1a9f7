/**
 * OpenTelemetry traces (docs/operations.md, "Traces"): `serve` in-process with
 * OTEL_EXPORTER_OTLP_ENDPOINT pointing at a collector on loopback (a plain node:http server that
 * decodes the exporter's OTLP/HTTP JSON). A conversation start has its span, its transaction a
 * child span, and its event's delivery attempt is a child of the start's span, in the same trace;
 * the receiver gets that attempt's traceparent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type RunningServer, serve } from '../../src/server.js';
import { seedOverHttp } from '../helpers/http-client.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../helpers/test-database.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}

const TOKEN = 'tracing-test-admin-token-0123456789';
let dir: string;
let db: TestDatabase | undefined;
let receiver: Receiver;
let collector: Server;
const exports: Array<{ contentType: string | undefined; path: string | undefined }> = [];
const spans: OtlpSpan[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relevo-tracing-'));
  db = TEST_DB === 'postgres' ? await createTestDatabase(dir) : undefined;
  receiver = await startReceiver();
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      exports.push({ contentType: req.headers['content-type'], path: req.url });
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
      };
      for (const r of body.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  await receiver?.close();
  await new Promise((r) => collector?.close(r));
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const attr = (span: OtlpSpan | undefined, key: string) => span?.attributes?.find((a) => a.key === key)?.value;

it('a start and its delivery are one trace: the attempt is a child of the request span, and the receiver gets its traceparent', async () => {
  const port = (collector.address() as AddressInfo).port;
  const config = loadConfig({
    DATABASE_URL: db?.url ?? `sqlite:${join(dir, 'relevo.db')}`,
    PORT: '0',
    HOST: '127.0.0.1',
    RELEVO_ADMIN_TOKEN: TOKEN,
    RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
  });
  let server: RunningServer | undefined = await serve(config, {
    logger: pino({ level: 'silent' }),
    stderr: () => undefined,
  });
  try {
    const seed = await seedOverHttp([server.port], TOKEN, {
      name: 'Traced',
      webhookUrl: receiver.url,
      pairs: 1,
    });
    const before = receiver.received.length;
    const res = await fetch(
      `http://127.0.0.1:${server.port}/v1/external-support/${seed.projectId}/conversations/start`,
      {
        method: 'POST',
        headers: { ...seed.key, 'content-type': 'application/json' },
        body: JSON.stringify(seed.pairs[0]),
      },
    );
    expect(res.status).toBe(200);
    const [delivered] = (await receiver.waitFor(before + 1)).slice(before);
    // Shutdown sends what the batch processor still holds.
    await server.stop();
    server = undefined;

    expect(exports.length).toBeGreaterThan(0);
    expect(exports.every((e) => e.path === '/v1/traces' && e.contentType === 'application/json')).toBe(true);
    const start = spans.find((s) => s.name === 'POST /v1/external-support/:projectId/conversations/start');
    expect(start).toBeDefined();
    expect(attr(start, 'http.response.status_code')).toEqual({ intValue: 200 });
    // Its transaction, inside it.
    expect(
      spans.some(
        (s) =>
          s.name === 'db.transaction' && s.parentSpanId === start?.spanId && s.traceId === start?.traceId,
      ),
    ).toBe(true);
    // The delivery attempt: same trace, the start's span as its parent.
    const attempt = spans.find((s) => s.name === 'webhook.attempt' && s.traceId === start?.traceId);
    expect(attempt?.parentSpanId).toBe(start?.spanId);
    expect(attr(attempt, 'relevo.outcome')).toEqual({ stringValue: 'delivered' });
    expect(attr(attempt, 'relevo.attempt')).toEqual({ intValue: 1 });
    // The receiver can continue the trace from the attempt.
    expect(delivered?.headers.traceparent).toBe(`00-${attempt?.traceId}-${attempt?.spanId}-01`);
    // The attempt's recording transaction is the attempt's child.
    expect(spans.some((s) => s.parentSpanId === attempt?.spanId && s.name.startsWith('db.'))).toBe(true);
  } finally {
    await server?.stop();
  }
});
