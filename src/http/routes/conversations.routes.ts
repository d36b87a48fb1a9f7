/** Conversation routes of the external-support API (api.md §4.6–§4.8). */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { startConversation } from '../../domain/conversations/conversation.service.js';
import { validationError } from '../../errors.js';
import {
  ConversationSummary,
  errorResponses,
  ProjectParams,
  StartConversationBody,
  successEnvelope,
} from '../schemas.js';
import type { RouteDeps } from './route-deps.js';
import { sendSuccess } from './send.js';

/** api.md §4.6: metadata at most 16 KiB serialised. */
const METADATA_MAX_BYTES = 16 * 1024;

export function conversationRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post<{ Params: Static<typeof ProjectParams>; Body: Static<typeof StartConversationBody> }>(
    '/external-support/:projectId/conversations/start',
    {
      schema: {
        summary: 'Start a conversation',
        description: 'Hands a (bot, end user) room to the panel and sends conversation.start to the webhook.',
        tags: ['conversations'],
        params: ProjectParams,
        body: StartConversationBody,
        response: {
          200: successEnvelope(ConversationSummary, 'Conversation started successfully'),
          ...errorResponses(404, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (
        body.metadata !== undefined &&
        Buffer.byteLength(JSON.stringify(body.metadata)) > METADATA_MAX_BYTES
      ) {
        throw validationError({
          metadata: [`must be at most ${METADATA_MAX_BYTES} bytes when serialised as JSON`],
        });
      }
      const { conversation } = await deps.store.transaction((tx) =>
        startConversation(tx, {
          projectId: request.params.projectId,
          botId: body.botId,
          userId: body.userId,
          initialMessage: body.initialMessage,
          metadata: body.metadata,
          assignment: body.assignment,
          now: deps.clock(),
        }),
      );
      return sendSuccess(reply, 'Conversation started successfully', {
        conversationId: conversation.id,
        botId: conversation.botId,
        userId: conversation.userId,
        status: conversation.state,
      });
    },
  );
}
