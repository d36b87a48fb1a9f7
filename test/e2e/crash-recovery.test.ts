/**
 * docs/webhooks.md, "At least once": a `kill -9` at any moment loses no acknowledged event. A real server
 * process takes a burst of starts while its webhook is slow, is killed mid-burst, restarts on
 * the same SQLite file, and every conversation it answered 200 for reaches the receiver —
 * de-duplicated by webhook-id, because an attempt in flight at the kill may be repeated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postJson as post, seedOverHttp } from '../helpers/http-client.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { ensureBuilt, type Served, spawnServer } from '../helpers/spawned-server.js';

const ADMIN = 'crash-test-admin-token-0123456789';
let dir: string;
let env: NodeJS.ProcessEnv;
const IN_FLIGHT = 16;
let receiver: Receiver;
const servers: Served[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'relevo-crash-'));
  receiver = await startReceiver();
  env = {
    DATABASE_URL: `sqlite:${join(dir, 'relevo.db')}`,
    RELEVO_ADMIN_TOKEN: ADMIN,
    RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
    RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,50ms,100ms,200ms,400ms,800ms',
    // Bounds the attempts in flight at the kill, and so the duplicates it may cause.
    RELEVO_WEBHOOK_CONCURRENCY: String(IN_FLIGHT),
    LOG_LEVEL: 'info',
  };
});
afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

it('delivers every acknowledged conversation.start after a SIGKILL mid-burst', async () => {
  const first = await spawnServer(env);
  servers.push(first);
  const PAIRS = 200;
  const { projectId, key, pairs } = await seedOverHttp([first.port], ADMIN, {
    name: 'Crash',
    webhookUrl: receiver.url,
    pairs: PAIRS,
  });

  // A slow receiver keeps a backlog in the outbox while the burst runs.
  receiver.respond(() => ({ kind: 'wait', release: new Promise((r) => setTimeout(r, 20)), status: 200 }));
  const acknowledged = new Set<string>();
  let killed = false;
  const burst = pairs.map(async (pair) => {
    try {
      const res = await post(first.port, `/v1/external-support/${projectId}/conversations/start`, key, pair);
      if (res.status === 200) acknowledged.add(res.json.data.conversationId);
      if (acknowledged.size === PAIRS / 2 && !killed) {
        killed = true;
        first.child.kill('SIGKILL');
      }
    } catch {
      // Requests cut by the kill were never acknowledged: nothing is owed for them.
    }
  });
  await Promise.all(burst);
  await first.exited;
  expect(killed).toBe(true);
  expect(acknowledged.size).toBeGreaterThanOrEqual(PAIRS / 2);
  const deliveredBeforeRestart = new Set(receiver.received.map((r) => r.headers['webhook-id']));
  expect(deliveredBeforeRestart.size).toBeLessThan(acknowledged.size);

  receiver.respond(() => ({ kind: 'status', status: 200 }));
  const second = await spawnServer(env);
  servers.push(second);

  const deadline = Date.now() + 30_000;
  const deliveredConversations = () =>
    new Set(receiver.received.map((r) => JSON.parse(r.body).conversation.id as string));
  while (Date.now() < deadline) {
    const got = deliveredConversations();
    if ([...acknowledged].every((id) => got.has(id))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const got = deliveredConversations();
  const lost = [...acknowledged].filter((id) => !got.has(id));
  expect(lost).toEqual([]);

  // Duplicates are possible only for attempts in flight at the kill, and they carry the same
  // webhook-id and the same bytes.
  const byId = new Map<string, string>();
  for (const r of receiver.received) {
    const id = String(r.headers['webhook-id']);
    const seen = byId.get(id);
    if (seen !== undefined) expect(r.body).toBe(seen);
    byId.set(id, r.body);
  }
  const duplicates = receiver.received.length - byId.size;
  expect(duplicates).toBeLessThanOrEqual(IN_FLIGHT + 1);
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}, 120_000);
