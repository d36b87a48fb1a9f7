/**
 * Events this process has just committed, held in memory so that the dispatcher can lease them by
 * primary key instead of searching the outbox for them.
 *
 * The search (`outbox.claimDue`) walks the due index, tests every candidate for being its room's
 * head and ranks them per project: 41 % of the server's busy time in the pipeline benchmark
 * (docs/performance.md). Events committed by this very process need none of that: they arrive
 * here in commit order, which within a room is room order, and the lease (`outbox.lease`) checks in
 * the database that each is still its room's earliest pending event. The database stays the
 * authority: an event whose lease is refused (an older event of its room is waiting for a retry,
 * the search leased it first) is forgotten here, with the rest of its room, and the search finds
 * them when they are due. A backlog larger than the queue stays in the outbox and is read back
 * in commit order as the queue empties (`refillFrom`, `refilled`).
 */
import type { OutboxEvent } from '../model/types.js';

/** Concurrency is limited per project and destination: the panel's webhook, the channel's. */
export const laneOf = (e: Pick<OutboxEvent, 'projectId' | 'destination'>) =>
  `${e.projectId}:${e.destination}`;
/** Order is kept per room and destination: a room's panel events and channel events are apart. */
export const roomKey = (e: Pick<OutboxEvent, 'roomId' | 'destination'>) => `${e.roomId}:${e.destination}`;

export class ReadyQueue {
  /** Per lane, per room, the room's waiting events in room order; rooms oldest first. */
  private readonly lanes = new Map<string, Map<string, OutboxEvent[]>>();
  private count = 0;
  /** Characters of payload held: a few large messages must not hold as much as many small events. */
  private chars = 0;
  /** The greatest id added: new ids grow in this process's commit order. */
  private lastId = '';
  /**
   * Set when an event did not fit: from then on, events after `lastId` are in the outbox only,
   * and new commits are not added either (they would jump the queue); `refilled` reads them back
   * in id order, and clears this once it has read them all.
   */
  private behind = false;

  /**
   * @param capacity events held at most, and `maxChars` characters of their payloads: beyond
   *   either, a backlog is left in the outbox and read back as the queue empties.
   */
  constructor(
    private readonly capacity: number,
    private readonly maxChars: number,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Whether events after the queue's last are waiting in the outbox (see `behind`). */
  get refillFrom(): string | undefined {
    return this.behind ? this.lastId : undefined;
  }

  /** Room for this many more events before the queue is full (by count). */
  get room(): number {
    return this.capacity - this.count;
  }

  /** Whether the queue is at most half full: the time to read a backlog back. */
  get halfEmpty(): boolean {
    return this.count <= this.capacity / 2 && this.chars <= this.maxChars / 2;
  }

  /** Adds just-committed events, unless the queue is full or behind the outbox. */
  add(events: readonly OutboxEvent[]): void {
    for (const e of events) {
      if (this.behind) return;
      if (this.count >= this.capacity || this.chars + e.payload.length > this.maxChars) {
        this.behind = true;
        return;
      }
      this.push(e);
    }
  }

  /** Adds events read back from the outbox after `refillFrom`; `all` when none is left there. */
  refilled(events: readonly OutboxEvent[], all: boolean): void {
    for (const e of events) {
      // Past the payload budget, the rest is read back next time (from this event on).
      if (this.chars + e.payload.length > this.maxChars && this.count > 0) return;
      this.push(e);
    }
    if (all) this.behind = false;
  }

  private push(e: OutboxEvent): void {
    const lane = laneOf(e);
    let rooms = this.lanes.get(lane);
    if (rooms === undefined) {
      rooms = new Map();
      this.lanes.set(lane, rooms);
    }
    const key = roomKey(e);
    const queue = rooms.get(key);
    if (queue === undefined) rooms.set(key, [e]);
    else queue.push(e);
    this.count += 1;
    this.chars += e.payload.length;
    // A requeued event (a manual retry or replay) keeps its old id: it must not move the point
    // a refill reads from back over events already here.
    if (e.id > this.lastId) this.lastId = e.id;
  }

  /**
   * Up to `room(lane, picked so far)` room heads per lane, skipping rooms `busy` holds (their
   * event in flight): the walk of a lane stops at its budget, so it costs the events taken plus
   * the busy rooms passed, not the length of a backlog.
   */
  pick(
    room: (lane: string, picked: number) => number,
    busy: ReadonlySet<string>,
    max: number,
  ): OutboxEvent[] {
    const picked: OutboxEvent[] = [];
    for (const [lane, rooms] of this.lanes) {
      let budget = Math.min(room(lane, picked.length), max - picked.length);
      if (budget <= 0) continue;
      for (const [key, queue] of rooms) {
        const head = queue[0];
        if (head === undefined || busy.has(key)) continue;
        picked.push(head);
        if (--budget === 0) break;
      }
      if (picked.length >= max) break;
    }
    return picked;
  }

  /** Moves `lane` behind the others: `pick` walks lanes in order, so it is served after them. */
  toBack(lane: string): void {
    const rooms = this.lanes.get(lane);
    if (rooms === undefined) return;
    this.lanes.delete(lane);
    this.lanes.set(lane, rooms);
  }

  /** Removes `e` if it is the head of its room (leased, or launched by the search). */
  take(e: OutboxEvent): void {
    const rooms = this.lanes.get(laneOf(e));
    const key = roomKey(e);
    const queue = rooms?.get(key);
    if (rooms === undefined || queue?.[0]?.id !== e.id) return;
    queue.shift();
    this.count -= 1;
    this.chars -= e.payload.length;
    if (queue.length === 0) this.forgetRoom(rooms, laneOf(e), key);
  }

  /** Forgets every waiting event of `e`'s room: the database decides their order from now on. */
  dropRoom(e: OutboxEvent): void {
    const rooms = this.lanes.get(laneOf(e));
    const key = roomKey(e);
    const queue = rooms?.get(key);
    if (rooms === undefined || queue === undefined) return;
    this.count -= queue.length;
    for (const q of queue) this.chars -= q.payload.length;
    this.forgetRoom(rooms, laneOf(e), key);
  }

  private forgetRoom(rooms: Map<string, OutboxEvent[]>, lane: string, key: string): void {
    rooms.delete(key);
    if (rooms.size === 0) this.lanes.delete(lane);
  }
}
