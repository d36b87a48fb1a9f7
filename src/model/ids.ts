import { randomBytes, randomFillSync } from 'node:crypto';

/**
 * Identifiers are `<prefix>_<26 chars>`: 10 chars of millisecond time then 16 of randomness, in
 * Crockford base32 lowercase (URL-safe, never equal to a route word such as `webhook`). Time first
 * makes ids sort by creation, which cursor pagination relies on. Within one millisecond the random
 * part is incremented so ids from one process stay strictly increasing.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix =
  | 'prj'
  | 'cred'
  | 'bot'
  | 'usr'
  | 'room'
  | 'conv'
  | 'msg'
  | 'evt'
  | 'int'
  | 'att'
  | 'chn';

let lastTime = 0;
let lastRandom: number[] = [];

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

/**
 * Random bytes are taken from a pool refilled 4 KiB at a time: one call into the system's
 * generator per 256 ids instead of one per id (that call was most of newId's cost on the
 * request path).
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

function freshRandom(): number[] {
  if (poolOffset + 16 > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = new Array<number>(16);
  for (let i = 0; i < 16; i++) out[i] = (pool[poolOffset + i] ?? 0) & 31;
  poolOffset += 16;
  return out;
}

function increment(digits: number[]): number[] {
  const next = digits.slice();
  for (let i = next.length - 1; i >= 0; i--) {
    const d = next[i] ?? 0;
    if (d < 31) {
      next[i] = d + 1;
      return next;
    }
    next[i] = 0;
  }
  return freshRandom();
}

export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  if (now <= lastTime) {
    lastRandom = increment(lastRandom);
  } else {
    lastTime = now;
    lastRandom = freshRandom();
  }
  return `${prefix}_${encodeTime(lastTime)}${lastRandom.map((d) => ALPHABET[d]).join('')}`;
}

/**
 * Sorts just before every id newId makes at `ms` or later (and after every id made earlier):
 * the time part alone, with no random part. For "ids made since" comparisons.
 */
export function idFloorAt(prefix: IdPrefix, ms: number): string {
  return `${prefix}_${encodeTime(Math.max(0, Math.floor(ms)))}`;
}

/** The millisecond time an id made by newId carries (its first 10 characters after the prefix). */
export function timeOfId(id: string): number {
  const at = id.indexOf('_');
  let t = 0;
  for (const c of id.slice(at + 1, at + 11)) t = t * 32 + Math.max(0, ALPHABET.indexOf(c));
  return t;
}

/** A random secret of `bytes` bytes, as lowercase hex. */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * A new signingSecret of an integration: 32 random bytes, written as the 64 hex characters
 * docs/api.md §4.1 shows. The decoys that stand in for a missing one (§4.10's check) come from here
 * too, so that they keep a real secret's length.
 */
export function newSigningSecret(): string {
  return randomHex(32);
}

/** A random secret of `bytes` bytes, as base64url. */
export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}
