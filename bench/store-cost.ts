/**
 * What the SQLite store costs per request, without HTTP: start→close cycles over 1,024 (bot, user)
 * pairs straight through relevo's store and conversation services, 32 transactions in flight (as
 * the benchmark's 32 connections), so the group commit batches as it does under load. Reports the
 * process's CPU time (user and system) per transaction, and the time spent in each transaction
 * control statement (BEGIN, COMMIT…) per transaction.
 *
 *   node dist-bench/bench/store-cost.js [--dist <relevo's build, default dist/>] [--transactions 40000]
 *     [--background-checkpoints] [--statements]
 *
 * --statements also times every statement (by its text) and reports each one's cost per
 * transaction; the timing itself adds to the CPU figure, so compare those with the flag off.
 * --drop-indexes a,b drops those indexes after migrating: what a leaner schema would save (an
 * experiment: the API's listings need them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Any, buildLoader, loadConversations } from './lib/build.js';
import { round } from './lib/common.js';
import { ROOT } from './lib/processes.js';

const { values } = parseArgs({
  options: {
    dist: { type: 'string' },
    transactions: { type: 'string', default: '40000' },
    'background-checkpoints': { type: 'boolean', default: false },
    statements: { type: 'boolean', default: false },
    'drop-indexes': { type: 'string' },
  },
});
const total = Number(values.transactions);
const IN_FLIGHT = 32;

const load = buildLoader(values.dist ?? join(ROOT, 'dist'));

/** Wraps the store's prepared transaction-control statements to time them (absent in old builds). */
function timeControl(store: Any): Map<string, { ms: number; calls: number }> {
  const times = new Map<string, { ms: number; calls: number }>();
  const control = store.control as Record<string, { run: (...a: unknown[]) => unknown }> | undefined;
  for (const [name, statement] of Object.entries(control ?? {})) {
    const run = statement.run.bind(statement);
    const t = { ms: 0, calls: 0 };
    times.set(name, t);
    control![name] = {
      run: (...a: unknown[]) => {
        const began = performance.now();
        try {
          return run(...a);
        } finally {
          t.ms += performance.now() - began;
          t.calls += 1;
        }
      },
    };
  }
  return times;
}

/** Times every statement prepared from now on, by its text (better-sqlite3's run, get and all). */
async function timeStatements(): Promise<Map<string, { ms: number; calls: number }>> {
  const { default: Database } = await import('better-sqlite3');
  const times = new Map<string, { ms: number; calls: number }>();
  const proto = Database.prototype as Any;
  const prepare = proto.prepare;
  proto.prepare = function (this: Any, sql: string, ...rest: unknown[]) {
    const statement = prepare.call(this, sql, ...rest);
    const key = sql.replace(/\s+/g, ' ').trim().slice(0, 72);
    const t = times.get(key) ?? { ms: 0, calls: 0 };
    times.set(key, t);
    for (const m of ['run', 'get', 'all']) {
      const f = statement[m].bind(statement);
      statement[m] = (...args: unknown[]) => {
        const began = performance.now();
        try {
          return f(...args);
        } finally {
          t.ms += performance.now() - began;
          t.calls += 1;
        }
      };
    }
    return statement;
  };
  return times;
}

async function main(): Promise<void> {
  const statementTimes = values.statements ? await timeStatements() : undefined;
  const { SqliteStore } = await load('storage/sqlite/sqlite-store.js');
  const projects = await load('domain/projects/project.service.js');
  const conversations = await loadConversations(load);
  const dir = mkdtempSync(join(os.tmpdir(), 'relevo-store-cost-'));
  const store = new SqliteStore({
    path: join(dir, 'relevo.db'),
    ...(values['background-checkpoints'] ? { backgroundCheckpoints: true } : {}),
  });
  try {
    await store.migrate();
    for (const index of (values['drop-indexes'] ?? '').split(',').filter(Boolean)) {
      // The writer connection is private to the store; an experiment may reach it.
      (store as Any).writer.exec(`DROP INDEX ${index}`);
    }
    const now = Date.now();
    const pairs: Array<[string, string]> = [];
    const { project } = await store.transaction((tx: Any) => projects.createProject(tx, 'store-cost', now));
    await store.transaction(async (tx: Any) => {
      for (let b = 0; b < 4; b++) {
        const bot = await projects.createBot(tx, project.id, `Bot ${b}`, 'webchat', now);
        for (let u = 0; u < 256; u++) {
          const user = await projects.createEndUser(tx, project.id, `User ${u}`, null, now);
          pairs.push([bot.id, user.id]);
        }
      }
    });
    const control = timeControl(store);
    for (const t of statementTimes?.values() ?? []) {
      t.ms = 0;
      t.calls = 0;
    }
    let started = 0;
    const lane = async () => {
      while (started < total) {
        started += 2;
        const pair = pairs.shift();
        if (pair === undefined) throw new Error('more lanes than pairs');
        const [botId, userId] = pair;
        const input = { projectId: project.id, botId, userId, now: Date.now() };
        await store.transaction((tx: Any) =>
          conversations.startConversation(tx, { ...input, metadata: { ticketId: 'T-1' } }),
        );
        await store.transaction((tx: Any) => conversations.closeConversation(tx, input));
        pairs.push(pair);
      }
    };
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - wall0;
    const per = (us: number) => round(us / started, 1);
    console.log(
      `${started} transactions (starts and closes), ${IN_FLIGHT} in flight: ` +
        `${per(cpu.user + cpu.system)} µs CPU each (user ${per(cpu.user)}, system ${per(cpu.system)}), ` +
        `${Math.round((started / wall) * 1000)} per second`,
    );
    const byCost = [...(statementTimes ?? [])]
      .filter(([, t]) => t.calls > 0)
      .sort((a, b) => b[1].ms - a[1].ms);
    for (const [sql, t] of byCost) {
      console.log(
        `  ${per(t.ms * 1000)} µs per transaction, ${round((t.ms * 1000) / t.calls, 1)} µs per call: ${sql}`,
      );
    }
    for (const [name, t] of control) {
      if (t.calls === 0) continue;
      console.log(
        `  ${name}: ${t.calls} calls, ${round((t.ms * 1000) / t.calls, 0)} µs each, ${per(t.ms * 1000)} µs per transaction`,
      );
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
