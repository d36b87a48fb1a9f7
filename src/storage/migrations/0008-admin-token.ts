import type { Migration } from './migration.js';

/**
 * The admin API's token when RELEVO_ADMIN_TOKEN is not set: one row, created by the first
 * `relevo serve` (or `relevo admin-token reset`), holding only a salted hash. The primary key
 * and its check allow exactly one row, so servers starting together on one PostgreSQL create
 * one token between them: the first INSERT wins, the others find its row.
 *
 * A database that already holds projects when this migration runs was in use before first-run
 * tokens existed, with the admin API off unless RELEVO_ADMIN_TOKEN was set: it gets a row
 * without a hash, so an upgrade does not turn the admin API on by itself (`relevo admin-token
 * reset` does, on purpose).
 */
export const m0008AdminToken: Migration = {
  version: 8,
  name: 'admin-token',
  statements: [
    `CREATE TABLE admin_token (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      token_hash TEXT,
      created_at BIGINT NOT NULL
    )`,
    'INSERT INTO admin_token (id, token_hash, created_at) SELECT 1, NULL, 0 WHERE EXISTS (SELECT 1 FROM projects)',
  ],
};
