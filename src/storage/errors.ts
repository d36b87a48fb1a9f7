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

/** The database cannot take the request now (gone, full, locked too long): answer 503, retry later. */
export class StorageUnavailable extends Error {
  override readonly name = 'StorageUnavailable';
}

/** A value the database cannot store as text (U+0000 in PostgreSQL): the request is refused (422). */
export class UnstorableText extends Error {
  override readonly name = 'UnstorableText';
}
