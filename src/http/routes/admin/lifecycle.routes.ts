/**
 * The admin API's rename and delete operations on projects, bots and end users (relevo's own,
 * like the rest of /admin/v1). Registered in the admin scope beside the other admin routes (index.ts), so the
 * same bearer-token check runs first; the operations are lifecycleOps, which `relevo projects
 * rename|delete`, `bots rename|delete` and `users update|delete` run too.
 *
 * Deletion is soft and final: later reads and writes of the deleted thing are 404, while past
 * conversations, transcripts and the delivery log keep showing it (docs/decisions.md).
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { lifecycleOps } from '../../../admin/lifecycle-operations.js';
import { NAME_MAX, REFERENCE_ID_MAX } from '../../../admin/limits.js';
import { ErrorEnvelope, StringEnum } from '../../schemas.js';
import type { RouteDeps } from '../route-deps.js';

const ProjectIdParams = Type.Object({ projectId: Type.String({ description: 'Identifier of the project' }) });
const BotParams = Type.Object({
  projectId: Type.String({ description: 'Identifier of the project' }),
  botId: Type.String({ description: 'Identifier of the bot' }),
});
const UserParams = Type.Object({
  projectId: Type.String({ description: 'Identifier of the project' }),
  userId: Type.String({ description: 'Identifier of the end user' }),
});

// The schema compiler does not coerce query strings, so `force` is the text "true" or "false".
const DeleteQuery = Type.Object(
  {
    force: Type.Optional(
      StringEnum(['true', 'false'], {
        description:
          'true: close the active conversations first (each sends conversation.close); otherwise any active conversation refuses the deletion with 409 active_conversations',
      }),
    ),
  },
  { additionalProperties: false },
);

const RenameBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: NAME_MAX }) },
  { additionalProperties: false },
);
const RenameBotBody = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: NAME_MAX,
      description: 'Shown in later events as bot.name; events already written keep the old name',
    }),
  },
  { additionalProperties: false },
);
const UpdateEndUserBody = Type.Object(
  {
    names: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: NAME_MAX,
        description: 'Shown in later events as contact.name; events already written keep the old name',
      }),
    ),
    referenceId: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: REFERENCE_ID_MAX }), Type.Null()], {
        description: 'Unique among the live end users of the project; null clears it',
      }),
    ),
  },
  { additionalProperties: false, description: 'At least one field; only the fields sent change.' },
);

const Iso = (description: string) => Type.String({ format: 'date-time', description });

const ProjectSummarySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Iso('Creation time'),
});
const BotSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  channel: StringEnum(['webchat', 'http']),
  createdAt: Iso('Creation time'),
});
const EndUserSchema = Type.Object({
  id: Type.String(),
  names: Type.String(),
  referenceId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Iso('Creation time'),
});
const deletedProperties = {
  id: Type.String(),
  deleted: Type.Literal(true),
  deletedAt: Iso('When it was deleted'),
  closedConversations: Type.Integer({
    description: 'Active conversations this deletion closed, each with its conversation.close event',
  }),
};
const DeletedSchema = Type.Object(deletedProperties);
const ProjectDeletedSchema = Type.Object({
  ...deletedProperties,
  revokedCredentials: Type.Integer({ description: 'Live credentials revoked: they stop working at once' }),
  integrationDeleted: Type.Boolean({ description: 'Whether the project had an integration, now deleted' }),
  cancelledEvents: Type.Integer({
    description: 'Undelivered events cancelled with the integration (kept in the delivery log as cancelled)',
  }),
});

function errors(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of [401, 500, ...statuses]) out[s] = ErrorEnvelope;
  return out;
}

const ADMIN = { tags: ['admin'], security: [{ adminToken: [] }] };

/** A PATCH without a body is `{}`, so the answer says which fields it needs. */
async function noBodyIsEmptyObject(request: FastifyRequest): Promise<void> {
  if (request.body === undefined) request.body = {};
}

const forced = (query: Static<typeof DeleteQuery>): boolean => query.force === 'true';

export function adminLifecycleRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const ctx = { store: deps.store, clock: deps.clock, credentials: deps.credentials };

  app.patch<{ Params: Static<typeof ProjectIdParams>; Body: Static<typeof RenameBody> }>(
    '/projects/:projectId',
    {
      preValidation: noBodyIsEmptyObject,
      schema: {
        ...ADMIN,
        summary: 'Rename a project',
        params: ProjectIdParams,
        body: RenameBody,
        response: { 200: ProjectSummarySchema, ...errors(404, 415, 413, 422) },
      },
    },
    async (request) => lifecycleOps.renameProject(ctx, request.params.projectId, request.body.name),
  );

  app.delete<{ Params: Static<typeof ProjectIdParams>; Querystring: Static<typeof DeleteQuery> }>(
    '/projects/:projectId',
    {
      schema: {
        ...ADMIN,
        summary: 'Delete a project',
        description:
          'Soft deletion, final through the API: the project, its bots and its end users are no longer found (404), its credentials are revoked (401 at once), and its integration is deleted with its undelivered events cancelled, as for DELETE external-support/{projectId}. Conversations, messages and events stay in the database. With active conversations: 409 active_conversations, unless force=true closes them first (their close events are then cancelled with the integration).',
        params: ProjectIdParams,
        querystring: DeleteQuery,
        response: { 200: ProjectDeletedSchema, ...errors(404, 409, 422) },
      },
    },
    async (request) => lifecycleOps.deleteProject(ctx, request.params.projectId, forced(request.query)),
  );

  app.patch<{ Params: Static<typeof BotParams>; Body: Static<typeof RenameBotBody> }>(
    '/projects/:projectId/bots/:botId',
    {
      preValidation: noBodyIsEmptyObject,
      schema: {
        ...ADMIN,
        summary: 'Rename a bot',
        description: 'Its channel cannot change: create another bot for another channel.',
        params: BotParams,
        body: RenameBotBody,
        response: { 200: BotSchema, ...errors(404, 415, 413, 422) },
      },
    },
    async (request) =>
      lifecycleOps.renameBot(ctx, request.params.projectId, request.params.botId, request.body.name),
  );

  app.delete<{ Params: Static<typeof BotParams>; Querystring: Static<typeof DeleteQuery> }>(
    '/projects/:projectId/bots/:botId',
    {
      schema: {
        ...ADMIN,
        summary: 'Delete a bot',
        description:
          'Soft deletion: the bot is no longer found (404 bot_not_found on start, on its channel and here), while past conversations still show its name. Events already queued are delivered. With active conversations: 409 active_conversations, unless force=true closes them first, each with its conversation.close event.',
        params: BotParams,
        querystring: DeleteQuery,
        response: { 200: DeletedSchema, ...errors(404, 409, 422) },
      },
    },
    async (request) =>
      lifecycleOps.deleteBot(ctx, request.params.projectId, request.params.botId, forced(request.query)),
  );

  app.patch<{ Params: Static<typeof UserParams>; Body: Static<typeof UpdateEndUserBody> }>(
    '/projects/:projectId/users/:userId',
    {
      preValidation: noBodyIsEmptyObject,
      schema: {
        ...ADMIN,
        summary: 'Update an end user',
        params: UserParams,
        body: UpdateEndUserBody,
        response: { 200: EndUserSchema, ...errors(404, 409, 415, 413, 422) },
      },
    },
    async (request) =>
      lifecycleOps.updateEndUser(ctx, request.params.projectId, request.params.userId, request.body),
  );

  app.delete<{ Params: Static<typeof UserParams>; Querystring: Static<typeof DeleteQuery> }>(
    '/projects/:projectId/users/:userId',
    {
      schema: {
        ...ADMIN,
        summary: 'Delete an end user',
        description:
          'Soft deletion: the end user is no longer found (404 user_not_found), their web chat sessions stop working, and their referenceId is free again; past conversations still show their names. Events already queued are delivered. With active conversations: 409 active_conversations, unless force=true closes them first, each with its conversation.close event.',
        params: UserParams,
        querystring: DeleteQuery,
        response: { 200: DeletedSchema, ...errors(404, 409, 422) },
      },
    },
    async (request) =>
      lifecycleOps.deleteEndUser(ctx, request.params.projectId, request.params.userId, forced(request.query)),
  );
}
