import type { Migration } from './migration.js';

/**
 * Projects, bots and end users can be deleted, softly: the row stays, marked with the time, so
 * past conversations, transcripts and the delivery log still show the names they had (see
 * docs/decisions.md). Live lookups skip marked rows. A deleted end user's referenceId is free
 * again: the unique index now covers live users only, so the person can come back as a new user.
 */
export const m0007SoftDelete: Migration = {
  version: 7,
  name: 'soft-delete',
  statements: [
    'ALTER TABLE projects ADD COLUMN deleted_at BIGINT',
    'ALTER TABLE bots ADD COLUMN deleted_at BIGINT',
    'ALTER TABLE end_users ADD COLUMN deleted_at BIGINT',
    'DROP INDEX end_users_reference',
    'CREATE UNIQUE INDEX end_users_reference ON end_users(project_id, reference_id) WHERE reference_id IS NOT NULL AND deleted_at IS NULL',
  ],
};
