/**
 * Small pieces shared by the benchmark's processes: a wall clock with sub-millisecond resolution
 * that agrees across processes of one machine, percentiles, and plain HTTP calls.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

/** Milliseconds since the epoch, with microseconds: comparable between processes of one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Busy and total CPU time of the whole machine so far (Linux /proc/stat), in clock ticks. */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const first = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const t = first.trim().split(/\s+/).slice(1).map(Number);
    const total = t.reduce((a, b) => a + b, 0);
    // idle and iowait are the 4th and 5th numbers.
    return { busy: total - (t[3] ?? 0) - (t[4] ?? 0), total };
  } catch {
    return undefined;
  }
}

/**
 * Waits until the machine is nearly idle (under `threshold` of all cores busy over 250 ms), at
 * most `maxMs`: a server measured right after another one must not share the cores with what
 * the other still has to do (a PostgreSQL server writing its checkpoint, a backlog still going
 * out). Returns how long it waited. Elsewhere than Linux, it does not wait.
 */
export async function settle(threshold = 0.15, maxMs = 15_000): Promise<number> {
  const began = performance.now();
  while (performance.now() - began < maxMs) {
    const a = machineTicks();
    await sleep(250);
    const b = machineTicks();
    if (a === undefined || b === undefined || b.total === a.total) break;
    if ((b.busy - a.busy) / (b.total - a.total) < threshold) break;
  }
  return performance.now() - began;
}

/** The p-th percentile (0..100) of already sorted values, nearest-rank; NaN when empty. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export function percentiles(values: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
  };
}

export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = Math.floor(finite.length / 2);
  return finite.length % 2 === 1
    ? (finite[mid] as number)
    : ((finite[mid - 1] as number) + (finite[mid] as number)) / 2;
}

export const round = (v: number, digits = 2): number =>
  Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : v;

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** One HTTP request on a fresh connection; the body is sent as JSON when given. */
export function httpCall(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        headers: {
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          ...headers,
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** An HTTP call that must answer 2xx; its body parsed as JSON. */
export async function httpJson<T>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const answer = await httpCall(method, url, body, headers);
  if (answer.status < 200 || answer.status > 299) {
    throw new Error(`${method} ${url} answered ${answer.status}: ${answer.body.slice(0, 500)}`);
  }
  return JSON.parse(answer.body) as T;
}

/** The success envelope of the API (docs/api.md §3), written in the documented key order. */
export function successEnvelope(message: string, data: unknown): string {
  return `{"message":${JSON.stringify([message])},"statusMessage":"success","status":1,"data":${JSON.stringify(data)}}`;
}

/** The route suffixes of the two calls a load cycle makes. */
export const START_SUFFIX = '/conversations/start';
export const CLOSE_SUFFIX = '/conversations/close';
