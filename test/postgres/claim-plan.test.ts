/**
 * The plan of the dispatcher's claim on PostgreSQL (POSTGRES_SQL.claimDueEvents). Its last step
 * locks the heads it chose by id; it must fetch them by primary key whatever the statistics say.
 * Planned with statistics that found almost nothing pending (as ANALYZE finds the outbox while
 * deliveries keep up), it walked the whole events_due index instead, filtering on the ids:
 * harmless while the outbox stays small, and 0.1–1 s a claim once a backlog formed (benchmark
 * (c), docs/performance.md). Its test of room order must look up each candidate's room, whatever
 * the statistics say, for the same reason. The plan checked is the generic one, which a named
 * statement keeps using whatever the backlog grows to.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  numberPlaceholders,
  PgExecutor,
  POSTGRES_SQL,
} from '../../src/storage/postgres/postgres-executor.js';
import { createQueries } from '../../src/storage/queries/index.js';
import { PLAINTEXT } from '../../src/storage/secret-box.js';
import { type PlanNode, scansOf } from '../helpers/pg-plans.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let dir: string;
let db: TestDatabase;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relevo-pg-claim-plan-'));
  db = await createTestDatabase(dir);
});
afterAll(async () => {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Adds `count` events of one project across 500 rooms, at room positions after `from`, pending
 * or delivered as `pending` says.
 */
async function addEvents(
  c: pg.Client,
  o: { prefix: string; from: number; count: number; pending: 'all' | 'none' | 'every 1000th' },
): Promise<void> {
  const pending = { all: 'true', none: 'false', 'every 1000th': 'g % 1000 = 0' }[o.pending];
  await c.query(
    `INSERT INTO events (id, project_id, room_id, room_seq, conversation_id, type, payload, created_at,
       status, attempt_count, next_attempt_at, delivered_at)
     SELECT '${o.prefix}' || g, 'prj_plan', 'room_' || (g % 500), ${o.from} + g, 'cnv_${o.prefix}' || g,
       'conversation.start', '{}', g,
       CASE WHEN ${pending} THEN 'pending' ELSE 'delivered' END, 1,
       CASE WHEN ${pending} THEN g ELSE NULL END, g
     FROM generate_series(1, ${o.count}) g`,
  );
}

/**
 * Prepares the claim as `claim` with the settings Store.statement runs it with, and a generic
 * plan (the one a named statement settles on); returns what EXPLAIN says of its next execution.
 */
async function preparedClaim(c: pg.Client): Promise<() => Promise<PlanNode>> {
  await c.query('SET enable_bitmapscan = off');
  await c.query('SET enable_seqscan = off');
  await c.query('SET plan_cache_mode = force_generic_plan');
  await c.query(`PREPARE claim AS ${numberPlaceholders(POSTGRES_SQL.claimDueEvents)}`);
  const now = Date.now();
  return async () => {
    const r = await c.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
      `EXPLAIN (FORMAT JSON) EXECUTE claim(${now}, ${now}, '{}', 64, 16, ${now}, 16, ${now + 60_000}, 'owner')`,
    );
    return r.rows[0]?.['QUERY PLAN'][0]?.Plan as PlanNode;
  };
}

async function onClient(use: (c: pg.Client) => Promise<void>): Promise<void> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query('DELETE FROM events');
    await use(c);
  } finally {
    await c.end();
  }
}

it('locks the chosen heads by primary key, even planned when statistics find almost nothing pending', () =>
  onClient(async (c) => {
    // An outbox as ANALYZE finds it while deliveries keep up: many delivered events, few pending.
    await addEvents(c, { prefix: 'evt_', from: 0, count: 20_000, pending: 'every 1000th' });
    await c.query('ANALYZE');
    const plan = await (await preparedClaim(c))();
    const locked = scansOf(plan).filter((n) => n.Alias === 'ev');
    expect(locked.map((n) => [n['Node Type'], n['Index Name']])).toEqual([['Index Scan', 'events_pkey']]);
    // The walk itself is the due index's, in its order.
    const walk = scansOf(plan).filter((n) => n.Alias === 'e');
    expect(walk.map((n) => n['Index Name'])).toEqual(['events_due']);
  }));

it('checks each candidate against its own room only, even planned when statistics found nothing pending', () =>
  onClient(async (c) => {
    // ANALYZE while deliveries keep up: nothing pending.
    await addEvents(c, { prefix: 'evt_', from: 0, count: 20_000, pending: 'none' });
    await c.query('ANALYZE');
    const planOf = await preparedClaim(c);
    await planOf();
    // A backlog forms. Planned on those statistics with a partial index of pending events, this
    // PostgreSQL read every pending event for each candidate (no index condition on the room):
    // 328 ms for one claim with 5,000 pending. events_room_order covers every row, so it is
    // never believed empty, and the lookup by room is the plan.
    await addEvents(c, { prefix: 'evt_b', from: 100_000, count: 5_000, pending: 'all' });
    const roomTest = scansOf(await planOf()).filter((n) => n.Alias === 'p');
    expect(roomTest.map((n) => [n['Index Name'], n['Index Cond']])).toEqual([
      [
        'events_room_order',
        "((CASE WHEN (status = 'pending'::text) THEN room_id ELSE NULL::text END = e.room_id) AND (room_seq < e.room_seq))",
      ],
    ]);
  }));

it('refreshes the statistics of the outbox when asked (after a slow claim)', () =>
  onClient(async (c) => {
    const analyzed = async () =>
      (
        await c.query<{ n: string }>(
          "SELECT analyze_count AS n FROM pg_stat_user_tables WHERE relname = 'events'",
        )
      ).rows[0]?.n;
    const before = Number(await analyzed());
    await createQueries(new PgExecutor(c, { named: false }), PLAINTEXT).outbox.refreshStatistics();
    // The statistics collector reports a moment later.
    for (let i = 0; i < 50 && Number(await analyzed()) === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(Number(await analyzed())).toBe(before + 1);
  }));
