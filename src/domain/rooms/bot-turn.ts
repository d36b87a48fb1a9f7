/**
 * The bot's side of a room: what happens when a room opens, when a user writes while no
 * conversation is active, and when the panel hands the room back. The bot's engine decides inside
 * the transaction, and replies go out through the bot's channel.
 */
import type { BotTurn } from '../../bots/engine.js';
import type { ConversationCloseEvent } from '../../model/events.js';
import type { Bot, EndUser, Message, Room } from '../../model/types.js';
import type { Tx } from '../../storage/store.js';
import { tryStartConversation } from '../conversations/start.js';
import { sendBotTexts } from '../messages/outbound.service.js';
import { parties } from '../parties.js';

interface RoomContext {
  readonly bot: Bot;
  readonly user: EndUser;
  readonly room: Room;
  readonly now: number;
}

/** A room just opened (first contact): the bot greets. */
export async function greet(tx: Tx, ctx: RoomContext): Promise<void> {
  const turn = await parties().engineOf(ctx.bot).opened(tx, ctx);
  await sendBotTexts(tx, ctx, turn.replies);
}

/**
 * What the bot does with a user's message: its turn, decided by the bot's engine (an outside
 * engine queues the message for the bot and answers later, through the reply route or Rasa's
 * answer).
 */
export async function botTurn(
  tx: Tx,
  ctx: RoomContext & { message: Message; text: string },
): Promise<BotTurn> {
  return await parties().engineOf(ctx.bot).userMessage(tx, ctx);
}

/**
 * The handoff of a turn that asks for one: starts the conversation with the user's text as
 * initial_message. `{ activeId }` when another start for the room (the panel's, or another
 * message's handoff) won meanwhile: the caller routes the message to that conversation.
 */
export async function handOff(
  tx: Tx,
  ctx: RoomContext & { text: string },
  handoff: NonNullable<BotTurn['handoff']>,
): Promise<{ readonly conversationId: string } | { readonly activeId: string }> {
  const outcome = await tryStartConversation(tx, {
    projectId: ctx.bot.projectId,
    botId: ctx.bot.id,
    userId: ctx.user.id,
    // The seed's initial_message is a string: a non-text message hands off with its caption,
    // or without one.
    initialMessage: ctx.text === '' ? undefined : ctx.text.slice(0, 4096),
    initialMessageFrom: 'user',
    assignment: handoff.assignment,
    now: ctx.now,
  });
  return 'activeId' in outcome ? outcome : { conversationId: outcome.conversation.id };
}

/** The bot's replies of a turn, through the room's channel. */
export async function sendTurnReplies(tx: Tx, ctx: RoomContext, turn: BotTurn): Promise<void> {
  await sendBotTexts(tx, ctx, turn.replies);
}

/**
 * The panel closed the conversation: the bot takes the room back, at `edge` when named. The
 * room's bot step is already set, with the close's event (close.ts).
 */
export async function handBackToBot(
  tx: Tx,
  ctx: RoomContext & {
    edge: string | undefined;
    conversationId: string;
    event: ConversationCloseEvent;
    storedRules?: string | null;
  },
): Promise<void> {
  const turn = await parties().engineOf(ctx.bot).handedBack(tx, ctx);
  await sendBotTexts(tx, ctx, turn.replies);
}
