/**
 * The server entry's last resort: an exception or a rejection nobody caught is logged as one
 * JSON line at fatal, with its stack, and the process exits 1 (for its supervisor to restart).
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { exitOnSignals, type RunningServer, serve } from '../../src/server.js';

let running: RunningServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await running?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

it.each([
  ['uncaughtException', new Error('boom in a timer')],
  ['unhandledRejection', new Error('a promise nobody awaited')],
])('%s is logged at fatal and exits 1', async (kind, error) => {
  dir = mkdtempSync(join(tmpdir(), 'relevo-crash-'));
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => logs.push(JSON.parse(l)) });
  const config = loadConfig({
    DATABASE_URL: `sqlite:${join(dir, 'relevo.db')}`,
    PORT: '0',
    HOST: '127.0.0.1',
    RELEVO_ADMIN_TOKEN: 'off',
  });
  running = await serve(config, { logger });
  const source = new EventEmitter();
  const exits: number[] = [];
  const remove = exitOnSignals(running, { timeoutMs: 5_000, exit: (code) => exits.push(code), source });
  source.emit(kind, error);
  remove();
  expect(exits).toEqual([1]);
  const line = logs.find((l) => l.msg === 'crashed; exiting');
  expect(line).toMatchObject({ level: 60, kind, err: { message: error.message } });
  expect(String((line?.err as { stack?: string } | undefined)?.stack)).toContain(error.message);
});
