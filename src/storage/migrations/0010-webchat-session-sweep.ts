import type { Migration } from './migration.js';

/**
 * What the sweep of silent web chat sessions looks up (src/channels/webchat/session-sweeper.ts):
 * end users by age, a user's rooms, and a room's conversations. Without these, each sweep read
 * every end user, and for each one every room and conversation of the database.
 */
export const m0010WebchatSessionSweep: Migration = {
  version: 10,
  name: 'webchat-session-sweep',
  statements: [
    'CREATE INDEX end_users_created ON end_users(created_at)',
    'CREATE INDEX rooms_user ON rooms(user_id)',
    'CREATE INDEX conversations_room ON conversations(room_id)',
  ],
};
