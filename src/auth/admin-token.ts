/**
 * The admin API's token when RELEVO_ADMIN_TOKEN is not set: minted by the first `relevo serve`
 * on a fresh database (or by `relevo admin-token reset`), shown once, and kept only as a salted
 * SHA-256 hash, like the credentials' secrets (32 random bytes need no slow KDF).
 */
import { randomToken } from '../model/ids.js';
import type { Queries } from '../storage/store.js';
import { hashSecret, verifySecret } from './credential-secrets.js';

/** Marks the token for people and secret scanners; `rlvk_` and `rlvc_` are the credentials'. */
export const ADMIN_TOKEN_PREFIX = 'rlva_';

export interface MintedAdminToken {
  readonly token: string;
  readonly hash: string;
}

export function mintAdminToken(): MintedAdminToken {
  const token = `${ADMIN_TOKEN_PREFIX}${randomToken(32)}`;
  return { token, hash: hashSecret(token) };
}

/** What a server found or did about the stored token at start-up. */
export type AdminTokenState =
  /** This process created the first token: the only time it can be shown. */
  | { readonly kind: 'created'; readonly token: string }
  /** A token exists (created earlier, or by another node starting at the same time). */
  | { readonly kind: 'exists' }
  /** The database predates first-run tokens and has none: the admin API stays off. */
  | { readonly kind: 'none' };

/**
 * Creates the first token unless the database has a token row already. Race-free between
 * nodes: the insert of the one allowed row decides who created it.
 */
export async function ensureAdminToken(q: Queries, now: number): Promise<AdminTokenState> {
  const existing = await q.adminToken.get();
  if (existing !== undefined) return existing.hash === null ? { kind: 'none' } : { kind: 'exists' };
  const minted = mintAdminToken();
  if (await q.adminToken.create(minted.hash, now)) return { kind: 'created', token: minted.token };
  const winner = await q.adminToken.get();
  return winner?.hash == null ? { kind: 'none' } : { kind: 'exists' };
}

/** A new token in place of the stored one, which stops working at once on every node. */
export async function resetAdminToken(q: Queries, now: number): Promise<string> {
  const minted = mintAdminToken();
  await q.adminToken.replace(minted.hash, now);
  return minted.token;
}

/**
 * Whether `given` is the stored token: 'none' when the database holds none (the admin API is
 * off), so the caller can answer that rather than a 401.
 */
export async function checkStoredAdminToken(q: Queries, given: string): Promise<'ok' | 'wrong' | 'none'> {
  const row = await q.adminToken.get();
  if (row?.hash == null) return 'none';
  return verifySecret(given, row.hash) ? 'ok' : 'wrong';
}
