/** Conversation routes of the external-support API (docs/api.md §4.6–§4.8, and the §5 list and transcript). */

import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { closeConversation } from '../../domain/conversations/close.js';
import {
  CONVERSATION_PAGE_DEFAULT,
  CONVERSATION_PAGE_MAX,
  getConversationView,
  listConversationViews,
  listTranscript,
  parseConversationQuery,
  parseTranscriptQuery,
} from '../../domain/conversations/conversation.views.js';
import { startConversation } from '../../domain/conversations/start.js';
import { validationError } from '../../errors.js';
import {
  CONVERSATION_STATES,
  ConversationPage,
  ConversationViewSchema,
  TranscriptPage,
} from '../../model/conversation-views.js';
import { originOf } from '../../observability/request-origin.js';
import { roomKey } from '../../storage/store.js';
import {
  ConversationSummary,
  errorResponses,
  ProjectParams,
  StartConversationBody,
  StartedConversation,
  StringEnum,
  successEnvelope,
} from '../schemas.js';
import type { RouteDeps } from './route-deps.js';
import { sendSuccess } from './send.js';

/** docs/api.md §4.6: metadata at most 16 KiB serialised. */
const METADATA_MAX_BYTES = 16 * 1024;

/** docs/api.md §4.7: both fields required when the redirect is sent; unknown fields refused as in §4.6. */
const CloseConversationBody = Type.Object(
  {
    botId: Type.String({ minLength: 1 }),
    userId: Type.String({ minLength: 1 }),
    redirectPayload: Type.Optional(
      Type.Object(
        {
          type: StringEnum(['text', 'edge'], {
            description:
              'text: a last message to the end user; edge: the bot flow step where the bot resumes',
          }),
          text: Type.String({
            minLength: 1,
            maxLength: 4096,
            description: 'The message (text) or the step name (edge)',
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const ConversationParams = Type.Object({
  projectId: Type.String({ description: 'Identifier of the project' }),
  conversationId: Type.String({ description: 'Identifier of the conversation' }),
});

const LimitParam = Type.String({
  description: `Page size: a whole number from 1 to ${CONVERSATION_PAGE_MAX} (default ${CONVERSATION_PAGE_DEFAULT})`,
  examples: ['50'],
});

// Unknown parameters are refused like unknown body fields (docs/api.md §4.6): a misspelt filter would
// otherwise list everything and look like an answer.
const ListConversationsQuery = Type.Object(
  {
    state: Type.Optional(
      StringEnum(CONVERSATION_STATES, { description: 'Only conversations in this state' }),
    ),
    botId: Type.Optional(Type.String({ minLength: 1, description: 'Only conversations of this bot' })),
    userId: Type.Optional(Type.String({ minLength: 1, description: 'Only conversations of this end user' })),
    from: Type.Optional(
      Type.String({
        description: 'Started at or after: an ISO-8601 date (midnight UTC) or date and time with a time zone',
        examples: ['2026-01-15T10:30:00.000Z'],
      }),
    ),
    to: Type.Optional(
      Type.String({
        description: 'Started before (exclusive), in the same form as from',
        examples: ['2026-01-16'],
      }),
    ),
    limit: Type.Optional(LimitParam),
    cursor: Type.Optional(Type.String({ description: 'The nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

const TranscriptQuery = Type.Object(
  {
    limit: Type.Optional(LimitParam),
    cursor: Type.Optional(Type.String({ description: 'The nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

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
          200: successEnvelope(StartedConversation, 'Conversation started successfully'),
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
      const { conversation } = await deps.store.transaction(
        (tx) =>
          startConversation(tx, {
            projectId: request.params.projectId,
            botId: body.botId,
            userId: body.userId,
            initialMessage: body.initialMessage,
            metadata: body.metadata,
            assignment: body.assignment,
            now: deps.clock(),
          }),
        originOf(request),
        roomKey(request.params.projectId, body.botId, body.userId),
      );
      return sendSuccess(reply, 'Conversation started successfully', {
        conversationId: conversation.id,
        botId: conversation.botId,
        userId: conversation.userId,
        status: conversation.state,
        roomId: conversation.roomId,
      });
    },
  );
  app.post<{ Params: Static<typeof ProjectParams>; Body: Static<typeof CloseConversationBody> }>(
    '/external-support/:projectId/conversations/close',
    {
      schema: {
        summary: 'Close a conversation',
        description:
          'Closes the active conversation of a bot and end user, hands the room back to the bot and sends conversation.close to the webhook.',
        tags: ['conversations'],
        params: ProjectParams,
        body: CloseConversationBody,
        response: {
          200: successEnvelope(ConversationSummary, 'Conversation closed successfully'),
          ...errorResponses(404, 422),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const { conversation } = await deps.store.transaction(
        (tx) =>
          closeConversation(tx, {
            projectId: request.params.projectId,
            botId: body.botId,
            userId: body.userId,
            redirectPayload: body.redirectPayload,
            now: deps.clock(),
          }),
        originOf(request),
        roomKey(request.params.projectId, body.botId, body.userId),
      );
      return sendSuccess(reply, 'Conversation closed successfully', {
        conversationId: conversation.id,
        botId: conversation.botId,
        userId: conversation.userId,
        status: conversation.state,
      });
    },
  );

  app.get<{ Params: Static<typeof ProjectParams>; Querystring: Static<typeof ListConversationsQuery> }>(
    '/external-support/:projectId/conversations',
    {
      schema: {
        summary: 'List conversations',
        description:
          "Extension: the project's conversations, newest first, with filters and cursor pagination.",
        tags: ['conversations'],
        params: ProjectParams,
        querystring: ListConversationsQuery,
        response: {
          200: successEnvelope(ConversationPage, 'Conversations retrieved successfully'),
          ...errorResponses(422),
        },
      },
    },
    async (request, reply) => {
      const { filter, page } = parseConversationQuery(request.query);
      const data = await listConversationViews(deps.store.queries, request.params.projectId, filter, page);
      return sendSuccess(reply, 'Conversations retrieved successfully', data);
    },
  );

  app.get<{ Params: Static<typeof ConversationParams> }>(
    '/external-support/:projectId/conversations/:conversationId',
    {
      schema: {
        summary: 'Get a conversation',
        tags: ['conversations'],
        params: ConversationParams,
        response: {
          200: successEnvelope(ConversationViewSchema, 'Conversation retrieved successfully'),
          ...errorResponses(404),
        },
      },
    },
    async (request, reply) => {
      const { projectId, conversationId } = request.params;
      const data = await getConversationView(deps.store.queries, projectId, conversationId);
      return sendSuccess(reply, 'Conversation retrieved successfully', data);
    },
  );

  app.get<{ Params: Static<typeof ConversationParams>; Querystring: Static<typeof TranscriptQuery> }>(
    '/external-support/:projectId/conversations/:conversationId/messages',
    {
      schema: {
        summary: 'Get a conversation transcript',
        description:
          "Extension: the messages of one conversation, oldest first, with cursor pagination. The bot's messages before and after it belong to the room, not to the conversation.",
        tags: ['conversations'],
        params: ConversationParams,
        querystring: TranscriptQuery,
        response: {
          200: successEnvelope(TranscriptPage, 'Messages retrieved successfully'),
          ...errorResponses(404, 422),
        },
      },
    },
    async (request, reply) => {
      const page = parseTranscriptQuery(request.query);
      const { projectId, conversationId } = request.params;
      const data = await listTranscript(deps.store.queries, projectId, conversationId, page);
      return sendSuccess(reply, 'Messages retrieved successfully', data);
    },
  );
}
