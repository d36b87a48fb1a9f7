/**
 * What a bot engine is to relevo (docs/bots.md, "Engines"). The domain calls an engine only
 * through this interface, inside the transaction that stored what happened (the room opened, the
 * user wrote, a conversation started, the panel handed the room back), so a turn commits with
 * its cause. The built-in rule bot answers there and then (rules/); the outside engines
 * (external/, rasa/) queue the event for the bot in the outbox, and say at each attempt how it
 * goes out (`request`).
 */
import type { ConversationCloseEvent, ConversationStartEvent } from '../model/events.js';
import type { Assignment, Bot, EndUser, Message, OutboxEvent, Room } from '../model/types.js';
import type { Queries, Tx } from '../storage/store.js';

export interface BotTurn {
  readonly replies: readonly string[];
  /** Hand the room to the panel, with the user's message as initial_message. */
  readonly handoff?: { readonly assignment?: Assignment | undefined } | undefined;
}

/** The room a turn is about, and when. */
export interface RoomParties {
  readonly bot: Bot;
  readonly user: EndUser;
  readonly room: Room;
  readonly now: number;
}

/** How one queued event for an outside engine goes out, decided at each attempt. */
export type EngineRequest =
  | {
      readonly kind: 'send';
      readonly url: string;
      readonly body: string;
      /** Signs the body with both schemes; null: not signed (Rasa's REST channel has none). */
      readonly secret: string | null;
      /** How much of the answer the engine reads (the delivery log keeps 4 KiB of it). */
      readonly keepBytes?: number;
      /**
       * What the engine makes of a 2xx answer, applied in the transaction that records the
       * delivery, and only if this attempt still held the event: a kill -9 before the commit
       * repeats the attempt, never half of its effects. Returns a note for the attempt's log
       * when the answer could not be used.
       */
      readonly answer?: (tx: Tx, responseBody: string) => Promise<string | null>;
    }
  /** Not sent: `run` does what the event now calls for, and the event ends `cancelled` with `reason`. */
  | { readonly kind: 'instead'; readonly reason: string; readonly run: (tx: Tx) => Promise<void> }
  | { readonly kind: 'cancel'; readonly reason: string };

export interface BotEngine {
  /** A room just opened (first contact). */
  opened(tx: Tx, p: RoomParties): Promise<BotTurn>;
  /**
   * The user wrote while the bot owns the room. `message` is the message as it is about to be
   * stored (no conversation), `text` its text (a caption or file name for media).
   */
  userMessage(tx: Tx, p: RoomParties & { message: Message; text: string }): Promise<BotTurn>;
  /** A conversation started in one of the bot's rooms: the panel has it now. */
  conversationStarted(
    tx: Tx,
    p: RoomParties & { conversationId: string; event: ConversationStartEvent },
  ): Promise<void>;
  /**
   * The panel closed the conversation and the bot takes the room back, at `edge` when the close
   * named a step. `storedRules` is the bot's stored rules text when the caller read it in this
   * transaction already (null: none), so the rule bot need not read it again.
   */
  handedBack(
    tx: Tx,
    p: RoomParties & {
      edge: string | undefined;
      conversationId: string;
      event: ConversationCloseEvent;
      storedRules?: string | null | undefined;
    },
  ): Promise<BotTurn>;
  /** Outside engines only: how a queued event (destination `bot`) goes out now. */
  request?(q: Queries, p: RoomParties, event: OutboxEvent): Promise<EngineRequest>;
}
