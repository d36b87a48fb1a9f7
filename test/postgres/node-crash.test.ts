/**
 * Group commit through a crash (docs/decisions.md, "PostgreSQL"): one node on PostgreSQL takes
 * start→close cycles from many clients at once, so that their transactions share commits, and is
 * SIGKILLed mid-burst. Then:
 * - nothing is acknowledged that was not committed: every answered start's conversation is in the
 *   database, and every answered close's conversation is closed there;
 * - nothing acknowledged is lost: after a restart on the same database, every answered request's
 *   event reaches the receiver, each room's in the order the requests were answered.
 * A request cut by the kill was never answered: its batch may or may not have committed, and
 * nothing is owed for it either way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { conversationEventOf, firstArrivalsByPair } from '../helpers/arrivals.js';
import { postJson as post, seedOverHttp } from '../helpers/http-client.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { ensureBuilt, type Served, spawnServer } from '../helpers/spawned-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const ADMIN = 'node-crash-admin-token-0123456789';
let dir: string;
let db: TestDatabase;
let receiver: Receiver;
const servers: Served[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'relevo-pg-crash-'));
  db = await createTestDatabase(dir);
  receiver = await startReceiver();
});
afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  await receiver.close();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** Transactions committed in the test's database so far (the statistics of ended sessions included). */
async function commits(c: pg.Client): Promise<number> {
  await c.query('SELECT pg_stat_clear_snapshot()');
  const r = await c.query<{ n: string }>(
    'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(r.rows[0]?.n);
}

it('a node SIGKILLed mid-batch: all it acknowledged was committed, and reaches the receiver in room order', async () => {
  const env = {
    DATABASE_URL: db.url,
    RELEVO_ADMIN_TOKEN: ADMIN,
    RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
    RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,50ms,100ms,200ms,400ms,800ms,1s,2s',
    // The killed node's leases run out after timeout + 5 s: short, so the restart delivers soon.
    RELEVO_WEBHOOK_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'info',
  };
  const first = await spawnServer(env);
  servers.push(first);
  const PAIRS = 100;
  const { projectId, key, pairs } = await seedOverHttp([first.port], ADMIN, {
    name: 'Crash',
    webhookUrl: receiver.url,
    pairs: PAIRS,
  });
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    // The receiver holds every delivery until the kill: the events stay in the outbox, and the
    // commits counted below are the requests' (and a few claims').
    let releaseHeld = () => {};
    const held = new Promise<void>((r) => {
      releaseHeld = r;
    });
    receiver.respond(() => ({ kind: 'wait', release: held, status: 200 }));
    const before = await commits(client);
    const base = `/v1/external-support/${projectId}/conversations`;
    /** Per pair, what was answered 200, in order: "start:<conversationId>", "close:<conversationId>". */
    const acked = new Map<string, string[]>();
    let answered = 0;
    let killed = false;
    const KILL_AFTER = PAIRS * 8;
    await Promise.all(
      pairs.map(async (pair) => {
        const list: string[] = [];
        acked.set(`${pair.botId}/${pair.userId}`, list);
        try {
          while (!killed) {
            const started = await post(first.port, `${base}/start`, key, pair);
            expect(started.status).toBe(200);
            const id = String(started.json.data?.conversationId);
            list.push(`start:${id}`);
            answered += 1;
            const closed = await post(first.port, `${base}/close`, key, pair);
            expect(closed.status).toBe(200);
            list.push(`close:${id}`);
            answered += 1;
            if (!killed && answered >= KILL_AFTER) {
              killed = true;
              first.child.kill('SIGKILL');
            }
          }
        } catch (e) {
          // A request cut by the kill was never answered; anything else is a failure.
          if (!killed) throw e;
        }
      }),
    );
    await first.exited;
    releaseHeld();
    expect(answered).toBeGreaterThanOrEqual(KILL_AFTER);

    // The killed node's sessions end (and report their statistics) once the server sees it gone.
    const gone = Date.now() + 10_000;
    for (;;) {
      const r = await client.query<{ n: string }>(
        'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      if (Number(r.rows[0]?.n) === 0 || Date.now() > gone) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // The answered requests shared commits: a batch was open whenever the kill came.
    const committed = (await commits(client)) - before;
    expect(committed).toBeLessThan(answered);

    // Nothing answered that was not committed.
    const startedIds = [...acked.values()].flat().filter((a) => a.startsWith('start:'));
    const closedIds = new Set(
      [...acked.values()]
        .flat()
        .filter((a) => a.startsWith('close:'))
        .map((a) => a.slice('close:'.length)),
    );
    const rows = await client.query<{ id: string; state: string }>(
      'SELECT id, state FROM conversations WHERE id = ANY($1::text[])',
      [startedIds.map((a) => a.slice('start:'.length))],
    );
    const state = new Map(rows.rows.map((r) => [r.id, r.state]));
    expect(startedIds.filter((a) => !state.has(a.slice('start:'.length)))).toEqual([]);
    expect([...closedIds].filter((id) => state.get(id) !== 'closed')).toEqual([]);
    const deliveredBeforeRestart = new Set(receiver.received.map((r) => String(r.headers['webhook-id'])));
    expect(deliveredBeforeRestart.size).toBeLessThan(answered);

    // Nothing answered is lost: the restarted node delivers the rest.
    receiver.respond(() => ({ kind: 'status', status: 200 }));
    const second = await spawnServer(env);
    servers.push(second);
    const want = [...acked.values()].flat();
    const arrivedKeys = () => new Set(receiver.received.map((r) => conversationEventOf(r).key));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const got = arrivedKeys();
      if (want.every((k) => got.has(k))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const got = arrivedKeys();
    expect(want.filter((k) => !got.has(k))).toEqual([]);

    // Per room, first arrivals (by webhook-id) in the order answered. A request cut by the kill
    // whose batch did commit adds its event after them, which is not compared.
    const wanted = new Set(want);
    const { byPair: arrived, distinct: delivered } = firstArrivalsByPair(receiver.received, (k) =>
      wanted.has(k),
    );
    for (const [pair, list] of acked) expect(arrived.get(pair) ?? []).toEqual(list);
    console.info(
      `node crash on PostgreSQL: ${answered} requests answered in ${committed} commits before the kill, ${delivered} events delivered, ${receiver.received.length - delivered} repeated`,
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  } finally {
    await client.end();
  }
}, 180_000);
