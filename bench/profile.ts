/**
 * `npm run bench:profile`: where relevo's CPU time goes under load. Runs `relevo serve` (SQLite)
 * with `node --cpu-prof`, drives start→close cycles at 32 connections for about `--seconds`
 * (scenario (a), no webhook; `--scenario b` adds the webhook to a receiver), stops it so the
 * profile is written, and prints self time by module and function and relevo's inclusive times.
 * The profile and the summary are kept in bench/results/. PostgreSQL runs with its durable
 * defaults, as in `npm run bench`; `--statements` adds the server's side: the statements it
 * spent the most time on over the whole run (pg_stat_statements), with their calls, time each
 * and WAL bytes.
 *
 *   node dist-bench/bench/profile.js [--seconds 10] [--scenario a|b] [--postgres [--statements]]
 *     [--env KEY=VALUE …] [--relevo <cli main.js>]
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type Cluster, startCluster } from '../test/setup/postgres-cluster.js';
import { type CpuProfile, formatSummary, summarize } from './cpuprofile.js';
import {
  killAll,
  ROOT,
  type Running,
  runLoad,
  startHelper,
  startRelevo,
  useRelevoCli,
} from './lib/processes.js';
import { createBenchProject } from './lib/setup.js';
import type { ClosedResult } from './load.js';

// A reader that stops early (`| head`, `| grep -m1`) closes the pipe: the write's EPIPE must not
// end the process before its cleanup has stopped the PostgreSQL cluster and relevo.
process.stdout.on('error', () => undefined);

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    scenario: { type: 'string', default: 'a' },
    relevo: { type: 'string' },
    postgres: { type: 'boolean', default: false },
    statements: { type: 'boolean', default: false },
    env: { type: 'string', multiple: true },
  },
});
const extraEnv: Record<string, string> = Object.fromEntries(
  (values.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
if (values.relevo !== undefined) useRelevoCli(values.relevo);
const seconds = Number(values.seconds);
const scenario = values.scenario === 'b' ? 'b' : 'a';
const CONNECTIONS = 32;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'relevo-profile-'));
  const profileDir = join(dir, 'profile');
  let receiver: Running | undefined;
  let cluster: Cluster | undefined;
  try {
    let databaseUrl = `sqlite:${join(dir, 'relevo.db')}`;
    if (values.postgres === true) {
      cluster = await startCluster({ durable: true, statementStats: values.statements === true });
      await onDatabase(cluster.url, (c) => c.query('CREATE DATABASE bench_profile'));
      databaseUrl = cluster.urlOf('bench_profile');
      if (values.statements === true) {
        await onDatabase(databaseUrl, (c) => c.query('CREATE EXTENSION pg_stat_statements'));
      }
    }
    if (scenario === 'b') receiver = await startHelper('receiver', 'receiver.js');
    const relevo = await startRelevo({
      name: 'relevo (profiled)',
      databaseUrl,
      env: extraEnv,
      nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profileDir],
    });
    const project = await createBenchProject(relevo, {
      bots: 4,
      usersPerBot: 256,
      webhookUrl: receiver === undefined ? undefined : `${receiver.url}/hook`,
    });
    const job = (amount: number) => ({
      kind: 'closed' as const,
      base: project.base,
      apiKey: project.apiKey,
      pairs: project.pairs,
      connections: CONNECTIONS,
      amount,
      maxSeconds: seconds * 4 + 10,
    });
    // A first run to learn the rate, then one sized to last about `seconds`.
    const probe = await runLoad<ClosedResult>(job(CONNECTIONS * 2 * 40));
    const cycle = CONNECTIONS * 2;
    const amount = Math.max(cycle, Math.round((probe.rps * seconds) / cycle) * cycle);
    const run = await runLoad<ClosedResult>(job(amount));
    process.stderr.write(
      `profiled load: ${run.requests} requests in ${(run.elapsedMs / 1000).toFixed(1)} s = ${run.rps.toFixed(0)} req/s, p50 ${run.latency.p50.toFixed(2)} ms, p99 ${run.latency.p99.toFixed(2)} ms, non-2xx ${run.non2xx}\n`,
    );
    await relevo.stop();
    const statements =
      cluster !== undefined && values.statements === true ? await onDatabase(databaseUrl, topStatements) : '';
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('relevo wrote no .cpuprofile');
    const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile;
    const summary = summarize(profile, 30);
    const header = [
      `relevo CPU profile, scenario (${scenario}), ${cluster === undefined ? 'SQLite' : 'PostgreSQL'}, ${CONNECTIONS} connections${Object.keys(extraEnv).length > 0 ? `, ${JSON.stringify(extraEnv)}` : ''}`,
      `load: ${run.requests} requests in ${(run.elapsedMs / 1000).toFixed(1)} s (${run.rps.toFixed(0)} req/s) after a probe of ${probe.requests}; node ${process.version}, ${os.cpus().length} cpus`,
      'The profile covers the whole process life: start-up, setup, the probe and the measured run.',
      '',
    ].join('\n');
    const text = `${header}${formatSummary(summary)}\n${statements}`;
    const results = join(ROOT, 'bench/results');
    mkdirSync(results, { recursive: true });
    const db = cluster === undefined ? 'sqlite' : 'postgres';
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    copyFileSync(join(profileDir, file), join(results, `profile-${scenario}-${db}-${stamp}.cpuprofile`));
    writeFileSync(join(results, `profile-${scenario}-${db}-${stamp}.txt`), text);
    process.stdout.write(text);
    process.stdout.write(`\nprofile: ${join(results, `profile-${scenario}-${db}-${stamp}.cpuprofile`)}\n`);
  } finally {
    await receiver?.stop();
    killAll();
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function onDatabase<T>(url: string, use: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** The server's side of the run: its top statements by total time (pg_stat_statements). */
async function topStatements(c: pg.Client): Promise<string> {
  const { rows } = await c.query<{ calls: string; ms: string; each: string; wal: string; query: string }>(
    `SELECT calls, round(total_exec_time::numeric, 1) AS ms,
       round((total_exec_time / calls * 1000)::numeric, 1) AS each, wal_bytes AS wal,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS query
     FROM pg_stat_statements WHERE query NOT LIKE 'CREATE%' ORDER BY total_exec_time DESC LIMIT 15`,
  );
  const lines = rows.map(
    (r) =>
      `${r.calls.padStart(8)} ${`${r.ms} ms`.padStart(12)} ${`${r.each} µs`.padStart(12)} ${`${(Number(r.wal) / 2 ** 20).toFixed(1)} MiB`.padStart(10)}  ${r.query}`,
  );
  return [
    '',
    'PostgreSQL server, top statements by total time (pg_stat_statements, the whole run):',
    `${'calls'.padStart(8)} ${'total'.padStart(12)} ${'each'.padStart(12)} ${'WAL'.padStart(10)}  statement`,
    ...lines,
    '',
  ].join('\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`profile: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  killAll();
  process.exit(1);
});
