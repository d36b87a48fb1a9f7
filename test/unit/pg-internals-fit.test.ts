/**
 * PreparedQuery leans on pg 8.23's Query and Result fields (src/storage/postgres/prepared-query.ts).
 * The installed pg must fit, and one that moved a field must be found so that the executor runs
 * pg's own Query instead.
 */
import pg from 'pg';
import { expect, it } from 'vitest';
import { PREPARED_QUERY_FITS, pgInternalsFit } from '../../src/storage/postgres/prepared-query.js';

const valueMapper = (pg as unknown as { utils: { prepareValue: unknown } }).utils.prepareValue;

it('the installed pg fits', () => {
  expect(PREPARED_QUERY_FITS).toBe(true);
  expect(pgInternalsFit(pg.Query, pg.Result, valueMapper)).toBe(true);
});

it('a pg whose Query lacks a method, or whose Result lacks a field, does not', () => {
  class NoGetRows extends (pg.Query as unknown as new (...a: unknown[]) => object) {}
  Object.defineProperty(NoGetRows.prototype, '_getRows', { value: undefined });
  expect(pgInternalsFit(NoGetRows, pg.Result, valueMapper)).toBe(false);

  class NoParsers extends (pg.Result as unknown as new (...a: unknown[]) => object) {
    constructor(...a: unknown[]) {
      super(...a);
      delete (this as { _parsers?: unknown })._parsers;
    }
  }
  expect(pgInternalsFit(pg.Query, NoParsers, valueMapper)).toBe(false);
  expect(pgInternalsFit(pg.Query, pg.Result, undefined)).toBe(false);
  expect(pgInternalsFit(undefined, pg.Result, valueMapper)).toBe(false);
});

it('a Query that throws when built does not', () => {
  class Throws {
    constructor() {
      throw new Error('changed');
    }
  }
  Object.setPrototypeOf(Throws.prototype, pg.Query.prototype);
  expect(pgInternalsFit(Throws, pg.Result, valueMapper)).toBe(false);
});
