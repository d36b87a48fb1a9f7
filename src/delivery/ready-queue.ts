/**
 * Events this process has just committed, held in memory so that the dispatcher can lease them by
 * primary key instead of searching the outbox for them.
 *
 * The search (`claimDueEvents`) walks the due index, tests every candidate for being its room's
 * head and ranks them per project: 41 % of the server's busy time in the pipeline benchmark
 * (docs/performance.md). Events committed by this very process need none of that: they arrive
 * here in commit order, which within a room is room order, and the lease (`leaseEvent`) checks in
 * the database that each is still its room's earliest pending event. The database stays the
 * authority: an event whose lease is refused (an older event of its room is waiting for a retry,
 * the search leased it first) is forgotten here, with the rest of its room, and the search finds
 * them when they are due.
 */
import type { OutboxEvent } from '../domain/types.js';

/** Order is kept per room and destination: a room's panel events and channel events are apart. */
export const roomKey = (e: Pick<OutboxEvent, 'roomId' | 'destination'>) => `${e.roomId}:${e.destination}`;

export class ReadyQueue {
  /** Per room, its waiting events in room order; rooms in the order they got their first one. */
  private readonly rooms = new Map<string, OutboxEvent[]>();
  private count = 0;

  /** @param capacity events held at most; beyond it they are left to the search (a backlog). */
  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.count;
  }

  /** Adds committed events; false when some did not fit (the search must look for them). */
  add(events: readonly OutboxEvent[]): boolean {
    let fitted = true;
    for (const e of events) {
      // A room's later event may fit after an earlier one did not: its lease is then refused
      // (the earlier one is pending), so order still holds.
      if (this.count >= this.capacity) {
        fitted = false;
        continue;
      }
      const key = roomKey(e);
      const queue = this.rooms.get(key);
      if (queue === undefined) this.rooms.set(key, [e]);
      else queue.push(e);
      this.count += 1;
    }
    return fitted;
  }

  /** The first waiting event of each room whose key `busy` does not hold, oldest room first. */
  *heads(busy: ReadonlySet<string>): Generator<OutboxEvent> {
    for (const [key, queue] of this.rooms) {
      const head = queue[0];
      if (head !== undefined && !busy.has(key)) yield head;
    }
  }

  /** Removes `e` if it is the head of its room (leased, or launched by the search). */
  take(e: OutboxEvent): void {
    const key = roomKey(e);
    const queue = this.rooms.get(key);
    if (queue?.[0]?.id !== e.id) return;
    queue.shift();
    this.count -= 1;
    if (queue.length === 0) this.rooms.delete(key);
  }

  /** Forgets every waiting event of `e`'s room: the database decides their order from now on. */
  dropRoom(e: OutboxEvent): void {
    const key = roomKey(e);
    const queue = this.rooms.get(key);
    if (queue === undefined) return;
    this.count -= queue.length;
    this.rooms.delete(key);
  }
}
