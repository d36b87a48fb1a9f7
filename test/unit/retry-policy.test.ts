/**
 * docs/webhooks.md, "What your answer means" and "Retries": the decision after each attempt, the
 * default schedule with its ±20 % jitter, Retry-After and its clamp.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, parseDurationList } from '../../src/config.js';
import {
  type AttemptOutcome,
  DISABLE_AFTER_FAILING_MS,
  decide,
  jitter,
  MAX_SCHEDULED_DELAY_MS,
  parseRetryAfter,
} from '../../src/delivery/retry-policy.js';

/** immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h */
const SCHEDULE: readonly number[] = [
  0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

const status = (s: number, retryAfterMs?: number): AttemptOutcome => ({
  kind: 'response',
  status: s,
  retryAfterMs,
});
const fail500 = status(500);

function delayAfter(attemptsMade: number, random: number, outcome: AttemptOutcome = fail500): number {
  const d = decide({ outcome, attemptsMade, scheduleMs: SCHEDULE, random });
  if (d.action !== 'retry') throw new Error(`expected a retry, got ${d.action}`);
  return d.delayMs;
}

describe('the default schedule', () => {
  it('is the one in the config defaults: ≈ 27 h in all over 8 attempts', () => {
    expect(
      parseDurationList('RELEVO_WEBHOOK_RETRY_SCHEDULE', DEFAULTS.RELEVO_WEBHOOK_RETRY_SCHEDULE),
    ).toEqual(SCHEDULE);
    expect(SCHEDULE).toHaveLength(8);
    const total = SCHEDULE.reduce((a, b) => a + b, 0);
    expect(total).toBe(27 * 3600_000 + 35 * 60_000 + 5_000);
  });

  // attemptsMade failed attempts → the delay before attempt attemptsMade + 1.
  it.each([
    [1, 5_000, 4_000, 5_000, 5_998],
    [2, 300_000, 240_000, 300_000, 359_880],
    [3, 1_800_000, 1_440_000, 1_800_000, 2_159_280],
    [4, 7_200_000, 5_760_000, 7_200_000, 8_637_120],
    [5, 18_000_000, 14_400_000, 18_000_000, 21_592_800],
    [6, 36_000_000, 28_800_000, 36_000_000, 43_185_600],
    [7, 36_000_000, 28_800_000, 36_000_000, 43_185_600],
  ])(
    'after %i failed attempt(s): %i ms → %i / %i / %i at random 0 / 0.5 / 0.999',
    (made, base, lo, mid, hi) => {
      expect(delayAfter(made, 0)).toBe(lo);
      expect(delayAfter(made, 0.5)).toBe(mid);
      expect(delayAfter(made, 0.999)).toBe(hi);
      expect(lo).toBe(Math.round(base * 0.8));
      expect(hi).toBeLessThan(base * 1.2);
    },
  );

  it('retries immediately from 0 failed attempts (scheduleMs[0] is the delay before the first)', () => {
    expect(delayAfter(0, 0.5)).toBe(0);
    expect(delayAfter(0, 0.999)).toBe(0);
  });

  it('goes dead after the 8th failed attempt, and stays dead beyond', () => {
    for (const made of [8, 9, 100]) {
      expect(decide({ outcome: fail500, attemptsMade: made, scheduleMs: SCHEDULE, random: 0.5 })).toEqual({
        action: 'dead',
      });
    }
  });

  it('walks the whole schedule: 7 retries then a dead letter', () => {
    const actions: string[] = [];
    for (let made = 1; made <= 8; made++) {
      actions.push(
        decide({ outcome: { kind: 'timeout' }, attemptsMade: made, scheduleMs: SCHEDULE, random: 0.3 })
          .action,
      );
    }
    expect(actions).toEqual(['retry', 'retry', 'retry', 'retry', 'retry', 'retry', 'retry', 'dead']);
  });

  it('honours a custom schedule, including one with a single attempt', () => {
    expect(decide({ outcome: fail500, attemptsMade: 1, scheduleMs: [0], random: 0 })).toEqual({
      action: 'dead',
    });
    expect(decide({ outcome: fail500, attemptsMade: 1, scheduleMs: [0, 1000], random: 0.5 })).toEqual({
      action: 'retry',
      delayMs: 1000,
      countsTowardDisable: true,
    });
    expect(decide({ outcome: fail500, attemptsMade: 0, scheduleMs: [], random: 0.5 })).toEqual({
      action: 'dead',
    });
  });

  it('reads a scheduled delay above 30 days as 30 days, and a negative or non-finite one as 0', () => {
    const month = 30 * 24 * 3600_000;
    expect(MAX_SCHEDULED_DELAY_MS).toBe(month);
    const after1 = (d: number, outcome: AttemptOutcome = fail500) =>
      decide({ outcome, attemptsMade: 1, scheduleMs: [0, d], random: 0.5 });
    expect(after1(365 * month)).toEqual({ action: 'retry', delayMs: month, countsTowardDisable: true });
    expect(after1(1e308)).toEqual({ action: 'retry', delayMs: month, countsTowardDisable: true });
    expect(after1(1e308, status(429, 1e308))).toEqual({
      action: 'retry',
      delayMs: 2 * month,
      countsTowardDisable: true,
    });
    for (const d of [-5_000, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(after1(d)).toEqual({
        action: 'retry',
        delayMs: d === Number.POSITIVE_INFINITY ? month : 0,
        countsTowardDisable: true,
      });
    }
  });
});

describe('each outcome', () => {
  const at = (outcome: AttemptOutcome, attemptsMade = 2) =>
    decide({ outcome, attemptsMade, scheduleMs: SCHEDULE, random: 0.5 });
  const retry = { action: 'retry', delayMs: 300_000, countsTowardDisable: true };

  it.each([200, 201, 202, 204, 299])('%i → delivered', (s) => {
    expect(at(status(s))).toEqual({ action: 'delivered' });
  });

  it('2xx is delivered even on the last attempt and even with a Retry-After', () => {
    expect(at(status(200), 8)).toEqual({ action: 'delivered' });
    expect(at(status(202, 60_000))).toEqual({ action: 'delivered' });
  });

  it('410 → disable, also on the last attempt (the event waits, it is not dead-lettered)', () => {
    expect(at(status(410))).toEqual({ action: 'disable' });
    expect(at(status(410), 8)).toEqual({ action: 'disable' });
    expect(at(status(410), 100)).toEqual({ action: 'disable' });
  });

  it.each([408, 429, 500, 502, 503, 504, 599])('%i → retry, counted', (s) => {
    expect(at(status(s))).toEqual(retry);
  });

  it.each([300, 301, 302, 303, 304, 307, 308])('%i (redirects are never followed) → retry, counted', (s) => {
    expect(at(status(s))).toEqual(retry);
  });

  it.each([400, 401, 403, 404, 405, 409, 413, 415, 422, 451, 499])(
    '%i (panel mid-deploy?) → retry, counted',
    (s) => {
      expect(at(status(s))).toEqual(retry);
    },
  );

  it.each([100, 101, 103, 199, 0, 99, 600, 999, -1, 200.5, Number.NaN, Number.POSITIVE_INFINITY])(
    '%s (1xx or out of range) → a failed response',
    (s) => {
      expect(at(status(s))).toEqual(retry);
    },
  );

  it('timeout → retry, counted', () => {
    expect(at({ kind: 'timeout' })).toEqual(retry);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'CERT_HAS_EXPIRED', 'UND_ERR_SOCKET'])(
    'network %s → retry, counted',
    (code) => {
      expect(at({ kind: 'network', code })).toEqual(retry);
    },
  );

  it('refused by the network policy → retry, counted (the DNS may be fixed)', () => {
    expect(at({ kind: 'refused', reason: 'resolves to 10.0.0.5 (private)' })).toEqual(retry);
  });

  it('every failing kind goes dead once the schedule is used', () => {
    const failing: AttemptOutcome[] = [
      status(500),
      status(404),
      status(301),
      status(429, 1000),
      { kind: 'timeout' },
      { kind: 'network', code: 'ECONNRESET' },
      { kind: 'refused', reason: 'loopback' },
    ];
    for (const o of failing) expect(at(o, 8)).toEqual({ action: 'dead' });
  });

  it('a malformed attempt count is a dead letter, not a loop', () => {
    for (const made of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(at(fail500, made)).toEqual({ action: 'dead' });
    }
  });
});

describe('Retry-After', () => {
  // After 2 failed attempts the scheduled delay is 5 min; jittered at random 0.5 it is 5 min.
  const after2 = (retryAfterMs: number | undefined, s = 429, random = 0.5) =>
    delayAfter(2, random, status(s, retryAfterMs));

  it('lengthens the wait when the receiver asks for more', () => {
    expect(after2(400_000)).toBe(400_000);
    expect(after2(599_999)).toBe(599_999);
  });

  it('is clamped to twice the scheduled delay', () => {
    expect(after2(600_000)).toBe(600_000);
    expect(after2(600_001)).toBe(600_000);
    expect(after2(365 * 24 * 3600_000)).toBe(600_000);
    expect(after2(Number.MAX_SAFE_INTEGER)).toBe(600_000);
  });

  it('does not hurry us: a shorter ask keeps the jittered schedule', () => {
    expect(after2(0)).toBe(300_000);
    expect(after2(1_000)).toBe(300_000);
    expect(after2(1_000, 429, 0)).toBe(240_000);
    expect(after2(260_000, 429, 0)).toBe(260_000);
  });

  it('is honoured on 503 and on any status that sends it', () => {
    for (const s of [503, 500, 408, 404, 302, 100]) expect(after2(500_000, s)).toBe(500_000);
  });

  it('is ignored when absent, negative or not finite', () => {
    for (const r of [undefined, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(after2(r)).toBe(300_000);
  });

  it('cannot delay an immediate step (twice 0 is 0)', () => {
    expect(delayAfter(0, 0.5, status(429, 60_000))).toBe(0);
  });

  it('at the 10 h step a year-long Retry-After gives 20 h', () => {
    expect(delayAfter(6, 0.5, status(503, 365 * 24 * 3600_000))).toBe(72_000_000);
  });
});

describe('jitter', () => {
  it('is delayMs × (0.8 + 0.4 × random), rounded', () => {
    expect(jitter(5_000, 0)).toBe(4_000);
    expect(jitter(5_000, 0.5)).toBe(5_000);
    expect(jitter(5_000, 0.25)).toBe(4_500);
    expect(jitter(5_000, 0.999)).toBe(5_998);
    expect(jitter(3, 0.5)).toBe(3);
    expect(jitter(1, 0)).toBe(1);
  });

  it('keeps 0 at 0 and treats nonsense as no delay or mid-range', () => {
    expect(jitter(0, 0.7)).toBe(0);
    expect(jitter(-5, 0.7)).toBe(0);
    expect(jitter(Number.NaN, 0.7)).toBe(0);
    expect(jitter(5_000, Number.NaN)).toBe(5_000);
    expect(jitter(5_000, -3)).toBe(4_000);
    expect(jitter(5_000, 7)).toBe(6_000);
  });
});

describe('parseRetryAfter', () => {
  const NOW = Date.UTC(2024, 9, 28, 12, 0, 0); // Mon, 28 Oct 2024 12:00:00 GMT

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('1', NOW)).toBe(1_000);
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 30 ', NOW)).toBe(30_000);
    expect(parseRetryAfter('007', NOW)).toBe(7_000);
  });

  it('caps an enormous delta to a safe integer', () => {
    expect(parseRetryAfter('9'.repeat(400), NOW)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('reads an IMF-fixdate', () => {
    expect(parseRetryAfter('Mon, 28 Oct 2024 12:01:30 GMT', NOW)).toBe(90_000);
    expect(parseRetryAfter('Tue, 29 Oct 2024 12:00:00 GMT', NOW)).toBe(86_400_000);
    expect(parseRetryAfter('mon, 28 oct 2024 12:00:05 gmt', NOW)).toBe(5_000);
  });

  it('reads the obsolete RFC 850 and asctime forms', () => {
    expect(parseRetryAfter('Monday, 28-Oct-24 12:00:10 GMT', NOW)).toBe(10_000);
    expect(parseRetryAfter('Mon Oct 28 12:00:20 2024', NOW)).toBe(20_000);
    expect(parseRetryAfter('Fri Nov  1 12:00:00 2024', NOW)).toBe(4 * 86_400_000);
  });

  it('a date in the past, or now, is 0', () => {
    expect(parseRetryAfter('Mon, 28 Oct 2024 12:00:00 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('Mon, 28 Oct 2024 11:59:59 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(0);
  });

  it.each([
    '-1',
    '-120',
    '+5',
    '1.5',
    '1e3',
    '0x10',
    '',
    '   ',
    'soon',
    'later, please',
    '120 seconds',
    '3 0',
    '2024-10-28T12:01:00Z',
    'Mon, 28 Oct 2024 12:01:00',
    'Mon, 28 Oct 2024 12:01:00 UTC',
    'Mon, 28 Oct 2024 12:01:00 +0000',
    'Mon, 31 Feb 2024 12:00:00 GMT',
    'Mon, 28 Oct 2024 24:00:00 GMT',
    'Mon, 28 Oct 2024 12:60:00 GMT',
    'Mon, 28 Foo 2024 12:00:00 GMT',
    'Mon, 8 Oct 2024 12:00:00 GMT',
  ])('garbage %j → undefined', (h) => {
    expect(parseRetryAfter(h, NOW)).toBeUndefined();
  });

  it('undefined → undefined', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
  });

  it('an array header (sent twice) uses the first, as Node keeps the first Retry-After', () => {
    expect(parseRetryAfter(['30', '600'], NOW)).toBe(30_000);
    expect(parseRetryAfter(['Mon, 28 Oct 2024 12:01:00 GMT', '5'], NOW)).toBe(60_000);
    expect(parseRetryAfter(['soon', '5'], NOW)).toBeUndefined();
    expect(parseRetryAfter([], NOW)).toBeUndefined();
  });

  it('a date with no usable clock is undefined; seconds need no clock', () => {
    expect(parseRetryAfter('Mon, 28 Oct 2024 12:01:00 GMT', Number.NaN)).toBeUndefined();
    expect(parseRetryAfter('30', Number.NaN)).toBe(30_000);
  });
});

describe('DISABLE_AFTER_FAILING_MS', () => {
  it('is 5 days', () => {
    expect(DISABLE_AFTER_FAILING_MS).toBe(432_000_000);
  });
});

describe('properties', () => {
  const schedule = fc.array(fc.integer({ min: 0, max: 7 * 24 * 3600_000 }), { minLength: 1, maxLength: 20 });
  const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
  const failing = fc.oneof(
    fc
      .integer({ min: 0, max: 999 })
      .filter((s) => (s < 200 || s > 299) && s !== 410)
      .map((s) => status(s)),
    fc.constant<AttemptOutcome>({ kind: 'timeout' }),
    fc.string().map((code): AttemptOutcome => ({ kind: 'network', code })),
    fc.string().map((reason): AttemptOutcome => ({ kind: 'refused', reason })),
  );

  it('without Retry-After the delay is within [0.8×, 1.2×] of the scheduled delay', () => {
    fc.assert(
      fc.property(schedule, fc.nat(), random, failing, (scheduleMs, n, r, outcome) => {
        const made = n % scheduleMs.length;
        const d = decide({ outcome, attemptsMade: made, scheduleMs, random: r });
        expect(d.action).toBe('retry');
        if (d.action !== 'retry') return;
        const base = scheduleMs[made]!;
        expect(d.delayMs).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
        expect(d.delayMs).toBeLessThanOrEqual(Math.ceil(base * 1.2));
        expect(Number.isInteger(d.delayMs)).toBe(true);
        expect(d.countsTowardDisable).toBe(true);
      }),
    );
  });

  it('with Retry-After the delay is at least the jittered schedule and never above max(1.2×, 2×)', () => {
    fc.assert(
      fc.property(
        schedule,
        fc.nat(),
        random,
        fc.integer({ min: 0, max: 999 }).filter((s) => (s < 200 || s > 299) && s !== 410),
        fc.oneof(fc.nat({ max: 30 * 24 * 3600_000 }), fc.double({ min: 0, max: 1e20, noNaN: true })),
        (scheduleMs, n, r, s, retryAfterMs) => {
          const made = n % scheduleMs.length;
          const d = decide({ outcome: status(s, retryAfterMs), attemptsMade: made, scheduleMs, random: r });
          if (d.action !== 'retry') throw new Error(d.action);
          const base = scheduleMs[made]!;
          const jittered = jitter(base, r);
          expect(d.delayMs).toBeGreaterThanOrEqual(jittered);
          expect(d.delayMs).toBeLessThanOrEqual(Math.ceil(Math.max(1.2 * base, 2 * base)));
          // Unless Retry-After raised it, it is the jittered delay itself.
          if (retryAfterMs <= jittered) expect(d.delayMs).toBe(jittered);
          expect(Number.isInteger(d.delayMs)).toBe(true);
        },
      ),
    );
  });

  it('decide is total: any status 0..999, any count, never throws and always decides', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999 }),
        fc.option(fc.double(), { nil: undefined }),
        fc.integer({ min: -5, max: 30 }),
        fc.array(fc.double(), { maxLength: 10 }),
        fc.double(),
        (s, retryAfterMs, attemptsMade, scheduleMs, r) => {
          const d = decide({ outcome: status(s, retryAfterMs), attemptsMade, scheduleMs, random: r });
          expect(['delivered', 'retry', 'dead', 'disable']).toContain(d.action);
          if (d.action === 'retry') {
            expect(Number.isSafeInteger(d.delayMs)).toBe(true);
            expect(d.delayMs).toBeGreaterThanOrEqual(0);
            expect(d.delayMs).toBeLessThanOrEqual(2 * MAX_SCHEDULED_DELAY_MS);
          }
          if (s >= 200 && s <= 299) expect(d.action).toBe('delivered');
          if (s === 410) expect(d.action).toBe('disable');
        },
      ),
    );
  });

  it('parseRetryAfter never throws and gives undefined or a non-negative integer', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.nat().map(String),
          fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
        ),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        (h, now) => {
          const ms = parseRetryAfter(h, now);
          if (ms !== undefined) {
            expect(Number.isInteger(ms)).toBe(true);
            expect(ms).toBeGreaterThanOrEqual(0);
          }
        },
      ),
    );
  });

  it('parseRetryAfter reads back any HTTP-date Date#toUTCString writes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(9999, 11, 31) }),
        fc.integer({ min: 0, max: Date.UTC(1971, 0, 1) }),
        (t, now) => {
          const whole = Math.floor(t / 1000) * 1000;
          expect(parseRetryAfter(new Date(whole).toUTCString(), now)).toBe(whole - now);
        },
      ),
    );
  });
});
