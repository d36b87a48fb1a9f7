/**
 * Every start and close looks up its pair's active conversation (RoomQueries.findPair), and
 * messages look it up by room (ConversationQueries.getActive). On PostgreSQL that lookup must
 * search conversations_one_active by the room whatever the statistics say: on fresh tables never
 * analyzed, and on statistics taken while no conversation was open (what autovacuum finds during
 * a quiet spell). With the partial index it replaced (migration 0017), planned on the latter,
 * findPair read the whole index for each pair, with the room only as a join filter. The plans
 * checked are the generic ones, which named statements keep.
 */
import type pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  genericPlan,
  openPlanDatabase,
  type PlanNode,
  type PlanTx,
  scansOf,
  statementsOf,
} from '../helpers/pg-plans.js';

let c: pg.Client;
let close: () => Promise<void>;

// A database each: the first test plans on tables never analyzed.
beforeEach(async () => {
  ({ c, close } = await openPlanDatabase());
});
afterEach(() => close?.());

/** Adds `count` conversations in `state`, one room each, with their rooms. */
async function addConversations(prefix: string, count: number, state: 'active' | 'closed'): Promise<void> {
  await c.query(
    `INSERT INTO rooms (id, project_id, bot_id, user_id, last_seq, created_at)
     SELECT '${prefix}room_' || g, 'prj_plan', 'bot_plan', '${prefix}usr_' || g, 0, g
     FROM generate_series(1, ${count}) g`,
  );
  await c.query(
    `INSERT INTO conversations (id, project_id, room_id, bot_id, user_id, state, start_at)
     SELECT '${prefix}cnv_' || g, 'prj_plan', '${prefix}room_' || g, 'bot_plan', '${prefix}usr_' || g, '${state}', g
     FROM generate_series(1, ${count}) g`,
  );
}

/** How a plan reads conversations: each scan's index and its index condition. */
const conversationScans = (plan: PlanNode) =>
  scansOf(plan)
    .filter((n) => n['Relation Name'] === 'conversations')
    .map((n) => [n['Index Name'] ?? n['Node Type'], n['Index Cond'] ?? '']);

const ROOM_KEY = "CASE WHEN (state = 'active'::text) THEN room_id ELSE NULL::text END";

async function planOf(use: (tx: PlanTx) => Promise<unknown>): Promise<PlanNode> {
  const [sent] = await statementsOf(use);
  expect(sent).toBeDefined();
  return genericPlan(c, sent?.sql ?? '', sent?.params ?? []);
}

const findPair = (tx: PlanTx) => tx.rooms.findPair('prj_plan', 'bot_plan', 'newusr_7');
const getActive = (tx: PlanTx) => tx.conversations.getActive('newroom_7');

it('findPair and getActive search by room on tables never analyzed', async () => {
  // A database as it starts: the plans are made before any ANALYZE, and kept until one runs.
  const pair = await planOf(findPair);
  const active = await planOf(getActive);
  await addConversations('new', 2_000, 'active');
  expect(conversationScans(pair)).toEqual([['conversations_one_active', `(${ROOM_KEY} = r.id)`]]);
  expect(conversationScans(active)).toEqual([['conversations_one_active', `(${ROOM_KEY} = $1)`]]);
});

it('findPair and getActive search by room on statistics taken while nothing was open', async () => {
  await addConversations('old', 20_000, 'closed');
  await c.query('ANALYZE');
  await addConversations('new', 2_000, 'active');
  expect(conversationScans(await planOf(findPair))).toEqual([
    ['conversations_one_active', `(${ROOM_KEY} = r.id)`],
  ]);
  expect(conversationScans(await planOf(getActive))).toEqual([
    ['conversations_one_active', `(${ROOM_KEY} = $1)`],
  ]);
});

it('keeps one active conversation per room, and any number of closed ones', async () => {
  await addConversations('new', 1, 'active');
  const again = (id: string, state: string) =>
    c.query(
      `INSERT INTO conversations (id, project_id, room_id, bot_id, user_id, state, start_at)
       VALUES ('${id}', 'prj_plan', 'newroom_1', 'bot_plan', 'newusr_1', '${state}', 2)`,
    );
  await again('cnv_closed_1', 'closed');
  await again('cnv_closed_2', 'closed');
  await expect(again('cnv_second', 'active')).rejects.toMatchObject({
    code: '23505',
    constraint: 'conversations_one_active',
  });
});
