/**
 * Statements that find one event or conversation by primary key and test its status (the record
 * of a delivery, a settle, a cancel, a requeue, a close) must read that row by primary key
 * whatever PostgreSQL's statistics say (queries/executor.ts, foundRowIs). Planned on statistics
 * taken while nothing was pending, with `status = 'pending'` written plainly, each of them read
 * all of events_due instead, filtering on the id: 0.6 ms a delivery with 5,000 events pending,
 * growing with the backlog. The plans checked are the generic ones, which named statements keep.
 */
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { POSTGRES_SQL } from '../../src/storage/postgres/postgres-executor.js';
import { ConversationQueries } from '../../src/storage/queries/conversations.js';
import type { SqlExecutor } from '../../src/storage/queries/executor.js';
import { genericPlan, openPlanDatabase, type PlanTx, scansOf, statementsOf } from '../helpers/pg-plans.js';

let c: pg.Client;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ c, close } = await openPlanDatabase());
  const events = (prefix: string, from: number, count: number, status: string) =>
    c.query(
      `INSERT INTO events (id, project_id, room_id, room_seq, conversation_id, type, payload, created_at,
         status, attempt_count, next_attempt_at, destination, lease_owner)
       SELECT '${prefix}' || g, 'prj_plan', 'room_' || (g % 500), ${from} + g, 'cnv_' || g, 'conversation.start', '{}', g,
         '${status}', 1, CASE WHEN '${status}' = 'pending' THEN g END, 'panel', 'own'
       FROM generate_series(1, ${count}) g`,
    );
  const conversations = (prefix: string, count: number, state: string) =>
    c.query(
      `INSERT INTO conversations (id, project_id, room_id, bot_id, user_id, state, start_at)
       SELECT '${prefix}' || g, 'prj_plan', '${prefix}room_' || g, 'bot', 'usr', '${state}', g
       FROM generate_series(1, ${count}) g`,
    );
  // Statistics taken while deliveries kept up and no conversation was open.
  await events('evt_old', 0, 20_000, 'delivered');
  await conversations('cnv_old', 20_000, 'closed');
  await c.query('ANALYZE');
  // Then a backlog, and conversations open.
  await events('evt_new', 100_000, 5_000, 'pending');
  await conversations('cnv_new', 2_000, 'active');
});
afterAll(() => close?.());

/**
 * How the generic plan of `sql` reads `table`: each scan as its index and whether the index is
 * searched by the row's id (`by id`) or read through (`not by id`).
 */
async function indexesOf(sql: string, params: unknown[], table: string): Promise<string[]> {
  return scansOf(await genericPlan(c, sql, params))
    .filter((n) => n['Relation Name'] === table)
    .map(
      (n) =>
        `${n['Index Name'] ?? n['Node Type']}, ${/\bid = /.test(n['Index Cond'] ?? '') ? 'by id' : 'not by id'}`,
    );
}

const settlement = {
  status: 'delivered',
  attemptCount: 1,
  nextAttemptAt: null,
  deliveredAt: 1,
  lastError: null,
} as const;

it.each([
  ['settle', (tx: PlanTx) => tx.outbox.settle('evt_new7', 'own', settlement)],
  ['cancel', (tx: PlanTx) => tx.outbox.cancel('evt_new8', 'gone')],
  [
    'requeue of one event',
    (tx: PlanTx) => tx.outbox.requeue('prj_plan', { kind: 'one', eventId: 'evt_new9' }, 1),
  ],
])('%s reads the event by primary key', async (_what, use) => {
  const [first] = await statementsOf(use);
  expect(first).toBeDefined();
  const [scan, ...more] = await indexesOf(first?.sql ?? '', first?.params ?? [], 'events');
  expect(more).toEqual([]);
  // The primary key, or (a requeue, which names the project too) events_project's (project_id, id).
  expect(scan).toMatch(/^events_(pkey|project), by id$/);
});

it('the record of a delivered attempt reads the event by primary key', async () => {
  const params = ['att_1', 'evt_new10', 'prj_plan', 1, 1, 1, 'http://x', 200, '', null, 'delivered'];
  const sql = POSTGRES_SQL.recordDelivered ?? '';
  expect(await indexesOf(sql, [...params, 'prj_plan', true, 1, 1, 'evt_new10', 'own'], 'events')).toEqual([
    'events_pkey, by id',
  ]);
});

it('a close reads the conversation by primary key', async () => {
  const close = new ConversationQueries({} as SqlExecutor).closeStatement(
    'cnv_new5',
    1,
    'closed_by_operator',
  );
  expect(await indexesOf(close.sql, [...close.params], 'conversations')).toEqual([
    'conversations_pkey, by id',
  ]);
});
