import type { Migration } from './migration.js';

/**
 * When an integration was disabled (a 410 Gone, or 5 days of failures), shown by §4.2 beside the
 * reason. An integration disabled before this migration gets its last update time, which is when
 * the dispatcher disabled it unless its secret was regenerated since.
 */
export const m0006IntegrationDisabledAt: Migration = {
  version: 6,
  name: 'integration-disabled-at',
  statements: [
    'ALTER TABLE integrations ADD COLUMN disabled_at BIGINT',
    'UPDATE integrations SET disabled_at = updated_at WHERE enabled = 0',
  ],
};
