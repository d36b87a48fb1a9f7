/** Storage errors every implementation raises the same way, so services never see driver codes. */

/** A unique constraint refused a write; `constraint` names the index (e.g. rooms_pair). */
export class UniqueViolation extends Error {
  override readonly name = 'UniqueViolation';
  constructor(
    readonly constraint: string,
    options?: { cause?: unknown },
  ) {
    super(`unique constraint ${constraint} refused the write`, options);
  }
}

/**
 * A database URL no store can open. Config refuses such a value first (a ConfigError, with the
 * supported forms), so this is only reached by code that skips config; storage imports nothing
 * above it, hence its own error.
 */
export class UnsupportedDatabaseUrl extends Error {
  override readonly name = 'UnsupportedDatabaseUrl';
}

/** The database cannot take the request now (gone, full, locked too long): answer 503, retry later. */
export class StorageUnavailable extends Error {
  override readonly name = 'StorageUnavailable';
}

/**
 * A string the database cannot keep exactly as plain text: the request is refused (422).
 * PostgreSQL's text refuses U+0000 (SQLSTATE 22021); both drivers encode strings as UTF-8, which
 * turns an unpaired surrogate into U+FFFD, so two different values would be stored as one.
 * Client data that must round-trip (names, metadata, message content, events) is stored as JSON
 * text, where JSON.stringify writes both as `\u` escapes, and never trips this.
 */
export class UnstorableText extends Error {
  override readonly name = 'UnstorableText';
}

export const UNSTORABLE_MESSAGE =
  'text outside names, metadata and message content (ids, URLs, flow steps) must not contain U+0000 (NUL) or an unpaired surrogate';

/**
 * Whether any string among `params` cannot be stored as plain text: U+0000, or a surrogate
 * without its pair. Every statement's parameters pass here, JSON texts of several KiB among
 * them, so this uses the engine's own scans rather than a regular expression: on a 10 KiB
 * string a `u`-flag character class costs ~50 µs, `includes` plus `isWellFormed` ~17 µs when
 * the string holds characters beyond U+00FF (an emoji) and ~0.1 µs when it does not (V8 then
 * keeps it one byte per character, where no surrogate can occur and NUL is a memchr).
 */
export function hasUnstorableText(params: readonly unknown[]): boolean {
  for (const p of params) if (typeof p === 'string' && (p.includes('\0') || !p.isWellFormed())) return true;
  return false;
}

/** Statements that store their parameters (`FOR UPDATE` is a read); the rest only look up by them. */
export const STORES_TEXT = /\b(?:INSERT\s+INTO|UPDATE\s+\w+\s+SET)\b/i;
