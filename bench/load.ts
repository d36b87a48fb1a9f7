/**
 * The load generator, one process per run (forked by the orchestrator, which sends the job over
 * IPC and gets the result back the same way). Two kinds of load, both start→close cycles over many
 * (bot, user) pairs, so that a pair is never started twice without a close in between (no 409):
 *
 * - `closed`: autocannon, N connections, a fixed number of requests. Each connection runs
 *   [start, close] in turn; the start takes the next idle pair from a FIFO, the close's response
 *   puts it back. Ending on a request count rather than a duration means every connection stops
 *   after an answered close: no request is cut off in flight, every pair is idle afterwards, and
 *   the number of events the server produced is exactly the number of 2xx answers.
 * - `paced`: a steady rate of starts (our own client on a keep-alive agent), each followed by its
 *   close a little later; records when each 200 arrived, for the end-to-end latency scenario.
 */
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';
import { CLOSE_SUFFIX, epochMs, type Percentiles, percentiles, START_SUFFIX, sleep } from './lib/common.js';

export type Pair = readonly [botId: string, userId: string];

interface Target {
  /** e.g. http://127.0.0.1:8080/v1/external-support/prj_… */
  readonly base: string;
  readonly apiKey: string;
  readonly pairs: readonly Pair[];
}

export interface ClosedJob extends Target {
  readonly kind: 'closed';
  readonly connections: number;
  /** Requests in all: a multiple of 2 × connections. */
  readonly amount: number;
  /** Give up (autocannon's own stop) after this long, whatever is left. */
  readonly maxSeconds: number;
}

export interface PacedJob extends Target {
  readonly kind: 'paced';
  readonly startsPerSecond: number;
  readonly seconds: number;
  /** Each close follows its start's 200 by this long. */
  readonly closeAfterMs: number;
}

export type LoadJob = ClosedJob | PacedJob;

export interface ClosedResult {
  readonly kind: 'closed';
  readonly requests: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Record<string, number>;
  readonly elapsedMs: number;
  /** When the run began and when its last answer arrived (epoch ms). */
  readonly startedAt: number;
  readonly lastAnswerAt: number;
  /** Answered requests per second, from the first request to the last answer. */
  readonly rps: number;
  /** Every request, start and close, as autocannon measured them (ms). */
  readonly latency: Percentiles;
  readonly startLatency: Percentiles;
  readonly closeLatency: Percentiles;
}

/** [kind, conversationId, when its 200 arrived (epoch ms)] */
export type AnswerRecord = ['start' | 'close', string, number];

export interface PacedResult {
  readonly kind: 'paced';
  readonly starts: number;
  readonly closes: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  /** Starts not sent because every pair was busy (should be 0). */
  readonly skipped: number;
  readonly achievedStartsPerSecond: number;
  readonly startLatency: Percentiles;
  readonly answers: AnswerRecord[];
}

export type LoadResult = ClosedResult | PacedResult;

const headersOf = (apiKey: string) => ({ 'content-type': 'application/json', 'x-api-key': apiKey });

let ticket = 0;
function startBody(pair: Pair, sentAt?: number): string {
  ticket += 1;
  const metadata = sentAt === undefined ? { ticketId: `T-${ticket}` } : { ticketId: `T-${ticket}`, sentAt };
  return JSON.stringify({ botId: pair[0], userId: pair[1], metadata });
}
const closeBody = (pair: Pair) => JSON.stringify({ botId: pair[0], userId: pair[1] });

/** What autocannon's client exposes at run time beyond its typings: the request just answered. */
interface ClientInternals {
  readonly requestIterator?: { readonly currentRequest?: { readonly path?: string } };
}

async function closedLoad(job: ClosedJob): Promise<ClosedResult> {
  const url = new URL(job.base);
  const free: Pair[] = [...job.pairs];
  const take = (): Pair => {
    const pair = free.shift();
    if (pair === undefined) throw new Error('every pair is busy: give the load more pairs than connections');
    return pair;
  };
  interface Context {
    pair?: Pair;
  }
  const startLat: number[] = [];
  const closeLat: number[] = [];
  let lastAnswer = 0;
  let lastAnswerAt = 0;
  const startedAt = epochMs();
  const started = performance.now();
  let finish: (r: autocannon.Result) => void = () => {};
  let failed: (e: unknown) => void = () => {};
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    failed = reject;
  });
  const instance = autocannon(
    {
      url: url.origin,
      connections: job.connections,
      amount: job.amount,
      duration: job.maxSeconds,
      timeout: 10,
      requests: [
        {
          method: 'POST',
          path: `${url.pathname}${START_SUFFIX}`,
          headers: headersOf(job.apiKey),
          setupRequest: (req, context) => {
            const pair = take();
            (context as Context).pair = pair;
            return { ...req, body: startBody(pair) };
          },
        },
        {
          method: 'POST',
          path: `${url.pathname}${CLOSE_SUFFIX}`,
          headers: headersOf(job.apiKey),
          setupRequest: (req, context) => {
            const pair = (context as Context).pair;
            if (pair === undefined) throw new Error('close without a started pair');
            return { ...req, body: closeBody(pair) };
          },
          onResponse: (_status, _body, context) => {
            const pair = (context as Context).pair;
            if (pair !== undefined) free.push(pair);
          },
        },
      ],
    },
    (err: unknown, result: autocannon.Result) => (err ? failed(err) : finish(result)),
  );
  instance.on('response', (client, _status, _bytes, ms) => {
    lastAnswer = performance.now();
    lastAnswerAt = epochMs();
    const path = (client as unknown as ClientInternals).requestIterator?.currentRequest?.path ?? '';
    (path.endsWith(START_SUFFIX) ? startLat : closeLat).push(ms);
  });
  const result = await done;
  const answered = startLat.length + closeLat.length;
  const elapsedMs = lastAnswer - started;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {}))
    statusCodes[code] = stat.count ?? 0;
  return {
    kind: 'closed',
    requests: answered,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    elapsedMs,
    startedAt,
    lastAnswerAt,
    rps: (answered / elapsedMs) * 1000,
    latency: percentiles([...startLat, ...closeLat]),
    startLatency: percentiles(startLat),
    closeLatency: percentiles(closeLat),
  };
}

async function pacedLoad(job: PacedJob): Promise<PacedResult> {
  const url = new URL(job.base);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const free: Pair[] = [...job.pairs];
  const answers: AnswerRecord[] = [];
  const startLat: number[] = [];
  let starts = 0;
  let closes = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let skipped = 0;
  let pending = 0;

  const post = (suffix: string, body: string): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: `${url.pathname}${suffix}`,
          method: 'POST',
          agent,
          headers: { ...headersOf(job.apiKey), 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const conversationIdOf = (text: string): string =>
    (JSON.parse(text) as { data?: { conversationId?: string } }).data?.conversationId ?? '';

  const close = async (pair: Pair): Promise<void> => {
    try {
      closes += 1;
      const res = await post(CLOSE_SUFFIX, closeBody(pair));
      const at = epochMs();
      if (res.status >= 200 && res.status < 300) {
        ok += 1;
        answers.push(['close', conversationIdOf(res.text), at]);
      } else non2xx += 1;
    } catch {
      errors += 1;
    } finally {
      free.push(pair);
      pending -= 1;
    }
  };

  const start = async (pair: Pair): Promise<void> => {
    const sent = performance.now();
    let started = false;
    try {
      starts += 1;
      const res = await post(START_SUFFIX, startBody(pair, epochMs()));
      const at = epochMs();
      startLat.push(performance.now() - sent);
      if (res.status >= 200 && res.status < 300) {
        ok += 1;
        started = true;
        answers.push(['start', conversationIdOf(res.text), at]);
      } else non2xx += 1;
    } catch {
      errors += 1;
    }
    if (started) {
      setTimeout(() => void close(pair), job.closeAfterMs);
    } else {
      free.push(pair);
      pending -= 1;
    }
  };

  const t0 = performance.now();
  const total = Math.round(job.startsPerSecond * job.seconds);
  let issued = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * job.startsPerSecond));
      while (issued < due) {
        issued += 1;
        const pair = free.shift();
        if (pair === undefined) {
          skipped += 1;
          continue;
        }
        pending += 1;
        void start(pair);
      }
      if (issued >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  const issuingMs = performance.now() - t0;
  while (pending > 0) await sleep(5);
  agent.destroy();
  return {
    kind: 'paced',
    starts,
    closes,
    ok,
    non2xx,
    errors,
    skipped,
    achievedStartsPerSecond: (starts / issuingMs) * 1000,
    startLatency: percentiles(startLat),
    answers,
  };
}

process.once('message', (job: LoadJob) => {
  const run = job.kind === 'closed' ? closedLoad(job) : pacedLoad(job);
  run.then(
    (result) => process.send?.(result, () => process.exit(0)),
    (e: unknown) => {
      process.stderr.write(`load: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
});
