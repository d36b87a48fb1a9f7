import type { Migration } from './migration.js';

/** The delivery engine: leases for claimed events, the attempt log, and the 5-day failure clock. */
export const m0002Delivery: Migration = {
  version: 2,
  name: 'delivery',
  statements: [
    // A claimed event is leased until lease_until: nobody else attempts it meanwhile. A worker
    // that dies mid-attempt loses its lease when the time passes, so the attempt is repeated
    // (same webhook-id) rather than lost.
    'ALTER TABLE events ADD COLUMN lease_until BIGINT',
    'ALTER TABLE events ADD COLUMN lease_owner TEXT',
    'ALTER TABLE events ADD COLUMN last_error TEXT',
    "CREATE INDEX events_room_pending ON events(room_id, room_seq) WHERE status = 'pending'",
    `CREATE TABLE attempts (
      id TEXT PRIMARY KEY,
      event_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      attempt_number INTEGER NOT NULL,
      started_at BIGINT NOT NULL,
      duration_ms INTEGER NOT NULL,
      url TEXT NOT NULL,
      status_code INTEGER,
      response_body TEXT,
      error TEXT,
      outcome TEXT NOT NULL
    )`,
    'CREATE INDEX attempts_event ON attempts(event_id, id)',
    // When the integration's current run of failures began; null while it is healthy.
    'ALTER TABLE integrations ADD COLUMN failing_since BIGINT',
  ],
};
