/**
 * A PostgreSQL restart under load (issue 5, "Faults"): while the database is gone the API
 * answers 503 with the error envelope — never a 500, never a hang — and /readyz says so; when
 * it is back, everything recovers by itself, and every acknowledged event is delivered.
 * This file runs its own cluster, since it stops it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requestJson as call, type JsonAnswer, seedOverHttp } from '../helpers/http-client.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { ensureBuilt, type Served, spawnServer } from '../helpers/spawned-server.js';
import { type Cluster, startCluster } from '../setup/postgres-cluster.js';

const ADMIN = 'restart-admin-token-0123456789';
let cluster: Cluster;
let dir: string;
let receiver: Receiver;
let server: Served | undefined;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'relevo-restart-'));
  cluster = await startCluster();
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query('CREATE DATABASE relevo');
  await admin.end();
  receiver = await startReceiver();
}, 120_000);
afterAll(async () => {
  if (server?.child.exitCode === null) server.child.kill('SIGKILL');
  await receiver.close();
  cluster.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('answers 503 while PostgreSQL is down and recovers by itself, losing nothing acknowledged', async () => {
  server = await spawnServer({
    DATABASE_URL: cluster.urlOf('relevo'),
    RELEVO_ADMIN_TOKEN: ADMIN,
    RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
    RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,100ms,200ms,500ms,1s,2s,2s,2s',
    RELEVO_DB_POOL_SIZE: '4',
    LOG_LEVEL: 'info',
  });
  const port = server.port;
  const { projectId, key, pairs } = await seedOverHttp([port], ADMIN, {
    name: 'Restart',
    webhookUrl: receiver.url,
    pairs: 40,
  });

  const acknowledged = new Set<string>();
  const statuses = new Map<number, number>();
  const badBodies: unknown[] = [];
  let stop = false;
  const start = `/v1/external-support/${projectId}/conversations/start`;
  const load = pairs.map(async (pair) => {
    let active = false;
    while (!stop) {
      const path = active ? start.replace('/start', '/close') : start;
      let a: JsonAnswer;
      try {
        a = await call(port, 'POST', path, key, pair);
      } catch (e) {
        badBodies.push(String(e));
        continue;
      }
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      if (a.status === 200) {
        if (!active) acknowledged.add(String(a.json.data?.conversationId));
        active = !active;
      } else if (a.status === 503) {
        if (a.json.error?.code !== 'service_unavailable') badBodies.push(a.json);
        await new Promise((r) => setTimeout(r, 50));
      } else if (a.status === 409 || a.status === 404) {
        // A 503 whose transaction had in fact committed: the pair is in the other state.
        active = a.status === 409;
      } else {
        badBodies.push(a.json);
      }
    }
  });

  await new Promise((r) => setTimeout(r, 1_000));
  cluster.pause();
  await new Promise((r) => setTimeout(r, 500));
  const health = await call(port, 'GET', '/healthz', {}).catch((e: unknown) => {
    throw new Error(`relevo is gone (exit ${server?.child.exitCode}): ${server?.stderr.slice(-3000)}`, {
      cause: e,
    });
  });
  // Liveness stays 200 (the process serves); readiness takes the node out of rotation.
  expect(health.status).toBe(200);
  expect(health.json).toMatchObject({ status: 'degraded', database: 'unavailable' });
  const ready = await call(port, 'GET', '/readyz', {});
  expect(ready.status).toBe(503);
  expect(ready.json.error.code).toBe('database_unavailable');
  await new Promise((r) => setTimeout(r, 1_500));
  cluster.resume();
  // Recovered by itself: successes again within a few seconds.
  const okBefore = statuses.get(200) ?? 0;
  const deadline = Date.now() + 20_000;
  while ((statuses.get(200) ?? 0) < okBefore + 50 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  stop = true;
  await Promise.all(load);

  expect((await call(port, 'GET', '/healthz', {})).status).toBe(200);
  expect(badBodies).toEqual([]);
  expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
  expect(statuses.get(500) ?? 0).toBe(0);
  expect(statuses.get(200) ?? 0).toBeGreaterThan(okBefore + 49);

  // Every acknowledged start reaches the receiver.
  const delivered = () =>
    new Set(
      receiver.received
        .map((r) => JSON.parse(r.body) as { event: string; conversation: { id: string } })
        .filter((b) => b.event === 'conversation.start')
        .map((b) => b.conversation.id),
    );
  const until = Date.now() + 30_000;
  while ([...acknowledged].some((id) => !delivered().has(id)) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
  }
  expect([...acknowledged].filter((id) => !delivered().has(id))).toEqual([]);
  console.info(
    `database restart: ${JSON.stringify(Object.fromEntries(statuses))}, ${acknowledged.size} starts acknowledged`,
  );

  server.child.kill('SIGTERM');
  expect(await server.exited).toBe(0);
}, 180_000);
