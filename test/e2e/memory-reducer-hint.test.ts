/**
 * The built server says, once at start, when node was started without --no-memory-reducer
 * (src/server.ts says why the flag matters and why only node's command line can carry it), and
 * says nothing of it when the flag is there, as `npm start` passes it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureBuilt, freePort, type LogLine, Served, spawnRelevo } from '../helpers/spawned-server.js';

const HINT =
  'node was started without --no-memory-reducer: after a pause in traffic, the first second is slower';
let dir: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'relevo-memory-reducer-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Every log line of a server started with `nodeArgs`, from its start to its exit on SIGTERM. */
async function linesOfARun(name: string, nodeArgs: string[]): Promise<LogLine[]> {
  const port = await freePort();
  const served = new Served(
    spawnRelevo({
      port,
      nodeArgs,
      env: { DATABASE_URL: `sqlite:${join(dir, `${name}.db`)}`, RELEVO_ADMIN_TOKEN: 'off' },
    }),
    port,
  );
  try {
    await served.waitFor((l) => l.msg === 'relevo listening', 'relevo listening', 20_000);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  } finally {
    served.child.kill('SIGTERM');
  }
  expect(await served.exited).toBe(0);
  return served.lines;
}

it('a server started without --no-memory-reducer says so once, at info level, and where to read why', async () => {
  const lines = await linesOfARun('without', []);
  const hints = lines.filter((l) => l.msg === HINT);
  expect(hints).toHaveLength(1);
  expect(hints[0]).toMatchObject({
    level: 30,
    nodeFlag: '--no-memory-reducer',
    see: 'docs/operations.md, "Starting the server"',
  });
});

it('a server started with it, as npm start does, says nothing of it', async () => {
  const lines = await linesOfARun('with', ['--no-memory-reducer']);
  expect(lines.some((l) => l.msg === 'relevo listening')).toBe(true);
  expect(lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('memory-reducer'))).toEqual([]);
});
