/**
 * A process killed during a migration (issue 7, "Faults"): `relevo migrate` is SIGKILLed at
 * varying moments; the next run completes the schema, and the database is never half-migrated
 * or corrupt (each migration commits with its bookkeeping row, or not at all).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { CLI, ensureBuilt } from '../helpers/spawned-server.js';

let dir: string;
beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'relevo-migkill-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function killedMigrate(path: string, afterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'migrate'], {
      env: { PATH: process.env.PATH, DATABASE_URL: `sqlite:${path}` },
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

it('a migration killed at any moment leaves a database the next start completes', async () => {
  const versions = MIGRATIONS.map((m) => m.version);
  // Node starts in ~50-150 ms here, and migrating an empty database takes a few ms: the
  // delays below land before, during and after it.
  for (const [i, delay] of [20, 60, 90, 110, 130, 150, 180, 250, 400].entries()) {
    const path = join(dir, `db-${i}.db`);
    await killedMigrate(path, delay);
    const again = spawnSync(process.execPath, [CLI, 'migrate'], {
      env: { PATH: process.env.PATH, DATABASE_URL: `sqlite:${path}` },
      encoding: 'utf8',
    });
    expect(again.status, again.stderr).toBe(0);
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const applied = (
        db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{
          version: number;
        }>
      ).map((r) => r.version);
      expect(applied).toEqual(versions);
      const tables = (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>
      ).map((r) => r.name);
      for (const t of [
        'projects',
        'conversations',
        'events',
        'attempts',
        'bot_channels',
        'idempotency_keys',
      ]) {
        expect(tables).toContain(t);
      }
    } finally {
      db.close();
    }
  }
}, 120_000);
