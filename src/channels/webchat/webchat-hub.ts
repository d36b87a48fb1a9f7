/**
 * The web chat's live fan-out: every committed message goes to the browsers connected to its
 * room. It hears commits through store.onCommitted, so a browser never sees a message that a
 * rollback later takes back, and sees each one as soon as it is durable. Messages another process
 * committed (another API node on the same PostgreSQL) arrive as room ids only, through NOTIFY:
 * the room's streams are poked to read what they missed. The stream's periodic catch-up read
 * covers the rest (a notification lost while LISTEN reconnects).
 */
import type { Message } from '../../model/types.js';
import type { Committed } from '../../storage/store.js';

export type RoomListener = ((message: Message) => void) & {
  /** Read the room's new messages from the database (another process wrote some). */
  poke?: () => void;
};

export class WebchatHub {
  private readonly rooms = new Map<string, Set<RoomListener>>();

  /** Feed this to store.onCommitted, once per app. */
  readonly publish = (committed: Committed): void => {
    for (const roomId of committed.remote?.roomIds ?? []) {
      for (const listener of [...(this.rooms.get(roomId) ?? [])]) listener.poke?.();
    }
    for (const message of committed.messages) {
      const listeners = this.rooms.get(message.roomId);
      if (listeners === undefined) continue;
      for (const listener of [...listeners]) {
        try {
          listener(message);
        } catch {
          // One broken connection must not keep the message from the others in the room.
        }
      }
    }
    // A conversation started or closed: the room changed hands, maybe without a message yet.
    for (const event of committed.events) {
      if (!event.type.startsWith('conversation.')) continue;
      for (const listener of [...(this.rooms.get(event.roomId) ?? [])]) listener.poke?.();
    }
  };

  /** Calls `listener` with each message of the room committed from now on; returns the unsubscribe. */
  subscribe(roomId: string, listener: RoomListener): () => void {
    let listeners = this.rooms.get(roomId);
    if (listeners === undefined) {
      listeners = new Set();
      this.rooms.set(roomId, listeners);
    }
    listeners.add(listener);
    return () => {
      const current = this.rooms.get(roomId);
      if (current === undefined) return;
      current.delete(listener);
      if (current.size === 0) this.rooms.delete(roomId);
    };
  }

  /** Connected listeners across all rooms (tests check that a disconnect cleans up). */
  get listenerCount(): number {
    let n = 0;
    for (const set of this.rooms.values()) n += set.size;
    return n;
  }
}
