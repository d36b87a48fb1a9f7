import { describe, expect, it } from 'vitest';
import { CredentialCache } from '../../src/auth/credential-cache.js';
import type { Credential } from '../../src/model/types.js';

const row = (id: string, revokedAt: number | null = null): Credential => ({
  id,
  projectId: 'prj_1',
  clientId: `client_${id}`,
  apiKeyHash: 'h',
  clientSecretHash: 'h',
  createdAt: 1,
  revokedAt,
});

/** A credential table in memory that counts its reads, and a clock the test moves. */
function fixture() {
  const table = new Map<string, Credential>([['cred_a', row('cred_a')]]);
  const reads = { byId: 0, byClient: 0 };
  let now = 0;
  const cache = new CredentialCache(
    {
      get: async (id) => {
        reads.byId += 1;
        return table.get(id);
      },
      getByClientId: async (clientId) => {
        reads.byClient += 1;
        return [...table.values()].find((c) => c.clientId === clientId);
      },
    },
    () => now,
    1_000,
  );
  return { table, reads, cache, advance: (ms: number) => (now += ms) };
}

describe('CredentialCache', () => {
  it('reads a credential once per TTL, then again', async () => {
    const f = fixture();
    for (let i = 0; i < 5; i++) expect((await f.cache.credential('cred_a'))?.id).toBe('cred_a');
    expect(f.reads.byId).toBe(1);
    f.advance(999);
    await f.cache.credential('cred_a');
    expect(f.reads.byId).toBe(1);
    // A revocation written elsewhere is seen once the TTL has passed.
    f.table.set('cred_a', row('cred_a', 5));
    f.advance(1);
    expect((await f.cache.credential('cred_a'))?.revokedAt).toBe(5);
    expect(f.reads.byId).toBe(2);
  });

  it('never keeps an unknown id, so made-up keys cannot fill it and a new credential is seen at once', async () => {
    const f = fixture();
    expect(await f.cache.credential('cred_new')).toBeUndefined();
    f.table.set('cred_new', row('cred_new'));
    expect((await f.cache.credential('cred_new'))?.id).toBe('cred_new');
    expect(f.reads.byId).toBe(2);
  });

  it('forgets a revoked credential at once, under its id and its clientId', async () => {
    const f = fixture();
    await f.cache.credential('cred_a');
    await f.cache.credentialOfClient('client_cred_a');
    f.table.set('cred_a', row('cred_a', 7));
    f.cache.forget('cred_a');
    expect((await f.cache.credential('cred_a'))?.revokedAt).toBe(7);
    expect((await f.cache.credentialOfClient('client_cred_a'))?.revokedAt).toBe(7);
    expect(f.reads).toEqual({ byId: 2, byClient: 2 });
  });
});
