/**
 * Closing a conversation: the panel gives the room back to the bot. Functions take the
 * transaction; the route owns its boundary.
 */
import { ApiError } from '../../errors.js';
import type { Bot, Conversation, EndUser, Room } from '../../model/types.js';
import type { Tx } from '../../storage/store.js';
import { conversationCloseEvent } from '../events.js';
import { sendToUser } from '../messages/outbound.service.js';
import { appendEvent, appendEventAfter, type NewEvent } from '../outbox.js';
import { handBackToBot } from '../rooms/bot-turn.js';
import { findPair } from '../rooms/rooms.js';

export interface CloseConversationInput {
  readonly projectId: string;
  readonly botId: string;
  readonly userId: string;
  readonly redirectPayload?: { readonly type: 'text' | 'edge'; readonly text: string } | undefined;
  readonly now: number;
}

/**
 * docs/api.md §4.7: closes the active conversation of a bot and user and hands the room back to the
 * bot. A `text` redirect is the last message the user gets from the panel; an `edge` redirect
 * names the bot flow step where the bot resumes.
 */
export async function closeConversation(
  tx: Tx,
  input: CloseConversationInput,
): Promise<{ conversation: Conversation; bot: Bot; user: EndUser; room: Room }> {
  const { projectId, now } = input;
  const found = await findPair(tx, projectId, input.botId, input.userId, true);
  const { bot, user, room, active } = found;
  if (room === undefined || active === undefined) {
    throw new ApiError(
      'conversation_not_found',
      `Bot ${JSON.stringify(bot.id)} and user ${JSON.stringify(user.id)} have no active conversation.`,
    );
  }
  const redirect = input.redirectPayload;
  // A deleted bot or user (the close of a deletion, or of a conversation that raced it) gets no
  // welcome-back: nobody is left on one side to talk to.
  const handsBack = bot.deletedAt == null && user.deletedAt == null;
  const event = conversationCloseEvent({
    timestamp: now,
    projectId,
    roomId: room.id,
    user,
    bot,
    conversationId: active.id,
    redirectPayload: redirect,
  });
  const closeEvent: NewEvent = {
    projectId,
    roomId: room.id,
    conversationId: active.id,
    type: 'conversation.close',
    createdAt: now,
    projectHasIntegration: found.hasIntegration,
    payload: event,
    // The bot takes the room back at the edge named, or at its start.
    roomBotStep: handsBack ? (redirect?.type === 'edge' ? redirect.text : null) : undefined,
  };
  // The conditional update decides between concurrent closes (two panel agents, two nodes):
  // only the one that changed the row goes on; the others find nothing active.
  const gone = () =>
    new ApiError('conversation_not_found', `Conversation ${JSON.stringify(active.id)} is no longer active.`);
  if (redirect?.type === 'text') {
    if (!(await tx.conversations.close(active.id, now, 'closed_by_operator'))) throw gone();
    // The redirect's text is the user's last message from the panel: it comes before the event.
    await sendToUser(tx, {
      bot,
      user,
      room,
      conversationId: active.id,
      sender: 'operator',
      message: { type: 'text', content: { body: redirect.text } },
      now,
    });
    await appendEvent(tx, closeEvent);
  } else {
    // The update, the event and the room's bot step in one write.
    const closing = tx.conversations.closeStatement(active.id, now, 'closed_by_operator');
    if ((await appendEventAfter(tx, closing, closeEvent)) === undefined) throw gone();
  }
  if (handsBack) {
    await handBackToBot(tx, {
      bot,
      user,
      room,
      edge: redirect?.type === 'edge' ? redirect.text : undefined,
      conversationId: active.id,
      event,
      storedRules: found.botRules,
      now,
    });
  }
  const conversation: Conversation = {
    ...active,
    state: 'closed',
    endAt: now,
    endedReason: 'closed_by_operator',
  };
  return { conversation, bot, user, room };
}
