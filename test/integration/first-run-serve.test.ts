/**
 * `serve` on a fresh database, in-process on both databases: the first-run token is printed on
 * the given stderr exactly once, by the one server whose insert won, even when two servers (each
 * with its own pool) start together on one PostgreSQL database; both accept it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type RunningServer, serve } from '../../src/server.js';
import { requestJson } from '../helpers/http-client.js';
import { FIRST_RUN_EXPORT } from '../helpers/spawned-server.js';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../helpers/test-database.js';

let dir: string;
let db: TestDatabase | undefined;
let url: string;
const running: RunningServer[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relevo-first-run-'));
  if (TEST_DB === 'postgres') {
    db = await createTestDatabase(dir);
    url = db.url;
  } else {
    // SQLite: the server is the only process on its file, as in production.
    db = undefined;
    url = `sqlite:${join(dir, 'relevo.db')}`;
  }
});
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

interface Started {
  readonly server: RunningServer;
  readonly printed: string[];
  readonly logs: Array<Record<string, unknown>>;
}

async function start(): Promise<Started> {
  const config = loadConfig({ DATABASE_URL: url, PORT: '0', HOST: '127.0.0.1', RELEVO_ROLE: 'api' });
  const printed: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const server = await serve(config, { logger, stderr: (text) => printed.push(text) });
  running.push(server);
  return { server, printed, logs };
}

const tokenIn = (s: Started): string | undefined => FIRST_RUN_EXPORT.exec(s.printed.join(''))?.[1];
const projects = (s: Started, token: string) =>
  requestJson(s.server.port, 'GET', '/admin/v1/projects', { authorization: `Bearer ${token}` });

it('a fresh start prints one token on stderr, with its own address; the JSON log only says so', async () => {
  const s = await start();
  const token = tokenIn(s) ?? '';
  expect(token).not.toBe('');
  expect(s.printed).toHaveLength(1);
  expect(s.printed[0]).toContain(`  curl -s -X POST ${s.server.url}/admin/v1/projects `);
  expect(JSON.stringify(s.logs)).not.toContain(token);
  expect(
    s.logs.filter(
      (l) => l.msg === 'admin API on: a first-run admin token was created and printed once on stderr',
    ),
  ).toEqual([expect.objectContaining({ level: 30 })]);
  expect((await projects(s, token)).status).toBe(200);
  expect((await projects(s, `${token}x`)).status).toBe(401);
});

it.skipIf(TEST_DB !== 'postgres')(
  'two servers starting together on one PostgreSQL database: one token, printed by one of them, accepted by both',
  async () => {
    const both = await Promise.all([start(), start()]);
    const printers = both.filter((s) => s.printed.length > 0);
    expect(printers).toHaveLength(1);
    const token = tokenIn(printers[0] as Started) ?? '';
    expect(token).not.toBe('');
    const other = both.find((s) => s.printed.length === 0);
    expect(other?.logs.some((l) => String(l.msg).startsWith('admin API is on with the token printed'))).toBe(
      true,
    );
    for (const s of both) expect((await projects(s, token)).status).toBe(200);
  },
);
