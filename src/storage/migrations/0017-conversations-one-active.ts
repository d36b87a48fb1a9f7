import type { Migration } from './migration.js';

/**
 * PostgreSQL: the index that keeps one active conversation per room, rebuilt over every row and
 * keyed on an expression that is the room while the conversation is active and NULL once it is
 * closed (NULLs never collide, so it is still unique per room). The partial index it replaces
 * had the weakness events_room_pending had (migration 0016): ANALYZE taken while no conversation
 * was open made the planner believe it empty, and the pair lookup that every start and close
 * makes (RoomQueries.findPair) then read all of it for the one room it wanted, with the room as
 * a filter: 2,000 conversations open, 2,000 index entries read per start. Keyed on every row, the
 * index is never believed empty, and the lookup by room is the cheapest plan on any statistics
 * (test/postgres/active-conversation-plans.test.ts). Same name, so the unique violation and the
 * schema keep theirs; SQLite keeps its partial index, whose plan does not depend on statistics.
 */
export const m0017ConversationsOneActive: Migration = {
  version: 17,
  name: 'conversations-one-active',
  statements: [
    {
      sqlite: '',
      postgres:
        "CREATE UNIQUE INDEX conversations_one_active_rebuilt ON conversations((CASE WHEN state = 'active' THEN room_id END))",
    },
    { sqlite: '', postgres: 'DROP INDEX conversations_one_active' },
    {
      sqlite: '',
      postgres: 'ALTER INDEX conversations_one_active_rebuilt RENAME TO conversations_one_active',
    },
  ],
};
