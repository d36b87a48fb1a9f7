import type { Migration } from './migration.js';

/**
 * Idempotency keys (docs/api.md §5.1): the first response to a POST with an `Idempotency-Key` is kept
 * for 24 h and replayed to any retry with the same key, project and route.
 */
export const m0004Idempotency: Migration = {
  version: 4,
  name: 'idempotency',
  statements: [
    `CREATE TABLE idempotency_keys (
      project_id TEXT NOT NULL,
      route TEXT NOT NULL,
      idem_key TEXT NOT NULL,
      request_hash TEXT NOT NULL,
      state TEXT NOT NULL,
      locked_until BIGINT,
      response_status INTEGER,
      response_headers TEXT,
      response_body TEXT,
      created_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL,
      PRIMARY KEY (project_id, route, idem_key)
    )`,
    'CREATE INDEX idempotency_expiry ON idempotency_keys(expires_at)',
  ],
};
