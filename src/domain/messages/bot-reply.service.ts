/**
 * A company's own bot (the `external` engine of docs/bots.md) answers its end user
 * (docs/api.md §5.6.1) and asks who owns a room (§5.6.2), with the project's credentials.
 * The bot speaks only while it owns the room: while a conversation is active the panel does.
 */
import { ApiError, problemMap, type ValidationErrors, validationError } from '../../errors.js';
import type { BotReplySent, RoomOwnerView } from '../../model/bot-views.js';
import type { Message } from '../../model/types.js';
import type { Queries, Tx } from '../../storage/store.js';
import { findPair, roomFor } from '../rooms/rooms.js';
import { type MessageInput, parseMessage } from './message-content.js';
import { sendToUser } from './outbound.service.js';
import { EXTERNAL_ID_MAX_CHARS } from './panel-message.service.js';

/**
 * The bot's own message ids share the room's unique index (messages_external) with the panel's
 * `value.id` (stored as sent) and the web chat's ids (`webchat:`): under a prefix of their own, a
 * bot id equal to one of theirs is another key (docs/decisions.md, "Bot replies: the bot's
 * message ids").
 */
const EXTERNAL_PREFIX = 'bot:';

export interface BotReply {
  readonly projectId: string;
  readonly botId: string;
  readonly userId: string;
  readonly message: MessageInput;
  /** The bot's own id of the message (`id`), its idempotency key within the room. */
  readonly id: string | undefined;
}

export interface BotReplyResult extends BotReplySent {
  /** True when `id` had been accepted before: nothing was stored or sent this time. */
  readonly repeated: boolean;
}

const KNOWN: readonly string[] = ['userId', 'message', 'id'];

function requireString(errors: ValidationErrors, path: string, v: unknown, max = Infinity): v is string {
  const problem =
    typeof v !== 'string'
      ? 'must be a string'
      : v === ''
        ? 'must not be empty'
        : [...v].length > max
          ? `must be at most ${max} characters`
          : undefined;
  if (problem === undefined) return true;
  errors[path] = [problem];
  return false;
}

/**
 * Validates the whole body in one pass, so one 422 names every problem; the message itself is
 * checked by the one validator of message content, as the panel's §4.10 `value` is.
 */
export function parseBotReply(
  body: unknown,
  route: { readonly projectId: string; readonly botId: string },
): BotReply {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw validationError({ body: ['must be a JSON object'] });
  }
  const obj = body as Record<string, unknown>;
  const errors = problemMap();
  if (obj.userId === undefined) errors.userId = ['is required'];
  else requireString(errors, 'userId', obj.userId);
  let message: MessageInput | undefined;
  if (obj.message === undefined) errors.message = ['is required'];
  else message = parseMessage(obj.message, 'message', errors);
  if (obj.id !== undefined) requireString(errors, 'id', obj.id, EXTERNAL_ID_MAX_CHARS);
  for (const name of Object.keys(obj)) {
    if (!KNOWN.includes(name)) errors[name] = ['is not a known field'];
  }
  if (Object.keys(errors).length > 0 || message === undefined) throw validationError(errors);
  return {
    ...route,
    userId: obj.userId as string,
    message,
    id: obj.id as string | undefined,
  };
}

/** The key the bot's id is stored under, or undefined when the bot sent none. */
function keyOf(r: BotReply): string | undefined {
  return r.id === undefined ? undefined : `${EXTERNAL_PREFIX}${r.id}`;
}

/** The bot's own earlier message under this key: another sender's is not a repeat of it. */
async function earlierReply(
  queries: Pick<Queries, 'messages'>,
  roomId: string,
  key: string,
): Promise<Message | 'taken' | undefined> {
  const found = await queries.messages.getByExternalId(roomId, key);
  if (found === undefined) return undefined;
  return found.sender === 'bot' ? found : 'taken';
}

/**
 * Stores the bot's message for the end user outside any conversation and hands it to the bot's
 * channel, in the transaction of the checks. An `id` already accepted in this room is
 * acknowledged with the first message's id before the owner is checked: a bot that retries after
 * the user was handed to the panel still hears that its message went out.
 *
 * A start that commits while this runs (PostgreSQL, read committed) reads nothing this writes,
 * so the outcome is the one of the reply committed first: no lock is needed.
 */
export async function sendBotReply(tx: Tx, r: BotReply, now: number): Promise<BotReplyResult> {
  const found = await findPair(tx, r.projectId, r.botId, r.userId);
  const { bot, user } = found;
  const room = found.room ?? (await roomFor(tx, r.projectId, bot, user, now));
  // A room created by a concurrent request (a start, say) after findPair read: read its owner now.
  const active = found.room === undefined ? await tx.conversations.getActive(room.id) : found.active;
  let key = keyOf(r);
  if (key !== undefined) {
    const earlier = await earlierReply(tx, room.id, key);
    if (earlier === 'taken') {
      // Only a panel `value.id` written as `bot:…` can hold the key: the message is still sent,
      // without the id, rather than refused or mistaken for that other message.
      key = undefined;
    } else if (earlier !== undefined) {
      return { messageId: earlier.id, repeated: true };
    }
  }
  if (active !== undefined) {
    throw new ApiError(
      'room_owned_by_panel',
      `Conversation ${JSON.stringify(active.id)} with the panel is active in the room of bot ${JSON.stringify(bot.id)} and user ${JSON.stringify(user.id)}.`,
    );
  }
  const message = await sendToUser(tx, {
    bot,
    user,
    room,
    conversationId: null,
    sender: 'bot',
    message: r.message,
    externalId: key ?? null,
    now,
  });
  return { messageId: message.id, repeated: false };
}

/**
 * After a concurrent request with the same `id` won the unique index (messages_external): the
 * winner's acknowledgement, read from committed data; undefined when the winner is not the bot's.
 */
export async function repeatedBotReply(
  queries: Pick<Queries, 'messages' | 'rooms'>,
  r: BotReply,
): Promise<BotReplyResult | undefined> {
  const key = keyOf(r);
  const room = await queries.rooms.getByPair(r.botId, r.userId);
  if (key === undefined || room === undefined) return undefined;
  const earlier = await earlierReply(queries, room.id, key);
  return typeof earlier === 'object' ? { messageId: earlier.id, repeated: true } : undefined;
}

/**
 * Who answers the user now: the panel while a conversation is active, the bot otherwise. A pair
 * that never talked has no room yet, and the bot owns what will be created on its first message.
 */
export async function roomOwner(
  queries: Pick<Queries, 'rooms'>,
  projectId: string,
  botId: string,
  userId: string,
): Promise<RoomOwnerView> {
  const { room, active } = await findPair(queries, projectId, botId, userId);
  if (room === undefined) return { roomId: null, owner: 'bot', conversationId: null };
  return active === undefined
    ? { roomId: room.id, owner: 'bot', conversationId: null }
    : { roomId: room.id, owner: 'panel', conversationId: active.id };
}
