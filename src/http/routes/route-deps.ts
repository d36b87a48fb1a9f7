import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.js';
import type { Store } from '../../storage/store.js';

/** What every route module receives from buildApp. */
export interface RouteDeps {
  readonly config: Config;
  readonly store: Store;
  readonly clock: () => number;
  readonly log: FastifyBaseLogger;
}
