/**
 * What to do after one delivery attempt (docs/webhooks.md, "What your answer means" and
 * "Retries"), as a pure function: no clock, no randomness of its own. The worker passes the
 * time and a random number in, so every branch is testable with fixed inputs.
 */

export type AttemptOutcome =
  | { kind: 'response'; status: number; retryAfterMs?: number | undefined }
  | { kind: 'timeout' }
  /** Connection refused or reset, DNS failure, TLS error… `code` is Node's error code. */
  | { kind: 'network'; code: string }
  /** The network policy refused the resolved address at connect time (DNS rebinding). */
  | { kind: 'refused'; reason: string };

export type Decision =
  | { action: 'delivered' }
  | { action: 'retry'; delayMs: number; countsTowardDisable: boolean }
  /** Dead letter: every scheduled attempt was used; the event stays in the log for replay. */
  | { action: 'dead' }
  /** 410 Gone: disable the integration. The event is not failed: it stays pending and waits. */
  | { action: 'disable' };

/**
 * "An integration whose every attempt has failed for 5 days is disabled" (docs/webhooks.md,
 * "Retries"; Svix uses the same 5 days). 5 × 24 × 3600 × 1000 = 432 000 000 ms. One event's
 * default schedule spans ≈ 27 h, so the rule needs failures across several events' schedules
 * with no success in between: a receiver down over a weekend is not disabled by one dead letter.
 */
export const DISABLE_AFTER_FAILING_MS = 5 * 24 * 3600 * 1000;

/** ±20 %, as in the schedule of docs/webhooks.md: spreads the retries of a burst that failed together. */
const JITTER_LOW = 0.8;
const JITTER_SPAN = 0.4;

/**
 * A Retry-After may raise the scheduled delay to at most this many times that delay. Twice is
 * enough for a receiver that knows it needs a little longer (a deploy, a rate-limit window),
 * and it bounds the damage of a wrong header: at the 10 h step a `Retry-After: 31536000`
 * (a year) parks the event for 20 h at most, not a year.
 */
const RETRY_AFTER_MAX_FACTOR = 2;

/**
 * A scheduled delay longer than 30 days is read as 30 days. The default schedule's longest step
 * is 10 h; a month already holds the event (and every later event of its room, which waits
 * behind it) far past the 5-day disable rule. The cap also keeps every delay, doubled and
 * jittered, a safe integer whatever the configuration says (1e308 × 1.2 is Infinity).
 */
export const MAX_SCHEDULED_DELAY_MS = 30 * 24 * 3600 * 1000;

/** `delayMs * (0.8 + 0.4 * random)`, rounded to whole milliseconds; 5 000 ms → 4 000..6 000. */
export function jitter(delayMs: number, random: number): number {
  if (!(delayMs > 0) || !Number.isFinite(delayMs)) return 0;
  const r = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0.5;
  return Math.round(delayMs * (JITTER_LOW + JITTER_SPAN * r));
}

/**
 * 2xx is the only success. 410 is the receiver saying the endpoint is gone for good. Every
 * other answer is a failure worth retrying:
 * - 408, 429, 5xx: the receiver is overloaded or restarting;
 * - 3xx: redirects are never followed (a redirect to an internal address would bypass the
 *   network policy), yet the panel may fix its URL, so it is a failure, not a verdict;
 * - other 4xx: the panel may be mid-deploy, with routes or auth briefly wrong;
 * - 1xx as a final status, or anything outside 100..599: a broken server, a failure.
 */
function classify(status: number): 'delivered' | 'disable' | 'failed' {
  if (!Number.isInteger(status)) return 'failed';
  if (status >= 200 && status <= 299) return 'delivered';
  if (status === 410) return 'disable';
  return 'failed';
}

function nonNegativeMs(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * The decision after an attempt. `attemptsMade` counts the attempts made so far, this one
 * included; `scheduleMs[i]` is the delay before attempt i + 1, so the schedule allows
 * `scheduleMs.length` attempts (8 by default) and, after `attemptsMade` failures, the next
 * attempt waits `scheduleMs[attemptsMade]` with jitter. `random` is in [0, 1).
 */
export function decide(input: {
  outcome: AttemptOutcome;
  attemptsMade: number;
  scheduleMs: readonly number[];
  random: number;
}): Decision {
  const { outcome, scheduleMs, random } = input;

  // Success and 410 are verdicts on this attempt whatever the count: a 410 on the last attempt
  // still disables the integration rather than dead-lettering the event, so the event is
  // sent once the integration is updated (docs/webhooks.md, "Retries").
  if (outcome.kind === 'response') {
    const verdict = classify(outcome.status);
    if (verdict === 'delivered') return { action: 'delivered' };
    if (verdict === 'disable') return { action: 'disable' };
  }

  // A count that is not a whole number is a caller's bug; stopping (dead letter, replayable)
  // is safer than a retry loop with an unknown position in the schedule.
  const made = input.attemptsMade;
  if (!Number.isSafeInteger(made) || made < 0 || made >= scheduleMs.length) return { action: 'dead' };

  // NaN or negative entries (a configuration bug) mean no wait; Infinity means the longest.
  const entry = scheduleMs[made] ?? 0;
  const scheduled = entry >= 0 ? Math.min(entry, MAX_SCHEDULED_DELAY_MS) : 0;
  let delayMs = jitter(scheduled, random);

  // Retry-After is honoured whatever the status that sends it (429 and 503 usually), but only
  // to lengthen the wait and only up to twice the scheduled delay: asking for less than the
  // schedule does not hurry us (the schedule already is the receiver's breathing room), and
  // the cap keeps a bad header from parking an event — and every later event of its room,
  // which waits behind it — for days.
  if (outcome.kind === 'response') {
    const asked = nonNegativeMs(outcome.retryAfterMs);
    if (asked !== undefined) {
      delayMs = Math.max(delayMs, Math.round(Math.min(asked, RETRY_AFTER_MAX_FACTOR * scheduled)));
    }
  }

  // Every failure counts toward the 5-day rule (DISABLE_AFTER_FAILING_MS), including 3xx,
  // other 4xx and refusals by the network policy: an endpoint that has answered nothing but
  // failures for 5 days is disabled whatever the reason. The flag stays in the decision so a
  // future policy can exempt a kind without changing the worker.
  return { action: 'retry', delayMs, countsTowardDisable: true };
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// RFC 9110 §5.6.7: IMF-fixdate, and the two obsolete forms a recipient must still accept.
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i');
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`, 'i');
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`, 'i');

function utc(year: number, month: string, day: string, h: string, m: string, s: string): number | undefined {
  const mon = MONTHS.indexOf(month.toLowerCase());
  const d = Number(day.trim());
  const hh = Number(h);
  const mm = Number(m);
  // 60 allows a leap second; it is read as 59 so the date stays valid.
  const ss = Math.min(Number(s), 59);
  if (mon < 0 || hh > 23 || mm > 59 || Number(s) > 60) return undefined;
  const t = Date.UTC(year, mon, d, hh, mm, ss);
  const check = new Date(t);
  // Date.UTC rolls "31 Feb" over into March; a date that does not round-trip is garbage.
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== mon || check.getUTCDate() !== d) {
    return undefined;
  }
  return t;
}

function parseHttpDate(value: string, nowMs: number): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m) return utc(Number(m[3]), m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  m = ASCTIME_DATE.exec(value);
  if (m) return utc(Number(m[6]), m[1]!, m[2]!, m[3]!, m[4]!, m[5]!);
  m = RFC850_DATE.exec(value);
  if (m) {
    // Two-digit year: RFC 9110 says a year more than 50 years in the future is in the past.
    const yy = Number(m[3]);
    const thisYear = new Date(nowMs).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + yy;
    if (year > thisYear + 50) year -= 100;
    return utc(year, m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  }
  return undefined;
}

/**
 * `Retry-After` (RFC 9110 §10.2.3) as milliseconds from `nowMs`, never negative:
 * delta-seconds (`120`) or an HTTP-date (a date already past gives 0). Anything else —
 * negative or fractional numbers, free text, an impossible date — gives undefined and the
 * schedule alone decides. Date.parse is not used: it accepts "1" or "2024" as dates.
 *
 * A header sent twice arrives as an array; the first one wins, as Node's own HTTP parser
 * keeps the first `retry-after` and discards duplicates.
 */
export function parseRetryAfter(header: string | string[] | undefined, nowMs: number): number | undefined {
  const raw = Array.isArray(header) ? header[0] : header;
  if (typeof raw !== 'string') return undefined;
  const value = raw.trim();
  if (/^\d+$/.test(value)) {
    // A huge delta is still "later": cap it to a safe integer; decide() clamps it anyway.
    return Math.min(Number(value) * 1000, Number.MAX_SAFE_INTEGER);
  }
  if (!Number.isFinite(nowMs)) return undefined;
  const at = parseHttpDate(value, nowMs);
  if (at === undefined || !Number.isFinite(at)) return undefined;
  return Math.max(0, at - nowMs);
}
