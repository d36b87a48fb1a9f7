/**
 * What one claim of the dispatcher costs as undelivered events pile up: builds SQLite databases
 * with relevo's own code (its store, services and outbox) holding a backlog of pending events,
 * one per room, then times `claimDueEvents` (a write, leasing up to 16 events) and `nextDueAt`
 * (the read that arms the retry timer). The dispatcher runs a claim after every finished attempt,
 * so the claim's cost bounds how many events per second one process can deliver.
 *
 *   node dist-bench/bench/claim-cost.js [--dist <relevo's build, default dist/>] [--backlogs 0,1000,5000,20000]
 *     [--postgres]
 *
 * `--postgres`: the same on a fresh database of an ephemeral PostgreSQL cluster (durable
 * defaults, as the benchmark runs it) instead of SQLite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type Cluster, startCluster } from '../test/setup/postgres-cluster.js';
import { type Any, addIntegration, buildLoader, loadFirst } from './lib/build.js';
import { percentiles, round } from './lib/common.js';
import { ROOT } from './lib/processes.js';

const { values } = parseArgs({
  options: {
    dist: { type: 'string' },
    backlogs: { type: 'string', default: '0,1000,5000,20000' },
    claims: { type: 'string', default: '100' },
    postgres: { type: 'boolean', default: false },
  },
});
const onPostgres = values.postgres === true;
const backlogs = (values.backlogs ?? '').split(',').map(Number);
const claims = Number(values.claims);

const dist = values.dist ?? join(ROOT, 'dist');
const load = buildLoader(dist);

async function main(): Promise<void> {
  const { SqliteStore } = await load('storage/sqlite/sqlite-store.js');
  const { PostgresStore } = await load('storage/postgres/postgres-store.js');
  const cluster: Cluster | undefined = onPostgres ? await startCluster({ durable: true }) : undefined;
  let databases = 0;
  /** A fresh store: a SQLite file in `dir`, or a new database of the cluster. */
  const openStore = async (dir: string): Promise<Any> => {
    if (cluster === undefined) return new SqliteStore({ path: join(dir, 'relevo.db') });
    const name = `claim_${++databases}`;
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    return new PostgresStore({ url: cluster.urlOf(name), poolSize: 2 });
  };
  const projects = await load('domain/projects/project.service.js');
  const { appendEvent } = await loadFirst(load, 'domain/outbox.js', 'delivery/outbox.js');
  const { newId } = await loadFirst(load, 'model/ids.js', 'domain/ids.js');

  const rows: string[] = [];
  for (const backlog of backlogs) {
    const dir = mkdtempSync(join(os.tmpdir(), 'relevo-claim-'));
    const store = await openStore(dir);
    try {
      await store.migrate();
      const now = Date.now();
      const { project } = await store.transaction((tx: Any) => projects.createProject(tx, 'claim', now));
      await addIntegration(load, store, project.id, now);
      await store.transaction(async (tx: Any) => {
        const bot = await projects.createBot(tx, project.id, 'Claim bot', 'webchat', now);
        for (let i = 0; i < backlog; i++) {
          const user = await projects.createEndUser(tx, project.id, `User ${i}`, null, now);
          const room = {
            id: newId('room', now),
            projectId: project.id,
            botId: bot.id,
            userId: user.id,
            createdAt: now,
          };
          await tx.rooms.insert(room);
          await appendEvent(tx, {
            projectId: project.id,
            roomId: room.id,
            conversationId: null,
            type: 'conversation.start',
            createdAt: now,
            payload: { event: 'conversation.start', n: i },
          });
        }
      });
      // PostgreSQL plans by its statistics: autovacuum analyzes a table once a tenth of it has
      // changed, so a backlog this size is known to the planner in a running system; a table
      // filled a moment ago is not, and then the planner sorts every due event instead of walking
      // the due index (0.27 → 83.5 ms p50 from 0 to 20,000 pending, unanalyzed).
      if (cluster !== undefined) {
        const c = new pg.Client({ connectionString: cluster.urlOf(`claim_${databases}`) });
        await c.connect();
        await c.query('ANALYZE');
        await c.end();
      }
      const claimMs: number[] = [];
      const dueMs: number[] = [];
      for (let i = 0; i < claims; i++) {
        await store.transaction(async (tx: Any) => {
          const t = performance.now();
          await tx.outbox.claimDue({
            now: Date.now(),
            limit: 16,
            perProjectLimit: 16,
            excludeProjects: [],
            owner: 'bench',
            leaseUntil: Date.now() + 60_000,
          });
          claimMs.push(performance.now() - t);
          await tx.outbox.releaseAllLeases();
        });
        const t = performance.now();
        await store.queries.outbox.nextDueAt();
        dueMs.push(performance.now() - t);
      }
      const c = percentiles(claimMs);
      const d = percentiles(dueMs);
      rows.push(
        `${String(backlog).padStart(8)}  ${round(c.p50, 3).toFixed(3).padStart(9)}  ${round(c.p99, 3).toFixed(3).padStart(9)}  ${round(d.p50, 3).toFixed(3).padStart(11)}  ${String(Math.round(1000 / (c.p50 + d.p50))).padStart(12)}`,
      );
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  cluster?.stop();
  process.stdout.write(
    [
      `claimDueEvents (limit 16) and nextDueAt on ${onPostgres ? 'PostgreSQL' : 'SQLite'}, ${claims} times each, relevo from ${dist}`,
      ' pending  claim p50  claim p99  nextDue p50  claims/s max',
      ...rows,
      '(ms; "claims/s max" = 1000 / (claim p50 + nextDue p50): one claim per finished attempt caps deliveries/s there)',
      '',
    ].join('\n'),
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`claim-cost: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
