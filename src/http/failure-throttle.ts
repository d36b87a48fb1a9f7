/** Counting authentication failures per client key, for the throttle of rate-limit.ts. */
import { type Clock, MAX_TRACKED_KEYS, monotonic } from './token-buckets.js';

/** The failure window and the pause after it, both one minute, as documented. */
export const AUTH_FAILURE_WINDOW_MS = 60_000;
export const AUTH_FAILURE_BLOCK_MS = 60_000;

/** What a waiter is told when its entry was dropped (past maxKeys): admit afresh. */
const RETRY = -1;

interface Failures {
  /** When the first failure of the current window happened (meaningful while count > 0). */
  since: number;
  count: number;
  /** Refused until then (0: not refused). */
  blockedUntil: number;
  /** Admitted attempts not yet known to have failed or succeeded. */
  pending: number;
  /**
   * Attempts waiting for a pending one to be decided, oldest first. Each is called with the
   * place already taken for it (0), the milliseconds the key is refused for, or RETRY.
   */
  waiters: Array<(outcome: number) => void>;
}

/**
 * Counts failures per key in a window that opens at the first failure; the `limit`th failure
 * within `windowMs` refuses the key for `blockMs`. Then the count starts again from zero.
 *
 * An attempt is counted when it is admitted, before it does anything asynchronous: while
 * failures plus undecided attempts reach the limit, the next attempt waits for one of them to
 * be decided instead of running. Checking the block alone on arrival and counting the failure
 * when the 401 is sent let about 640 of 1 000 parallel guesses through on PostgreSQL, where
 * each guess waits for a credential lookup; now exactly `limit` fail, whatever the database.
 * Valid requests are never refused for this: they wait, at most as long as an undecided
 * attempt takes to authenticate.
 */
export class FailureThrottle {
  private readonly entries = new Map<string, Failures>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number = AUTH_FAILURE_WINDOW_MS,
    private readonly blockMs: number = AUTH_FAILURE_BLOCK_MS,
    private readonly now: Clock = monotonic,
    private readonly maxKeys: number = MAX_TRACKED_KEYS,
  ) {}

  /** Milliseconds the key is still refused for; 0 when it is not. */
  blockedFor(key: string): number {
    const e = this.entries.get(key);
    if (e === undefined) return 0;
    return Math.max(0, e.blockedUntil - this.now());
  }

  /**
   * Admits one attempt of `key`: 0 once it may run (it then holds a place until `settle`), or
   * the milliseconds the key is refused for. Waits while failures and undecided attempts
   * together reach the limit.
   */
  async admit(key: string): Promise<number> {
    for (;;) {
      const now = this.now();
      const e = this.entry(key);
      if (e.blockedUntil > now) return e.blockedUntil - now;
      this.expireWindow(e, now);
      // Behind the attempts already waiting, not past them: a freed place is handed to the
      // oldest waiter in `settle`, so a steady stream of new attempts cannot starve it.
      if (e.waiters.length === 0 && e.count + e.pending < this.limit) {
        e.pending += 1;
        return 0;
      }
      const outcome = await new Promise<number>((resolve) => e.waiters.push(resolve));
      if (outcome !== RETRY) return outcome;
    }
  }

  /**
   * Decides an admitted attempt: `failed` counts it as a failure. True when that failure is the
   * one that starts a block. Wakes the attempts that can now go on (or be refused).
   */
  settle(key: string, failed: boolean): boolean {
    const e = this.entries.get(key);
    if (e === undefined) return false;
    e.pending = Math.max(0, e.pending - 1);
    const started = failed && this.count(e, this.now());
    const now = this.now();
    if (e.blockedUntil > now) {
      for (const wake of e.waiters.splice(0)) wake(e.blockedUntil - now);
    }
    this.expireWindow(e, now);
    while (e.waiters.length > 0 && e.count + e.pending < this.limit) {
      e.pending += 1;
      e.waiters.shift()?.(0);
    }
    if (this.idle(e, now)) this.entries.delete(key);
    return started;
  }

  /** Records a failure of an attempt that was not admitted; true when it starts a block. */
  fail(key: string): boolean {
    return this.count(this.entry(key), this.now());
  }

  /** Forgets keys whose window and block are both over and that nothing waits on. */
  sweep(): void {
    const now = this.now();
    for (const [key, e] of this.entries) {
      if (this.idle(e, now)) this.entries.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private entry(key: string): Failures {
    let e = this.entries.get(key);
    if (e === undefined) {
      e = { since: 0, count: 0, blockedUntil: 0, pending: 0, waiters: [] };
      this.entries.set(key, e);
      // Past the cap the oldest entry goes; whatever waited on it goes on (and is admitted
      // afresh), rather than waiting forever.
      while (this.entries.size > this.maxKeys) {
        const [oldestKey, oldest] = this.entries.entries().next().value as [string, Failures];
        this.entries.delete(oldestKey);
        for (const wake of oldest.waiters.splice(0)) wake(RETRY);
      }
    }
    return e;
  }

  private expireWindow(e: Failures, now: number): void {
    if (e.count > 0 && now - e.since >= this.windowMs) e.count = 0;
  }

  private count(e: Failures, now: number): boolean {
    this.expireWindow(e, now);
    if (e.blockedUntil > now) return false;
    if (e.count === 0) e.since = now;
    e.count += 1;
    if (e.count < this.limit) return false;
    e.blockedUntil = now + this.blockMs;
    e.count = 0;
    return true;
  }

  private idle(e: Failures, now: number): boolean {
    return (
      e.pending === 0 &&
      e.waiters.length === 0 &&
      e.blockedUntil <= now &&
      (e.count === 0 || now - e.since >= this.windowMs)
    );
  }
}
