import { describe, expect, it } from 'vitest';
import { newId } from '../../src/model/ids.js';

describe('newId', () => {
  it('is <prefix>_ and 26 lowercase base32 characters, URL-safe', () => {
    expect(newId('conv')).toMatch(/^conv_[0-9a-hjkmnp-tv-z]{26}$/);
  });

  it('is strictly increasing and unique across many ids in one millisecond and across the pool refills', () => {
    const now = Date.now();
    const ids = Array.from({ length: 5_000 }, () => newId('evt', now));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    const later = newId('evt', now + 1);
    expect(later > ids.at(-1)!).toBe(true);
  });

  it('sorts by creation time across milliseconds', () => {
    const t = Date.now() + 60_000;
    const a = newId('msg', t);
    const b = newId('msg', t + 1);
    // The first 10 characters after the prefix are the time: b's is one millisecond later.
    expect(b.slice(4, 14) > a.slice(4, 14)).toBe(true);
    expect(b > a).toBe(true);
  });
});
