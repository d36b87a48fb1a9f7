import { describe, expect, it } from 'vitest';
import { laneOf, ReadyQueue, roomKey } from '../../src/delivery/ready-queue.js';
import type { OutboxEvent } from '../../src/model/types.js';

let seq = 0;
function ev(projectId: string, roomId: string, payload = '{}'): OutboxEvent {
  seq += 1;
  return {
    id: `evt_${String(seq).padStart(6, '0')}`,
    projectId,
    roomId,
    roomSeq: seq,
    conversationId: null,
    destination: 'panel',
    type: 'message',
    payload,
    createdAt: 1,
    status: 'pending',
    attemptCount: 0,
    nextAttemptAt: 1,
    deliveredAt: null,
    lastError: null,
  };
}

const ids = (events: OutboxEvent[]) => events.map((e) => e.id);
const none = new Set<string>();

describe('ReadyQueue', () => {
  it('hands out one head per room, oldest room first, up to each lane’s free slots', () => {
    const q = new ReadyQueue(100, 1_000_000);
    const a1 = ev('p1', 'ra');
    const b1 = ev('p1', 'rb');
    const a2 = ev('p1', 'ra');
    const c1 = ev('p1', 'rc');
    const x1 = ev('p2', 'rx');
    q.add([a1, b1, a2, c1, x1]);
    expect(q.size).toBe(5);
    expect(ids(q.pick(() => 10, none, 10))).toEqual(ids([a1, b1, c1, x1]));
    // Two slots in p1's lane, none in p2's.
    expect(ids(q.pick((lane) => (lane === laneOf(a1) ? 2 : 0), none, 10))).toEqual(ids([a1, b1]));
    // A room with an attempt in flight is passed over.
    expect(ids(q.pick(() => 10, new Set([roomKey(a1)]), 10))).toEqual(ids([b1, c1, x1]));
    // At most `max` in all.
    expect(ids(q.pick(() => 10, none, 2))).toEqual(ids([a1, b1]));
  });

  it('moves a room on to its next event only when its head is taken', () => {
    const q = new ReadyQueue(100, 1_000_000);
    const a1 = ev('p1', 'ra');
    const a2 = ev('p1', 'ra');
    q.add([a1, a2]);
    q.take(a2); // not the head: nothing happens
    expect(ids(q.pick(() => 10, none, 10))).toEqual(ids([a1]));
    q.take(a1);
    expect(ids(q.pick(() => 10, none, 10))).toEqual(ids([a2]));
    q.take(a2);
    expect(q.size).toBe(0);
  });

  it('drops a whole room when the database refuses its head', () => {
    const q = new ReadyQueue(100, 1_000_000);
    const a1 = ev('p1', 'ra');
    const a2 = ev('p1', 'ra');
    const b1 = ev('p1', 'rb');
    q.add([a1, a2, b1]);
    q.dropRoom(a1);
    expect(q.size).toBe(1);
    expect(ids(q.pick(() => 10, none, 10))).toEqual(ids([b1]));
  });

  it('stops taking commits once full, and reads the rest back after its last event', () => {
    const q = new ReadyQueue(2, 1_000_000);
    const [e1, e2, e3, e4] = [ev('p1', 'r1'), ev('p1', 'r2'), ev('p1', 'r3'), ev('p1', 'r4')];
    q.add([e1, e2, e3]);
    expect(q.size).toBe(2);
    expect(q.refillFrom).toBe(e2!.id);
    // Behind the outbox, even with room again, a new commit waits there (it would jump e3).
    q.take(e1!);
    q.add([e4!]);
    expect(q.size).toBe(1);
    expect(q.halfEmpty).toBe(true);
    q.refilled([e3!], false);
    expect(q.refillFrom).toBe(e3!.id);
    q.take(e2!);
    q.take(e3!);
    q.refilled([e4!], true);
    expect(q.refillFrom).toBeUndefined();
    expect(ids(q.pick(() => 10, none, 10))).toEqual(ids([e4!]));
  });

  it('keeps reading back from its newest event when an older one is requeued into it', () => {
    const q = new ReadyQueue(2, 1_000_000);
    const old = ev('p1', 'r0');
    const [e1, e2, e3] = [ev('p1', 'r1'), ev('p1', 'r2'), ev('p1', 'r3')];
    q.add([e1!]);
    q.add([old]); // a manual retry: an event with an older id than e1
    q.add([e2!, e3!]);
    expect(q.refillFrom).toBe(e1!.id);
  });

  it('counts payload characters too: a few large events fill it like many small ones', () => {
    const q = new ReadyQueue(1_000, 100);
    const big = 'x'.repeat(60);
    const [e1, e2] = [ev('p1', 'r1', big), ev('p1', 'r2', big)];
    q.add([e1!, e2!]);
    expect(q.size).toBe(1);
    expect(q.refillFrom).toBe(e1!.id);
    expect(q.halfEmpty).toBe(false);
    q.take(e1!);
    expect(q.halfEmpty).toBe(true);
    // Past the budget a refill stops; the rest is read back next time.
    q.refilled([e2!, ev('p1', 'r3', big)], true);
    expect(q.size).toBe(1);
    expect(q.refillFrom).toBe(e2!.id);
  });
});
