/**
 * Credentials read for authentication, kept for a second.
 *
 * Every management request authenticates, and reading the credential row was the largest single
 * cost of a start or a close on SQLite: 20 µs of the 206 µs of CPU per request (the reader
 * connection re-reads its pages after each commit of the writer; docs/performance.md). A row is
 * now read at most once a second per credential and node. The secret is still checked against
 * the stored hash on every request: the cache holds rows, never a presented secret.
 *
 * Revoking through this node's admin API forgets the row at once. Anywhere else (another node,
 * the `relevo` command on the same database) the revocation takes effect within `ttlMs`; see
 * docs/security.md.
 */
import type { Credential } from '../model/types.js';
import type { CredentialQueries } from '../storage/queries/credentials.js';

/** How long a credential row is trusted without reading it again. */
export const CREDENTIAL_TTL_MS = 1_000;

/** Beyond this many rows the oldest are dropped (a project rarely has more than a few). */
const MAX_ENTRIES = 10_000;

interface Entry {
  readonly credential: Credential;
  readonly readAt: number;
}

export class CredentialCache {
  private readonly byId = new Map<string, Entry>();
  private readonly byClientId = new Map<string, Entry>();

  constructor(
    private readonly credentials: Pick<CredentialQueries, 'get' | 'getByClientId'>,
    private readonly now: () => number = performance.now.bind(performance),
    private readonly ttlMs: number = CREDENTIAL_TTL_MS,
  ) {}

  /** The credential row of an API key's credential id; undefined when there is none. */
  credential(id: string): Promise<Credential | undefined> {
    return this.lookup(this.byId, id, () => this.credentials.get(id));
  }

  /** The credential row of a Basic clientId; undefined when there is none. */
  credentialOfClient(clientId: string): Promise<Credential | undefined> {
    return this.lookup(this.byClientId, clientId, () => this.credentials.getByClientId(clientId));
  }

  /** Drops a credential now (it was revoked through this node). */
  forget(credentialId: string): void {
    const entry = this.byId.get(credentialId);
    this.byId.delete(credentialId);
    if (entry !== undefined) this.byClientId.delete(entry.credential.clientId);
    for (const [clientId, e] of this.byClientId) {
      if (e.credential.id === credentialId) this.byClientId.delete(clientId);
    }
  }

  private async lookup(
    map: Map<string, Entry>,
    key: string,
    read: () => Promise<Credential | undefined>,
  ): Promise<Credential | undefined> {
    const at = this.now();
    const hit = map.get(key);
    if (hit !== undefined && at - hit.readAt < this.ttlMs) return hit.credential;
    const credential = await read();
    // Only rows that exist are kept: an unknown id must not fill the map (it is attacker input).
    if (credential === undefined) {
      map.delete(key);
      return undefined;
    }
    if (map.size >= MAX_ENTRIES && !map.has(key)) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
    map.set(key, { credential, readAt: at });
    return credential;
  }
}
