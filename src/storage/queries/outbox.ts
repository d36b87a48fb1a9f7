/**
 * The outbox: events to deliver, their leases and their settlement. Writing events is a
 * transaction's. The row and its mapper are in event-row.ts, shared with the claim.
 */
import type {
  DeliveryStatus,
  EventDestination,
  EventOrigin,
  EventType,
  OutboxEvent,
} from '../../model/types.js';
import type { TxRecord } from '../tx-record.js';
import { EVENT_COLUMNS, type EventRow, toEvent } from './event-row.js';
import { foundRowIs, type SqlExecutor, type WriteStatement } from './executor.js';
import type { EventClaim } from './outbox-claim.js';
import { claimDueEvents, roomHead, SENDABLE, SENDABLE_JOIN } from './outbox-claim.js';
import { type Page, type PageRequest, selectPage } from './paging.js';
import type { RoomQueries } from './rooms.js';

export type RequeueSelection =
  | { readonly kind: 'one'; readonly eventId: string }
  | {
      readonly kind: 'since';
      readonly since: number;
      readonly conversationId?: string | undefined;
      readonly destination?: LogDestination | undefined;
    };

/** Filters of the delivery log: events for the panel, or for the bots' outside engines. */
/** Whose deliveries the log shows: the panel's webhook (default) or the bots' outside engines. */
export type LogDestination = EventDestination;

export interface EventFilter {
  readonly destination?: LogDestination | undefined;
  readonly status?: DeliveryStatus | undefined;
  readonly type?: EventType | undefined;
  readonly conversationId?: string | undefined;
}

export interface EventSettlement {
  readonly status: DeliveryStatus;
  readonly attemptCount: number;
  readonly nextAttemptAt: number | null;
  readonly deliveredAt: number | null;
  readonly lastError: string | null;
}

/** What an event's append changes in its room besides its position: the bot step of a hand-back. */
export interface RoomChange {
  readonly botStep: string | null;
}

function eventValues(e: Omit<OutboxEvent, 'roomSeq'>): unknown[] {
  return [
    e.id,
    e.projectId,
    e.roomId,
    e.conversationId,
    e.destination,
    e.type,
    e.payload,
    e.createdAt,
    e.status,
    e.attemptCount,
    e.nextAttemptAt,
    e.deliveredAt,
    e.requestId ?? null,
    e.traceparent ?? null,
  ];
}

export class OutboxQueries {
  constructor(protected readonly x: SqlExecutor) {}
  async get(id: string): Promise<OutboxEvent | undefined> {
    const r = await this.x.one<EventRow>('SELECT * FROM events WHERE id = ?', id);
    return r && toEvent(r);
  }
  /** Pending and not-yet-sent events of a project become `cancelled`; returns how many. */
  async cancelPending(projectId: string): Promise<number> {
    return await this.x.run(
      "UPDATE events SET status = 'cancelled', next_attempt_at = NULL WHERE project_id = ? AND status = 'pending' AND destination = 'panel'",
      projectId,
    );
  }
  /**
   * A bot's events for its outside engine that are still pending become `cancelled` with
   * `reason` (the bot went back to the rule bot); returns how many.
   */
  async cancelPendingForBot(botId: string, reason: string): Promise<number> {
    return await this.x.run(
      `UPDATE events SET status = 'cancelled', next_attempt_at = NULL, last_error = ?
       WHERE destination = 'bot' AND ${this.x.dialectSql.pendingInRoom('events', 'IN (SELECT id FROM rooms WHERE bot_id = ?)')}`,
      reason,
      botId,
    );
  }
  /** A room's pending events for `destination`, in their order (a leased one included). */
  async pendingOfRoom(roomId: string, destination: EventDestination): Promise<OutboxEvent[]> {
    const rows = await this.x.all<EventRow>(
      `SELECT * FROM events
       WHERE ${this.x.dialectSql.pendingInRoom('events', '= ?')} AND destination = ? ORDER BY room_seq`,
      roomId,
      destination,
    );
    return rows.map(toEvent);
  }
  /**
   * Cancels one pending event with `reason`, whoever holds its lease (an attempt in flight then
   * finds it settled, and its outcome is not applied); false when it was no longer pending.
   */
  async cancel(eventId: string, reason: string): Promise<boolean> {
    const changed = await this.x.run(
      `UPDATE events SET status = 'cancelled', next_attempt_at = NULL, last_error = ?, lease_until = NULL,
         lease_owner = NULL WHERE id = ? AND ${foundRowIs('status', 'pending')}`,
      reason,
      eventId,
    );
    return changed > 0;
  }
  /** See outbox-claim.ts: the hot claim lives in its own file. */
  claimDue(c: EventClaim): Promise<OutboxEvent[]> {
    return claimDueEvents(this.x, c);
  }

  /** See DialectSql.refreshOutboxStatistics: nothing where the database needs nothing. */
  async refreshStatistics(): Promise<void> {
    const sql = this.x.dialectSql.refreshOutboxStatistics;
    if (sql !== undefined) await this.x.run(sql);
  }

  /** The earliest time a pending event becomes due, or undefined when none is pending. */
  async nextDueAt(): Promise<number | undefined> {
    const r = await this.x.one<{ due: number | null }>(
      `SELECT MIN(CASE WHEN e.lease_until IS NOT NULL AND e.lease_until > e.next_attempt_at
                       THEN e.lease_until ELSE e.next_attempt_at END) AS due
       FROM events e
       ${SENDABLE_JOIN}
       WHERE e.status = 'pending' AND ${SENDABLE} AND ${roomHead(this.x.dialectSql.pendingInRoom)}`,
    );
    return r?.due === null || r?.due === undefined ? undefined : Number(r.due);
  }
  /**
   * Leases one event known by id (just committed by this process) if it is still pending, not
   * leased, and the earliest pending event of its room; false otherwise.
   */
  async lease(eventId: string, owner: string, now: number, leaseUntil: number): Promise<boolean> {
    const changed = await this.x.run(
      // The room-order rule is the search's own (roomHead), on the row being leased.
      `UPDATE events AS e SET lease_until = ?, lease_owner = ?
       WHERE e.id = ? AND ${foundRowIs('e.status', 'pending')} AND (e.lease_until IS NULL OR e.lease_until < ?)
         AND ${roomHead(this.x.dialectSql.pendingInRoom)}`,
      leaseUntil,
      owner,
      eventId,
      now,
    );
    return changed > 0;
  }
  /**
   * Due, unleased pending events with ids after `afterId`, in id order (this process's commit
   * order): what a ready queue that overflowed left in the outbox.
   */
  async pendingAfter(afterId: string, now: number, limit: number): Promise<OutboxEvent[]> {
    const rows = await this.x.all<EventRow>(
      `SELECT * FROM events
       WHERE id > ? AND status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
       ORDER BY id LIMIT ?`,
      afterId,
      now,
      now,
      limit,
    );
    return rows.map(toEvent);
  }
  /** Gives a leased event back without an attempt (shutdown, integration disabled meanwhile). */
  async releaseLease(eventId: string, owner: string): Promise<void> {
    await this.x.run(
      'UPDATE events SET lease_until = NULL, lease_owner = NULL WHERE id = ? AND lease_owner = ?',
      eventId,
      owner,
    );
  }
  /** Voids every lease (single-process databases, at start-up: their holder is gone). */
  async releaseAllLeases(): Promise<number> {
    return await this.x.run(
      'UPDATE events SET lease_until = NULL, lease_owner = NULL WHERE lease_owner IS NOT NULL',
    );
  }
  /** Applies the outcome of an attempt if the event is still pending and leased by `owner`. */
  async settle(eventId: string, owner: string, x: EventSettlement): Promise<boolean> {
    const r = await this.x.run(
      `UPDATE events SET status = ?, attempt_count = ?, next_attempt_at = ?, delivered_at = ?, last_error = ?,
         lease_until = NULL, lease_owner = NULL
       WHERE id = ? AND ${foundRowIs('status', 'pending')} AND lease_owner = ?`,
      x.status,
      x.attemptCount,
      x.nextAttemptAt,
      x.deliveredAt,
      x.lastError,
      eventId,
      owner,
    );
    return r > 0;
  }
  /**
   * Ids of the project's events for the panel (any status) after `afterId`, in id order: what a
   * live event stream scans (ids only, cheap to re-read; events-project index).
   */
  async panelIdsAfter(projectId: string, afterId: string, limit: number): Promise<string[]> {
    const rows = await this.x.all<{ id: string }>(
      "SELECT id FROM events WHERE project_id = ? AND id > ? AND destination = 'panel' ORDER BY id LIMIT ?",
      projectId,
      afterId,
      limit,
    );
    return rows.map((r) => r.id);
  }
  /** The project's events of `ids`, in id order (the live event stream's second read). */
  async manyOfProject(projectId: string, ids: readonly string[]): Promise<OutboxEvent[]> {
    if (ids.length === 0) return [];
    const rows = await this.x.all<EventRow>(
      `SELECT * FROM events WHERE project_id = ? AND id IN (${ids.map(() => '?').join(', ')}) ORDER BY id`,
      projectId,
      ...ids,
    );
    return rows.map(toEvent);
  }
  async list(projectId: string, filter: EventFilter, page: PageRequest): Promise<Page<OutboxEvent>> {
    // Newest first: the cursor is the last id seen, and the next page holds older ids.
    const where = ['project_id = ? AND destination = ?'];
    const params: unknown[] = [projectId, filter.destination ?? 'panel'];
    if (page.after !== undefined) {
      where.push('id < ?');
      params.push(page.after);
    }
    if (filter.status !== undefined) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.type !== undefined) {
      where.push('type = ?');
      params.push(filter.type);
    }
    if (filter.conversationId !== undefined) {
      where.push('conversation_id = ?');
      params.push(filter.conversationId);
    }
    return selectPage(
      this.x,
      page,
      toEvent,
      `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
      ...params,
    );
  }
}

/** Writes only a transaction may make: new or requeued events go on its record, announced after the commit. */
export class OutboxTxQueries extends OutboxQueries {
  constructor(
    x: SqlExecutor,
    private readonly rooms: RoomQueries,
    private readonly written: TxRecord,
  ) {
    super(x);
  }
  async insert(e: OutboxEvent): Promise<void> {
    await this.x.run(
      `INSERT INTO events (${EVENT_COLUMNS}, room_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ...eventValues(e),
      e.roomSeq,
    );
    if (e.status === 'pending') this.written.events.push(e);
    if (e.destination === 'panel') this.written.panelProjects.add(e.projectId);
    this.written.recorded.push(e.type);
  }
  /** The request behind this transaction, if one is (its events keep its id and traceparent). */
  get origin(): EventOrigin | undefined {
    return this.written.origin;
  }
  /**
   * Appends an event at its room's next position (rooms.nextSeq and insert in one statement where
   * the database can), setting the room's bot step with it when `room` says so.
   */
  async insertAtNextSeq(e: Omit<OutboxEvent, 'roomSeq'>, room?: RoomChange): Promise<OutboxEvent> {
    const event = await this.append(undefined, e, room);
    // INSERT … RETURNING answers a row or fails (a missing room leaves room_seq NULL: refused).
    if (event === undefined) throw new Error('the event insert returned no row');
    return event;
  }
  /**
   * Runs `gate`, then appends the event as insertAtNextSeq does only if the gate changed a row;
   * undefined, and nothing written, if it changed none. On PostgreSQL, all of it is one statement:
   * a start's conversation and its event, or a close's update, its event and the room's bot step,
   * cost one round trip instead of two or three (bench/round-trips.ts).
   */
  async insertAtNextSeqAfter(
    gate: WriteStatement,
    e: Omit<OutboxEvent, 'roomSeq'>,
    room?: RoomChange,
  ): Promise<OutboxEvent | undefined> {
    return await this.append(gate, e, room);
  }
  private async append(
    gate: WriteStatement | undefined,
    e: Omit<OutboxEvent, 'roomSeq'>,
    room: RoomChange | undefined,
  ): Promise<OutboxEvent | undefined> {
    const oneStatement = this.x.dialectSql.insertEventAtNextSeq;
    if (oneStatement === undefined) {
      if (gate !== undefined && (await this.x.run(gate.sql, ...gate.params)) === 0) return undefined;
      const event = { ...e, roomSeq: await this.rooms.nextSeq(e.roomId) };
      if (room !== undefined) await this.rooms.setBotStep(e.roomId, room.botStep);
      await this.insert(event);
      return event;
    }
    const r = await this.x.one<{ room_seq: number | string }>(
      oneStatement({ gate: gate?.sql, setsBotStep: room !== undefined }),
      ...(gate?.params ?? []),
      ...(room === undefined ? [] : [room.botStep]),
      e.roomId,
      ...eventValues(e),
    );
    if (r === undefined) return undefined;
    const event = { ...e, roomSeq: Number(r.room_seq) };
    if (event.status === 'pending') this.written.events.push(event);
    if (event.destination === 'panel') this.written.panelProjects.add(event.projectId);
    this.written.recorded.push(event.type);
    return event;
  }
  /** Makes events due now for a new delivery cycle (attempt count reset); returns how many. */
  async requeue(projectId: string, select: RequeueSelection, now: number): Promise<number> {
    const fresh = `status = 'pending', attempt_count = 0, next_attempt_at = ?, delivered_at = NULL, last_error = NULL,
      lease_until = NULL, lease_owner = NULL`;
    let rows: EventRow[];
    if (select.kind === 'one') {
      // A pending event waiting on its backoff is simply made due now; a settled one starts a
      // new delivery cycle.
      rows = await this.x.all<EventRow>(
        `UPDATE events SET next_attempt_at = ?
         WHERE project_id = ? AND id = ? AND ${foundRowIs('status', 'pending')} AND lease_owner IS NULL
         RETURNING *`,
        now,
        projectId,
        select.eventId,
      );
      if (rows.length === 0) {
        rows = await this.x.all<EventRow>(
          `UPDATE events SET ${fresh}
           WHERE project_id = ? AND id = ? AND status <> 'pending' RETURNING *`,
          now,
          projectId,
          select.eventId,
        );
      }
    } else {
      const params: unknown[] = [now, projectId, select.since, select.destination ?? 'panel'];
      let extra = '';
      if (select.conversationId !== undefined) {
        extra = ' AND conversation_id = ?';
        params.push(select.conversationId);
      }
      rows = await this.x.all<EventRow>(
        `UPDATE events SET ${fresh}
         WHERE project_id = ? AND created_at >= ? AND destination = ? AND status <> 'pending'${extra} RETURNING *`,
        ...params,
      );
    }
    // Announced after the commit like new events, so the dispatcher wakes at once.
    for (const r of rows) this.written.events.push(toEvent(r));
    return rows.length;
  }
}
