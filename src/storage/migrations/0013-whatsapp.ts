import type { Migration } from './migration.js';

/**
 * The WhatsApp channel (docs/channels.md, "WhatsApp"). Its settings live on the bot's channel
 * row beside the http channel's (the app secret, which checks inbound signatures as the http
 * channel's signingKey does, is kept in `signing_key`, sealed), so the outbox's claim needs no
 * new join: a channel event is sendable while its channel has a destination and its sending is
 * not disabled (Meta's error 190, an invalid token). `whatsapp_receipts` ties Meta's message ids
 * (wamid) to relevo's messages, for the delivery states Meta reports; `channel_media` keeps the
 * user's media, fetched from the Graph API, served by relevo (base64 text: one type for both
 * databases, at most 16 MiB of bytes per file).
 */
export const m0013Whatsapp: Migration = {
  version: 13,
  name: 'whatsapp',
  statements: [
    'ALTER TABLE bot_channels ADD COLUMN wa_phone_number_id TEXT',
    'ALTER TABLE bot_channels ADD COLUMN wa_access_token TEXT',
    'ALTER TABLE bot_channels ADD COLUMN wa_verify_token TEXT',
    'ALTER TABLE bot_channels ADD COLUMN wa_graph_version TEXT',
    'ALTER TABLE bot_channels ADD COLUMN sending_disabled_reason TEXT',
    'ALTER TABLE bot_channels ADD COLUMN sending_disabled_at BIGINT',
    `CREATE TABLE whatsapp_receipts (
      bot_id TEXT NOT NULL,
      wamid TEXT NOT NULL,
      message_id TEXT,
      status TEXT NOT NULL,
      error_code INTEGER,
      error_title TEXT,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY (bot_id, wamid)
    )`,
    'CREATE INDEX whatsapp_receipts_message ON whatsapp_receipts(message_id)',
    `CREATE TABLE channel_media (
      id TEXT PRIMARY KEY,
      bot_id TEXT NOT NULL,
      media_id TEXT NOT NULL,
      mime_type TEXT NOT NULL,
      data TEXT,
      size BIGINT,
      error TEXT,
      created_at BIGINT NOT NULL,
      fetched_at BIGINT
    )`,
  ],
};
