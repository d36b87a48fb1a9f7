/**
 * The events the panel receives, built with their keys in the documented order (docs/webhooks.md,
 * "The events"). JSON.stringify keeps insertion
 * order, so the order of the object literals below IS the wire format: do not reorder. Each
 * builder returns the static type of its schema in model/events.ts, the one the OpenAPI
 * document shows, so the compiler holds the two together.
 */
import type { OutboundContext } from '../channels/channel.js';
import type {
  BotMessageEvent,
  ChannelMessage,
  ConversationCloseEvent,
  ConversationStartEvent,
  MessageEvent,
} from '../model/events.js';
import type { Assignment, Bot, EndUser, Message } from '../model/types.js';

interface Common {
  readonly timestamp: number;
  readonly projectId: string;
  readonly roomId: string;
  readonly user: Pick<EndUser, 'id' | 'names'>;
  readonly bot: Pick<Bot, 'id' | 'name'>;
  readonly conversationId: string;
}

export interface ConversationStartInput extends Common {
  readonly assignment?: Assignment | undefined;
  readonly initialMessage?: string | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
}

export function conversationStartEvent(i: ConversationStartInput): ConversationStartEvent {
  const value: ConversationStartEvent['value'] = {};
  if (i.initialMessage !== undefined) value.initial_message = i.initialMessage;
  if (i.metadata !== undefined) value.metadata = i.metadata;
  return {
    event: 'conversation.start',
    timestamp: i.timestamp,
    field: 'conversation',
    object: 'conversation_event',
    event_type: 'start',
    project_id: i.projectId,
    room_id: i.roomId,
    contact: { id: i.user.id, name: i.user.names },
    conversation:
      i.assignment === undefined
        ? { id: i.conversationId }
        : { id: i.conversationId, assignment: { type: i.assignment.type, target: i.assignment.target } },
    bot: { id: i.bot.id, name: i.bot.name },
    value,
  };
}

export interface ConversationCloseInput extends Common {
  readonly redirectPayload?: { readonly type: 'text' | 'edge'; readonly text: string } | undefined;
}

/** docs/api.md §4.7 (decision): the start envelope; `conversation` carries only its id. */
export function conversationCloseEvent(i: ConversationCloseInput): ConversationCloseEvent {
  const value: ConversationCloseEvent['value'] = { reason: 'closed_by_operator' };
  if (i.redirectPayload !== undefined) {
    value.redirect_payload = { type: i.redirectPayload.type, text: i.redirectPayload.text };
  }
  return {
    event: 'conversation.close',
    timestamp: i.timestamp,
    field: 'conversation',
    object: 'conversation_event',
    event_type: 'close',
    project_id: i.projectId,
    room_id: i.roomId,
    contact: { id: i.user.id, name: i.user.names },
    conversation: { id: i.conversationId },
    bot: { id: i.bot.id, name: i.bot.name },
    value,
  };
}

export interface MessageEventInput extends Common {
  readonly message: Pick<Message, 'id' | 'type' | 'content'>;
}

/** docs/api.md §4.9: a message from the end user while the panel owns the room. */
export function messageEvent(i: MessageEventInput): MessageEvent {
  return {
    field: 'messages',
    object: 'message_event',
    event_type: 'message',
    timestamp: i.timestamp,
    project_id: i.projectId,
    room_id: i.roomId,
    contact: { id: i.user.id, name: i.user.names },
    conversation: { id: i.conversationId },
    bot: { id: i.bot.id, name: i.bot.name },
    value: { id: i.message.id, type: i.message.type, content: i.message.content },
  };
}

/**
 * docs/bots.md: the same message as the bot's outside engine receives it while the bot owns the
 * room. The conversation key keeps its place (an assignment to an existing key does not move
 * it), so the bytes match the panel's event but for `"id":null`.
 */
export function botMessageEvent(i: Omit<MessageEventInput, 'conversationId'>): BotMessageEvent {
  return { ...messageEvent({ ...i, conversationId: '' }), conversation: { id: null } };
}

/**
 * The body relevo POSTs to the channel's webhookUrl for each message to an end user; its shape is
 * ChannelMessageSchema, the one the OpenAPI document shows.
 */
export function channelMessagePayload(ctx: OutboundContext): ChannelMessage {
  const m = ctx.message;
  return {
    event: 'message',
    timestamp: m.createdAt,
    bot_id: ctx.bot.id,
    room_id: ctx.room.id,
    user: { id: ctx.user.id, reference_id: ctx.user.referenceId, name: ctx.user.names },
    message: { id: m.id, type: m.type, content: m.content, sender: m.sender },
  };
}
