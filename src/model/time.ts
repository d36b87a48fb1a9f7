/** Times as the API reads them: ISO-8601 text to epoch milliseconds. */

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * An instant in ISO-8601: a calendar date (midnight UTC) or a date and time with an explicit
 * zone. A time without a zone is refused rather than read in the server's zone, which the
 * caller cannot know. Returns epoch milliseconds, or undefined when the text is not one.
 */
export function parseInstant(text: string): number | undefined {
  const m = DATE_ONLY.exec(text) ?? DATE_TIME.exec(text);
  if (m === null) return undefined;
  // A date alone has no time groups: the defaults make it midnight UTC.
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone = 'Z'] = m;
  const year = Number(y);
  const month = Number(mo) - 1;
  const day = Number(d);
  const local = Date.UTC(year, month, day, Number(h), Number(mi), Number(s));
  const back = new Date(local);
  // Date.UTC rolls 30 February into March and 25:00 into the next day: such a date is a typo.
  if (
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== month ||
    back.getUTCDate() !== day ||
    back.getUTCHours() !== Number(h) ||
    back.getUTCMinutes() !== Number(mi) ||
    back.getUTCSeconds() !== Number(s)
  ) {
    return undefined;
  }
  let offsetMs = 0;
  if (zone.toUpperCase() !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    offsetMs = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  // Stored times are whole milliseconds; finer digits are dropped.
  const ms = frac === '' ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));
  return local + ms - offsetMs;
}
