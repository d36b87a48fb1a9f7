/**
 * An ephemeral PostgreSQL cluster for tests and benchmarks: initdb into a temporary directory,
 * start on a free loopback port, stop and delete it afterwards. The server refuses to run as
 * root, so as root the binaries run as the `postgres` user (Debian's package creates it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

export interface Cluster {
  /** Connection URL of the `postgres` database, e.g. postgres://postgres@127.0.0.1:5433/postgres */
  readonly url: string;
  readonly port: number;
  urlOf(database: string): string;
  /**
   * CPU time (user + system, ms) the server's processes have used so far: the postmaster, every
   * live backend and background process, and those already exited (the postmaster's reaped
   * children). Linux only (/proc); NaN elsewhere.
   */
  cpuMs(): number;
  /** Stops the server (fast shutdown: connections are cut), keeping its data. */
  pause(): void;
  /** Starts it again, on the same port, after pause(). */
  resume(): void;
  stop(): void;
}

/** Where initdb and pg_ctl are: PATH first, then Debian's versioned directories. */
export function findPostgresBin(): string | undefined {
  const fromPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  const candidates: string[] = [];
  if (fromPath !== '') candidates.push(join(fromPath, '..'));
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    for (const v of readdirSync(debian).sort((a, b) => Number(b) - Number(a)))
      candidates.push(join(debian, v, 'bin'));
  }
  return candidates.find(
    (dir) =>
      existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'postgres')),
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ClusterOptions {
  /**
   * PostgreSQL's own durable defaults (fsync, synchronous_commit, full_page_writes on): what a
   * benchmark must measure, since a production database runs with them.
   */
  readonly durable?: boolean;
  /**
   * Loads pg_stat_statements (shipped with the server), so a profile can tell which statements
   * the server's time goes to (bench/profile.ts --statements).
   */
  readonly statementStats?: boolean;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const bin = findPostgresBin();
  if (bin === undefined) throw new Error('PostgreSQL server binaries (initdb, pg_ctl, postgres) not found');
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'relevo-pg-'));
  // The postgres user must be able to write here when we are root.
  if (asRoot) chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]]
      : [join(bin, cmd), args];
    execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  };
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  // Tests run with fsync off: their clusters hold test data only and die with the run. 200
  // connections leave room for several relevo processes with their pools.
  const fast = opts.durable === true ? '' : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off';
  // Durable (benchmarks): shared_buffers as one would size it for the machine, a quarter of its
  // memory, capped at 1 GiB because the machine is shared (the default, 128 MB, is sized for
  // none); tests keep the default.
  const buffers =
    opts.durable === true
      ? ` -c shared_buffers=${Math.min(1024, Math.floor(totalmem() / 4 / 2 ** 20))}MB`
      : '';
  const stats = opts.statementStats === true ? ' -c shared_preload_libraries=pg_stat_statements' : '';
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1${fast}${buffers}${stats} -c max_connections=200`;
  const start = () =>
    run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  start();
  const base = `postgres://postgres@127.0.0.1:${port}`;
  return {
    url: `${base}/postgres`,
    port,
    urlOf: (db) => `${base}/${db}`,
    cpuMs: () => serverCpuMs(data),
    pause: () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    resume: start,
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Fields 14–17 of /proc/<pid>/stat (utime, stime, cutime, cstime), in clock ticks. */
function cpuTicks(pid: string): { own: number; children: number; ppid: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { own: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]), ppid: f[1] ?? '' };
  } catch {
    return undefined;
  }
}

function serverCpuMs(data: string): number {
  let postmaster: string;
  try {
    postmaster = readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]?.trim() ?? '';
  } catch {
    return Number.NaN;
  }
  const root = cpuTicks(postmaster);
  if (root === undefined) return Number.NaN;
  let ticks = root.own + root.children;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const t = cpuTicks(pid);
    if (t?.ppid === postmaster) ticks += t.own;
  }
  // Linux reports these in USER_HZ, 100 per second.
  return (ticks * 1000) / 100;
}
