/** Which strings plain-text columns cannot keep exactly: U+0000 and surrogates without their pair. */
import { describe, expect, it } from 'vitest';
import { hasUnstorableText } from '../../src/storage/errors.js';

describe('hasUnstorableText', () => {
  it.each([
    ['\u0000'],
    ['a\u0000'],
    ['\ud800'],
    ['\udfff'],
    ['x\ud83d'],
    ['\ude00x'],
    ['\ude00\ud83d'],
    ['\ud83d\ude00\ud83d'],
    [`${'ñ'.repeat(5000)}\u0000`],
  ])('refuses %j', (s) => {
    expect(hasUnstorableText([1, null, 'ok', s])).toBe(true);
  });

  it.each([
    [''],
    ['plain'],
    ['ñandú'],
    ['\ud83d\ude00'],
    ['\\u0000'],
    ['\ufffd'],
    [JSON.stringify('\u0000\ud800')],
  ])('keeps %j', (s) => {
    expect(hasUnstorableText([s, 0, undefined, Buffer.from([0])])).toBe(false);
  });
});
