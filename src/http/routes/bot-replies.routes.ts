/**
 * The routes a company's own bot calls (the `external` engine of docs/bots.md; docs/api.md §5.6),
 * with the project's credentials like every management route:
 * reply to an end user, and learn who owns the room of a bot and a user.
 */

import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  type BotReplyResult,
  parseBotReply,
  repeatedBotReply,
  roomOwner,
  sendBotReply,
} from '../../domain/messages/bot-reply.service.js';
import { EXTERNAL_ID_MAX_CHARS } from '../../domain/messages/panel-message.service.js';
import { BotReplySent, RoomOwnerView } from '../../model/bot-views.js';
import { messageSchema } from '../../model/message-content.js';
import { originOf } from '../../observability/request-origin.js';
import { UniqueViolation } from '../../storage/errors.js';
import { errorResponses, successEnvelope } from '../schemas.js';
import { validateInHandler } from './panel-messages.routes.js';
import type { RouteDeps } from './route-deps.js';
import { sendSuccess } from './send.js';

const BotParams = Type.Object({
  projectId: Type.String({ description: 'Identifier of the project' }),
  botId: Type.String({ description: 'Identifier of the bot' }),
});

const RoomParams = Type.Object({
  projectId: Type.String({ description: 'Identifier of the project' }),
  botId: Type.String({ description: 'Identifier of the bot' }),
  userId: Type.String({ description: 'Identifier of the end user' }),
});

/**
 * Documents the body for /openapi.json; the handler validates it (parseBotReply), so that a wrong
 * message names its exact field (`message.content.url`) rather than every branch of the union.
 */
const BotReplyBody = Type.Object(
  {
    userId: Type.String({ minLength: 1, description: 'The end user the bot answers' }),
    message: messageSchema({}, 'The message: one of the five types of the message table'),
    id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: EXTERNAL_ID_MAX_CHARS,
        description:
          "The bot's own message id; a repeat in the same room is acknowledged with the same messageId, not resent",
      }),
    ),
  },
  { additionalProperties: false },
);

export function botReplyRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post<{ Params: Static<typeof BotParams> }>(
    '/external-support/:projectId/bots/:botId/messages',
    {
      schema: {
        summary: "Reply to an end user as the project's own bot",
        description:
          "For a bot with the external engine (docs/bots.md): stores the message in the room of the bot and the end user and delivers it through the bot's channel. Refused with 409 room_owned_by_panel while a conversation is active: the panel answers then. A repeated id in the same room is acknowledged again with the same messageId, without a second delivery.",
        tags: ['bots'],
        params: BotParams,
        body: BotReplyBody,
        response: {
          200: successEnvelope(BotReplySent, 'Message sent successfully'),
          ...errorResponses(404, 409, 422),
        },
      },
      validatorCompiler: validateInHandler,
    },
    async (request, reply) => {
      const input = parseBotReply(request.body, request.params);
      const now = deps.clock();
      let sent: BotReplyResult;
      try {
        sent = await deps.store.transaction((tx) => sendBotReply(tx, input, now), originOf(request));
      } catch (e) {
        // Two requests with the same id at once (PostgreSQL): the unique index let one through,
        // and the other is acknowledged with its messageId, as a later repeat would be. A winner
        // that is not the bot's own message is found by a second run, which sends without the id.
        if (!(e instanceof UniqueViolation && e.constraint === 'messages_external')) throw e;
        sent =
          (await repeatedBotReply(deps.store.queries, input)) ??
          (await deps.store.transaction((tx) => sendBotReply(tx, input, now), originOf(request)));
      }
      if (sent.repeated) request.log.info({ messageId: sent.messageId }, 'repeated bot message acknowledged');
      return sendSuccess(reply, 'Message sent successfully', { messageId: sent.messageId });
    },
  );

  app.get<{ Params: Static<typeof RoomParams> }>(
    '/external-support/:projectId/bots/:botId/rooms/:userId',
    {
      schema: {
        summary: 'Learn who owns the room of a bot and an end user',
        description:
          'owner is panel while a conversation is active (conversationId names it), bot otherwise. A bot and user that never talked have no room yet: roomId null, owner bot.',
        tags: ['bots'],
        params: RoomParams,
        response: {
          200: successEnvelope(RoomOwnerView, 'Room retrieved successfully'),
          ...errorResponses(404),
        },
      },
    },
    async (request, reply) => {
      const { projectId, botId, userId } = request.params;
      const data = await roomOwner(deps.store.queries, projectId, botId, userId);
      return sendSuccess(reply, 'Room retrieved successfully', data);
    },
  );
}
