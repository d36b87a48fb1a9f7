/**
 * The plan of the dispatcher's claim on PostgreSQL (POSTGRES_SQL.claimDueEvents). Its last step
 * locks the heads it chose by id; it must fetch them by primary key whatever the statistics say.
 * Planned with statistics that found almost nothing pending (as ANALYZE finds the outbox while
 * deliveries keep up), it walked the whole events_due index instead, filtering on the ids:
 * harmless while the outbox stays small, and 0.1–1 s a claim once a backlog formed (benchmark
 * (c), docs/performance.md). The plan checked is the generic one, which
 * a named statement keeps using whatever the backlog grows to.
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

interface PlanNode {
  'Node Type': string;
  'Index Cond'?: string;
  'Relation Name'?: string;
  Alias?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function scansOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(scansOf)].filter((n) => n['Relation Name'] !== undefined);
}

it('locks the chosen heads by primary key, even planned when statistics find almost nothing pending', async () => {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    // An outbox as ANALYZE finds it while deliveries keep up: many delivered events, few pending.
    await c.query(
      `INSERT INTO events (id, project_id, room_id, room_seq, conversation_id, type, payload, created_at,
         status, attempt_count, next_attempt_at, delivered_at)
       SELECT 'evt_' || g, 'prj_plan', 'room_' || (g % 500), g, 'cnv_' || g, 'conversation.start', '{}', g,
         CASE WHEN g % 1000 = 0 THEN 'pending' ELSE 'delivered' END, 1,
         CASE WHEN g % 1000 = 0 THEN g ELSE NULL END, g
       FROM generate_series(1, 20000) g`,
    );
    await c.query('ANALYZE');
    // As Store.statement runs the claim, and with the plan a named statement settles on.
    await c.query('SET enable_bitmapscan = off');
    await c.query('SET enable_seqscan = off');
    await c.query('SET plan_cache_mode = force_generic_plan');
    await c.query(`PREPARE claim AS ${numberPlaceholders(POSTGRES_SQL.claimDueEvents)}`);
    const now = Date.now();
    const explained = await c.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
      `EXPLAIN (FORMAT JSON) EXECUTE claim(${now}, ${now}, '{}', 64, 16, ${now}, 16, ${now + 60_000}, 'owner')`,
    );
    const plan = explained.rows[0]?.['QUERY PLAN'][0]?.Plan as PlanNode;
    const locked = scansOf(plan).filter((n) => n.Alias === 'ev');
    expect(locked.map((n) => [n['Node Type'], n['Index Name']])).toEqual([['Index Scan', 'events_pkey']]);
    // The walk itself is the due index's, in its order.
    const walk = scansOf(plan).filter((n) => n.Alias === 'e');
    expect(walk.map((n) => n['Index Name'])).toEqual(['events_due']);
  } finally {
    await c.end();
  }
});

it('once the statistics are refreshed during a backlog, each candidate is checked against its own room only', async () => {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query('DELETE FROM events');
    // ANALYZE while deliveries keep up: nothing pending.
    await c.query(
      `INSERT INTO events (id, project_id, room_id, room_seq, conversation_id, type, payload, created_at,
         status, attempt_count, next_attempt_at, delivered_at)
       SELECT 'evt_' || g, 'prj_plan', 'room_' || (g % 500), g, 'cnv_' || g, 'conversation.start', '{}', g,
         'delivered', 1, NULL, g
       FROM generate_series(1, 20000) g`,
    );
    await c.query('ANALYZE');
    await c.query('SET enable_bitmapscan = off');
    await c.query('SET enable_seqscan = off');
    await c.query('SET plan_cache_mode = force_generic_plan');
    await c.query(`PREPARE stale AS ${numberPlaceholders(POSTGRES_SQL.claimDueEvents)}`);
    const now = Date.now();
    const planOf = async () => {
      const r = await c.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
        `EXPLAIN (FORMAT JSON) EXECUTE stale(${now}, ${now}, '{}', 64, 16, ${now}, 16, ${now + 60_000}, 'owner')`,
      );
      return r.rows[0]?.['QUERY PLAN'][0]?.Plan as PlanNode;
    };
    await planOf();
    // A backlog forms. Planned on those statistics, this PostgreSQL read every pending event for
    // each candidate (no index condition on the room): what the dispatcher's refresh is for.
    await c.query(
      `INSERT INTO events (id, project_id, room_id, room_seq, conversation_id, type, payload, created_at,
         status, attempt_count, next_attempt_at, delivered_at)
       SELECT 'evt_b' || g, 'prj_plan', 'room_' || (g % 500), 100000 + g, 'cnv_b' || g, 'conversation.start', '{}', g,
         'pending', 0, g, NULL
       FROM generate_series(1, 5000) g`,
    );
    await createQueries(new PgExecutor(c, { named: false }), PLAINTEXT).outbox.refreshStatistics();
    // The statement prepared before is planned again: ANALYZE invalidates its cached plan.
    const earlier = scansOf(await planOf()).filter((n) => n.Alias === 'p');
    expect(earlier.map((n) => [n['Index Name'], n['Index Cond']])).toEqual([
      ['events_room_pending', '((room_id = e.room_id) AND (room_seq < e.room_seq))'],
    ]);
  } finally {
    await c.end();
  }
});
