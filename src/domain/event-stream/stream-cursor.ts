/**
 * Where a live event stream stands (docs/api.md §5.8): which of the
 * project's panel events it has sent, and which to read next.
 *
 * Event ids sort by the time they were made, but they are made inside the transaction, before it
 * commits. Two transactions on PostgreSQL (two requests of one node, or two nodes) can commit in
 * the opposite order of their ids: A makes evt_…01, B makes evt_…02, B commits, a reader sends
 * evt_…02, then A commits. A reader that only asks for `id > last sent` never sees evt_…01.
 *
 * So every read goes back RESCAN_WINDOW_MS behind the newest id sent and skips the ids it has
 * sent already (kept in memory for that window only). An event is missed only if its transaction
 * committed more than 10 s after making its id, or its node's clock is that far behind another's:
 * a start or a close commits within milliseconds of making its event, and NTP keeps clocks within
 * a few ms; the database's own limits (a pooled connection is waited for 5 s, before the
 * transaction starts) do not count towards it. A late event is sent when it is found, after
 * events with higher ids: clients must not assume that ids arrive in order.
 *
 * Cost, per read: the ids of the project's panel events of the last 10 s (one index range; at
 * 100 events a second, 1 000 ids of 30 bytes), then the rows of the unsent ones only, 50 at a
 * time. Memory: the sent ids of the window (1 000 ids, about 60 KB, at that rate), one page of
 * 500 ids and one batch of 50 rows, however long the backlog of a resumed stream.
 *
 * Resuming after an id (Last-Event-ID) sends every event with a higher id: exact for every event
 * committed before the client's last one was sent. An event with a lower id committed after that
 * (the late case above) is not sent to a resumed stream, since the client may hold it already.
 */
import { idFloorAt, timeOfId } from '../../model/ids.js';
import type { OutboxEvent } from '../../model/types.js';
import type { Queries } from '../../storage/store.js';

/** How far behind the newest id sent each read looks for late commits; see the file comment. */
export const RESCAN_WINDOW_MS = 10_000;
/** Ids read per query; a read continues until a short page. */
const ID_PAGE = 500;
/** Rows read per query: with payloads of up to ~30 KB (16 KiB of metadata), at most ~1.5 MB held. */
const ROW_BATCH = 50;

/** Where a new stream starts. */
export type StreamStart =
  /** After this event id (Last-Event-ID): every event with a higher id. */
  | { readonly after: string }
  /** With the events committed from now on only. */
  | { readonly now: number };

export class StreamCursor {
  /** Never send an id at or below this (the resume point, or the start of the first window). */
  private readonly floor: string;
  /** The newest id sent or passed over: the window ends here. */
  private newest: string;
  /** Ids sent (or passed over at the start) within the window behind `newest`. */
  private readonly seen = new Set<string>();

  private constructor(
    private readonly queries: Queries,
    private readonly projectId: string,
    floor: string,
  ) {
    this.floor = floor;
    this.newest = floor;
  }

  /**
   * A cursor for a stream of `projectId` starting at `start`. Starting now, the events of the last
   * window are read and marked as seen, so that a late commit among them still counts as new.
   */
  static async open(queries: Queries, projectId: string, start: StreamStart): Promise<StreamCursor> {
    if ('after' in start) return new StreamCursor(queries, projectId, start.after);
    const cursor = new StreamCursor(queries, projectId, idFloorAt('evt', start.now - RESCAN_WINDOW_MS));
    const nowFloor = idFloorAt('evt', start.now);
    for (const id of await cursor.unseenIds()) cursor.markSeen(id);
    if (cursor.newest < nowFloor) cursor.newest = nowFloor;
    return cursor;
  }

  /**
   * Reads the events not sent yet and hands each to `emit`, in id order within this read; `emit`
   * may wait (a slow client). Stops early when `stopped()` says so. Call one read at a time.
   */
  async read(emit: (event: OutboxEvent) => Promise<void>, stopped: () => boolean): Promise<void> {
    // Page by page, so that a long backlog (a resume from days ago) holds one page of ids and
    // one batch of rows at a time, and the sent ids of its window only.
    let after = this.windowStart();
    for (;;) {
      const page = await this.queries.outbox.panelIdsAfter(this.projectId, after, ID_PAGE);
      const unseen = page.filter((id) => !this.seen.has(id));
      for (let i = 0; i < unseen.length; i += ROW_BATCH) {
        const batch = unseen.slice(i, i + ROW_BATCH);
        for (const event of await this.queries.outbox.manyOfProject(this.projectId, batch)) {
          if (stopped()) return;
          await emit(event);
          this.markSeen(event.id);
        }
      }
      this.forgetOld();
      const last = page.at(-1);
      if (page.length < ID_PAGE || last === undefined || stopped()) return;
      after = last;
    }
  }

  /** The id below which nothing is read again. */
  private windowStart(): string {
    const behind = idFloorAt('evt', timeOfId(this.newest) - RESCAN_WINDOW_MS);
    // Strings: Math.max would compare them as numbers.
    if (behind > this.floor) return behind;
    return this.floor;
  }

  /** The ids of the window not seen yet (at the start only: the window is bounded, 10 s). */
  private async unseenIds(): Promise<string[]> {
    const out: string[] = [];
    let after = this.windowStart();
    for (;;) {
      const page = await this.queries.outbox.panelIdsAfter(this.projectId, after, ID_PAGE);
      for (const id of page) if (!this.seen.has(id)) out.push(id);
      const last = page.at(-1);
      if (page.length < ID_PAGE || last === undefined) return out;
      after = last;
    }
  }

  private markSeen(id: string): void {
    this.seen.add(id);
    if (id > this.newest) this.newest = id;
  }

  /** Sent ids that fell out of the window are never read again: no need to remember them. */
  private forgetOld(): void {
    const start = this.windowStart();
    for (const id of this.seen) if (id <= start) this.seen.delete(id);
  }
}
