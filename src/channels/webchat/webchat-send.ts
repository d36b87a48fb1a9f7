/**
 * A visitor's message, stored exactly once. The page gives every message it sends its own
 * `clientMessageId` and sends it again with the same id after a network error, because a lost
 * answer does not say whether the message was stored. The id is kept as the message's externalId
 * (unique per room, the index panel message ids use), under a prefix of its own: a repeat finds
 * the first message and is answered with its id, and nothing is routed a second time.
 */
import { receiveFromUser } from '../../domain/messages/inbound.service.js';
import { type MessageInput, parseMessage } from '../../domain/messages/message-content.js';
import { problemMap, validationError } from '../../errors.js';
import type { Bot, EventOrigin, Message } from '../../model/types.js';
import { UniqueViolation } from '../../storage/errors.js';
import type { Store } from '../../storage/store.js';
import type { Session } from './webchat-session.js';

/** Keeps visitors' ids apart from the panel's own message ids, which share the room's index. */
const EXTERNAL_PREFIX = 'webchat:';
/** Room for a UUID or any other random id; letters, digits, `-` and `_` only. */
const CLIENT_MESSAGE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface VisitorMessage {
  readonly message: MessageInput;
  readonly clientMessageId: string | undefined;
}

export function parseVisitorMessage(raw: unknown): VisitorMessage {
  const errors = problemMap();
  const message = parseMessage(raw, '', errors, ['clientMessageId']);
  let clientMessageId: string | undefined;
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const id = (raw as Record<string, unknown>).clientMessageId;
    if (id !== undefined) {
      if (typeof id === 'string' && CLIENT_MESSAGE_ID.test(id)) clientMessageId = id;
      else errors.clientMessageId = ['must be 1 to 64 letters, digits, "-" or "_"'];
    }
  }
  if (message === undefined || Object.keys(errors).length > 0) throw validationError(errors);
  return { message, clientMessageId };
}

/** The page's own id of a visitor's message, when it sent one. */
export function clientMessageIdOf(m: Message): string | undefined {
  if (m.sender !== 'user' || m.externalId === null || !m.externalId.startsWith(EXTERNAL_PREFIX)) {
    return undefined;
  }
  return m.externalId.slice(EXTERNAL_PREFIX.length);
}

/** Stores and routes the message, or finds the one already stored under its clientMessageId. */
export async function sendFromVisitor(
  store: Store,
  input: { bot: Bot; session: Session; visitor: VisitorMessage; now: number; origin?: EventOrigin },
): Promise<Message> {
  const { bot, session, visitor, now, origin } = input;
  const roomId = session.room.id;
  const externalId =
    visitor.clientMessageId === undefined ? undefined : `${EXTERNAL_PREFIX}${visitor.clientMessageId}`;
  try {
    return await store.transaction(async (tx) => {
      let id = externalId;
      if (id !== undefined) {
        const found = await tx.messages.getByExternalId(roomId, id);
        if (found?.sender === 'user') return found;
        // Taken by a message that is not the visitor's (a panel id that happens to be the same
        // string): the message is stored without the id rather than refused.
        if (found !== undefined) id = undefined;
      }
      const received = await receiveFromUser(tx, {
        bot,
        user: session.user,
        message: visitor.message,
        now,
        externalId: id,
      });
      return received.message;
    }, origin);
  } catch (e) {
    // Two sends of one message at once (a retry racing the first): the unique index let one
    // through, and the other answers with its id.
    if (!(externalId !== undefined && e instanceof UniqueViolation && e.constraint === 'messages_external')) {
      throw e;
    }
    const winner = await store.queries.messages.getByExternalId(roomId, externalId);
    if (winner?.sender !== 'user') throw e;
    return winner;
  }
}
