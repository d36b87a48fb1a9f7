/**
 * Child processes of the benchmark: the baselines and the receiver (which print their port), relevo
 * itself (`relevo serve`, ready when /healthz answers), and one load process per run. Every child
 * is ended by the orchestrator, and the whole run is bounded by a watchdog.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, ROOT, spawnRelevo } from '../../test/helpers/spawned-server.js';
import type { LoadJob, LoadResult } from '../load.js';
import { httpCall, sleep } from './common.js';

// How relevo is started is shared with the end-to-end tests: test/helpers/spawned-server.ts
// imports neither vitest nor src/, so bench/tsconfig.json compiles it alongside the benchmark (as
// it does test/setup/postgres-cluster.ts), and a change to the way relevo starts reaches both.
export { ROOT };
export const BENCH_DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The relevo executable: the build in dist/, or another build given with --relevo (an experiment). */
export let RELEVO_CLI = join(ROOT, 'dist/cli/main.js');
export function useRelevoCli(path: string): void {
  RELEVO_CLI = resolve(path);
}

const children = new Set<ChildProcess>();

/** Ends every child still running (on the way out, normal or not). */
export function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

export interface Running {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  /** What the process wrote (stdout and stderr), for the report when something goes wrong. */
  output(): string;
  stop(): Promise<void>;
}

function track(name: string, child: ChildProcess): { output: () => string; exited: Promise<void> } {
  children.add(child);
  let text = '';
  const keep = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    if (text.length > 64_000) text = text.slice(-32_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((done) =>
    child.once('exit', () => {
      children.delete(child);
      done();
    }),
  );
  child.once('error', (e) => {
    text += `\n${name}: ${e.message}`;
  });
  return { output: () => text, exited };
}

async function stopChild(child: ChildProcess, exited: Promise<void>, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const late = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (late) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Runs one of the benchmark's own servers (baseline, receiver) and waits for its port. */
export async function startHelper(name: string, script: string, args: string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [join(BENCH_DIST, script), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { output, exited } = track(name, child);
  const port = await new Promise<number>((done, fail) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const m = /\{"port":(\d+)\}/.exec(buffer);
      if (m) {
        child.stdout?.off('data', onData);
        done(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    void exited.then(() => fail(new Error(`${name} exited before listening:\n${output()}`)));
  });
  return {
    name,
    child,
    pid: child.pid ?? 0,
    port,
    url: `http://127.0.0.1:${port}`,
    output,
    stop: () => stopChild(child, exited),
  };
}

/** What node runs `relevo serve` with in `npm start` (src/server.ts says why). */
const SERVE_NODE_ARGS = ['--no-memory-reducer'];

export interface RelevoOptions {
  readonly name: string;
  readonly databaseUrl: string;
  /** Extra arguments for node itself, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  readonly cwd?: string;
  /** More environment, over the benchmark's defaults. */
  readonly env?: Readonly<Record<string, string>>;
  /** Another build's cli/main.js than the one measured (bench/run.ts --against). */
  readonly cli?: string;
}

export interface RunningRelevo extends Running {
  readonly adminToken: string;
}

/** The benchmark's environment over the one every spawned relevo gets (PATH, PORT, HOST). */
function relevoEnv(databaseUrl: string, adminToken: string): NodeJS.ProcessEnv {
  return {
    HOME: process.env.HOME,
    DATABASE_URL: databaseUrl,
    RELEVO_ADMIN_TOKEN: adminToken,
    RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
    LOG_LEVEL: 'warn',
  };
}

/** `relevo migrate` on a database, as an operator runs it. */
export async function migrateRelevo(databaseUrl: string): Promise<void> {
  const child = spawnRelevo({
    cli: RELEVO_CLI,
    command: 'migrate',
    port: 0,
    env: relevoEnv(databaseUrl, 'x'.repeat(32)),
  });
  const { output, exited } = track('relevo migrate', child);
  await exited;
  if (child.exitCode !== 0) throw new Error(`relevo migrate failed:\n${output()}`);
}

/** `relevo serve` as a child process; resolves once /healthz answers 200. */
export async function startRelevo(o: RelevoOptions): Promise<RunningRelevo> {
  const port = await freePort();
  const adminToken = randomBytes(24).toString('hex');
  const child = spawnRelevo({
    cli: o.cli ?? RELEVO_CLI,
    port,
    env: { ...relevoEnv(o.databaseUrl, adminToken), ...o.env },
    nodeArgs: [...SERVE_NODE_ARGS, ...(o.nodeArgs ?? [])],
    ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
  });
  const { output, exited } = track(o.name, child);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${o.name} exited at start:\n${output()}`);
    const answer = await httpCall('GET', `${url}/healthz`, undefined, {}, 2_000).catch(() => undefined);
    if (answer?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`${o.name} did not answer /healthz within 30 s:\n${output()}`);
    await sleep(50);
  }
  return {
    name: o.name,
    child,
    pid: child.pid ?? 0,
    port,
    url,
    adminToken,
    output,
    stop: () => stopChild(child, exited, 30_000),
  };
}

/** Peak and current resident memory of a process, in MiB (Linux; NaN elsewhere). */
export function memoryOf(pid: number): { peakMiB: number; rssMiB: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { peakMiB: kib('VmHWM') / 1024, rssMiB: kib('VmRSS') / 1024 };
  } catch {
    return { peakMiB: Number.NaN, rssMiB: Number.NaN };
  }
}

/** CPU time (user + system) a process has used so far, in ms (Linux; NaN elsewhere). */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

/** One load run in its own process. */
export function runLoad<R extends LoadResult>(job: LoadJob): Promise<R> {
  const child = fork(join(BENCH_DIST, 'load.js'), [], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  const { output, exited } = track('load', child);
  return new Promise<R>((done, fail) => {
    let result: R | undefined;
    child.once('message', (m) => {
      result = m as R;
    });
    void exited.then(() => {
      if (result !== undefined) done(result);
      else fail(new Error(`the load process failed:\n${output()}`));
    });
    child.send(job);
  });
}
