/**
 * The built server as an operator runs it: `relevo serve` (or another command) in a child
 * process, its JSON log lines, and the port it listens on. Shared by the end-to-end tests and the
 * benchmark (bench/lib/processes.ts): vitest runs this file from test/helpers/, the benchmark runs
 * its build from dist-bench/test/helpers/, so nothing here may import vitest or find the
 * repository by a fixed number of `..`.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest folder at or above `from` that holds package.json: the repository root. */
function findRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const CLI = join(ROOT, 'dist/cli/main.js');

/**
 * `npm test` builds first; a direct vitest run builds here when dist/ is older than src/, with
 * the same check `npm start` uses (scripts/build-if-stale.js). Type errors are the typecheck's
 * business: tsc still emits (exit status 2), and that is enough to run the command.
 */
export function ensureBuilt(): void {
  const script = join(ROOT, 'scripts/build-if-stale.js');
  const r = spawnSync(process.execPath, [script], { cwd: ROOT, encoding: 'utf8' });
  if ((r.status !== 0 && r.status !== 2) || !existsSync(CLI)) {
    throw new Error(`building dist/ failed:\n${r.stdout}${r.stderr}`);
  }
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => done(port));
    });
  });
}

export type LogLine = Record<string, unknown>;

/** A running `relevo serve` child, with its JSON log lines. */
export class Served {
  readonly lines: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    let buffer = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffer += chunk;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ msg: line });
        }
        nl = buffer.indexOf('\n');
      }
      for (const w of this.waiters) w();
    });
    // What the process says on stderr (a crash's stack trace) is kept for the failure message.
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((done) => child.once('exit', (code) => done(code)));
  }

  /** Resolves with the first log line that matches, waiting for it when needed. */
  waitFor(match: (line: LogLine) => boolean, what: string, timeoutMs = 10_000): Promise<LogLine> {
    return new Promise((done, fail) => {
      const check = () => {
        const found = this.lines.find(match);
        if (found === undefined) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        done(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        fail(new Error(`no log line ${what} within ${timeoutMs} ms; got:\n${JSON.stringify(this.lines)}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}

export interface RelevoCommand {
  /** The relevo executable (default: the build in dist/). */
  readonly cli?: string;
  /** The CLI command (default `serve`). */
  readonly command?: string;
  /** PORT of the child; it listens on 127.0.0.1. */
  readonly port: number;
  /** Environment over PATH, PORT and HOST; nothing else of this process's leaks in. */
  readonly env: NodeJS.ProcessEnv;
  /** Arguments for node itself, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  readonly cwd?: string;
}

/** Starts a relevo command as a child process, stdout and stderr piped. */
export function spawnRelevo(o: RelevoCommand): ChildProcess {
  return spawn(process.execPath, [...(o.nodeArgs ?? []), o.cli ?? CLI, o.command ?? 'serve'], {
    env: { PATH: process.env.PATH, PORT: String(o.port), HOST: '127.0.0.1', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
  });
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a relevo command of the build to its end, with PATH and `env` as its whole environment. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH, ...env } },
      (err, stdout, stderr) => done({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * Spawns `relevo serve` and waits until it listens: on a free port, or on `port` (a restart on
 * the same address, for clients that reconnect).
 */
export async function spawnServer(env: NodeJS.ProcessEnv, port?: number): Promise<Served> {
  port ??= await freePort();
  const child = spawnRelevo({ port, env });
  const served = new Served(child, port);
  await served.waitFor((l) => l.msg === 'relevo listening', 'relevo listening', 20_000);
  return served;
}

/** The banner's export line: the only place a first start shows its admin token. */
export const FIRST_RUN_EXPORT = /^ {2}export RELEVO_ADMIN_TOKEN=(rlva_[A-Za-z0-9_-]{43})$/m;

/**
 * The admin token a first start printed on stderr. The JSON log says a token was created (the
 * banner follows that line at once) and must never hold the token itself.
 */
export async function firstRunToken(served: Served): Promise<string> {
  await served.waitFor(
    (l) => l.msg === 'admin API on: a first-run admin token was created and printed once on stderr',
    'saying a first-run token was created',
  );
  for (let i = 0; i < 250 && !FIRST_RUN_EXPORT.test(served.stderr); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const token = FIRST_RUN_EXPORT.exec(served.stderr)?.[1];
  if (token === undefined) throw new Error(`no first-run banner on stderr; got:\n${served.stderr}`);
  if (JSON.stringify(served.lines).includes(token)) throw new Error('the admin token is in the JSON log');
  return token;
}
