/**
 * The dispatcher: takes due events from the outbox and launches their attempts (attempt.ts): the
 * scheduling half of delivery, which decides what goes now and how much at once.
 *
 * - Fast when healthy: a commit that wrote events wakes it at once (no polling interval). On
 *   SQLite those events are leased by id from an in-memory ready queue (ready-queue.ts); the
 *   outbox is searched at start, when a timer fires for a retry, and where a lease was refused.
 *   A timer armed for the next due retry, and a slow safety poll, cover everything else.
 * - In order per room: only the earliest pending event of a room is ever claimed, and it stays
 *   pending (holding its room, and only its room) until it is delivered or dead-lettered.
 * - Fair: at most `perIntegrationLimit` attempts in flight per project, and one claim hands out
 *   at most that many events of one project, so a slow webhook cannot take the whole pool. The
 *   process-wide `maxInFlight` is shared, but each lane's first GUARANTEED_PER_LANE attempts do
 *   not wait for it: however many integrations hang with their slots full, a healthy one always
 *   gets attempts in flight. When shared slots are scarce they go round the lanes in turn.
 * - Crash-safe: claiming is a lease in the database. An event is marked delivered only after its
 *   2xx, in the same transaction as its attempt row; a crash in between repeats that one attempt
 *   (same webhook-id), which is the at-least-once promise.
 */
import { setMaxListeners } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { ChannelEnv } from '../channels/channel.js';
import { coerceError } from '../errors.js';
import { randomHex } from '../model/ids.js';
import type { OutboxEvent } from '../model/types.js';
import type { Queries, Store } from '../storage/store.js';
import { type AttemptDeps, attempt } from './attempt.js';
import { laneOf, ReadyQueue, roomKey } from './ready-queue.js';
import { type Target, TargetMemo } from './target.js';
import type { WebhookSender } from './webhook-sender.js';

export interface DispatcherOptions {
  readonly store: Store;
  readonly sender: WebhookSender;
  readonly log: FastifyBaseLogger;
  readonly timeoutMs: number;
  readonly scheduleMs: readonly number[];
  /** Attempts in flight per project (= per integration). */
  readonly perIntegrationLimit: number;
  /**
   * Attempts in flight in this process that any lane may take; beyond them each lane still gets
   * its first GUARANTEED_PER_LANE, up to CEILING_FACTOR × this in all.
   */
  readonly maxInFlight: number;
  readonly clock?: () => number;
  readonly random?: () => number;
  /** What channels with a protocol of their own need (the Graph API's URL); Meta's by default. */
  readonly channelEnv?: ChannelEnv | undefined;
  /** Size of the ready queue (tests make it tiny to exercise a backlog read back). */
  readonly readyQueue?: { readonly capacity: number; readonly maxChars: number };
  /** Attempt outcomes and latencies (metrics on), spans of attempts (tracing on). */
  readonly metrics?: AttemptDeps['metrics'];
  readonly tracer?: AttemptDeps['tracer'];
}

/**
 * A lease outlives the attempt it covers by this much (the attempt itself is bounded by the
 * timeout), so a busy database writing the outcome does not let another worker start a
 * duplicate.
 */
const LEASE_MARGIN_MS = 5_000;
/** Events are claimed in batches of at most this many (one transaction per batch). */
const CLAIM_BATCH = 64;
/**
 * Another process may make events due without waking this one (the CLI replaying on SQLite,
 * a worker elsewhere): look anyway at least this often.
 */
const SAFETY_POLL_MS = 1_000;
/** While attempts are in flight, a retry due elsewhere is looked for at least this often. */
const BUSY_POLL_MS = 250;
/**
 * Just-committed events held in memory for leasing by id (ready-queue.ts), by count and by
 * payload characters (8 Mi: a few large messages are not thousands of small events). A backlog
 * beyond is read back from the outbox 1,000 at a time, one indexed range read, as the queue
 * empties: holding more would only hold more memory.
 */
const READY_CAPACITY = 2_000;
const READY_MAX_CHARS = 8 * 1024 * 1024;
/** Without a ready queue, attempts finishing within this window share one search. */
const COALESCE_MS = 2;
/**
 * Attempts in flight that a lane (an integration's webhook, or its channels') may always have,
 * even when slow lanes hold every shared slot: with 64 per lane and 512 in all, eight hanging
 * integrations used to stop every other one until their attempts timed out. 4 keeps a panel
 * answering in 50 ms at 80 events/s while the process is saturated.
 */
const GUARANTEED_PER_LANE = 4;
/**
 * A claim slower than this (a good one takes about 0.5 ms of the database's time) means its plan
 * no longer fits the outbox: the database's statistics were taken while almost nothing was
 * pending, and a backlog has formed since. Planned that way, each claim on PostgreSQL read every
 * pending event for each candidate, 0.1–1 s a claim, and deliveries fell 28–33 s behind in a
 * round of benchmark (c) (docs/decisions.md). The dispatcher then has the statistics refreshed.
 */
const SLOW_CLAIM_MS = 50;
/** At most one refresh of the statistics this often (ANALYZE reads a sample of the table). */
const STATISTICS_EVERY_MS = 60_000;
/**
 * The guarantee ends at this many times maxInFlight in flight (2,048 sockets by default): past
 * it, only attempts finishing make room. It takes about 390 integrations hanging at once.
 */
const CEILING_FACTOR = 4;

export class Dispatcher {
  /** This process's name on the leases it holds. */
  readonly owner = `wrk_${randomHex(8)}`;
  /** Attempts in flight, by event id: each settles when its outcome is recorded. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Aborted when shutdown gives up on the attempts still in flight: one for all of them. */
  private readonly abandon = new AbortController();
  /** Attempts of each lane waiting for their receiver's answer. */
  private readonly perProject = new Map<string, number>();
  /** Attempts of each lane in flight, answered or not: at most twice its limit (see launch). */
  private readonly perProjectAll = new Map<string, number>();
  /** Rooms (and destinations) with an attempt in flight: their next event waits for it. */
  private readonly busyRooms = new Set<string>();
  /**
   * Events this process committed, to lease by id (single-process stores only: elsewhere other
   * processes commit too, and the search with SKIP LOCKED shares the work among workers).
   */
  private readonly ready: ReadyQueue | undefined;
  /**
   * Every lane's part of the outbox must be searched (outbox.claimDue): at start, when a timer
   * fires (retries come due), when another process committed events.
   */
  private searchAll = true;
  /**
   * Lanes with due events that may not be in the ready queue: a lease by id was refused, a
   * search skipped the lane at its limit, or (without a ready queue) this process committed
   * events to it. Searched as soon as the lane has room.
   */
  private readonly searchLanes = new Set<string>();
  private readonly clock: () => number;
  private readonly random: () => number;
  /** Attempts in flight beyond which nothing starts, guaranteed or not. */
  private readonly ceiling: number;
  /** When the outbox's statistics were last refreshed for a slow claim (clock time). */
  private statisticsAt = Number.NEGATIVE_INFINITY;
  private pumping = false;
  private again = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private readonly attemptDeps: AttemptDeps;

  constructor(private readonly o: DispatcherOptions) {
    this.clock = o.clock ?? Date.now;
    this.random = o.random ?? Math.random;
    this.ceiling = o.maxInFlight * CEILING_FACTOR;
    this.attemptDeps = {
      store: o.store,
      sender: o.sender,
      log: o.log,
      timeoutMs: o.timeoutMs,
      scheduleMs: o.scheduleMs,
      owner: this.owner,
      clock: this.clock,
      random: this.random,
      metrics: o.metrics,
      tracer: o.tracer,
    };
    // Every attempt in flight listens to it (up to maxInFlight): not a leak.
    setMaxListeners(0, this.abandon.signal);
    this.ready = o.store.capabilities.singleProcess
      ? new ReadyQueue(o.readyQueue?.capacity ?? READY_CAPACITY, o.readyQueue?.maxChars ?? READY_MAX_CHARS)
      : undefined;
  }

  async start(): Promise<void> {
    this.stopped = false;
    if (this.o.store.capabilities.singleProcess) {
      // Leases in a single-process database were held by a process that is gone (a crash):
      // their attempts are repeated now rather than after the lease runs out.
      const released = await this.o.store.transaction((tx) => tx.outbox.releaseAllLeases());
      if (released > 0) this.o.log.warn({ released }, 'resuming deliveries interrupted by the last stop');
    }
    this.o.store.onCommitted((c) => {
      if (c.remote?.hasEvents) this.wake(true);
      if (c.events.length === 0) return;
      if (this.ready === undefined) {
        // PostgreSQL: search for the lanes that got events, once one of them has room. A lane at
        // its limit is left out of the claim, which then walks past all of its due events: with
        // a backlog, a search on every commit read the whole backlog to find nothing (about half
        // of the claims in test/postgres/node-crash.test.ts found nothing). The lane is searched
        // when an attempt of it finishes.
        for (const e of c.events) this.searchLanes.add(laneOf(e));
        return this.wake(false);
      }
      this.ready.add(c.events);
      this.wake(false);
    });
    this.wake(true);
  }

  /**
   * Look for due events now: the ready queue's, and the outbox's too when `search` (or a search
   * is already due). Cheap to call often: wake-ups while a pass runs fold into one.
   */
  wake(search = true): void {
    if (search) this.searchAll = true;
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  /**
   * A finished attempt frees a slot. With a ready queue, attempts finishing in the same turn of
   * the event loop share one pass (wake runs it on setImmediate), so the slot is refilled within
   * the turn. Without one (PostgreSQL) the slot is refilled by a search of the outbox, and
   * attempts finishing within COALESCE_MS share one search: a search for one free slot would
   * lease a lane's share (up to its limit) only to release all but one again.
   */
  private refill(): void {
    if (this.ready !== undefined) {
      this.wake(false);
      return;
    }
    if (this.soon !== undefined || this.stopped) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.wake(true);
    }, COALESCE_MS);
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  private async pump(): Promise<void> {
    let retryInMs: number | undefined;
    try {
      do {
        this.again = false;
        await this.claimAndLaunch();
      } while (this.again && !this.stopped);
    } catch (e) {
      // The database is unavailable or the claim failed: try again shortly, never give up.
      this.o.log.error({ err: coerceError(e) }, 'dispatcher could not claim events; retrying in 1 s');
      retryInMs = 1_000;
    } finally {
      this.pumping = false;
    }
    if (this.stopped) return;
    if (this.again) {
      this.wake(false);
      return;
    }
    await this.armTimer(retryInMs);
  }

  private async claimAndLaunch(): Promise<void> {
    while (!this.stopped && this.ceiling > this.inFlight.size) {
      // The outbox first: what waits there is older than anything in the ready queue.
      if (this.searchNeeded() && (await this.searchAndLaunch())) continue;
      await this.refillReady();
      if (!(await this.launchReady())) return;
    }
  }

  /**
   * How many more attempts `lane` may start now, `picked` more having been chosen (for any lane)
   * but not launched yet: up to its own limit, within the shared slots left or, past them, up to
   * its guaranteed ones.
   */
  private roomInLane(lane: string, picked = 0): number {
    const n = this.perProject.get(lane) ?? 0;
    const all = this.perProjectAll.get(lane) ?? 0;
    const total = this.inFlight.size + picked;
    const shared = this.o.maxInFlight - total;
    const guaranteed = Math.min(GUARANTEED_PER_LANE - all, this.ceiling - total);
    const limit = this.o.perIntegrationLimit;
    return Math.min(limit - n, 2 * limit - all, Math.max(shared, guaranteed));
  }

  private searchNeeded(): boolean {
    if (this.searchAll) return true;
    for (const lane of this.searchLanes) if (this.roomInLane(lane) > 0) return true;
    return false;
  }

  /**
   * Reads back, in commit order, the events that did not fit in the ready queue, once it is half
   * empty: one indexed range read instead of a search per few events.
   */
  private async refillReady(): Promise<void> {
    const ready = this.ready;
    const from = ready?.refillFrom;
    if (ready === undefined || from === undefined || !ready.halfEmpty) return;
    const limit = ready.room;
    const now = this.clock();
    const events = await this.o.store.transaction((tx) => tx.outbox.pendingAfter(from, now, limit));
    ready.refilled(events, events.length < limit);
    // Caught up: a commit of the same batch as the read may have been left out; one search finds
    // it. (Leases by id check room order in the database, so nothing goes out of order meanwhile.)
    if (ready.refillFrom === undefined) this.searchAll = true;
  }

  /** Leases the heads of the ready queue by id and launches them; false when none was leased. */
  private async launchReady(): Promise<boolean> {
    const ready = this.ready;
    if (ready === undefined || ready.size === 0) return false;
    const picked = ready.pick(
      (lane, before) => this.roomInLane(lane, before),
      this.busyRooms,
      this.ceiling - this.inFlight.size,
    );
    if (picked.length === 0) return false;
    const now = this.clock();
    const leaseUntil = now + this.o.timeoutMs + LEASE_MARGIN_MS;
    const leased = await this.o.store.transaction(async (tx) => {
      const targets = new TargetMemo(tx, this.o.channelEnv);
      const out: Array<[OutboxEvent, Target] | undefined> = [];
      for (const e of picked) {
        const ok = await tx.outbox.lease(e.id, this.owner, now, leaseUntil);
        out.push(ok ? [e, await targets.of(e)] : undefined);
      }
      return out;
    });
    let launched = 0;
    picked.forEach((e, i) => {
      ready.take(e);
      const got = leased[i];
      if (got === undefined || this.stopped) {
        // Not its room's head any more (an older event waits for a retry), or leased by the
        // search: the outbox decides this room's order from now on.
        ready.dropRoom(e);
        this.searchLanes.add(laneOf(e));
        if (got !== undefined) void this.release(e);
        return;
      }
      this.launch(got[0], got[1]);
      launched += 1;
    });
    // The shared slots are all taken: the lanes just served wait behind the others for the next
    // one that frees up, rather than the first lane in the queue taking every one of them.
    if (this.inFlight.size >= this.o.maxInFlight) for (const e of picked) ready.toBack(laneOf(e));
    return launched > 0;
  }

  /** Searches the outbox for due events and launches them; true when it should search again. */
  private async searchAndLaunch(): Promise<boolean> {
    const { store, maxInFlight } = this.o;
    const shared = maxInFlight - this.inFlight.size;
    // Lanes without room: at their own limit, or at their guaranteed attempts once the shared
    // slots are taken.
    const excluded = [...this.perProjectAll.keys()].filter((lane) => this.roomInLane(lane) <= 0);
    const now = this.clock();
    const limit = Math.min(shared > 0 ? shared : this.ceiling - this.inFlight.size, CLAIM_BATCH);
    // No more per lane than a lane with nothing in flight may start; searching for known lanes
    // only (a backlog that did not fit in the ready queue), no more than the slots they have: the
    // rest would be leased only to be released again.
    let perLane = Math.max(1, this.roomInLane(''));
    if (!this.searchAll) perLane = Math.max(1, ...[...this.searchLanes].map((l) => this.roomInLane(l)));
    const claim = {
      now,
      limit,
      perProjectLimit: perLane,
      excludeProjects: excluded,
      owner: this.owner,
      leaseUntil: now + this.o.timeoutMs + LEASE_MARGIN_MS,
    };
    const withTargets = async (q: Queries, events: OutboxEvent[]) => {
      const targets = new TargetMemo(q, this.o.channelEnv);
      const out: Array<[OutboxEvent, Target]> = [];
      for (const e of events) out.push([e, await targets.of(e)]);
      return out;
    };
    // SQLite reads the targets in the claim's transaction, on the writer, whose pages are warm.
    // PostgreSQL commits the claim by itself (one statement) and reads the targets right after,
    // on the same connection: two round trips fewer than BEGIN … COMMIT around them, and a
    // target read a moment after the lease is as good as one read with it (under READ COMMITTED
    // each statement sees the latest commits either way).
    const claimed = store.capabilities.singleProcess
      ? await store.transaction(async (tx) => withTargets(tx, await tx.outbox.claimDue(claim)))
      : await store.statement(async (q) => {
          // The claim alone is timed: a wait for a pooled connection or the target reads say
          // nothing of its plan.
          const started = performance.now();
          const events = await q.outbox.claimDue(claim);
          this.claimTook(performance.now() - started);
          return withTargets(q, events);
        });
    const full = claimed.length >= limit;
    if (!full) {
      // Every lane not excluded has been searched to its end; an excluded lane is searched
      // again when it has room (it may hold events that are not in the ready queue).
      const skipped = this.searchAll ? excluded : excluded.filter((l) => this.searchLanes.has(l));
      this.searchAll = false;
      this.searchLanes.clear();
      for (const lane of skipped) this.searchLanes.add(lane);
    }
    const surplus: OutboxEvent[] = [];
    for (const [event, target] of claimed) {
      if (this.roomInLane(laneOf(event)) <= 0 || this.stopped) surplus.push(event);
      else this.launch(event, target);
    }
    if (surplus.length > 0) {
      await store.transaction(async (tx) => {
        for (const e of surplus) await tx.outbox.releaseLease(e.id, this.owner);
      });
    }
    return full;
  }

  /** See SLOW_CLAIM_MS. The refresh runs beside the deliveries; they do not wait for it. */
  private claimTook(ms: number): void {
    const now = this.clock();
    if (ms < SLOW_CLAIM_MS || now - this.statisticsAt < STATISTICS_EVERY_MS) return;
    this.statisticsAt = now;
    this.o.log.warn(
      { claimMs: Math.round(ms) },
      'claiming due events was slow; refreshing the database statistics of the outbox',
    );
    this.o.store
      .statement((q) => q.outbox.refreshStatistics())
      .catch((e: unknown) => {
        this.o.log.warn({ err: coerceError(e) }, 'could not refresh the statistics of the outbox');
      });
  }

  private async release(event: OutboxEvent): Promise<void> {
    try {
      await this.o.store.transaction((tx) => tx.outbox.releaseLease(event.id, this.owner));
    } catch (e) {
      // The lease runs out by itself; the search takes the event then.
      this.o.log.warn({ err: coerceError(e), eventId: event.id }, 'could not release a lease');
    }
  }

  private async armTimer(retryInMs: number | undefined): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    let delay = retryInMs ?? SAFETY_POLL_MS;
    if (retryInMs === undefined && this.inFlight.size > 0) {
      // Attempts in flight wake the dispatcher as they finish, and each wake claims what is
      // due: asking the database for the next due time too would cost a scan per attempt.
      delay = BUSY_POLL_MS;
    } else if (retryInMs === undefined) {
      try {
        const due = await this.o.store.queries.outbox.nextDueAt();
        if (due !== undefined) delay = Math.min(SAFETY_POLL_MS, Math.max(5, due - this.clock()));
      } catch {
        delay = 1_000;
      }
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.wake();
    }, delay);
    this.timer.unref();
  }

  private launch(event: OutboxEvent, target: Target): void {
    const lane = laneOf(event);
    const room = roomKey(event);
    this.perProject.set(lane, (this.perProject.get(lane) ?? 0) + 1);
    this.perProjectAll.set(lane, (this.perProjectAll.get(lane) ?? 0) + 1);
    this.busyRooms.add(room);
    // Launched by the search: it may be waiting in the ready queue too.
    this.ready?.take(event);
    // The lane's slot is the receiver's: it comes free with the answer, not once the outcome is
    // recorded (docs/configuration.md: a lane's rate is its limit over its response time). On
    // PostgreSQL a record waits for its batch's COMMIT (10–20 ms under load), and holding the
    // slot meanwhile capped benchmark (c) at about 64 / 30 ms: a backlog of seconds at 2,000
    // events/s. The room stays busy, and the event leased, until the outcome is recorded; and a
    // lane has at most as many again waiting for their records, so that a fast webhook over a
    // slow database cannot take the shared slots of every other lane.
    let slot = true;
    const free = () => {
      if (!slot) return;
      slot = false;
      decrement(this.perProject, lane);
    };
    const done = attempt(this.attemptDeps, event, target, this.abandon.signal, () => {
      free();
      this.refill();
    })
      .catch((e: unknown) => {
        this.o.log.error({ err: coerceError(e), eventId: event.id }, 'delivery attempt failed to complete');
      })
      .finally(() => {
        this.inFlight.delete(event.id);
        this.busyRooms.delete(room);
        free();
        decrement(this.perProjectAll, lane);
        this.refill();
      });
    this.inFlight.set(event.id, done);
  }

  /**
   * Stops claiming, lets attempts in flight finish until `graceMs` has passed, then abandons
   * the rest (their events stay pending and are repeated on the next start).
   */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.soon !== undefined) clearTimeout(this.soon);
    while (this.pumping) await new Promise((r) => setImmediate(r));
    const all = () => Promise.all(this.inFlight.values());
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((r) => {
      timer = setTimeout(() => r('late'), graceMs);
    });
    const finished = await Promise.race([all().then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (finished === 'late') {
      this.abandon.abort();
      await all();
    }
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 1) - 1;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}
