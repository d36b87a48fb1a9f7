/** The delivery log: one row per attempt, and the settlement of a delivered one. */
import type { AttemptResult, DeliveryAttempt } from '../../model/types.js';
import type { SqlExecutor } from './executor.js';
import type { IntegrationQueries } from './integrations.js';
import type { OutboxQueries } from './outbox.js';

export interface AttemptRow {
  id: string;
  event_id: string;
  project_id: string;
  attempt_number: number;
  started_at: number;
  duration_ms: number;
  url: string;
  status_code: number | null;
  response_body: string | null;
  error: string | null;
  outcome: string;
}

export const toAttempt = (r: AttemptRow): DeliveryAttempt => ({
  id: r.id,
  eventId: r.event_id,
  projectId: r.project_id,
  attemptNumber: Number(r.attempt_number),
  startedAt: Number(r.started_at),
  durationMs: Number(r.duration_ms),
  url: r.url,
  statusCode: r.status_code === null ? null : Number(r.status_code),
  responseBody: r.response_body,
  error: r.error,
  outcome: r.outcome as AttemptResult,
});

/** The columns of an attempt's row, in `attemptValues` order. */
export const ATTEMPT_COLUMNS = `id, event_id, project_id, attempt_number, started_at, duration_ms, url, status_code,
  response_body, error, outcome`;

function attemptValues(a: DeliveryAttempt): unknown[] {
  return [
    a.id,
    a.eventId,
    a.projectId,
    a.attemptNumber,
    a.startedAt,
    a.durationMs,
    a.url,
    a.statusCode,
    a.responseBody,
    a.error,
    a.outcome,
  ];
}

export class DeliveryLogQueries {
  constructor(
    private readonly x: SqlExecutor,
    private readonly outbox: OutboxQueries,
    private readonly integrations: IntegrationQueries,
  ) {}
  async insert(a: DeliveryAttempt): Promise<void> {
    await this.x.run(
      `INSERT INTO attempts (${ATTEMPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ...attemptValues(a),
    );
  }
  /**
   * A delivered attempt: its row, its event settled as delivered (if `owner` still holds the
   * lease), and when `clearFailure` its integration's failure clock stopped. One statement where
   * the database can (PostgreSQL), so that it may run with no transaction around it
   * (`Store.statement`).
   */
  async recordDelivered(
    a: DeliveryAttempt,
    owner: string,
    deliveredAt: number,
    clearFailure: boolean,
  ): Promise<void> {
    const oneStatement = this.x.dialectSql.recordDelivered;
    if (oneStatement !== undefined) {
      // Nothing reads its answer: in a transaction it shares the COMMIT's round trip.
      await this.x.send(
        oneStatement,
        ...attemptValues(a),
        a.projectId,
        clearFailure,
        a.attemptNumber,
        deliveredAt,
        a.eventId,
        owner,
      );
      return;
    }
    await this.insert(a);
    await this.outbox.settle(a.eventId, owner, {
      status: 'delivered',
      attemptCount: a.attemptNumber,
      nextAttemptAt: null,
      deliveredAt,
      lastError: null,
    });
    if (clearFailure) await this.integrations.clearFailure(a.projectId);
  }
  /** Adds what went wrong to a delivered attempt (an engine's answer that could not all be used). */
  async noteError(attemptId: string, error: string): Promise<void> {
    await this.x.run('UPDATE attempts SET error = ? WHERE id = ?', error, attemptId);
  }
  async list(eventId: string): Promise<DeliveryAttempt[]> {
    const rows = await this.x.all<AttemptRow>(
      'SELECT * FROM attempts WHERE event_id = ? ORDER BY id',
      eventId,
    );
    return rows.map(toAttempt);
  }
}
