import type { Migration } from './migration.js';

export const m0001Initial: Migration = {
  version: 1,
  name: 'initial',
  statements: [
    `CREATE TABLE projects (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      created_at BIGINT NOT NULL
    )`,
    `CREATE TABLE credentials (
      id TEXT PRIMARY KEY,
      project_id TEXT NOT NULL REFERENCES projects(id),
      client_id TEXT NOT NULL UNIQUE,
      api_key_hash TEXT NOT NULL,
      client_secret_hash TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      revoked_at BIGINT
    )`,
    'CREATE INDEX credentials_project ON credentials(project_id)',
    `CREATE TABLE bots (
      id TEXT PRIMARY KEY,
      project_id TEXT NOT NULL REFERENCES projects(id),
      name TEXT NOT NULL,
      channel TEXT NOT NULL,
      created_at BIGINT NOT NULL
    )`,
    'CREATE INDEX bots_project ON bots(project_id, id)',
    `CREATE TABLE end_users (
      id TEXT PRIMARY KEY,
      project_id TEXT NOT NULL REFERENCES projects(id),
      names TEXT NOT NULL,
      reference_id TEXT,
      created_at BIGINT NOT NULL
    )`,
    'CREATE INDEX end_users_project ON end_users(project_id, id)',
    'CREATE UNIQUE INDEX end_users_reference ON end_users(project_id, reference_id) WHERE reference_id IS NOT NULL',
    `CREATE TABLE integrations (
      id TEXT PRIMARY KEY,
      project_id TEXT NOT NULL UNIQUE REFERENCES projects(id),
      webhook_url TEXT NOT NULL,
      auth_type TEXT NOT NULL,
      authorization_value TEXT,
      signing_secret TEXT NOT NULL,
      enabled INTEGER NOT NULL,
      disabled_reason TEXT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    )`,
    `CREATE TABLE rooms (
      id TEXT PRIMARY KEY,
      project_id TEXT NOT NULL REFERENCES projects(id),
      bot_id TEXT NOT NULL REFERENCES bots(id),
      user_id TEXT NOT NULL REFERENCES end_users(id),
      last_seq BIGINT NOT NULL,
      created_at BIGINT NOT NULL,
      UNIQUE (bot_id, user_id)
    )`,
    `CREATE TABLE conversations (
      id TEXT PRIMARY KEY,
      project_id TEXT NOT NULL REFERENCES projects(id),
      room_id TEXT NOT NULL REFERENCES rooms(id),
      bot_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      state TEXT NOT NULL,
      assignment TEXT,
      metadata TEXT,
      start_at BIGINT NOT NULL,
      end_at BIGINT,
      ended_reason TEXT
    )`,
    // At most one active conversation per room, enforced by the database itself so that two
    // concurrent starts (two API nodes) cannot both win.
    "CREATE UNIQUE INDEX conversations_one_active ON conversations(room_id) WHERE state = 'active'",
    'CREATE INDEX conversations_project ON conversations(project_id, id)',
    `CREATE TABLE messages (
      id TEXT PRIMARY KEY,
      project_id TEXT NOT NULL,
      room_id TEXT NOT NULL REFERENCES rooms(id),
      conversation_id TEXT,
      sender TEXT NOT NULL,
      type TEXT NOT NULL,
      content TEXT NOT NULL,
      external_id TEXT,
      created_at BIGINT NOT NULL
    )`,
    'CREATE INDEX messages_conversation ON messages(conversation_id, id)',
    'CREATE UNIQUE INDEX messages_external ON messages(room_id, external_id) WHERE external_id IS NOT NULL',
    // The event log and outbox in one table: every event is recorded; `status` says where its
    // delivery stands. (room_id, room_seq) orders a room's events.
    `CREATE TABLE events (
      id TEXT PRIMARY KEY,
      project_id TEXT NOT NULL,
      room_id TEXT NOT NULL,
      room_seq BIGINT NOT NULL,
      conversation_id TEXT,
      type TEXT NOT NULL,
      payload TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      status TEXT NOT NULL,
      attempt_count INTEGER NOT NULL,
      next_attempt_at BIGINT,
      delivered_at BIGINT,
      UNIQUE (room_id, room_seq)
    )`,
    "CREATE INDEX events_due ON events(next_attempt_at) WHERE status = 'pending'",
    'CREATE INDEX events_project ON events(project_id, id)',
    'CREATE INDEX events_conversation ON events(conversation_id, id)',
  ],
};
