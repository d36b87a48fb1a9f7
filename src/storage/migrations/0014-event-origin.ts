import type { Migration } from './migration.js';

/**
 * Where an event came from, for the people tracing it (docs/operations.md): the request id of
 * the call that created it (on every attempt's log line) and, when tracing is on, that
 * request's W3C traceparent (its attempts are children of that trace). Both nullable: events
 * written before this version, by the delivery worker or by the CLI have no request.
 */
export const m0014EventOrigin: Migration = {
  version: 14,
  name: 'event-origin',
  statements: [
    'ALTER TABLE events ADD COLUMN request_id TEXT',
    'ALTER TABLE events ADD COLUMN traceparent TEXT',
  ],
};
