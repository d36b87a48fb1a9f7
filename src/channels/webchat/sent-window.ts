/**
 * Which messages a web chat stream has sent, so that it sends each once and misses none that
 * commit late. Message ids are made inside the transaction, before it commits: on PostgreSQL two
 * transactions (two requests, or two nodes) can commit in the opposite order of their ids, and a
 * stream that only asks for "ids after the last one sent" skips the first (the bot's reply to a
 * visitor's message, say, committed a few milliseconds after the panel's next message). So each
 * read starts RESCAN_WINDOW_MS (10 s) behind the newest id sent and skips the ids sent already,
 * which are remembered for that window only: a room's messages of 10 s, a handful. The same
 * reasoning, with its numbers, is the project event stream's (domain/event-stream/stream-cursor.ts).
 */
import { RESCAN_WINDOW_MS } from '../../domain/event-stream/stream-cursor.js';
import { idFloorAt, timeOfId } from '../../model/ids.js';

export class SentWindow {
  private newest: string;
  private readonly seen = new Set<string>();

  /** `floor`: the id the client resumes after (Last-Event-ID); '' for the whole history. */
  constructor(private readonly floor: string) {
    this.newest = floor;
  }

  /** Where a catch-up read starts: the window behind the newest id sent, never below the floor. */
  readFrom(): string | undefined {
    const start = this.start();
    return start === '' ? undefined : start;
  }

  /** Whether `id` is still to be sent: above the floor and the window's start, and not sent yet. */
  isNew(id: string): boolean {
    return id > this.floor && id > this.start() && !this.seen.has(id);
  }

  sent(id: string): void {
    this.seen.add(id);
    if (id > this.newest) this.newest = id;
    const start = this.start();
    for (const old of this.seen) if (old <= start) this.seen.delete(old);
  }

  private start(): string {
    if (this.newest === '' || this.newest === this.floor) return this.floor;
    const behind = idFloorAt('msg', timeOfId(this.newest) - RESCAN_WINDOW_MS);
    // Strings: Math.max would compare them as numbers.
    if (behind > this.floor) return behind;
    return this.floor;
  }
}
