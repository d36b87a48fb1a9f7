/**
 * What reading conversations answers (docs/api.md §4.8, and the list and transcript extensions):
 * one TypeBox schema per shape, whose static type is the view's type. The domain builds these
 * views (domain/conversations/conversation.views.ts); the routes serialise and document with
 * the same schemas.
 */
import { type Static, Type } from '@sinclair/typebox';
import { StringEnum } from './schema-parts.js';
import type { ConversationState } from './types.js';

/** The states a conversation can be in, as the list filter takes them. */
export const CONVERSATION_STATES: readonly ConversationState[] = ['active', 'closed'];

const Timestamp = (description: string) =>
  Type.String({ format: 'date-time', description, examples: ['2026-01-15T10:30:00.000Z'] });
const NextCursor = Type.Union([Type.String(), Type.Null()], {
  description: 'Pass as ?cursor= for the next page; null on the last page',
});
/** docs/api.md §4.8, with the assignment and metadata extensions. */
export const ConversationViewSchema = Type.Object({
  _id: Type.String({ description: 'Identifier of the conversation' }),
  roomId: Type.String({ description: 'The room of the (bot, end user) pair, shared by its conversations' }),
  state: StringEnum(CONVERSATION_STATES),
  startAt: Timestamp('When the conversation started'),
  endAt: Type.Optional(Timestamp('When it was closed; closed conversations only')),
  endedReason: Type.Optional(
    StringEnum(['closed_by_operator'], { description: 'Closed conversations only' }),
  ),
  User: Type.Object({
    id: Type.String(),
    names: Type.String(),
    referenceId: Type.Union([Type.String(), Type.Null()]),
  }),
  Bot: Type.Object({ id: Type.String(), name: Type.String() }),
  assignment: Type.Optional(
    Type.Object(
      { type: StringEnum(['queue', 'operator', 'team']), target: Type.String() },
      { description: 'Extension: the assignment sent with start, when there was one' },
    ),
  ),
  metadata: Type.Optional(
    Type.Object(
      {},
      {
        additionalProperties: true,
        description: 'Extension: the metadata sent with start, when there was one',
      },
    ),
  ),
});

export const ConversationPage = Type.Object({
  items: Type.Array(ConversationViewSchema, { description: 'Newest first' }),
  nextCursor: NextCursor,
});

export const MessageViewSchema = Type.Object({
  id: Type.String(),
  sender: StringEnum(['user', 'bot', 'operator'], {
    description: 'user: the end user; operator: the panel; bot: the bot',
  }),
  type: StringEnum(['text', 'image', 'video', 'audio', 'document']),
  content: Type.Object(
    {},
    { additionalProperties: true, description: 'As in docs/api.md §4.9, by type: { body } for text' },
  ),
  createdAt: Timestamp('When it was stored'),
  delivery: Type.Optional(
    Type.Object(
      {
        channel: Type.Literal('whatsapp'),
        status: StringEnum(['accepted', 'sent', 'delivered', 'read', 'failed'], {
          description: 'accepted: Meta took the send; then what Meta reported, never going back',
        }),
        errorCode: Type.Optional(Type.Integer({ description: "Meta's error code, for a failed one" })),
        error: Type.Optional(Type.String({ description: "Meta's error title, for a failed one" })),
      },
      {
        description:
          'Extension: for a message to the user that went out through WhatsApp, its delivery state as Meta reports it',
      },
    ),
  ),
});

export const TranscriptPage = Type.Object({
  items: Type.Array(MessageViewSchema, { description: 'Oldest first' }),
  nextCursor: NextCursor,
});

export type ConversationView = Static<typeof ConversationViewSchema>;
export type MessageView = Static<typeof MessageViewSchema>;
