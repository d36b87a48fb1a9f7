/**
 * Issue 5's acceptance test: 2 API processes and 2 worker processes on one PostgreSQL, under
 * concurrent load; one worker is SIGKILLed mid-burst. Every acknowledged event must reach the
 * receiver, and each room's events must arrive in the order they were acknowledged
 * (de-duplicated by webhook-id: an attempt in flight at the kill may be repeated).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { firstArrivalsByPair } from '../helpers/arrivals.js';
import { postJson as post, seedOverHttp } from '../helpers/http-client.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { ensureBuilt, type Served, spawnServer } from '../helpers/spawned-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const ADMIN = 'multi-node-admin-token-0123456789';
let dir: string;
let db: TestDatabase;
let receiver: Receiver;
const servers: Served[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'relevo-multi-'));
  db = await createTestDatabase(dir);
  receiver = await startReceiver();
});
afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  await receiver.close();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

it('2 API nodes + 2 workers: a worker SIGKILLed mid-burst loses nothing and keeps per-room order', async () => {
  const env = {
    DATABASE_URL: db.url,
    RELEVO_ADMIN_TOKEN: ADMIN,
    RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
    RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,50ms,100ms,200ms,400ms,800ms,1s,2s',
    // The killed worker's leases run out after timeout + 5 s; keep that short for the test.
    RELEVO_WEBHOOK_TIMEOUT_MS: '2000',
    RELEVO_DB_POOL_SIZE: '8',
    LOG_LEVEL: 'info',
  };
  const [api1, api2, worker1, worker2] = await Promise.all([
    spawnServer({ ...env, RELEVO_ROLE: 'api' }),
    spawnServer({ ...env, RELEVO_ROLE: 'api' }),
    spawnServer({ ...env, RELEVO_ROLE: 'worker' }),
    spawnServer({ ...env, RELEVO_ROLE: 'worker' }),
  ]);
  if (!api1 || !api2 || !worker1 || !worker2) throw new Error('a process did not start');
  servers.push(api1, api2, worker1, worker2);
  const apis = [api1, api2];

  const PAIRS = 60;
  const CYCLES = 3;
  const { projectId, key, pairs } = await seedOverHttp([api1.port, api2.port], ADMIN, {
    name: 'Multi',
    webhookUrl: receiver.url,
    pairs: PAIRS,
  });

  // Slow answers keep attempts in flight, so the kill lands mid-attempt.
  receiver.respond(() => ({ kind: 'wait', release: new Promise((r) => setTimeout(r, 5)), status: 200 }));
  /** Per pair, the acknowledged events in order: "start:<conversationId>" / "close:<conversationId>". */
  const acked = new Map<string, string[]>();
  let requests = 0;
  let killed = false;
  const base = `/v1/external-support/${projectId}/conversations`;
  await Promise.all(
    pairs.map(async (pair, i) => {
      const list: string[] = [];
      acked.set(`${pair.botId}/${pair.userId}`, list);
      for (let c = 0; c < CYCLES; c++) {
        const started = await post(apis[(i + c) % 2]!.port, `${base}/start`, key, pair);
        expect(started.status).toBe(200);
        const id = String(started.json.data?.conversationId);
        list.push(`start:${id}`);
        const closed = await post(apis[(i + c + 1) % 2]!.port, `${base}/close`, key, pair);
        expect(closed.status).toBe(200);
        list.push(`close:${id}`);
        requests += 2;
        if (!killed && requests >= PAIRS * CYCLES) {
          killed = true;
          worker1.child.kill('SIGKILL');
        }
      }
    }),
  );
  expect(killed).toBe(true);
  await worker1.exited;

  const total = PAIRS * CYCLES * 2;
  const distinct = () => new Set(receiver.received.map((r) => String(r.headers['webhook-id']))).size;
  const deadline = Date.now() + 60_000;
  while (distinct() < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(distinct()).toBe(total);

  // Per room, first arrivals (by webhook-id) in the order acknowledged.
  const { byPair: arrived, distinct: delivered } = firstArrivalsByPair(receiver.received);
  for (const [pair, list] of acked) expect(arrived.get(pair)).toEqual(list);
  const duplicates = receiver.received.length - delivered;
  console.info(
    `multi-node: ${total} events acknowledged, ${delivered} delivered, ${duplicates} repeated after the kill`,
  );

  expect(worker2.child.exitCode).toBeNull();
  for (const s of [api1, api2, worker2]) s.child.kill('SIGTERM');
  expect(await Promise.all([api1.exited, api2.exited, worker2.exited])).toEqual([0, 0, 0]);
}, 180_000);
