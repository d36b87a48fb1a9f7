/**
 * Bot engines under `kill -9`, on a SQLite file (the scenarios: test/helpers/bot-crash.ts). The
 * PostgreSQL run is test/postgres/bot-engine-crash.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, it } from 'vitest';
import { CrashRig, externalBotThroughKill, rasaBotThroughKill } from '../helpers/bot-crash.js';
import { ensureBuilt } from '../helpers/spawned-server.js';

let dir: string;
const rigs: CrashRig[] = [];

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'relevo-bot-crash-'));
});
afterAll(async () => {
  for (const rig of rigs) await rig.close();
  rmSync(dir, { recursive: true, force: true });
});

function rig(name: string): CrashRig {
  const r = new CrashRig(`sqlite:${join(dir, `${name}.db`)}`);
  rigs.push(r);
  return r;
}

it("an external bot's webhook gets every acknowledged message, in room order, through a bot outage and a SIGKILL", async () => {
  await externalBotThroughKill(rig('external'));
}, 90_000);

it('a Rasa bot is asked every acknowledged message in room order, and its answers reach the channel once each, in order, through an outage and a SIGKILL', async () => {
  await rasaBotThroughKill(rig('rasa'));
}, 90_000);
