import type { Migration } from './migration.js';

/**
 * PostgreSQL: room on each page of `events` for its rows' next versions. An event is written
 * once and updated twice: leased, then recorded. The lease changes no indexed column, so with
 * room on the page it is a HOT update (no new entry in any of the table's seven indexes, no dead
 * one left in events_due for the claim's walk to step over). Full pages made every lease a new
 * row version in every index. In a profiled run of benchmark (b), the claim's WAL went from 10.9
 * to 6.0 MB and its time from 0.51 to 0.41 ms (docs/performance.md, sixth round). New pages
 * only: existing ones keep their fill until rewritten. SQLite has no such setting.
 */
export const m0015EventsFillfactor: Migration = {
  version: 15,
  name: 'events-fillfactor',
  statements: [{ sqlite: '', postgres: 'ALTER TABLE events SET (fillfactor = 70)' }],
};
