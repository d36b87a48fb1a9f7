import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Checkpointer } from '../../src/storage/sqlite/checkpointer.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';

const PAGE = 4096;
const tick = () => new Promise((r) => setImmediate(r));

describe('WAL checkpoints on a worker thread', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'relevo-checkpointer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the WAL bounded under non-stop writes, as the store drives it', async () => {
    const path = join(dir, 'wal.db');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (x BLOB)');
    const insert = db.prepare('INSERT INTO t VALUES (randomblob(3000))');
    const errors: Error[] = [];
    const restartFrames = 300;
    const c = new Checkpointer({
      path,
      synchronous: 'normal',
      intervalMs: 0,
      restartFrames,
      onError: (e) => errors.push(e),
    });
    let catchUps = 0;
    let largestWal = 0;
    // 2,000 commits of 10 pages each: 20,000 pages, 80 MiB through a WAL allowed ~300 pages.
    for (let i = 0; i < 2_000; i++) {
      if (c.needsRestart) {
        catchUps += 1;
        await c.catchUp();
      }
      db.transaction(() => {
        for (let k = 0; k < 10; k++) insert.run();
      })();
      c.afterCommit();
      largestWal = Math.max(largestWal, statSync(`${path}-wal`).size);
      await tick();
    }
    await c.stop();
    expect(errors).toEqual([]);
    expect(catchUps).toBeGreaterThan(0);
    // The WAL starts over after each catch-up: it never holds more than the frames written
    // while one checkpoint runs, plus the restart threshold; far below the 20,000 written.
    expect(largestWal / PAGE).toBeLessThan(5_000);
    expect((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(20_000);
    db.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('runs under the store: every commit is kept, and closing ends the thread and removes the WAL', async () => {
    const path = join(dir, 'store.db');
    const errors: Error[] = [];
    const store = new SqliteStore({
      path,
      backgroundCheckpoints: true,
      onBackgroundError: (e) => errors.push(e),
    });
    await store.migrate();
    const writes = Array.from({ length: 500 }, (_, i) =>
      store.transaction((tx) =>
        tx.insertProject({ id: `prj_${String(i).padStart(4, '0')}`, name: 'p', createdAt: i }),
      ),
    );
    await Promise.all(writes);
    // Give the worker time to checkpoint at least once after the commits.
    await new Promise((r) => setTimeout(r, 150));
    await store.transaction((tx) => tx.insertProject({ id: 'prj_last', name: 'p', createdAt: 1 }));
    await store.close();
    expect(errors).toEqual([]);
    expect(existsSync(`${path}-wal`)).toBe(false);
    const db = new Database(path, { readonly: true });
    expect((db.prepare('SELECT count(*) AS n FROM projects').get() as { n: number }).n).toBe(501);
    db.close();
  });
});
