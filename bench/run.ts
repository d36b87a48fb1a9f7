/**
 * `npm run bench` / `npm run bench:quick`: where relevo stands against the physical limit of this
 * machine. Builds relevo, then for each scenario runs relevo (`relevo serve`, SQLite, and
 * PostgreSQL when its binaries are installed) and the matching baseline in the same run, with
 * load from a separate process, rounds alternating baseline and relevo. Prints a table, writes
 * bench/results/<timestamp>.json, and says which targets of the performance issue pass.
 *
 *   node dist-bench/bench/run.js [--quick] [--rounds N] [--seconds S] [--seed N] [--no-pg] [--only a,b,c,d]
 *     [--ref <commit>] [--relevo <another build's cli/main.js>] [--against <another build's cli/main.js>]
 *     [--env KEY=VALUE …] [--e2e-rate N]
 *
 * By default the working tree is built into dist/ and measured; --ref measures a commit instead
 * (exported and built under dist-bench/), --relevo an existing build (an experiment), and --env
 * passes settings to every relevo process. --against runs another build on PostgreSQL in the
 * same rounds of (a) and (b), as one more row: two builds compared on one state of a noisy machine.
 *
 * Scenarios: (a) ingest, start→close cycles without a webhook, vs the bare server (with a floor,
 * not judged: relevo's own domain and store behind bare node:http, bench/store-server.ts); (b) pipeline,
 * the same with every event delivered to a receiver, vs the bare forwarder; (c) end-to-end delivery
 * latency at a steady 1,000 starts/s; (d) start latency with a million conversations stored vs an
 * empty database; (e) peak RSS of relevo during (b).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { freePort } from '../test/helpers/spawned-server.js';
import { type Cluster, findPostgresBin, startCluster } from '../test/setup/postgres-cluster.js';
import { httpJson, median, type Percentiles, percentiles, round, settle, sleep } from './lib/common.js';
import { type Backend, CONNECTIONS, E2E_STARTS_PER_SECOND_DEFAULT, STORE_FLOOR } from './lib/constants.js';
import {
  cpuMsOf,
  killAll,
  memoryOf,
  migrateRelevo,
  RELEVO_CLI,
  ROOT,
  type Running,
  type RunningRelevo,
  runLoad,
  startHelper,
  startRelevo,
  useRelevoCli,
} from './lib/processes.js';
import { type SeedCounts, seedPostgres, seedSqlite } from './lib/seed.js';
import { type BenchProject, createBenchProject } from './lib/setup.js';
import type { ClosedResult, PacedResult, Pair } from './load.js';
import type { ArrivalRecord, ReceiverStats } from './receiver.js';
import { type Json, report } from './report.js';

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/** Each close of the end-to-end scenario follows its start's 200 by this long. */
const E2E_CLOSE_AFTER_MS = 100;

// A reader that stops early (`| head`, `| grep -m1`) closes the pipe: the write's EPIPE must not
// end the process before its cleanup has stopped the PostgreSQL cluster and relevo.
process.stdout.on('error', () => undefined);

const { values: argv } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    seed: { type: 'string' },
    'no-pg': { type: 'boolean', default: false },
    only: { type: 'string' },
    relevo: { type: 'string' },
    ref: { type: 'string' },
    against: { type: 'string' },
    env: { type: 'string', multiple: true },
    'e2e-rate': { type: 'string' },
  },
});
/** Starts per second in (c); each start's close follows, so twice as many requests and events. */
const E2E_STARTS_PER_SECOND = Number(argv['e2e-rate'] ?? E2E_STARTS_PER_SECOND_DEFAULT);
if (argv.relevo !== undefined) useRelevoCli(argv.relevo);
/**
 * `--against <another build's cli/main.js>`: (a), (b) and (c) also run that build on PostgreSQL,
 * as a row of the same rounds (`relevo postgres, against`), so two builds compare on one machine
 * state.
 */
const AGAINST = argv.against === undefined ? undefined : resolve(argv.against);
const AGAINST_LABEL = 'relevo postgres, against';
/** Extra environment for every relevo process (`--env RELEVO_SQLITE_SYNCHRONOUS=full`). */
const RELEVO_ENV: Record<string, string> = Object.fromEntries(
  (argv.env ?? []).map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--env ${kv}: write KEY=VALUE`);
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  }),
);

const QUICK = argv.quick === true;
const OPTIONS = {
  mode: QUICK ? 'quick' : 'full',
  rounds: Number(argv.rounds ?? (QUICK ? 1 : 3)),
  /** Length of each measured load run. */
  measureSeconds: Number(argv.seconds ?? (QUICK ? 2 : 10)),
  /** Warm-up of each server before its first measured run. */
  warmSeconds: QUICK ? 0.5 : 3,
  /** Conversations stored before scenario (d). */
  seedConversations: Number(argv.seed ?? (QUICK ? 100_000 : 1_000_000)),
  /** Scenarios (c) and (d) on PostgreSQL too (full mode only: they take a while there). */
  bigDbOnPostgres: !QUICK,
  e2eOnPostgres: !QUICK,
  bots: 4,
  usersPerBot: QUICK ? 128 : 256,
  connections: CONNECTIONS,
  scenarios: new Set((argv.only ?? 'a,b,c,d').split(',').map((s) => s.trim())),
};

const log = (text: string) =>
  process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(1)}s] ${text}\n`);
const T0 = performance.now();

// ---------------------------------------------------------------------------------------------
// Targets under load
// ---------------------------------------------------------------------------------------------

interface LoadTarget {
  readonly label: string;
  readonly server: Running;
  readonly base: string;
  readonly apiKey: string;
  readonly pairs: Pair[];
  /** Latest measured requests/s: sizes the next run. */
  rate: number;
}

interface RunFigures {
  readonly requests: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly startP50: number;
  readonly startP99: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly seconds: number;
  /** CPU time of the server process per answered request (µs). */
  readonly cpuUsPerRequest: number;
  /** relevo on PostgreSQL: the PostgreSQL server's CPU time per answered request (µs). */
  readonly dbCpuUsPerRequest?: number;
}

interface PipelineFigures extends RunFigures {
  /** Events (or forwards) the receiver had to get: one per 2xx answer. */
  readonly expected: number;
  readonly received: number;
  readonly lost: number;
  readonly duplicates: number;
  /** From the last answer of the load to the last arrival at the receiver (ms). */
  readonly drainMs: number;
  /** Events delivered per second, from the first request to the last arrival. */
  readonly deliveredPerSecond: number;
}

function figuresOf(r: ClosedResult, cpuMs: number, dbCpuMs?: number): RunFigures {
  return {
    ...(dbCpuMs === undefined
      ? {}
      : { dbCpuUsPerRequest: round((dbCpuMs * 1000) / Math.max(1, r.requests), 0) }),
    requests: r.requests,
    rps: round(r.rps, 0),
    p50: round(r.latency.p50),
    p99: round(r.latency.p99),
    startP50: round(r.startLatency.p50),
    startP99: round(r.startLatency.p99),
    non2xx: r.non2xx,
    errors: r.errors,
    seconds: round(r.elapsedMs / 1000),
    cpuUsPerRequest: round((cpuMs * 1000) / Math.max(1, r.requests), 0),
  };
}

/** A request count lasting about `seconds` at `rate`, a whole number of cycles per connection. */
function amountFor(rate: number, seconds: number): number {
  const cycle = 2 * CONNECTIONS;
  return Math.max(cycle * 4, Math.round((rate * seconds) / cycle) * cycle);
}

/** Before every measured run: the machine settles first (lib/common.ts, `settle`). */
async function settled(label: string): Promise<void> {
  const waited = await settle();
  if (waited > 1_000) log(`  waited ${round(waited / 1000, 1)} s for the machine to settle before ${label}`);
}

/** The cluster's CPU counts only for a relevo on PostgreSQL: nothing else uses it during a run. */
function dbCpuMs(t: LoadTarget): number | undefined {
  return cluster !== undefined && t.label.includes('postgres') ? cluster.cpuMs() : undefined;
}

async function closedRun(
  t: LoadTarget,
  seconds: number,
): Promise<{ result: ClosedResult; cpuMs: number; dbCpuMs?: number }> {
  await settled(t.label);
  const cpuBefore = cpuMsOf(t.server.pid);
  const dbBefore = dbCpuMs(t);
  const result = await runLoad<ClosedResult>({
    kind: 'closed',
    base: t.base,
    apiKey: t.apiKey,
    pairs: t.pairs,
    connections: CONNECTIONS,
    amount: amountFor(t.rate, seconds),
    maxSeconds: Math.ceil(seconds * 4 + 10),
  });
  const cpuMs = cpuMsOf(t.server.pid) - cpuBefore;
  const dbAfter = dbCpuMs(t);
  const db = dbBefore === undefined || dbAfter === undefined ? {} : { dbCpuMs: dbAfter - dbBefore };
  if (result.non2xx > 0 || result.errors > 0) {
    log(
      `  ${t.label}: ${result.non2xx} non-2xx, ${result.errors} errors (${JSON.stringify(result.statusCodes)})`,
    );
  }
  t.rate = result.rps;
  return { result, cpuMs, ...db };
}

// ---------------------------------------------------------------------------------------------
// The receiver
// ---------------------------------------------------------------------------------------------

let receiver: Running | undefined;
function receiverUrl(): string {
  if (receiver === undefined) throw new Error('the receiver is not running');
  return receiver.url;
}
const hookUrl = () => `${receiverUrl()}/hook`;

async function resetReceiver(record = false): Promise<void> {
  await httpJson('POST', `${receiverUrl()}/_reset`, { record });
}

const receiverStats = () => httpJson<ReceiverStats>('GET', `${receiverUrl()}/_stats`);

/** Waits until the receiver has `expected` distinct deliveries, or nothing new came for `idleMs`. */
async function drain(expected: number, idleMs = 20_000): Promise<ReceiverStats> {
  let stats = await receiverStats();
  let lastProgress = performance.now();
  let lastUnique = stats.unique;
  while (stats.unique < expected) {
    await sleep(stats.unique === lastUnique ? 20 : 5);
    stats = await receiverStats();
    if (stats.unique !== lastUnique) {
      lastUnique = stats.unique;
      lastProgress = performance.now();
    } else if (performance.now() - lastProgress > idleMs) {
      break;
    }
  }
  // Late extras (duplicates) would show up here.
  await sleep(50);
  return receiverStats();
}

async function pipelineRun(t: LoadTarget, seconds: number): Promise<PipelineFigures> {
  await resetReceiver();
  const { result, cpuMs, dbCpuMs: db } = await closedRun(t, seconds);
  const stats = await drain(result.ok);
  const lost = Math.max(0, result.ok - stats.unique);
  if (lost > 0) log(`  ${t.label}: ${lost} of ${result.ok} deliveries missing after the drain`);
  const lastArrival = Math.max(stats.lastArrival, result.lastAnswerAt);
  return {
    ...figuresOf(result, cpuMs, db),
    expected: result.ok,
    received: stats.unique,
    lost,
    duplicates: stats.total - stats.unique,
    drainMs: round(Math.max(0, stats.lastArrival - result.lastAnswerAt), 1),
    deliveredPerSecond: round((stats.unique / (lastArrival - result.startedAt)) * 1000, 0),
  };
}

/** A short run to warm the JIT and learn the rate, then one sized to the rest of the warm-up. */
async function warm(t: LoadTarget, pipeline: boolean): Promise<void> {
  const probe = (seconds: number) => (pipeline ? pipelineRun(t, seconds) : closedRun(t, seconds));
  t.rate = 1;
  await probe(0);
  await probe(OPTIONS.warmSeconds);
}

// ---------------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------------

const tempDirs: string[] = [];
let cluster: Cluster | undefined;
let databases = 0;

async function databaseUrl(backend: Backend, label: string): Promise<string> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(os.tmpdir(), `relevo-bench-${label}-`));
    tempDirs.push(dir);
    return `sqlite:${join(dir, 'relevo.db')}`;
  }
  if (cluster === undefined) throw new Error('no PostgreSQL cluster');
  databases += 1;
  const name = `bench_${label.replace(/\W/g, '_')}_${databases}`;
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return cluster.urlOf(name);
}

interface RelevoTarget extends LoadTarget {
  readonly server: RunningRelevo;
  readonly project: BenchProject;
  readonly databaseUrl: string;
}

async function relevoTarget(
  backend: Backend,
  label: string,
  webhookUrl?: string,
  existingUrl?: string,
  env: Readonly<Record<string, string>> = {},
  cli?: string,
): Promise<RelevoTarget> {
  const url = existingUrl ?? (await databaseUrl(backend, label));
  const server = await startRelevo({
    name: `relevo ${backend} ${label}`,
    databaseUrl: url,
    env: { ...RELEVO_ENV, ...env },
    ...(cli === undefined ? {} : { cli }),
  });
  const project = await createBenchProject(server, {
    bots: OPTIONS.bots,
    usersPerBot: OPTIONS.usersPerBot,
    webhookUrl,
  });
  return {
    label: `relevo ${backend}`,
    server,
    base: project.base,
    apiKey: project.apiKey,
    pairs: project.pairs,
    rate: 3_000,
    project,
    databaseUrl: url,
  };
}

/** The `--against` build on PostgreSQL, when asked for and PostgreSQL runs. */
async function againstTargets(label: string, webhookUrl?: string): Promise<RelevoTarget[]> {
  if (AGAINST === undefined || cluster === undefined) return [];
  const t = await relevoTarget('postgres', `${label}-against`, webhookUrl, undefined, {}, AGAINST);
  return [{ ...t, label: AGAINST_LABEL }];
}

/** The label of (b)'s row with metrics on: SQLite, against the `relevo sqlite` row of the same rounds. */
const METRICS_ON = 'relevo sqlite, metrics on';
/** How often that row's metrics are scraped: every second, four times a busy Prometheus's 15 s. */
const METRICS_SCRAPE_MS = 1_000;

/**
 * relevo on SQLite with RELEVO_METRICS_ADDR set, scraped every METRICS_SCRAPE_MS for as long as it
 * runs (so the gauges' query is paid too): its row against `relevo sqlite` is what metrics cost
 * (docs/performance.md, "Metrics on and off").
 */
async function metricsOnTarget(webhookUrl: string): Promise<RelevoTarget> {
  const port = await freePort();
  const t = await relevoTarget('sqlite', 'pipeline-metrics', webhookUrl, undefined, {
    RELEVO_METRICS_ADDR: `127.0.0.1:${port}`,
  });
  const scrapes = { ok: 0, failed: 0 };
  const timer = setInterval(() => {
    fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })
      .then(async (r) => {
        await r.text();
        scrapes[r.ok ? 'ok' : 'failed'] += 1;
      })
      .catch(() => {
        scrapes.failed += 1;
      });
  }, METRICS_SCRAPE_MS);
  const stop = async () => {
    clearInterval(timer);
    log(`  ${METRICS_ON}: ${scrapes.ok} scrapes answered, ${scrapes.failed} failed`);
    await t.server.stop();
  };
  return { ...t, label: METRICS_ON, server: { ...t.server, stop } };
}

/** (a)'s floor: what storing a start or a close costs without relevo's HTTP stack; not judged. */
async function storeFloorTarget(): Promise<LoadTarget> {
  const url = await databaseUrl('sqlite', 'store');
  const server = await startHelper(STORE_FLOOR, 'store-server.js', [
    dirname(dirname(RELEVO_CLI)),
    url.slice('sqlite:'.length),
    String(OPTIONS.usersPerBot),
  ]);
  const setup = await httpJson<{ projectId: string; pairs: Pair[] }>('GET', `${server.url}/setup`);
  return {
    label: STORE_FLOOR,
    server,
    base: `${server.url}/v1/external-support/${setup.projectId}`,
    apiKey: 'none',
    pairs: setup.pairs,
    rate: 5_000,
  };
}

/** Pairs for a baseline: any ids will do, the same count as relevo's. */
function baselinePairs(): Pair[] {
  const pairs: Pair[] = [];
  for (let u = 0; u < OPTIONS.usersPerBot; u++)
    for (let b = 0; b < OPTIONS.bots; b++) pairs.push([`bot_${b}`, `usr_${u}`]);
  return pairs;
}

async function baselineTarget(kind: 'bare' | 'forward'): Promise<LoadTarget> {
  const server = await startHelper(
    kind === 'bare' ? 'bare server' : 'bare forwarder',
    'baseline.js',
    kind === 'bare' ? ['bare'] : ['forward', hookUrl()],
  );
  return {
    label: kind === 'bare' ? 'bare node:http' : 'bare forwarder',
    server,
    base: `${server.url}/v1/external-support/prj_bench`,
    apiKey: 'none',
    pairs: baselinePairs(),
    rate: 10_000,
  };
}

function backends(): Backend[] {
  return cluster === undefined ? ['sqlite'] : ['sqlite', 'postgres'];
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

interface Summary {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly startP50: number;
  readonly startP99: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly cpuUsPerRequest: number;
  /** relevo on PostgreSQL: the PostgreSQL server's CPU per request (median over rounds). */
  readonly dbCpuUsPerRequest?: number;
  /** Median over rounds of this server's req/s over the baseline's in the same round. */
  readonly ratio?: number;
}

const med = <T>(rows: T[], f: (t: T) => number) => round(median(rows.map(f)));

function summarizeRuns(runs: RunFigures[], baseline?: RunFigures[]): Summary {
  return {
    rps: med(runs, (r) => r.rps),
    p50: med(runs, (r) => r.p50),
    p99: med(runs, (r) => r.p99),
    startP50: med(runs, (r) => r.startP50),
    startP99: med(runs, (r) => r.startP99),
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    cpuUsPerRequest: med(runs, (r) => r.cpuUsPerRequest),
    ...(runs.every((r) => r.dbCpuUsPerRequest !== undefined)
      ? { dbCpuUsPerRequest: med(runs, (r) => r.dbCpuUsPerRequest ?? Number.NaN) }
      : {}),
    ...(baseline === undefined
      ? {}
      : { ratio: round(median(runs.map((r, i) => r.rps / (baseline[i]?.rps ?? Number.NaN))), 3) }),
  };
}

interface ComparisonResult<F extends RunFigures> {
  readonly rounds: Array<Record<string, F>>;
  readonly summary: Record<string, Summary & Record<string, number>>;
}

/**
 * The targets of round `r`, in order: the `--against` row swaps places with `relevo postgres`
 * every other round, so that neither build always runs right after the other.
 */
function inRoundOrder(all: LoadTarget[], r: number): LoadTarget[] {
  const own = all.findIndex((t) => t.label === 'relevo postgres');
  const other = all.findIndex((t) => t.label === AGAINST_LABEL);
  if (r % 2 === 0 || own < 0 || other < 0) return all;
  const order = [...all];
  [order[own], order[other]] = [all[other] as LoadTarget, all[own] as LoadTarget];
  return order;
}

/** Warm-up, then rounds alternating the baseline and each relevo; stops every server at the end. */
async function compare<F extends RunFigures>(
  baseline: LoadTarget,
  relevos: LoadTarget[],
  run: (t: LoadTarget, seconds: number) => Promise<F>,
  pipeline: boolean,
): Promise<ComparisonResult<F>> {
  const all = [baseline, ...relevos];
  for (const t of all) {
    log(`  warming up ${t.label}`);
    await warm(t, pipeline);
  }
  const rounds: Array<Record<string, F>> = [];
  for (let r = 0; r < OPTIONS.rounds; r++) {
    const row: Record<string, F> = {};
    for (const t of inRoundOrder(all, r)) {
      const figures = await run(t, OPTIONS.measureSeconds);
      row[t.label] = figures;
      log(`  round ${r + 1}: ${t.label} ${figures.rps} req/s, p50 ${figures.p50} ms, p99 ${figures.p99} ms`);
    }
    rounds.push(row);
  }
  const summary: Record<string, Summary & Record<string, number>> = {};
  const baseRuns = rounds.map((row) => row[baseline.label] as F);
  summary[baseline.label] = summarizeRuns(baseRuns) as Summary & Record<string, number>;
  for (const t of relevos) {
    summary[t.label] = summarizeRuns(
      rounds.map((row) => row[t.label] as F),
      baseRuns,
    ) as Summary & Record<string, number>;
  }
  return { rounds, summary };
}

async function scenarioIngest() {
  log('(a) ingest: start→close cycles, no webhook, vs the bare node:http server');
  const baseline = await baselineTarget('bare');
  const relevos: LoadTarget[] = [];
  try {
    relevos.push(await storeFloorTarget());
    relevos.push(...(await Promise.all(backends().map((b) => relevoTarget(b, 'ingest')))));
    relevos.push(...(await againstTargets('ingest')));
    return await compare(
      baseline,
      relevos,
      async (t, s) => {
        const { result, cpuMs, dbCpuMs: db } = await closedRun(t, s);
        return figuresOf(result, cpuMs, db);
      },
      false,
    );
  } finally {
    await Promise.all([baseline, ...relevos].map((t) => t.server.stop()));
  }
}

/** (b) and (e); `keep` leaves relevo running (warm, webhook set) for (c). */
async function scenarioPipeline(keep: (relevos: RelevoTarget[]) => void) {
  log(
    '(b) pipeline: the same with every event delivered to the receiver, vs the bare forwarder; (e) peak RSS',
  );
  const baseline = await baselineTarget('forward');
  const own = await Promise.all(backends().map((b) => relevoTarget(b, 'pipeline', hookUrl())));
  // The other build is compared here and in (a) only: (c) runs the build measured.
  const against = await againstTargets('pipeline', hookUrl());
  const relevos = [...own, ...against];
  const metricsOn = await metricsOnTarget(hookUrl());
  let kept = false;
  try {
    const result = await compare(baseline, [...relevos, metricsOn], pipelineRun, true);
    const pipelineSummary: Record<string, unknown> = {};
    for (const [label, s] of Object.entries(result.summary)) {
      const runs = result.rounds.map((row) => row[label] as PipelineFigures);
      pipelineSummary[label] = {
        ...s,
        lost: runs.reduce((n, r) => n + r.lost, 0),
        expected: runs.reduce((n, r) => n + r.expected, 0),
        duplicates: runs.reduce((n, r) => n + r.duplicates, 0),
        drainMs: med(runs, (r) => r.drainMs),
        deliveredPerSecond: med(runs, (r) => r.deliveredPerSecond),
      };
    }
    const rss: Record<string, { peakMiB: number; rssMiB: number }> = {};
    for (const t of [...relevos, metricsOn]) {
      const m = memoryOf(t.server.pid);
      rss[t.label] = { peakMiB: round(m.peakMiB, 1), rssMiB: round(m.rssMiB, 1) };
    }
    keep(own);
    kept = true;
    return { rounds: result.rounds, summary: pipelineSummary, rss };
  } finally {
    await Promise.all([baseline, metricsOn, ...against, ...(kept ? [] : own)].map((t) => t.server.stop()));
  }
}

interface E2eFigures {
  readonly starts: number;
  readonly achievedStartsPerSecond: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly skipped: number;
  readonly lost: number;
  /** From the API's 200 to the receiver, every event (start and close), ms. */
  readonly fromAnswer: Percentiles;
  /** The same, start events only. */
  readonly startFromAnswer: Percentiles;
  /** From sending the start request (metadata.sentAt) to the receiver, ms. */
  readonly startFromSend: Percentiles;
  /** The start request's own latency at this rate, ms. */
  readonly startLatency: Percentiles;
}

const roundPercentiles = (p: Percentiles): Percentiles => ({
  count: p.count,
  p50: round(p.p50),
  p90: round(p.p90),
  p99: round(p.p99),
  max: round(p.max),
  mean: round(p.mean),
});

/** `settleFirst` false: starts at once, whatever the machine is still doing (see scenarioEndToEnd). */
async function pacedRun(t: LoadTarget, seconds: number, settleFirst = true): Promise<E2eFigures> {
  if (settleFirst) await settled(t.label);
  await resetReceiver(true);
  const result = await runLoad<PacedResult>({
    kind: 'paced',
    base: t.base,
    apiKey: t.apiKey,
    pairs: t.pairs,
    startsPerSecond: E2E_STARTS_PER_SECOND,
    seconds,
    closeAfterMs: E2E_CLOSE_AFTER_MS,
  });
  const stats = await drain(result.ok);
  const records = await httpJson<ArrivalRecord[]>('GET', `${receiverUrl()}/_records`);
  const arrival = new Map<string, ArrivalRecord>();
  for (const r of records) {
    const key = `${r[0]}:${r[1]}`;
    if (!arrival.has(key)) arrival.set(key, r);
  }
  const all: number[] = [];
  const starts: number[] = [];
  const fromSend: number[] = [];
  let unmatched = 0;
  for (const [kind, conversationId, answeredAt] of result.answers) {
    const rec = arrival.get(`conversation.${kind}:${conversationId}`);
    if (rec === undefined) {
      unmatched += 1;
      continue;
    }
    const latency = rec[2] - answeredAt;
    all.push(latency);
    if (kind === 'start') {
      starts.push(latency);
      if (rec[3] !== null) fromSend.push(rec[2] - rec[3]);
    }
  }
  return {
    starts: result.starts,
    achievedStartsPerSecond: round(result.achievedStartsPerSecond, 0),
    non2xx: result.non2xx,
    errors: result.errors,
    skipped: result.skipped,
    lost: Math.max(unmatched, result.ok - stats.unique),
    fromAnswer: roundPercentiles(percentiles(all)),
    startFromAnswer: roundPercentiles(percentiles(starts)),
    startFromSend: roundPercentiles(percentiles(fromSend)),
    startLatency: roundPercentiles(result.startLatency),
  };
}

/**
 * (c), on the servers of (b) when it ran (warm, webhook set), else on new ones; with `--against`,
 * that build too, on PostgreSQL.
 */
async function scenarioEndToEnd(fromPipeline: RelevoTarget[] | undefined) {
  log(`(c) end-to-end delivery latency at ${E2E_STARTS_PER_SECOND} starts/s`);
  const all = fromPipeline ?? [
    ...(await Promise.all(backends().map((b) => relevoTarget(b, 'e2e', hookUrl())))),
    ...(await againstTargets('e2e', hookUrl())),
  ];
  const skipped = OPTIONS.e2eOnPostgres ? [] : all.filter((t) => t.label.includes('postgres'));
  await Promise.all(skipped.map((t) => t.server.stop()));
  const relevos = all.filter((t) => !skipped.includes(t));
  try {
    if (fromPipeline === undefined) {
      for (const t of relevos) {
        log(`  warming up ${t.label}`);
        await pacedRun(t, OPTIONS.warmSeconds / 2);
      }
    }
    const out: Record<
      string,
      { rounds: E2eFigures[]; fromAnswer: Percentiles; startFromAnswer: Percentiles }
    > = {};
    for (const t of relevos)
      out[t.label] = { rounds: [], fromAnswer: percentiles([]), startFromAnswer: percentiles([]) };
    // Each round also measures the rate right after a saturating (b) run on the same server, with
    // no pause in between: what a burst leaves behind (a WAL to checkpoint, a backlog, a
    // collector's work) must not spoil the next seconds' latency.
    const afterSaturation = (label: string) => `${label}, right after saturation`;
    for (const t of relevos) {
      out[afterSaturation(t.label)] = {
        rounds: [],
        fromAnswer: percentiles([]),
        startFromAnswer: percentiles([]),
      };
    }
    const note = (r: number, label: string, figures: E2eFigures) =>
      log(
        `  round ${r + 1}: ${label} ${figures.achievedStartsPerSecond} starts/s (${figures.skipped} skipped), answered in p50 ${figures.startLatency.p50} ms, 200→receiver p50 ${figures.fromAnswer.p50} ms, p99 ${figures.fromAnswer.p99} ms`,
      );
    for (let r = 0; r < OPTIONS.rounds; r++) {
      for (const t of relevos) {
        const figures = await pacedRun(t, OPTIONS.measureSeconds);
        out[t.label]?.rounds.push(figures);
        note(r, t.label, figures);
        const saturated = await pipelineRun(t, OPTIONS.measureSeconds);
        const after = await pacedRun(t, OPTIONS.measureSeconds, false);
        out[afterSaturation(t.label)]?.rounds.push(after);
        note(r, `${afterSaturation(t.label)} (${saturated.rps} req/s before)`, after);
      }
    }
    const summary: Record<string, unknown> = {};
    for (const [label, o] of Object.entries(out)) {
      summary[label] = {
        rounds: o.rounds,
        achievedStartsPerSecond: med(o.rounds, (f) => f.achievedStartsPerSecond),
        lost: o.rounds.reduce((n, f) => n + f.lost, 0),
        non2xx: o.rounds.reduce((n, f) => n + f.non2xx + f.errors, 0),
        skipped: o.rounds.reduce((n, f) => n + f.skipped, 0),
        p50: med(o.rounds, (f) => f.fromAnswer.p50),
        p99: med(o.rounds, (f) => f.fromAnswer.p99),
        startP50: med(o.rounds, (f) => f.startFromAnswer.p50),
        startP99: med(o.rounds, (f) => f.startFromAnswer.p99),
        fromSendP50: med(o.rounds, (f) => f.startFromSend.p50),
        fromSendP99: med(o.rounds, (f) => f.startFromSend.p99),
        // How long a start took to be answered: at a rate the server cannot sustain, its queue
        // shows here first, while the events of what it did answer still arrive promptly.
        answerP50: med(o.rounds, (f) => f.startLatency.p50),
        answerP99: med(o.rounds, (f) => f.startLatency.p99),
      };
    }
    return summary;
  } finally {
    await Promise.all(relevos.map((t) => t.server.stop()));
  }
}

/** A relevo on a database that holds `conversations` closed conversations (0: empty). */
async function bigDbTarget(
  backend: Backend,
  conversations: number,
): Promise<{ target: RelevoTarget; seed?: SeedCounts }> {
  const label = conversations === 0 ? 'empty' : 'seeded';
  const url = await databaseUrl(backend, label);
  await migrateRelevo(url);
  const first = await relevoTarget(backend, label, undefined, url);
  await first.server.stop();
  let seed: SeedCounts | undefined;
  if (conversations > 0) {
    log(`  seeding ${conversations} conversations into ${backend}`);
    const plan = { projectId: first.project.projectId, conversations };
    seed =
      backend === 'sqlite' ? seedSqlite(url.slice('sqlite:'.length), plan) : await seedPostgres(url, plan);
    log(`  seeded in ${seed.seconds.toFixed(1)} s`);
  }
  const server = await startRelevo({ name: `relevo ${backend} ${label}`, databaseUrl: url, env: RELEVO_ENV });
  return {
    target: {
      ...first,
      label: `relevo ${backend} ${label}`,
      server,
      // The setup process had another port.
      base: `${server.url}/v1/external-support/${first.project.projectId}`,
    },
    ...(seed === undefined ? {} : { seed }),
  };
}

async function scenarioBigDb() {
  const out: Record<string, unknown> = {};
  for (const backend of backends()) {
    if (backend === 'postgres' && !OPTIONS.bigDbOnPostgres) continue;
    log(`(d) start latency, ${OPTIONS.seedConversations} conversations stored vs empty, ${backend}`);
    const prepared = await Promise.allSettled([
      bigDbTarget(backend, 0),
      bigDbTarget(backend, OPTIONS.seedConversations),
    ]);
    const [empty, seeded] = prepared.map((p) => (p.status === 'fulfilled' ? p.value : undefined));
    if (empty === undefined || seeded === undefined) {
      await Promise.all([empty, seeded].map((t) => t?.target.server.stop()));
      const reason = prepared.find((p) => p.status === 'rejected')?.reason;
      failed(`d ${backend}`, reason);
      continue;
    }
    const targets = [empty.target, seeded.target];
    try {
      for (const t of targets) {
        log(`  warming up ${t.label}`);
        await warm(t, false);
      }
      const rounds: Array<{ empty: RunFigures; seeded: RunFigures }> = [];
      for (let r = 0; r < OPTIONS.rounds; r++) {
        const [e, s] = [targets[0] as LoadTarget, targets[1] as LoadTarget];
        const er = await closedRun(e, OPTIONS.measureSeconds);
        const sr = await closedRun(s, OPTIONS.measureSeconds);
        const row = { empty: figuresOf(er.result, er.cpuMs), seeded: figuresOf(sr.result, sr.cpuMs) };
        rounds.push(row);
        log(
          `  round ${r + 1}: start p50/p99 empty ${row.empty.startP50}/${row.empty.startP99} ms, seeded ${row.seeded.startP50}/${row.seeded.startP99} ms`,
        );
      }
      out[`relevo ${backend}`] = {
        seed: seeded.seed,
        rounds,
        empty: summarizeRuns(rounds.map((r) => r.empty)),
        seeded: summarizeRuns(
          rounds.map((r) => r.seeded),
          rounds.map((r) => r.empty),
        ),
        ratioP50: round(median(rounds.map((r) => r.seeded.startP50 / r.empty.startP50)), 3),
        ratioP99: round(median(rounds.map((r) => r.seeded.startP99 / r.empty.startP99)), 3),
      };
    } catch (e) {
      failed(`d ${backend}`, e);
    } finally {
      await Promise.all(targets.map((t) => t.server.stop()));
    }
  }
  return out;
}

/** Scenarios that could not finish: the run goes on and the report says so. */
const failures: Array<{ scenario: string; error: string }> = [];

function failed(scenario: string, e: unknown): void {
  const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
  log(`scenario ${scenario} failed: ${error}`);
  failures.push({ scenario, error });
}

async function attempt<T>(scenario: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    failed(scenario, e);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Build, report
// ---------------------------------------------------------------------------------------------

function tscIn(cwd: string, args: string[]): Promise<void> {
  return nodeIn(cwd, [join(ROOT, 'node_modules/typescript/bin/tsc'), ...args]);
}

function nodeIn(cwd: string, args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => {
      text += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      text += c.toString();
    });
    child.once('exit', (code) => (code === 0 ? done() : fail(new Error(`building relevo failed:\n${text}`))));
  });
}

/**
 * Builds the relevo to measure: the working tree into dist/ (incrementally), or with --ref a
 * commit's sources, exported into dist-bench/ref-<sha>/ and built there, so others' edits in
 * progress do not move the figures.
 */
async function buildRelevo(): Promise<{ ref?: string; sha?: string }> {
  if (argv.relevo !== undefined) return {};
  if (argv.ref === undefined) {
    await tscIn(ROOT, [
      '-p',
      'tsconfig.build.json',
      '--incremental',
      '--tsBuildInfoFile',
      'dist-bench/relevo.tsbuildinfo',
    ]);
    // The web chat page the server reads at start-up.
    await nodeIn(ROOT, ['scripts/build-web.js']);
    return {};
  }
  const sha = git(['rev-parse', '--verify', `${argv.ref}^{commit}`]);
  if (sha === undefined) throw new Error(`--ref ${argv.ref}: no such commit`);
  const dir = join(ROOT, 'dist-bench', `ref-${sha.slice(0, 12)}`);
  const cli = join(dir, 'dist/cli/main.js');
  if (!existsSync(cli)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    // Commits since the web chat page moved to web/ build it with scripts/build-web.js.
    const hasWeb = git(['rev-parse', '--verify', '-q', `${sha}:scripts/build-web.js`]) !== undefined;
    const paths = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
    if (hasWeb) paths.push('web', 'scripts/build-web.js');
    const tar = execFileSync('git', ['archive', '--format=tar', sha, ...paths], {
      cwd: ROOT,
      maxBuffer: 256 * 2 ** 20,
    });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    await tscIn(dir, ['-p', 'tsconfig.build.json']);
    if (hasWeb) await nodeIn(dir, ['scripts/build-web.js']);
  }
  useRelevoCli(cli);
  return { ref: argv.ref, sha };
}

const relativeCli = () => (RELEVO_CLI.startsWith(ROOT) ? RELEVO_CLI.slice(ROOT.length + 1) : RELEVO_CLI);

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = os.loadavg().map((v) => round(v, 2));
  if ((loadBefore[0] ?? 0) > 1) {
    log(
      `warning: load average ${loadBefore[0]} before the run: other work on this machine skews the figures`,
    );
  }
  log(`building relevo (${OPTIONS.mode} mode)`);
  const build = buildRelevo();
  // A failed build must not wait for the cluster to surface.
  build.catch(() => undefined);
  const wantPg = !argv['no-pg'] && findPostgresBin() !== undefined;
  if (wantPg) {
    log('starting a PostgreSQL cluster');
    cluster = await startCluster({ durable: true });
  } else {
    log('PostgreSQL: skipped (no server binaries, or --no-pg)');
  }
  const built = await build;
  receiver = await startHelper('receiver', 'receiver.js');

  const scenarios: Record<string, unknown> = {};
  if (OPTIONS.scenarios.has('a')) scenarios.ingest = await attempt('a', scenarioIngest);
  let warmRelevos: RelevoTarget[] | undefined;
  if (OPTIONS.scenarios.has('b')) {
    scenarios.pipeline = await attempt('b', () =>
      scenarioPipeline((relevos) => {
        warmRelevos = relevos;
      }),
    );
    if (!OPTIONS.scenarios.has('c')) await Promise.all((warmRelevos ?? []).map((t) => t.server.stop()));
  }
  if (OPTIONS.scenarios.has('c')) scenarios.e2e = await attempt('c', () => scenarioEndToEnd(warmRelevos));
  if (OPTIONS.scenarios.has('d')) scenarios.bigdb = await attempt('d', scenarioBigDb);

  const cpus = os.cpus();
  const results: Json = {
    startedAt: startedAt.toISOString(),
    seconds: round((performance.now() - T0) / 1000, 1),
    command: `node dist-bench/bench/run.js ${process.argv.slice(2).join(' ')}`.trim(),
    options: { ...OPTIONS, scenarios: [...OPTIONS.scenarios] },
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? '?',
      memoryGiB: round(os.totalmem() / 2 ** 30, 1),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      loadBefore,
      loadAfter: os.loadavg().map((v) => round(v, 2)),
    },
    relevo:
      built.sha !== undefined
        ? {
            cli: relativeCli(),
            ref: built.ref,
            commit: built.sha.slice(0, 12),
            dirty: false,
            env: RELEVO_ENV,
          }
        : {
            cli: relativeCli(),
            commit: git(['rev-parse', '--short=12', 'HEAD']),
            dirty: argv.relevo === undefined && (git(['status', '--porcelain', '--', 'src']) ?? '') !== '',
            env: RELEVO_ENV,
          },
    postgres:
      cluster === undefined ? 'not run' : "ephemeral cluster with PostgreSQL's durable defaults (fsync on)",
    scenarios,
    failures,
  };
  const { text, targets } = report(results, E2E_STARTS_PER_SECOND);
  results.targets = targets;
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${text}\n\nresults: ${file}\n`);
  log(`done in ${results.seconds} s`);
}

const watchdog = setTimeout(
  () => {
    log('watchdog: the run took too long; stopping everything');
    cleanup();
    process.exit(3);
  },
  (QUICK ? 5 : 60) * 60_000,
);
watchdog.unref();

function cleanup(): void {
  killAll();
  try {
    cluster?.stop();
  } catch {
    // Already gone.
  }
  cluster = undefined;
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.length = 0;
}

process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

main()
  .then(async () => {
    await receiver?.stop();
    cleanup();
    process.exit(0);
  })
  .catch((e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    cleanup();
    process.exit(1);
  });
