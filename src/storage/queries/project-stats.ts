/**
 * A project's figures at a glance (docs/api.md §5.10): counts and the last hour's attempts per
 * minute, each read through an index that holds only what it counts. `project_id || ''` keeps
 * the planners off the project indexes, which would walk the project's whole history, and on the
 * ones of what is counted: pending events (events_due), active conversations
 * (conversations_one_active: partial on SQLite; on PostgreSQL keyed NULL once closed, so `IS NOT
 * NULL` reads only the open ones), failed events (events_project_failed).
 */
import type { SqlExecutor } from './executor.js';

/** Attempts of one minute, by whether they delivered. */
export interface MinuteCount {
  /** The minute's start, Unix milliseconds. */
  readonly minute: number;
  readonly delivered: number;
  readonly failed: number;
}

export interface ProjectCounts {
  readonly activeConversations: number;
  readonly eventsWaiting: number;
  readonly deadLetters: number;
}

const MINUTE_MS = 60_000;

export class ProjectStatsQueries {
  constructor(private readonly x: SqlExecutor) {}

  async counts(projectId: string): Promise<ProjectCounts> {
    const r = await this.x.one<{ active: number | string; waiting: number | string; dead: number | string }>(
      `SELECT
        (SELECT count(*) FROM conversations c
          WHERE ${this.x.dialectSql.activeInRoom('c', 'IS NOT NULL')} AND c.project_id || '' = ?) AS active,
        (SELECT count(*) FROM events
          WHERE status = 'pending' AND destination = 'panel' AND project_id || '' = ?) AS waiting,
        (SELECT count(*) FROM events WHERE status = 'failed' AND destination = 'panel' AND project_id = ?) AS dead`,
      projectId,
      projectId,
      projectId,
    );
    return {
      activeConversations: Number(r?.active ?? 0),
      eventsWaiting: Number(r?.waiting ?? 0),
      deadLetters: Number(r?.dead ?? 0),
    };
  }

  /** The panel's attempts started at or after `since`, by minute (only minutes that had some). */
  async attemptsPerMinute(projectId: string, since: number): Promise<MinuteCount[]> {
    const rows = await this.x.all<{
      minute: number | string;
      delivered: number | string;
      failed: number | string;
    }>(
      `SELECT a.started_at / ${MINUTE_MS} AS minute,
        sum(CASE WHEN a.outcome = 'delivered' THEN 1 ELSE 0 END) AS delivered,
        sum(CASE WHEN a.outcome = 'delivered' THEN 0 ELSE 1 END) AS failed
      FROM attempts a JOIN events e ON e.id = a.event_id
      WHERE a.project_id = ? AND a.started_at >= ? AND e.destination = 'panel'
      GROUP BY a.started_at / ${MINUTE_MS}
      ORDER BY minute`,
      projectId,
      since,
    );
    return rows.map((r) => ({
      minute: Number(r.minute) * MINUTE_MS,
      delivered: Number(r.delivered),
      failed: Number(r.failed),
    }));
  }
}
