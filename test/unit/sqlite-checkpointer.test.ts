import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Checkpointer } from '../../src/storage/sqlite/checkpointer.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';

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
    let lastCatchUp = -1;
    // 2,000 commits of 10 pages each: 20,000 pages through a WAL meant to start over at ~300.
    // On a loaded machine the worker may not have reported a checkpoint by then (its thread
    // starts late, or gets no core for a while: one run caught up at the 5th commit and never
    // again): the writes go on, up to 20 s, until a catch-up has happened in the second half.
    const deadline = Date.now() + 20_000;
    let commits = 0;
    for (let i = 0; i < 2_000 || (lastCatchUp < 1_000 && Date.now() < deadline); i++) {
      commits += 1;
      if (c.needsRestart) {
        catchUps += 1;
        lastCatchUp = i;
        await c.catchUp();
      }
      db.transaction(() => {
        for (let k = 0; k < 10; k++) insert.run();
      })();
      c.afterCommit();
      await tick();
    }
    await c.stop();
    expect(errors).toEqual([]);
    expect(catchUps).toBeGreaterThan(0);
    // The WAL started over after each catch-up: it holds only what came after the last one.
    // (How much that is depends on how fast the worker's core is; on a quiet machine, < 1,000.)
    const [wal] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
    expect(wal!.log).toBeLessThan(commits * 10);
    expect((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(commits * 10);
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
        tx.projects.insert({ id: `prj_${String(i).padStart(4, '0')}`, name: 'p', createdAt: i }),
      ),
    );
    await Promise.all(writes);
    // Give the worker time to checkpoint at least once after the commits.
    await new Promise((r) => setTimeout(r, 150));
    await store.transaction((tx) => tx.projects.insert({ id: 'prj_last', name: 'p', createdAt: 1 }));
    await store.close();
    expect(errors).toEqual([]);
    expect(existsSync(`${path}-wal`)).toBe(false);
    const db = new Database(path, { readonly: true });
    expect((db.prepare('SELECT count(*) AS n FROM projects').get() as { n: number }).n).toBe(501);
    db.close();
  });
});
