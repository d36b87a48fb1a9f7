import type { AdminTokenRow } from '../store.js';
import type { SqlExecutor } from './executor.js';

export class AdminTokenQueries {
  constructor(private readonly x: SqlExecutor) {}
  async get(): Promise<AdminTokenRow | undefined> {
    const row = await this.x.one<{ token_hash: string | null; created_at: number | string }>(
      'SELECT token_hash, created_at FROM admin_token WHERE id = 1',
    );
    return row === undefined ? undefined : { hash: row.token_hash, createdAt: Number(row.created_at) };
  }
  async create(hash: string, at: number): Promise<boolean> {
    const inserted = await this.x.run(
      'INSERT INTO admin_token (id, token_hash, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING',
      hash,
      at,
    );
    return inserted === 1;
  }
  async replace(hash: string, at: number): Promise<void> {
    await this.x.run(
      `INSERT INTO admin_token (id, token_hash, created_at) VALUES (1, ?, ?)
       ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
      hash,
      at,
    );
  }
}
