/**
 * What the routes of a company's own bot answer (docs/api.md §5.6): one TypeBox schema per
 * shape, whose static type the domain (domain/messages/bot-reply.service.ts) returns.
 */
import { type Static, Type } from '@sinclair/typebox';
import { StringEnum } from './schema-parts.js';

export const BotReplySent = Type.Object({
  messageId: Type.String({
    description: "relevo's id of the stored message; a repeated id is answered with the first one's",
  }),
});
export type BotReplySent = Static<typeof BotReplySent>;

export const ROOM_OWNERS = ['bot', 'panel'] as const;

export const RoomOwnerView = Type.Object({
  roomId: Type.Union([Type.String(), Type.Null()], {
    description: 'The room of the bot and the end user; null while they have never talked',
  }),
  owner: StringEnum(ROOM_OWNERS, {
    description: 'panel while a conversation is active (the bot must not answer), bot otherwise',
  }),
  conversationId: Type.Union([Type.String(), Type.Null()], {
    description: 'The active conversation while the panel owns the room; null while the bot does',
  }),
});
export type RoomOwnerView = Static<typeof RoomOwnerView>;
