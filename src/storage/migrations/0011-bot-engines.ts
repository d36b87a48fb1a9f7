import type { Migration } from './migration.js';

/**
 * Bot engines (docs/bots.md): which engine answers a bot's users, on the bot's row (read with
 * every bot, so routing a user's message needs no extra query), and the outside engines'
 * settings apart, with the external engine's signing secret sealed like every other secret.
 * Events for an outside engine use the outbox's `destination` column ('bot'), so they need no
 * table of their own.
 */
export const m0011BotEngines: Migration = {
  version: 11,
  name: 'bot-engines',
  statements: [
    "ALTER TABLE bots ADD COLUMN engine TEXT NOT NULL DEFAULT 'rules'",
    `CREATE TABLE bot_engines (
      bot_id TEXT PRIMARY KEY REFERENCES bots(id),
      webhook_url TEXT,
      rasa_url TEXT,
      signing_secret TEXT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    )`,
  ],
};
