import type { Migration } from './migration.js';

/**
 * The index of each room's pending events, for the dispatcher's test of room order
 * (DialectSql.pendingInRoom), renamed on both databases and rebuilt on PostgreSQL over every row.
 * PostgreSQL's planner believed the partial index events_room_pending empty whenever ANALYZE had
 * run while deliveries kept up, and then read all of it for each candidate of a claim instead of
 * looking up the candidate's room: 328 ms for one claim with 5,000 events pending, and benchmark
 * (c) fell half a second behind at the start of each round (docs/performance.md, "Ninth round").
 * Keyed on an expression that is the room while pending and NULL otherwise, the index covers the
 * whole table, so its size is never estimated at nothing. SQLite keeps the partial index it had,
 * whose plan does not depend on statistics; only the name changes, so both databases name the
 * same indexes.
 */
export const m0016EventsRoomOrder: Migration = {
  version: 16,
  name: 'events-room-order',
  statements: [
    {
      sqlite: "CREATE INDEX events_room_order ON events(room_id, room_seq) WHERE status = 'pending'",
      postgres:
        "CREATE INDEX events_room_order ON events((CASE WHEN status = 'pending' THEN room_id END), room_seq)",
    },
    'DROP INDEX events_room_pending',
  ],
};
