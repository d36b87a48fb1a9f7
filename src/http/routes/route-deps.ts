import type { FastifyBaseLogger } from 'fastify';
import type { CredentialCache } from '../../auth/credential-cache.js';
import type { Config } from '../../config.js';
import type { AllowList, Resolver } from '../../delivery/network-policy.js';
import type { Store } from '../../storage/store.js';

/** What every route module receives from buildApp. */
export interface RouteDeps {
  readonly config: Config;
  readonly store: Store;
  readonly clock: () => number;
  readonly log: FastifyBaseLogger;
  /** RELEVO_WEBHOOK_ALLOW, parsed once: exemptions from the webhook network policy. */
  readonly allowList: AllowList;
  /** Resolves webhook host names for the policy (host-resolver.ts, RELEVO_DNS_SERVERS). */
  readonly resolve: Resolver;
  /** Credential rows for authentication, read at most once a second (auth/credential-cache.ts). */
  readonly credentials: CredentialCache;
}
