/** What the people running relevo ask of the database: readiness and the outbox's gauges. */
import type { SqlExecutor } from './executor.js';

export interface OutboxGauges {
  /** Events not yet delivered (status pending, leased or waiting for a retry). */
  readonly pending: number;
  /** created_at of the oldest of them, Unix ms; undefined when none is pending. */
  readonly oldestPendingAt: number | undefined;
  /** Dead letters: events whose attempts all failed. */
  readonly dead: number;
}

export class OperationsQueries {
  constructor(private readonly x: SqlExecutor) {}
  /** The highest migration applied (0 on an empty database). */
  async schemaVersion(): Promise<number> {
    const r = await this.x.one<{ v: number | string | null }>(
      'SELECT MAX(version) AS v FROM schema_migrations',
    );
    return r?.v === null || r?.v === undefined ? 0 : Number(r.v);
  }
  /**
   * The outbox's three gauges in one round trip. Each sub-select reads a partial index
   * (events_due for pending, events_project_failed for dead letters), never the whole table.
   */
  async outboxGauges(): Promise<OutboxGauges> {
    const r = await this.x.one<{
      pending: number | string;
      oldest: number | string | null;
      dead: number | string;
    }>(
      `SELECT (SELECT COUNT(*) FROM events WHERE status = 'pending') AS pending,
              (SELECT MIN(created_at) FROM events WHERE status = 'pending') AS oldest,
              (SELECT COUNT(*) FROM events WHERE status = 'failed') AS dead`,
    );
    return {
      pending: Number(r?.pending ?? 0),
      oldestPendingAt: r?.oldest === null || r?.oldest === undefined ? undefined : Number(r.oldest),
      dead: Number(r?.dead ?? 0),
    };
  }
}
