/**
 * `POST {base}/external-support/{projectId}/conversations/{conversationId}/messages` (docs/api.md
 * §5.7): a message to the end user with project credentials, the same effect as the signed send
 * of §4.10 (panel-messages.routes.ts) for clients that hold an API key rather than the signing
 * secret: a browser console, an SDK.
 *
 * The route's schema documents the body for /openapi.json; the handler validates it, so a
 * refusal names the exact field (`content.url`) rather than every branch of the type union.
 */

import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  parseConversationMessage,
  sendConversationMessage,
} from '../../domain/messages/conversation-message.service.js';
import {
  EXTERNAL_ID_MAX_CHARS,
  type PanelMessageSent,
  repeatedPanelMessage,
} from '../../domain/messages/panel-message.service.js';
import { messageSchema } from '../../model/message-content.js';
import { originOf } from '../../observability/request-origin.js';
import { UniqueViolation } from '../../storage/errors.js';
import { errorResponses, successEnvelope } from '../schemas.js';
import { validateInHandler } from './panel-messages.routes.js';
import type { RouteDeps } from './route-deps.js';
import { sendSuccess } from './send.js';

const ConversationParams = Type.Object({
  projectId: Type.String({ description: 'Identifier of the project' }),
  conversationId: Type.String({ description: 'Identifier of the conversation (active)' }),
});

const ConversationMessageBody = messageSchema(
  {
    id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: EXTERNAL_ID_MAX_CHARS,
        description:
          "Your own id of the message: a repeat in the conversation's room is acknowledged with the first messageId and not sent again",
      }),
    ),
  },
  'The message: one of the five types of the message table, as the value of the signed send',
);

const MessageSentData = Type.Object({
  messageId: Type.String({ description: "relevo's id of the stored message" }),
  conversationId: Type.String(),
});

export function conversationMessageRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post<{ Params: Static<typeof ConversationParams> }>(
    '/external-support/:projectId/conversations/:conversationId/messages',
    {
      schema: {
        summary: 'Send a message in a conversation',
        description:
          "Extension: sends a message to the end user of an active conversation, with the project's credentials: the same effect as the signed send (POST /external-support/webhook), for clients that hold an API key rather than the signing secret. The body is the signed send's `value`, its `id` optional. A repeated `id` in the same room is acknowledged again with the same messageId, without a second delivery. 404 conversation_not_found when the conversation is not in this project or not active.",
        tags: ['messages'],
        params: ConversationParams,
        body: ConversationMessageBody,
        response: {
          200: successEnvelope(MessageSentData, 'Message sent successfully'),
          ...errorResponses(404, 422),
        },
      },
      validatorCompiler: validateInHandler,
    },
    async (request, reply) => {
      const { projectId, conversationId } = request.params;
      const parsed = parseConversationMessage(request.body);
      const input = { projectId, conversationId, ...parsed };
      const now = deps.clock();
      let sent: PanelMessageSent;
      try {
        sent = await deps.store.transaction(
          (tx) => sendConversationMessage(tx, input, now),
          originOf(request),
        );
      } catch (e) {
        // Two requests with the same id at once: the unique index let one through; the other is
        // acknowledged with its messageId, as a later repeat would be. A winner that is another
        // sender's message (a bot's `bot:…` id) is found by a second run, which sends without
        // the id (as §4.10 does).
        if (!(e instanceof UniqueViolation && e.constraint === 'messages_external')) throw e;
        const conversation = await deps.store.queries.conversations.get(projectId, conversationId);
        const winner =
          conversation === undefined || parsed.externalId === undefined
            ? undefined
            : await repeatedPanelMessage(deps.store.queries, {
                roomId: conversation.roomId,
                externalId: parsed.externalId,
              });
        sent =
          winner ??
          (await deps.store.transaction((tx) => sendConversationMessage(tx, input, now), originOf(request)));
      }
      if (sent.repeated) request.log.info({ messageId: sent.messageId }, 'repeated message acknowledged');
      return sendSuccess(reply, 'Message sent successfully', {
        messageId: sent.messageId,
        conversationId: sent.conversationId,
      });
    },
  );
}
