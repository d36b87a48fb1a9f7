/**
 * The bodies relevo POSTs to others: the panel's three events (docs/webhooks.md) and the http
 * channel's message for the end user (docs/channels.md). One schema per shape: the builders
 * (domain/events.ts, channels/http/http-channel.ts) return these schemas' static types, the
 * OpenAPI document lists them under `webhooks`, and a test validates built events against them.
 *
 * Property order here is the key order of the wire format, except inside a message, where the
 * per-type union lists its extra keys (id, sender) before type and content.
 */
import { type Static, type TProperties, Type } from '@sinclair/typebox';
import { messageSchema } from './message-content.js';
import { AssignmentSchema, StringEnum } from './schema-parts.js';
import type { MessageSender, MessageType } from './types.js';

const Millis = Type.Integer({ description: 'Unix epoch milliseconds', examples: [1776134145523] });

const Contact = Type.Object(
  {
    id: Type.String({ description: 'The end user' }),
    name: Type.String({ description: "The end user's names" }),
  },
  { additionalProperties: false },
);

const BotRef = Type.Object({ id: Type.String(), name: Type.String() }, { additionalProperties: false });

/**
 * `{ id, type, content }`: the same per-type schema as the messages the panel sends (docs/api.md
 * §4.9), with relevo's own message id. Its static type is the domain's, which the builders hold.
 */
function messageOf<Extra extends object>(extra: TProperties, description: string) {
  return Type.Unsafe<Extra & { type: MessageType; content: Record<string, unknown> }>(
    messageSchema(extra, description),
  );
}

const MessageId = Type.String({ description: "relevo's id of the message" });

/** The keys every panel event shares, after its first ones (docs/webhooks.md). */
function roomKeys() {
  return {
    project_id: Type.String(),
    room_id: Type.String({ description: 'One per bot and end user, reused across conversations' }),
    contact: Contact,
  };
}

export const ConversationStartEventSchema = Type.Object(
  {
    event: Type.Literal('conversation.start'),
    timestamp: Millis,
    field: Type.Literal('conversation'),
    object: Type.Literal('conversation_event'),
    event_type: Type.Literal('start'),
    ...roomKeys(),
    conversation: Type.Object(
      {
        id: Type.String(),
        assignment: Type.Optional(
          Type.Object(AssignmentSchema.properties, {
            additionalProperties: false,
            description: 'Only when the start request had one; echoed exactly as requested',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    bot: BotRef,
    value: Type.Object(
      {
        initial_message: Type.Optional(Type.String({ description: 'Only when it was sent' })),
        metadata: Type.Optional(
          Type.Record(Type.String(), Type.Unknown(), {
            description: 'Your own JSON object, only when it was sent',
          }),
        ),
      },
      { additionalProperties: false },
    ),
  },
  {
    additionalProperties: false,
    description: 'A conversation was handed to the panel (start-conversation, or a bot handoff rule).',
  },
);
export type ConversationStartEvent = Static<typeof ConversationStartEventSchema>;

export const ConversationCloseEventSchema = Type.Object(
  {
    event: Type.Literal('conversation.close'),
    timestamp: Millis,
    field: Type.Literal('conversation'),
    object: Type.Literal('conversation_event'),
    event_type: Type.Literal('close'),
    ...roomKeys(),
    conversation: Type.Object({ id: Type.String() }, { additionalProperties: false }),
    bot: BotRef,
    value: Type.Object(
      {
        reason: Type.Literal('closed_by_operator'),
        redirect_payload: Type.Optional(
          Type.Object(
            { type: StringEnum(['text', 'edge']), text: Type.String() },
            { additionalProperties: false, description: 'Only when the close request sent one' },
          ),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'The panel closed the conversation.' },
);
export type ConversationCloseEvent = Static<typeof ConversationCloseEventSchema>;

export const MessageEventSchema = Type.Object(
  {
    field: Type.Literal('messages'),
    object: Type.Literal('message_event'),
    event_type: Type.Literal('message'),
    timestamp: Millis,
    ...roomKeys(),
    conversation: Type.Object({ id: Type.String() }, { additionalProperties: false }),
    bot: BotRef,
    value: messageOf<{ id: string }>(
      { id: MessageId },
      'The message: one of the five types of the message table',
    ),
  },
  {
    additionalProperties: false,
    description:
      'A message from the end user while the conversation is active. It has no top-level `event` key.',
  },
);
export type MessageEvent = Static<typeof MessageEventSchema>;

/**
 * A user's message as an `external` bot receives it while it owns the room (docs/bots.md): the
 * panel's message event, key for key, with `conversation.id` null (there is no conversation).
 */
export type BotMessageEvent = Omit<MessageEvent, 'conversation'> & { conversation: { id: null } };

export const ChannelMessageSchema = Type.Object(
  {
    event: Type.Literal('message'),
    timestamp: Millis,
    bot_id: Type.String(),
    room_id: Type.String(),
    user: Type.Object(
      {
        id: Type.String(),
        reference_id: Type.Union([Type.String(), Type.Null()], {
          description: "Your app's id of its user, as sent to the channel",
        }),
        name: Type.String(),
      },
      { additionalProperties: false },
    ),
    message: messageOf<{ id: string; sender: Exclude<MessageSender, 'user'> }>(
      { id: MessageId, sender: StringEnum(['bot', 'operator'], { description: 'Who wrote it' }) },
      'The message: one of the five types of the message table',
    ),
  },
  {
    additionalProperties: false,
    description: "A message for the end user, POSTed to the http channel's webhookUrl.",
  },
);
export type ChannelMessage = Static<typeof ChannelMessageSchema>;
