/** The rule bot as an engine: its rules are read from the bot's stored rules in the transaction. */
import type { Tx } from '../../storage/store.js';
import type { BotEngine } from '../engine.js';
import { type BotRules, DEFAULT_RULES, onHandBack, onRoomOpened, onUserText } from './rule-bot.js';

/** The bot's rules; `stored` is their stored text when the caller read it already (null: none). */
async function rulesOf(tx: Tx, botId: string, stored?: string | null): Promise<BotRules> {
  const text = stored === undefined ? await tx.bots.getRules(botId) : (stored ?? undefined);
  return text === undefined ? DEFAULT_RULES : (JSON.parse(text) as BotRules);
}

export const rulesEngine: BotEngine = {
  async opened(tx, p) {
    return onRoomOpened(await rulesOf(tx, p.bot.id));
  },
  async userMessage(tx, p) {
    return onUserText(await rulesOf(tx, p.bot.id), p.text);
  },
  async conversationStarted() {
    // The rule bot keeps no state of its own: a room with a conversation is simply not its turn.
  },
  async handedBack(tx, p) {
    return onHandBack(await rulesOf(tx, p.bot.id, p.storedRules), p.edge);
  },
};
