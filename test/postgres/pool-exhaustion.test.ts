/**
 * Connection-pool exhaustion (issue 5, "Faults"): a node with a single pooled connection under
 * 200 concurrent requests queues them; each is answered 200 or, past the pool's 5 s connect
 * timeout, 503 in the error envelope — never a 500, never a hang — and every acknowledged
 * event is delivered.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postJson as post, seedOverHttp } from '../helpers/http-client.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { ensureBuilt, type Served, spawnServer } from '../helpers/spawned-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const ADMIN = 'pool-admin-token-0123456789';
let dir: string;
let db: TestDatabase;
let receiver: Receiver;
let server: Served | undefined;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'relevo-pool-'));
  db = await createTestDatabase(dir);
  receiver = await startReceiver();
});
afterAll(async () => {
  if (server?.child.exitCode === null) server.child.kill('SIGKILL');
  await receiver.close();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

it('queues on an exhausted pool and answers every request with 200 or a 503 envelope', async () => {
  server = await spawnServer({
    DATABASE_URL: db.url,
    RELEVO_ADMIN_TOKEN: ADMIN,
    RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
    RELEVO_DB_POOL_SIZE: '1',
    LOG_LEVEL: 'info',
  });
  const port = server.port;
  const { projectId, key, pairs } = await seedOverHttp([port], ADMIN, {
    name: 'Pool',
    webhookUrl: receiver.url,
    pairs: 200,
  });

  const results = await Promise.all(
    pairs.map((pair) => post(port, `/v1/external-support/${projectId}/conversations/start`, key, pair)),
  );
  const statuses = results.map((r) => r.status);
  expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
  for (const r of results.filter((x) => x.status === 503))
    expect(r.json.error.code).toBe('service_unavailable');
  const acknowledged = results.filter((r) => r.status === 200).map((r) => String(r.json.data.conversationId));
  expect(acknowledged.length).toBeGreaterThan(0);

  const delivered = () => new Set(receiver.received.map((r) => JSON.parse(r.body).conversation.id as string));
  const until = Date.now() + 60_000;
  while (acknowledged.some((id) => !delivered().has(id)) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(acknowledged.filter((id) => !delivered().has(id))).toEqual([]);
  console.info(
    `pool of 1: ${acknowledged.length} of 200 acknowledged, ${200 - acknowledged.length} answered 503`,
  );
  server.child.kill('SIGTERM');
  expect(await server.exited).toBe(0);
}, 180_000);
