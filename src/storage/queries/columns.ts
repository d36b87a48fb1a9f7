/** Column conventions every table shares: soft deletion and names stored as JSON text. */

export interface LookupOptions {
  /** Find the row even when it was (softly) deleted. */
  readonly includeDeleted?: boolean;
}
/**
 * `deletedAt` only on a deleted row: a live one reads exactly as it was created. (PostgreSQL
 * returns BIGINT as text.)
 */
export const deletion = (v: number | string | null | undefined): { deletedAt?: number } =>
  v === null || v === undefined ? {} : { deletedAt: Number(v) };

/**
 * Names are stored as JSON text, a JSON string literal (migration 0009): JSON.stringify writes
 * U+0000 and unpaired surrogates as `\u` escapes, so a name comes back exactly as it was sent on
 * every database, where plain text would lose both. Reading one costs a JSON.parse of a short
 * string (two per conversation start: the bot's name and the end user's).
 */
export const nameText = (name: string): string => JSON.stringify(name);
export const nameOf = (text: string): string => JSON.parse(text) as string;
