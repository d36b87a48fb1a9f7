/**
 * A transaction's pooled connection, as the executors of its requests send statements through it.
 * The pool's connections pipeline (the store's `pipeline: true`): a statement is written without
 * waiting for the answers before it, and PostgreSQL runs them in the order written.
 *
 * The transaction's BEGIN is written with its first statement, in one write, and answered with
 * it: one round trip fewer for every transaction. A BEGIN on a live connection outside a
 * transaction does not fail; if the connection dies, both fail.
 *
 * Interleaving (a group commit's batch of requests of different rooms, PostgresStore.runBatch):
 * what the requests send in one turn of the event loop is held corked and written at its end, in
 * one write. Their answers tend to arrive together, so their next statements leave together: ten
 * requests' statements cost one write and one round trip instead of ten. A loopback write is
 * where the kernel hands the bytes over and wakes the server, so its cost is per write (writev
 * was 39 % of relevo's busy time on PostgreSQL, docs/performance.md).
 */
import type pg from 'pg';
import type { Queryable } from './postgres-executor.js';
import type { PreparedQuery } from './prepared-query.js';

interface Corkable {
  cork(): void;
  uncork(): void;
}

export class SharedSession implements Queryable {
  /** BEGIN went out: from then on there is a transaction to commit or roll back. */
  began = false;
  private begin: Promise<unknown> | undefined;
  private held = false;
  private readonly stream: Corkable | undefined;

  constructor(
    private readonly client: pg.PoolClient,
    /** Hold writes until the end of the turn (see the file comment); false sends each at once. */
    public interleaving = false,
    /** What opens the transaction: BEGIN, and any SET LOCAL of it, as one simple query. */
    private readonly beginSql = 'BEGIN',
  ) {
    const stream = (client as { connection?: { stream?: Partial<Corkable> } }).connection?.stream;
    this.stream =
      typeof stream?.cork === 'function' && typeof stream.uncork === 'function'
        ? (stream as Corkable)
        : undefined;
  }

  query(config: pg.QueryConfig): Promise<pg.QueryResult> {
    return this.send(() => this.client.query(config));
  }

  submit(q: PreparedQuery): Promise<pg.QueryResult> {
    return this.send(() => {
      this.client.query(q);
      return q.done;
    });
  }

  /** Writes a statement (`write`), behind the transaction's BEGIN the first time. */
  private send(write: () => Promise<pg.QueryResult>): Promise<pg.QueryResult> {
    const stream = this.stream;
    if (this.interleaving && !this.held && stream !== undefined) {
      // setImmediate, not nextTick: it runs after the poll phase, so the answers of every socket
      // read in this turn have resumed their requests, and their statements are in this write.
      this.held = true;
      stream.cork();
      setImmediate(() => {
        this.held = false;
        stream.uncork();
      });
    }
    if (this.begin === undefined) {
      this.began = true;
      // Corked, BEGIN and the statement go out in one write instead of one each (pg corks each
      // extended-query statement's own messages, but not a simple query before it).
      stream?.cork();
      try {
        this.begin = this.client.query(this.beginSql);
        // Its failure reaches every statement through Promise.all below; never unhandled.
        this.begin.catch(() => undefined);
        const sent = write();
        return Promise.all([this.begin, sent]).then(([, r]) => r);
      } finally {
        stream?.uncork();
      }
    }
    const sent = write();
    // Had BEGIN failed, the statement would not be in the transaction: it fails with it.
    return Promise.all([this.begin, sent]).then(([, r]) => r);
  }
}
