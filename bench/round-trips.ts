/**
 * How many statements a start and a close send to the database, on PostgreSQL (where each one is
 * a round trip between relevo and the server, and most of relevo's CPU per request goes to them)
 * and on SQLite. Runs relevo's own `startConversation` and `closeConversation` (the bot's
 * hand-back included) through its stores, once warm, counting every statement the driver is
 * given (transaction control included), and on PostgreSQL the round trips they take; for the project with a webhook (its events are pending,
 * so PostgreSQL's commit also announces them) and without one. With the webhook, also the record
 * of a delivered attempt, as the dispatcher writes it.
 *
 *   node dist-bench/bench/round-trips.js [--dist <relevo's build, default dist/>]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { findPostgresBin, startCluster } from '../test/setup/postgres-cluster.js';
import { type Any, addIntegration, buildLoader, loadConversations } from './lib/build.js';
import { ROOT } from './lib/processes.js';

const { values } = parseArgs({ options: { dist: { type: 'string' } } });
const load = buildLoader(values.dist ?? join(ROOT, 'dist'));

/**
 * Counts what goes to a driver while `counting` is set, by the statement's first words. A
 * statement handed over in the same synchronous turn as the one before it (PostgreSQL's
 * pipelined BEGIN and first statement) is written with it and answered with it: it shares that
 * round trip, and is listed with a leading `+`.
 */
class Counter {
  counting = false;
  readonly seen: string[] = [];
  private sameTurn = false;
  note(sql: string): void {
    if (!this.counting) return;
    const text = sql.replace(/\s+/g, ' ').trim().slice(0, 48);
    this.seen.push(this.sameTurn ? `+ ${text}` : text);
    this.sameTurn = true;
    process.nextTick(() => {
      this.sameTurn = false;
    });
  }
  take(): string[] {
    return this.seen.splice(0);
  }
}

async function measure(store: Any, counter: Counter, webhook: boolean): Promise<Record<string, string[]>> {
  const projects = await load('domain/projects/project.service.js');
  const conversations = await loadConversations(load);
  const now = Date.now();
  const { project } = await store.transaction((tx: Any) => projects.createProject(tx, 'round trips', now));
  if (webhook) await addIntegration(load, store, project.id, now);
  const bot = await store.transaction((tx: Any) => projects.createBot(tx, project.id, 'Bot', 'webchat', now));
  const user = await store.transaction((tx: Any) =>
    projects.createEndUser(tx, project.id, 'User', null, now),
  );
  const input = { projectId: project.id, botId: bot.id, userId: user.id, now };
  // Once to warm up (the room is created on the first start), then counted.
  await store.transaction((tx: Any) => conversations.startConversation(tx, input));
  await store.transaction((tx: Any) => conversations.closeConversation(tx, input));
  counter.counting = true;
  await store.transaction((tx: Any) =>
    conversations.startConversation(tx, { ...input, metadata: { ticketId: 'T-1' } }),
  );
  const start = counter.take();
  await store.transaction((tx: Any) => conversations.closeConversation(tx, input));
  const close = counter.take();
  counter.counting = false;
  if (!webhook) return { start, close };
  // A delivered attempt's record, as the dispatcher writes it (builds before Store.statement:
  // the attempt, the settle and the failure clock in one transaction).
  const started = await store.transaction((tx: Any) =>
    conversations.startConversation(tx, { ...input, now: now + 1 }),
  );
  const events = await store.queries.outbox.list(
    project.id,
    { conversationId: started.conversation.id },
    { limit: 1 },
  );
  const eventId = events.items[0].id;
  await store.transaction((tx: Any) => tx.outbox.lease(eventId, 'wrk_count', now, now + 60_000));
  const attempt = {
    id: `att_${now}`,
    eventId,
    projectId: project.id,
    attemptNumber: 1,
    startedAt: now,
    durationMs: 1,
    url: 'http://127.0.0.1:9/hook',
    statusCode: 200,
    responseBody: 'ok',
    error: null,
    outcome: 'delivered',
  };
  const settlement = {
    status: 'delivered',
    attemptCount: 1,
    nextAttemptAt: null,
    deliveredAt: now,
    lastError: null,
  };
  counter.counting = true;
  if (typeof store.statement === 'function') {
    // As the dispatcher writes it: a transaction of one statement, which under load shares a
    // batch's BEGIN and COMMIT (alone, as here, it sends them itself).
    await store.transaction((tx: Any) => tx.deliveryLog.recordDelivered(attempt, 'wrk_count', now, true));
  } else {
    await store.transaction(async (tx: Any) => {
      await tx.deliveryLog.insert(attempt);
      await tx.outbox.settle(eventId, 'wrk_count', settlement);
      await tx.integrations.clearFailure(project.id);
    });
  }
  const recordDelivered = counter.take();
  counter.counting = false;
  return { start, close, 'record of a delivered attempt': recordDelivered };
}

function report(db: string, webhook: boolean, r: Record<string, string[]>): void {
  for (const [what, statements] of Object.entries(r)) {
    const trips = statements.filter((s) => !s.startsWith('+ ')).length;
    const roundTrips = db === 'PostgreSQL' ? ` in ${trips} round trip${trips === 1 ? '' : 's'}` : '';
    console.log(
      `${db}, ${webhook ? 'with' : 'without'} a webhook: ${what} = ${statements.length} statements${roundTrips}`,
    );
    for (const s of statements) console.log(`    ${s}`);
  }
}

async function sqlite(): Promise<void> {
  const { SqliteStore } = await load('storage/sqlite/sqlite-store.js');
  const counter = new Counter();
  // Every statement better-sqlite3 runs goes through a prepared statement's run/get/all.
  const proto = Database.prototype as Any;
  const prepare = proto.prepare;
  proto.prepare = function (this: Any, sql: string, ...rest: unknown[]) {
    const statement = prepare.call(this, sql, ...rest);
    for (const m of ['run', 'get', 'all']) {
      const f = statement[m].bind(statement);
      statement[m] = (...args: unknown[]) => {
        counter.note(sql);
        return f(...args);
      };
    }
    return statement;
  };
  const dir = mkdtempSync(join(os.tmpdir(), 'relevo-round-trips-'));
  try {
    for (const webhook of [false, true]) {
      const store = new SqliteStore({ path: join(dir, `relevo-${webhook}.db`) });
      await store.migrate();
      report('SQLite', webhook, await measure(store, counter, webhook));
      await store.close();
    }
  } finally {
    proto.prepare = prepare;
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgres(): Promise<void> {
  const { PostgresStore } = await load('storage/postgres/postgres-store.js');
  const cluster = await startCluster();
  const counter = new Counter();
  const query = pg.Client.prototype.query as Any;
  (pg.Client.prototype as Any).query = function (this: Any, config: Any, ...rest: unknown[]) {
    counter.note(typeof config === 'string' ? config : (config?.text ?? ''));
    return query.call(this, config, ...rest);
  };
  try {
    for (const webhook of [false, true]) {
      const name = `round_trips_${webhook ? 'hook' : 'plain'}`;
      const admin = new pg.Client({ connectionString: cluster.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const store = new PostgresStore({ url: cluster.urlOf(name), poolSize: 2 });
      await store.migrate();
      report('PostgreSQL', webhook, await measure(store, counter, webhook));
      await store.close();
    }
  } finally {
    (pg.Client.prototype as Any).query = query;
    cluster.stop();
  }
}

async function main(): Promise<void> {
  await sqlite();
  if (findPostgresBin() !== undefined) await postgres();
  else console.log('PostgreSQL: binaries not found, skipped');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
