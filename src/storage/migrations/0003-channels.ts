import type { Migration } from './migration.js';

/**
 * Channels and the bot side: how a bot reaches its end users, its rules, and where in its flow
 * a room stands. Events gain a destination: the panel's webhook, or the bot's channel (messages
 * for the end user through the `http` channel travel through the same outbox and dispatcher).
 */
export const m0003Channels: Migration = {
  version: 3,
  name: 'channels',
  statements: [
    "ALTER TABLE events ADD COLUMN destination TEXT NOT NULL DEFAULT 'panel'",
    `CREATE TABLE bot_channels (
      bot_id TEXT PRIMARY KEY REFERENCES bots(id),
      webhook_url TEXT,
      signing_key TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    )`,
    `CREATE TABLE bot_rules (
      bot_id TEXT PRIMARY KEY REFERENCES bots(id),
      rules TEXT NOT NULL,
      updated_at BIGINT NOT NULL
    )`,
    // The step of the bot's flow the room is at (set by a close with an `edge` redirect).
    'ALTER TABLE rooms ADD COLUMN bot_step TEXT',
    'CREATE INDEX messages_room ON messages(room_id, id)',
  ],
};
