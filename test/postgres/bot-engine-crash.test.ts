/**
 * Bot engines under `kill -9`, on PostgreSQL (the scenarios: test/helpers/bot-crash.ts): the
 * server is killed mid-stream and restarted on the same database. The SQLite run is
 * test/e2e/bot-engine-crash.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, it } from 'vitest';
import { CrashRig, externalBotThroughKill, rasaBotThroughKill } from '../helpers/bot-crash.js';
import { ensureBuilt } from '../helpers/spawned-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let dir: string;
const rigs: CrashRig[] = [];
const databases: TestDatabase[] = [];

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'relevo-bot-crash-pg-'));
});
afterAll(async () => {
  for (const rig of rigs) await rig.close();
  for (const db of databases) await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function rig(): Promise<CrashRig> {
  const db = await createTestDatabase(dir);
  databases.push(db);
  const r = new CrashRig(db.url);
  rigs.push(r);
  return r;
}

it("an external bot's webhook gets every acknowledged message, in room order, through a bot outage and a SIGKILL", async () => {
  await externalBotThroughKill(await rig());
}, 90_000);

it('a Rasa bot is asked every acknowledged message in room order, and its answers reach the channel once each, in order, through an outage and a SIGKILL', async () => {
  await rasaBotThroughKill(await rig());
}, 90_000);
