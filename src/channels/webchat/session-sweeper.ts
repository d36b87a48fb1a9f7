/**
 * Deletes web chat sessions that never became anything. Every POST /webchat/{botId}/sessions
 * writes an end user, a room and the bot's greeting; a visitor who opens the page and leaves
 * without writing would keep them forever (a scripted client wrote ~20 GB an hour). After
 * RELEVO_WEBCHAT_IDLE_SESSION_TTL (24 h), a session whose visitor never wrote, whose room never
 * had a conversation or an event, is deleted: the user, their room and its greeting. Nothing the
 * panel ever saw is touched.
 *
 * Every process that serves the API runs one. Each deletion checks the conditions again in its
 * own transaction, so two nodes sweeping the same PostgreSQL at once delete each session once
 * (the second finds nothing), and a visitor who writes at the last moment keeps the session (the
 * conditions, or the foreign keys of the new message, stop the deletion).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../../storage/store.js';

/** A sweep every 10 minutes: a session lives at most the TTL plus this. */
export const SWEEP_EVERY_MS = 10 * 60_000;
/** Sessions looked up per round; a sweep goes on in rounds until none is left. */
const BATCH = 200;

export interface SessionSweeperOptions {
  readonly store: Store;
  readonly ttlMs: number;
  readonly log: FastifyBaseLogger;
  /** Milliseconds since the epoch (tests move it). */
  readonly clock?: () => number;
  readonly everyMs?: number;
}

export interface SessionSweeper {
  /** One sweep now; resolves with how many sessions it deleted. */
  sweep(): Promise<number>;
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

export function startSessionSweeper(options: SessionSweeperOptions): SessionSweeper {
  const { store, ttlMs, log } = options;
  const clock = options.clock ?? Date.now;
  let running: Promise<number> | undefined;
  let stopped = false;

  const sweepOnce = async (): Promise<number> => {
    const cutoff = clock() - ttlMs;
    let deleted = 0;
    for (;;) {
      const ids = await store.queries.endUsers.silentWebchat(cutoff, BATCH);
      let round = 0;
      for (const id of ids) {
        if (stopped) return deleted;
        if (await store.transaction((tx) => tx.endUsers.deleteSilentWebchat(id, cutoff))) round += 1;
      }
      deleted += round;
      // A short page is the last; a round that deleted nothing (another node was faster, or
      // every candidate spoke meanwhile) would only find the same ids again.
      if (ids.length < BATCH || round === 0) return deleted;
    }
  };

  // One sweep at a time: a slow database must not pile them up.
  const sweep = (): Promise<number> => {
    running ??= sweepOnce().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => {
    sweep().then(
      (n) => {
        if (n > 0) log.info({ deleted: n }, 'silent web chat sessions deleted');
      },
      (err: unknown) => log.warn({ err }, 'could not delete silent web chat sessions; retrying later'),
    );
  }, options.everyMs ?? SWEEP_EVERY_MS);
  // The sweep never keeps a process alive on its own.
  timer.unref();

  return {
    sweep,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
