/**
 * WAL checkpoints on a thread of their own.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000 WAL pages: it copies the
 * pages into the database file and fsyncs both files, on the event loop. In a group-commit
 * benchmark that was half of the COMMIT's time (512 → 274 µs per batch of 32 requests without it,
 * docs/performance.md), and a 2–5 ms stall for every request waiting behind it. Here the writer
 * connection never checkpoints (`wal_autocheckpoint = 0`); a worker thread with its own connection
 * runs PASSIVE checkpoints, which never block the writer.
 *
 * A passive checkpoint under steady writes may never quite catch up, and SQLite only starts the
 * WAL file over once one has (at the writer's next transaction). So once the WAL holds
 * `restartFrames`, the store holds its next batch back (requests keep queueing, the event loop
 * keeps running) until one more checkpoint, with no write beside it, has copied the rest.
 *
 * The worker reports through shared memory, read after each commit: a busy event loop can leave
 * worker messages undelivered for as long as it stays busy. Its code is a string so that it runs
 * the same from the TypeScript sources and from the build, with the same better-sqlite3.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Slots of the shared Int32Array. */
const STARTED = 0; // checkpoints asked for (written by the store's thread)
const DONE = 1; // checkpoints finished (written by the worker)
const LOG = 2; // WAL frames at the last finished checkpoint

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const shared = new Int32Array(workerData.shared);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = ' + workerData.synchronous);
parentPort.on('message', (m) => {
  if (m === 'stop') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    Atomics.store(shared, ${LOG}, r.log);
  } catch (e) {
    parentPort.postMessage({ error: String(e && e.message ? e.message : e) });
  }
  Atomics.add(shared, ${DONE}, 1);
});
`;

export interface CheckpointerOptions {
  readonly path: string;
  readonly synchronous: 'normal' | 'full';
  /** How often a checkpoint starts while commits happen. */
  readonly intervalMs?: number;
  /** WAL frames (pages) beyond which the next batch waits for a complete checkpoint. */
  readonly restartFrames?: number;
  /** A checkpoint failed (disk full, I/O error); the next one tries again. */
  readonly onError?: (e: Error) => void;
}

/** 100 ms: at 7,000 requests/s and 1.5 pages each, about 1,000 pages (4 MiB) per checkpoint. */
const INTERVAL_MS = 100;
/**
 * 65,536 pages = 256 MiB of WAL between restarts. Each restart holds writes back for the final
 * checkpoint (8–45 ms measured here, two fsyncs); the pipeline benchmark writes ≈ 4 pages per
 * request, so at 64 MiB that was once a second under load, enough to show in a p99.
 */
const RESTART_FRAMES = 65_536;
/**
 * A checkpoint still running after this long (a slow disk, a starved core) holds the next batch
 * back too, so that the WAL cannot grow by more than this much writing while checkpoints lag.
 */
const STALL_MS = 1_000;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly shared = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  private readonly exited: Promise<void>;
  private readonly intervalMs: number;
  private readonly restartFrames: number;
  private lastStarted = Number.NEGATIVE_INFINITY;
  private stopped = false;

  constructor(o: CheckpointerOptions) {
    this.intervalMs = o.intervalMs ?? INTERVAL_MS;
    this.restartFrames = o.restartFrames ?? RESTART_FRAMES;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        path: o.path,
        synchronous: o.synchronous === 'full' ? 'FULL' : 'NORMAL',
        shared: this.shared.buffer,
      },
    });
    // It must never keep a process alive that is otherwise done.
    this.worker.unref();
    this.worker.on('message', (m: { error?: string }) => {
      if (m.error !== undefined) o.onError?.(new Error(`WAL checkpoint failed: ${m.error}`));
    });
    this.worker.on('error', (e) => o.onError?.(e));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  private get running(): boolean {
    return Atomics.load(this.shared, STARTED) !== Atomics.load(this.shared, DONE);
  }

  /** After a commit: starts a checkpoint when none runs and the last began `intervalMs` ago. */
  afterCommit(): void {
    if (this.stopped || this.running) return;
    if (performance.now() - this.lastStarted < this.intervalMs) return;
    this.start();
  }

  /** True when the next batch should wait for `catchUp()` so that the WAL can start over. */
  get needsRestart(): boolean {
    if (this.stopped) return false;
    if (this.running) return performance.now() - this.lastStarted > STALL_MS;
    // Even a checkpoint that copied every frame it saw raced the commits made while it ran: the
    // WAL only starts over after one that ran with no write beside it (catchUp).
    return Atomics.load(this.shared, LOG) >= this.restartFrames;
  }

  /**
   * Called with no write in progress: runs one more checkpoint, which copies every frame left
   * (nothing is appended meanwhile), so that the next write starts the WAL over.
   */
  async catchUp(): Promise<void> {
    await this.finished();
    if (this.stopped) return;
    this.start();
    await this.finished();
    // The next write starts the WAL over; the size to judge by is the next checkpoint's.
    Atomics.store(this.shared, LOG, 0);
  }

  private start(): void {
    this.lastStarted = performance.now();
    Atomics.add(this.shared, STARTED, 1);
    this.worker.postMessage('checkpoint');
  }

  private async finished(): Promise<void> {
    // A checkpoint of what is left takes a few milliseconds; look every millisecond.
    while (this.running && !this.stopped) await new Promise((r) => setTimeout(r, 1));
  }

  /** Stops after the checkpoint in progress, if any; the last connection to close checkpoints. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Keep the process alive until the worker has closed its connection.
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }
}
