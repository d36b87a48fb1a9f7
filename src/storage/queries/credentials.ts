/** Credentials: a project's API client ids and their secret hashes (hashes, so nothing to seal). */
import type { Credential } from '../../model/types.js';
import type { SqlExecutor } from './executor.js';

export interface CredentialRow {
  id: string;
  project_id: string;
  client_id: string;
  api_key_hash: string;
  client_secret_hash: string;
  created_at: number;
  revoked_at: number | null;
}

export const toCredential = (r: CredentialRow): Credential => ({
  id: r.id,
  projectId: r.project_id,
  clientId: r.client_id,
  apiKeyHash: r.api_key_hash,
  clientSecretHash: r.client_secret_hash,
  createdAt: Number(r.created_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

export class CredentialQueries {
  constructor(private readonly x: SqlExecutor) {}
  async insert(c: Credential): Promise<void> {
    await this.x.run(
      'INSERT INTO credentials (id, project_id, client_id, api_key_hash, client_secret_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      c.id,
      c.projectId,
      c.clientId,
      c.apiKeyHash,
      c.clientSecretHash,
      c.createdAt,
      c.revokedAt,
    );
  }
  async get(id: string): Promise<Credential | undefined> {
    const r = await this.x.one<CredentialRow>('SELECT * FROM credentials WHERE id = ?', id);
    return r && toCredential(r);
  }
  async getByClientId(clientId: string): Promise<Credential | undefined> {
    const r = await this.x.one<CredentialRow>('SELECT * FROM credentials WHERE client_id = ?', clientId);
    return r && toCredential(r);
  }
  async list(projectId: string): Promise<Credential[]> {
    const rows = await this.x.all<CredentialRow>(
      'SELECT * FROM credentials WHERE project_id = ? ORDER BY id',
      projectId,
    );
    return rows.map(toCredential);
  }
  /** Returns false when no live credential of this project has that id. */
  async revoke(projectId: string, id: string, at: number): Promise<boolean> {
    const r = await this.x.run(
      'UPDATE credentials SET revoked_at = ? WHERE project_id = ? AND id = ? AND revoked_at IS NULL',
      at,
      projectId,
      id,
    );
    return r > 0;
  }
  /** Revokes every live credential of a project; returns their ids. */
  async revokeAllOfProject(projectId: string, at: number): Promise<string[]> {
    const rows = await this.x.all<{ id: string }>(
      'UPDATE credentials SET revoked_at = ? WHERE project_id = ? AND revoked_at IS NULL RETURNING id',
      at,
      projectId,
    );
    return rows.map((r) => r.id);
  }
}
