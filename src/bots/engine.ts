/**
 * What a bot engine is to relevo: given a room's event (the room opened, the user wrote, the panel
 * handed the room back), what the bot says and whether it hands the room to the panel. The
 * domain calls an engine only through this interface, inside the transaction that stored the
 * event, so a turn commits with what caused it. The built-in rule bot is one engine (rules/);
 * engines that ask a company's own bot answer through the same shape.
 */
import type { Assignment, Bot } from '../model/types.js';
import type { Tx } from '../storage/store.js';

export interface BotTurn {
  readonly replies: readonly string[];
  /** Hand the room to the panel, with the user's message as initial_message. */
  readonly handoff?: { readonly assignment?: Assignment | undefined } | undefined;
}

export interface BotEngine {
  /** A room just opened (first contact). */
  opened(tx: Tx, bot: Bot): Promise<BotTurn>;
  /** The user wrote `text` while the bot owns the room. */
  userText(tx: Tx, bot: Bot, text: string): Promise<BotTurn>;
  /**
   * The panel closed the conversation and the bot takes the room back, at `edge` when the close
   * named a step. `storedRules` is the bot's stored rules text when the caller read it in this
   * transaction already (null: none), so the engine need not read it again.
   */
  handedBack(tx: Tx, bot: Bot, edge: string | undefined, storedRules?: string | null): Promise<BotTurn>;
}
