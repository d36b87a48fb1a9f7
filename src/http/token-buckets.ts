/**
 * In-memory counters per key for the abuse limits (rate-limit.ts): the clock they run on, the
 * cap on how many keys one table holds, and token buckets for request rates.
 */
/** A monotonic clock in milliseconds: wall-clock jumps must not refill or empty a bucket. */
export type Clock = () => number;

export const monotonic: Clock = () => performance.now();

/**
 * Most keys one table tracks. At about 100 bytes an entry, 100 000 entries are ~10 MB: the most
 * an attacker who rotates addresses can make us hold. Past it the oldest entry goes first.
 */
export const MAX_TRACKED_KEYS = 100_000;

/** Drops the oldest entries of a map past its cap (Maps iterate in insertion order). */
export function capSize<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) return;
    map.delete(oldest.value);
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets, one per key: `capacity` tokens, refilled continuously at `capacity` per
 * `periodMs`. A request takes one token; an empty bucket says how long until the next.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    private readonly capacity: number,
    periodMs: number,
    private readonly now: Clock = monotonic,
    private readonly maxKeys: number = MAX_TRACKED_KEYS,
  ) {
    this.perMs = capacity / periodMs;
  }

  /** Takes a token: 0 when granted, else the milliseconds until one is available. */
  take(key: string): number {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: this.capacity, at: now };
      this.buckets.set(key, b);
      capSize(this.buckets, this.maxKeys);
    } else {
      b.tokens = Math.min(this.capacity, b.tokens + (now - b.at) * this.perMs);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / this.perMs);
  }

  /** Forgets buckets that have refilled: they behave exactly like new ones. */
  sweep(): void {
    const now = this.now();
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.capacity) this.buckets.delete(key);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}
