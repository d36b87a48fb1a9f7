/** The admin API's stored token (a hash, so nothing to seal), when RELEVO_ADMIN_TOKEN is not set. */
import type { SqlExecutor } from './executor.js';

export interface AdminTokenRow {
  readonly hash: string | null;
  readonly createdAt: number;
}

export class AdminTokenQueries {
  constructor(private readonly x: SqlExecutor) {}
  /** The stored token: its hash (null: none, the admin API is off), or undefined before the first. */
  async get(): Promise<AdminTokenRow | undefined> {
    const row = await this.x.one<{ token_hash: string | null; created_at: number | string }>(
      'SELECT token_hash, created_at FROM admin_token WHERE id = 1',
    );
    return row === undefined ? undefined : { hash: row.token_hash, createdAt: Number(row.created_at) };
  }
  /** Stores the first token; false, and nothing written, when a row exists (another node won). */
  async create(hash: string, at: number): Promise<boolean> {
    const inserted = await this.x.run(
      'INSERT INTO admin_token (id, token_hash, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING',
      hash,
      at,
    );
    return inserted === 1;
  }
  /** Stores a token in place of any other (the previous one stops working). */
  async replace(hash: string, at: number): Promise<void> {
    await this.x.run(
      `INSERT INTO admin_token (id, token_hash, created_at) VALUES (1, ?, ?)
       ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
      hash,
      at,
    );
  }
}
