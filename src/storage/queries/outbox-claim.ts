/**
 * The hot outbox claim: which pending events may be sent now, and the statement that leases them
 * (the one statement that differs between databases, so it comes from the executor's dialect).
 */
import type { OutboxEvent } from '../../model/types.js';
import { type EventRow, toEvent } from './event-row.js';
import type { DialectSql, SqlExecutor } from './executor.js';

export interface EventClaim {
  readonly now: number;
  readonly limit: number;
  readonly perProjectLimit: number;
  readonly excludeProjects: readonly string[];
  readonly owner: string;
  readonly leaseUntil: number;
}

/**
 * Which pending events can be sent now: panel events while the project's integration exists and
 * is enabled; channel events while the room's bot has a channel webhook (or WhatsApp settings) whose
 * sending is not disabled (Meta's 190); events for a bot's
 * outside engine always (the attempt reads the engine, and cancels them if the bot went back to
 * the rule bot meanwhile).
 */
export const SENDABLE_JOIN = `LEFT JOIN integrations i ON e.destination = 'panel' AND i.project_id = e.project_id
         LEFT JOIN rooms r ON e.destination = 'channel' AND r.id = e.room_id
         LEFT JOIN bot_channels bc ON bc.bot_id = r.bot_id`;
export const SENDABLE = `((e.destination = 'panel' AND i.enabled = 1)
         OR (e.destination = 'channel' AND (bc.webhook_url IS NOT NULL OR bc.wa_phone_number_id IS NOT NULL)
           AND bc.sending_disabled_at IS NULL)
         OR e.destination = 'bot')`;
/**
 * Only the earliest pending event of a room (per destination) may go: per-room order.
 * `pendingInRoom` is the dialect's test of a pending event of a room (DialectSql.pendingInRoom).
 */
export function roomHead(pendingInRoom: DialectSql['pendingInRoom']): string {
  return `NOT EXISTS (SELECT 1 FROM events p WHERE ${pendingInRoom('p', '= e.room_id')}
           AND p.destination = e.destination AND p.room_seq < e.room_seq)`;
}

/**
 * The candidates of a claim: the head of each (room, destination), due, not leased, of a lane
 * not at its limit — only the first `scan` of them in due order (a bounded walk of the
 * `events_due` index, so a claim costs the same with 20 or 20,000 events waiting; the cost of
 * ranking the whole backlog grew with it and held the event loop). ROW_NUMBER then caps each
 * project's share of one claim, so one integration's backlog cannot crowd out the others; a
 * capped lane is at its limit on the next claim and excluded, which lets the others through.
 * `excluded` is the dialect's list test, `pendingInRoom` its test of a room's pending events.
 * Parameters: now, now, excluded lanes, scan.
 */
export function dueHeadsCte(excluded: string, pendingInRoom: DialectSql['pendingInRoom']): string {
  return `candidates AS (
         SELECT e.id, e.project_id, e.destination, e.next_attempt_at
         FROM events e
         ${SENDABLE_JOIN}
         WHERE e.status = 'pending' AND e.next_attempt_at <= ?
           AND (e.lease_until IS NULL OR e.lease_until < ?)
           AND NOT (${excluded})
           AND ${SENDABLE} AND ${roomHead(pendingInRoom)}
         -- next_attempt_at alone: the order of the events_due index, so the walk stops at LIMIT
         ORDER BY e.next_attempt_at
         LIMIT ?
       ),
       heads AS (
         SELECT id, next_attempt_at,
           ROW_NUMBER() OVER (PARTITION BY project_id, destination ORDER BY next_attempt_at, id) AS rn
         FROM candidates
       )`;
}

/**
 * Leases up to `limit` due events, each the earliest pending event of its room (per-room
 * order), of projects whose integration exists and is enabled, skipping `excludeProjects`
 * (at their concurrency limit) and at most `perProjectLimit` per project.
 */
export async function claimDueEvents(x: SqlExecutor, c: EventClaim): Promise<OutboxEvent[]> {
  const rows = await x.all<EventRow>(
    x.dialectSql.claimDueEvents,
    c.now,
    c.now,
    x.dialectSql.textList(c.excludeProjects.map(String)),
    // Walk a few claims' worth of heads: enough for every lane's share, bounded whatever waits.
    Math.max(64, c.limit * 4),
    c.perProjectLimit,
    c.now,
    c.limit,
    c.leaseUntil,
    c.owner,
  );
  return rows
    .map(toEvent)
    .sort((a, b) => (a.nextAttemptAt ?? 0) - (b.nextAttemptAt ?? 0) || a.id.localeCompare(b.id));
}
