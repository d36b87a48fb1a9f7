/**
 * A message for the end user sent with project credentials, naming the conversation in the path
 * (docs/api.md §5.7): the same effect as the signed send of
 * §4.10, for clients that hold an API key rather than the signing secret. The body is §4.10's
 * `value`, with its `id` optional.
 */
import { ApiError, type ValidationErrors, validationError } from '../../errors.js';
import type { Tx } from '../../storage/store.js';
import { type MessageInput, parseMessage } from './message-content.js';
import { EXTERNAL_ID_MAX_CHARS, type PanelMessageSent, sendInRoom } from './panel-message.service.js';

export interface ConversationMessage {
  readonly projectId: string;
  readonly conversationId: string;
  /** The caller's own id of the message: a repeat in the same room is acknowledged, not resent. */
  readonly externalId: string | undefined;
  readonly message: MessageInput;
}

/** Checks `{ id?, type, content }` in one pass, so one 422 names every problem; throws it. */
export function parseConversationMessage(body: unknown): Pick<ConversationMessage, 'externalId' | 'message'> {
  // No prototype: an unknown field literally named `__proto__` must be reported, not become one.
  const errors = Object.create(null) as ValidationErrors;
  const message = parseMessage(body, '', errors, ['id']);
  let externalId: string | undefined;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const id = (body as Record<string, unknown>).id;
    if (id !== undefined) {
      if (typeof id !== 'string') errors.id = ['must be a string'];
      else if (id === '') errors.id = ['must not be empty'];
      else if ([...id].length > EXTERNAL_ID_MAX_CHARS) {
        errors.id = [`must be at most ${EXTERNAL_ID_MAX_CHARS} characters`];
      } else externalId = id;
    }
  }
  if (Object.keys(errors).length > 0 || message === undefined) throw validationError(errors);
  return { externalId, message };
}

/**
 * Stores the message in the conversation and hands it to the bot's channel, as §4.10 does. An
 * `id` already accepted in the conversation's room is acknowledged with the first message's id
 * (checked before the conversation's state, as §4.10 does, so a retry after a close still hears
 * that its message went out); otherwise the conversation must exist in the project and be active.
 */
export async function sendConversationMessage(
  tx: Tx,
  m: ConversationMessage,
  now: number,
): Promise<PanelMessageSent> {
  const conversation = await tx.conversations.get(m.projectId, m.conversationId);
  const room = conversation && (await tx.rooms.get(m.projectId, conversation.roomId));
  if (conversation === undefined || room === undefined) {
    throw new ApiError(
      'conversation_not_found',
      `No conversation ${JSON.stringify(m.conversationId)} exists in this project.`,
    );
  }
  return await sendInRoom(
    tx,
    room,
    { externalId: m.externalId, message: m.message, conversationId: conversation.id },
    now,
  );
}
