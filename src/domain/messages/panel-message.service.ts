/**
 * docs/api.md §4.10: a message the panel sends to the end user. The route is not API-key
 * authenticated; the body itself names the project whose signingSecret must have signed it, so
 * reading `project_id` comes before anything else, and validating the body comes after the
 * signature (an unsigned caller learns nothing about the schema or the rooms).
 */
import { ApiError, type ValidationErrors, validationError } from '../../errors.js';
import type { Message, Room } from '../../model/types.js';
import type { Queries, Tx } from '../../storage/store.js';
import { type MessageInput, parseMessage } from './message-content.js';
import { sendToUser } from './outbound.service.js';

export interface PanelMessage {
  readonly projectId: string;
  readonly roomId: string;
  readonly botId: string;
  readonly userId: string;
  /** The panel's own id of the message (`value.id`): its idempotency key within the room. */
  readonly externalId: string;
  readonly message: MessageInput;
}

export interface PanelMessageSent {
  readonly messageId: string;
  readonly conversationId: string;
  /** True when `value.id` had been accepted before: nothing was stored or sent this time. */
  readonly repeated: boolean;
}

/** The documented constants of the body, in the order they are reported. */
const CONSTANTS = { field: 'messages', object: 'message_event', event_type: 'incoming_message' } as const;
const IDS = ['project_id', 'room_id', 'bot_id', 'user_id'] as const;
const KNOWN: readonly string[] = [...Object.keys(CONSTANTS), ...IDS, 'value'];
/** A bound on the panel's own ids, so a stored idempotency key stays an id and not a payload. */
export const EXTERNAL_ID_MAX_CHARS = 255;

/**
 * The project whose integration's signingSecret must have signed this body: the body's
 * `project_id`, or undefined when the body names none as a non-empty string. Every case without
 * a usable secret is refused alike with invalid_signature, so a caller cannot probe for projects.
 */
export function signingProjectOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const projectId = (body as Record<string, unknown>).project_id;
  return typeof projectId === 'string' && projectId !== '' ? projectId : undefined;
}

function add(errors: ValidationErrors, path: string, problem: string): void {
  const list = errors[path] ?? [];
  list.push(problem);
  errors[path] = list;
}

function requireString(errors: ValidationErrors, path: string, v: unknown, max?: number): v is string {
  if (v === undefined) add(errors, path, 'is required');
  else if (typeof v !== 'string') add(errors, path, 'must be a string');
  else if (v === '') add(errors, path, 'must not be empty');
  else if (max !== undefined && [...v].length > max) add(errors, path, `must be at most ${max} characters`);
  else return true;
  return false;
}

/** Validates the whole body in one pass, so one 422 names every problem; throws it. */
export function parsePanelMessage(body: unknown): PanelMessage {
  // No prototype: an unknown field literally named `__proto__` must be reported, not become one.
  const errors = Object.create(null) as ValidationErrors;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw validationError({ body: ['must be a JSON object'] });
  }
  const obj = body as Record<string, unknown>;
  for (const [name, expected] of Object.entries(CONSTANTS)) {
    const v = obj[name];
    if (v === undefined) add(errors, name, 'is required');
    else if (v !== expected) add(errors, name, `must be ${JSON.stringify(expected)}`);
  }
  for (const name of IDS) requireString(errors, name, obj[name]);
  let message: MessageInput | undefined;
  const value = obj.value;
  if (value === undefined) add(errors, 'value', 'is required');
  else {
    message = parseMessage(value, 'value', errors, ['id']);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      requireString(errors, 'value.id', (value as Record<string, unknown>).id, EXTERNAL_ID_MAX_CHARS);
    }
  }
  for (const name of Object.keys(obj)) {
    if (!KNOWN.includes(name)) add(errors, name, 'is not a known field');
  }
  if (Object.keys(errors).length > 0 || message === undefined) throw validationError(errors);
  // Every field was checked above; the casts only restate it for the compiler.
  return {
    projectId: obj.project_id as string,
    roomId: obj.room_id as string,
    botId: obj.bot_id as string,
    userId: obj.user_id as string,
    externalId: (value as Record<string, unknown>).id as string,
    message,
  };
}

function noConversation(description: string): ApiError {
  return new ApiError('conversation_not_found', description);
}

function acknowledged(m: Message): PanelMessageSent {
  // Only this route stores a panel id, always with the conversation it was sent in.
  if (m.conversationId === null) throw new Error(`panel message ${m.id} has no conversation`);
  return { messageId: m.id, conversationId: m.conversationId, repeated: true };
}

/**
 * Stores the message for the end user in the room's active conversation and hands it to the
 * bot's channel (sendToUser). A `value.id` already accepted in this room is acknowledged with the
 * first message's id and nothing else happens — checked before the conversation, so a panel
 * that retries after the conversation closed still hears that its message went out.
 */
export async function sendPanelMessage(tx: Tx, m: PanelMessage, now: number): Promise<PanelMessageSent> {
  const room = await tx.rooms.get(m.projectId, m.roomId);
  // One answer for an unknown room, another project's room and a bot or user mismatch: the
  // panel learns nothing about rooms it does not own.
  if (room === undefined || room.botId !== m.botId || room.userId !== m.userId) {
    throw noConversation(
      `No room ${JSON.stringify(m.roomId)} of bot ${JSON.stringify(m.botId)} and user ${JSON.stringify(m.userId)} exists in this project.`,
    );
  }
  return await sendInRoom(tx, room, { externalId: m.externalId, message: m.message }, now);
}

/** What sendInRoom sends, and where it must land. */
export interface RoomMessage {
  /** The sender's own id of the message: its idempotency key within the room, when given. */
  readonly externalId?: string | undefined;
  readonly message: MessageInput;
  /**
   * The conversation the caller addressed: the message is refused unless it is the room's active
   * one (a closed conversation is not reopened by sending into its room).
   */
  readonly conversationId?: string | undefined;
}

/**
 * The panel's send once its room is known: shared by §4.10 and by the API-key route that names
 * the conversation (docs/api.md §5.7), so both have one effect.
 */
export async function sendInRoom(tx: Tx, room: Room, m: RoomMessage, now: number): Promise<PanelMessageSent> {
  const earlier =
    m.externalId === undefined ? undefined : await tx.messages.getByExternalId(room.id, m.externalId);
  // Only the panel's own message is a repeat. A bot's or a visitor's id is kept under its prefix
  // (`bot:…`, `webchat:…`): an id spelt like that is sent, without the id, rather than
  // acknowledged as that other message.
  if (earlier?.sender === 'operator') return acknowledged(earlier);
  const active = await tx.conversations.getActive(room.id);
  const bot = await tx.bots.get(room.projectId, room.botId);
  const user = await tx.endUsers.get(room.projectId, room.userId);
  if (
    active === undefined ||
    bot === undefined ||
    user === undefined ||
    (m.conversationId !== undefined && active.id !== m.conversationId)
  ) {
    throw noConversation(
      m.conversationId === undefined
        ? `Room ${JSON.stringify(room.id)} has no active conversation.`
        : `Conversation ${JSON.stringify(m.conversationId)} is not active.`,
    );
  }
  const message = await sendToUser(tx, {
    bot,
    user,
    room,
    conversationId: active.id,
    sender: 'operator',
    message: m.message,
    externalId: earlier === undefined ? (m.externalId ?? null) : null,
    now,
  });
  return { messageId: message.id, conversationId: active.id, repeated: false };
}

/**
 * After a concurrent request with the same `value.id` won the unique index (messages_external):
 * the winner's acknowledgement, read from committed data; undefined when the winner is not the
 * panel's (sendPanelMessage, run again, then finds it and sends without the id).
 */
export async function repeatedPanelMessage(
  queries: Queries,
  m: Pick<PanelMessage, 'roomId' | 'externalId'>,
): Promise<PanelMessageSent | undefined> {
  const earlier = await queries.messages.getByExternalId(m.roomId, m.externalId);
  return earlier?.sender === 'operator' ? acknowledged(earlier) : undefined;
}
