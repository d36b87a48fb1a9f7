/**
 * Prometheus metrics (docs/operations.md, "Metrics"; names and labels are public interface).
 * One registry per Metrics object, never prom-client's global one, so several apps in one
 * process (tests) keep their own counts. Counters and histograms are updated in memory where
 * things happen; the gauges that need the database are read when scraped, through one query,
 * at most once a second, never on a request's path.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../storage/store.js';

/** What a delivery attempt came to, as relevo_delivery_attempts_total counts it. */
export type AttemptOutcome = 'delivered' | 'retrying' | 'dead' | 'disabled' | 'cancelled';

/** The route label of a request that matched no route: raw URLs would be unbounded labels. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Scrapes within this long share one read of the database (the spec's "once a second"). */
const GAUGE_CACHE_MS = 1_000;

/**
 * From the commit of an event to its 2xx: tens of milliseconds when healthy, up to the retry
 * schedule's hours when a receiver was down (0,5s,5m,30m,2h,… by default).
 */
const DELIVERY_LATENCY_BUCKETS = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000,
];

/** Request durations: sub-millisecond answers up to a 15 s slow client. */
const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15];

interface OutboxSnapshot {
  readonly pending: number;
  readonly oldestAgeSeconds: number;
  readonly dead: number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly events: Counter<'type'>;
  readonly attempts: Counter<'outcome'>;
  readonly deliveryLatency: Histogram;
  private snapshot: Promise<OutboxSnapshot | undefined> | undefined;
  private snapshotAt = 0;
  /** The last good read, kept when the database does not answer a scrape. */
  private last: OutboxSnapshot | undefined;

  constructor(
    private readonly store: Store,
    private readonly options: { readonly clock?: () => number; readonly onError?: (e: unknown) => void } = {},
  ) {
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'relevo_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'relevo_http_request_duration_seconds',
      help: 'Time from a request received to its answer sent, by method and route pattern.',
      labelNames: ['method', 'route'] as const,
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    });
    this.events = new Counter({
      name: 'relevo_events_total',
      help: 'Events recorded by this process, by type.',
      labelNames: ['type'] as const,
      registers,
    });
    this.attempts = new Counter({
      name: 'relevo_delivery_attempts_total',
      help: 'Delivery attempts made by this process, by outcome.',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: 'relevo_delivery_latency_seconds',
      help: "Time from an event's commit to the 2xx that delivered it, retries included.",
      buckets: DELIVERY_LATENCY_BUCKETS,
      registers,
    });
    const outbox = (name: string, help: string, pick: (s: OutboxSnapshot) => number) => {
      const gauge: Gauge = new Gauge({
        name,
        help,
        registers,
        collect: async () => {
          const s = await this.outboxSnapshot();
          if (s !== undefined) gauge.set(pick(s));
        },
      });
    };
    outbox(
      'relevo_outbox_pending',
      'Events not yet delivered (waiting, leased or between retries).',
      (s) => s.pending,
    );
    outbox(
      'relevo_outbox_oldest_pending_age_seconds',
      'Age of the oldest event not yet delivered; 0 when none is pending.',
      (s) => s.oldestAgeSeconds,
    );
    outbox('relevo_outbox_dead', 'Dead letters: events whose every attempt failed.', (s) => s.dead);
    if (store.poolStats !== undefined) {
      const stats = store.poolStats.bind(store);
      const pool: Gauge<'state'> = new Gauge({
        name: 'relevo_db_pool_connections',
        help: 'PostgreSQL pool connections by state: idle, busy (running a query) and waiting (requests queued for one).',
        labelNames: ['state'] as const,
        registers,
        collect: () => {
          const p = stats();
          pool.set({ state: 'idle' }, p.idle);
          pool.set({ state: 'busy' }, p.total - p.idle);
          pool.set({ state: 'waiting' }, p.waiting);
        },
      });
    }
    collectDefaultMetrics({ register: this.registry });
    // Every event this process commits, whatever its status (commits of other processes are
    // theirs to count).
    store.onCommitted((c) => {
      if (c.recorded === undefined) return;
      for (const type of c.recorded) this.events.inc({ type });
    });
  }

  /** A finished attempt, for relevo_delivery_attempts_total and, when delivered, the latency. */
  attempt(outcome: AttemptOutcome, latencyMs?: number): void {
    this.attempts.inc({ outcome });
    if (latencyMs !== undefined) this.deliveryLatency.observe(Math.max(0, latencyMs) / 1000);
  }

  /** The Prometheus text exposition of everything. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private outboxSnapshot(): Promise<OutboxSnapshot | undefined> {
    const clock = this.options.clock ?? Date.now;
    const now = clock();
    if (this.snapshot === undefined || now - this.snapshotAt >= GAUGE_CACHE_MS) {
      this.snapshotAt = now;
      this.snapshot = this.store.queries.operations.outboxGauges().then(
        (g) => {
          this.last = {
            pending: g.pending,
            oldestAgeSeconds:
              g.oldestPendingAt === undefined ? 0 : Math.max(0, now - g.oldestPendingAt) / 1000,
            dead: g.dead,
          };
          return this.last;
        },
        (e: unknown) => {
          this.options.onError?.(e);
          return this.last;
        },
      );
    }
    return this.snapshot;
  }
}
