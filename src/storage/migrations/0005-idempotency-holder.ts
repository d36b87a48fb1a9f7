import type { Migration } from './migration.js';

/**
 * Who holds an idempotency key's claim: a claim taken over after its lock lapsed must not be
 * completed or released by the request that lost it (it may still finish, late).
 */
export const m0005IdempotencyHolder: Migration = {
  version: 5,
  name: 'idempotency-holder',
  statements: ['ALTER TABLE idempotency_keys ADD COLUMN holder TEXT'],
};
