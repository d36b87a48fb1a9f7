import type { Migration } from './migration.js';

/**
 * What a project's overview counts (docs/api.md §5.10) without reading all of its history:
 * attempts by time (the last hour's per-minute chart), and its dead letters. The failed index
 * holds only failed events, a handful beside millions delivered, so the writes of the hot path
 * (an event inserted pending, then delivered) never touch it. Waiting events and active
 * conversations already have partial indexes (events_due, conversations_one_active).
 */
export const m0012ProjectOverview: Migration = {
  version: 12,
  name: 'project-overview',
  statements: [
    'CREATE INDEX attempts_project_time ON attempts(project_id, started_at)',
    "CREATE INDEX events_project_failed ON events(project_id) WHERE status = 'failed'",
  ],
};
