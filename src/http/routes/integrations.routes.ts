/** Integration routes of the external-support API (docs/api.md §4.1–§4.5). */

import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkIntegrationUrl, WEBHOOK_URL_MAX_LENGTH } from '../../delivery/webhook-url.js';
import {
  AUTHORIZATION_MAX_LENGTH,
  createdIntegrationView,
  createIntegration,
  deleteIntegration,
  getIntegration,
  integrationView,
  regenerateSigningSecret,
  resolveAuthorization,
  updateIntegration,
} from '../../domain/integrations/integration.service.js';
import { sendTestEventNow } from '../../domain/integrations/test-event.service.js';
import { validationError } from '../../errors.js';
import { EVENT_TYPES } from '../../model/delivery-views.js';
import {
  AuthTypeSchema,
  CreatedIntegration,
  IntegrationView,
  RegeneratedSecret,
} from '../../model/integration-views.js';
import { originOf } from '../../observability/request-origin.js';
import { errorResponses, ProjectParams, StringEnum, successEnvelope } from '../schemas.js';
import type { RouteDeps } from './route-deps.js';
import { sendSuccess } from './send.js';

const TestEventType = StringEnum(EVENT_TYPES, { description: 'The type of the sample event' });
const TestEventBody = Type.Object({ type: TestEventType }, { additionalProperties: false });
const TestEventSent = Type.Object(
  {
    eventId: Type.String({ description: "The event's id: its delivery id and webhook-id" }),
    type: TestEventType,
  },
  { additionalProperties: false },
);

/** docs/api.md §4.3: invalid values on update are a 400, not the 422 of every other route. */
const UPDATE_INVALID_STATUS = 400;

const WebhookUrl = Type.String({
  minLength: 1,
  maxLength: WEBHOOK_URL_MAX_LENGTH,
  description:
    'Absolute http(s) URL that receives every event. Refused when its host is, or resolves to, a loopback, private, link-local, CGNAT, multicast, reserved or cloud-metadata address, unless the operator allows it.',
  examples: ['https://panel.example.com/jelou/events'],
});

const Authorization = Type.String({
  maxLength: AUTHORIZATION_MAX_LENGTH,
  description:
    'The token, key, or user:password relevo presents to the webhook; required unless authType is no_auth. Never returned.',
});

const CreateIntegrationBody = Type.Object(
  {
    webhookUrl: WebhookUrl,
    authType: Type.Optional(AuthTypeSchema),
    authorization: Type.Optional(Authorization),
  },
  { additionalProperties: false },
);

const UpdateIntegrationBody = Type.Object(
  {
    webhookUrl: Type.Optional(WebhookUrl),
    authType: Type.Optional(AuthTypeSchema),
    authorization: Type.Optional(Authorization),
  },
  {
    additionalProperties: false,
    description:
      'At least one field; only the fields sent change. Any update re-enables a disabled integration.',
  },
);

/** §4.5 takes no body; an empty object (or no body at all) is tolerated, anything in it is not. */
const RegenerateBody = Type.Object({}, { additionalProperties: false, description: 'No fields.' });

type Params = Static<typeof ProjectParams>;

/**
 * No body at all (or an empty one with Content-Type: application/json) is read as `{}`, so
 * that the body schema judges it like an empty object instead of "must be a JSON object".
 */
async function noBodyIsEmptyObject(request: FastifyRequest): Promise<void> {
  if (request.body === undefined) request.body = {};
}

export function integrationRoutes(app: FastifyInstance, deps: RouteDeps): void {
  /** The network policy; before any transaction, since it resolves DNS. */
  const checkedUrl = (url: string, projectId: string, status?: number) =>
    checkIntegrationUrl(url, { allowList: deps.allowList, resolve: deps.resolve, owner: projectId }, status);

  app.post<{ Params: Params; Body: Static<typeof CreateIntegrationBody> }>(
    '/external-support/:projectId',
    {
      schema: {
        summary: 'Create the integration',
        description:
          'Sets the webhook that receives every event of the project, with the auth relevo presents to it. One integration per project. The signingSecret is shown only in this response and by secret/regenerate.',
        tags: ['integrations'],
        params: ProjectParams,
        body: CreateIntegrationBody,
        response: {
          200: successEnvelope(CreatedIntegration, 'Integration created successfully'),
          ...errorResponses(409, 422),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const authType = body.authType ?? 'no_auth';
      const authorization = resolveAuthorization(authType, body.authorization, null);
      const webhookUrl = await checkedUrl(body.webhookUrl, request.params.projectId);
      const integration = await deps.store.transaction((tx) =>
        createIntegration(tx, {
          projectId: request.params.projectId,
          webhookUrl,
          authType,
          authorization,
          now: deps.clock(),
        }),
      );
      return sendSuccess(reply, 'Integration created successfully', createdIntegrationView(integration));
    },
  );

  app.get<{ Params: Params }>(
    '/external-support/:projectId',
    {
      schema: {
        summary: 'Get the integration',
        description:
          'The webhook settings of the project; never the signing secret nor the authorization value.',
        tags: ['integrations'],
        params: ProjectParams,
        response: {
          200: successEnvelope(IntegrationView, 'Integration retrieved successfully'),
          ...errorResponses(404),
        },
      },
    },
    async (request, reply) => {
      const integration = await getIntegration(deps.store.queries, request.params.projectId);
      return sendSuccess(reply, 'Integration retrieved successfully', integrationView(integration));
    },
  );

  app.patch<{ Params: Params; Body: Static<typeof UpdateIntegrationBody> }>(
    '/external-support/:projectId',
    {
      config: { validationStatus: UPDATE_INVALID_STATUS },
      preValidation: noBodyIsEmptyObject,
      schema: {
        summary: 'Update the integration',
        description:
          'Changes only the fields sent. Invalid values are a 400 (code unprocessable_entity), as the Jelou documentation gives. Setting authType to no_auth forgets the authorization; another authType needs an authorization, sent now or already stored. Any update re-enables an integration disabled by a 410 Gone.',
        tags: ['integrations'],
        params: ProjectParams,
        body: UpdateIntegrationBody,
        response: {
          200: successEnvelope(IntegrationView, 'Integration updated successfully'),
          ...errorResponses(400, 404),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (body.webhookUrl === undefined && body.authType === undefined && body.authorization === undefined) {
        throw validationError(
          { body: ['must contain at least one of webhookUrl, authType, authorization'] },
          UPDATE_INVALID_STATUS,
        );
      }
      const webhookUrl =
        body.webhookUrl === undefined
          ? undefined
          : await checkedUrl(body.webhookUrl, request.params.projectId, UPDATE_INVALID_STATUS);
      const integration = await deps.store.transaction((tx) =>
        updateIntegration(
          tx,
          request.params.projectId,
          { webhookUrl, authType: body.authType, authorization: body.authorization },
          deps.clock(),
          UPDATE_INVALID_STATUS,
        ),
      );
      return sendSuccess(reply, 'Integration updated successfully', integrationView(integration));
    },
  );

  app.delete<{ Params: Params }>(
    '/external-support/:projectId',
    {
      schema: {
        summary: 'Delete the integration',
        description:
          'Removes the webhook settings. Events stop at once: undelivered events of the project are cancelled (kept in the delivery log as cancelled, never sent).',
        tags: ['integrations'],
        params: ProjectParams,
        response: {
          200: successEnvelope(undefined, 'Integration deleted successfully'),
          ...errorResponses(404),
        },
      },
    },
    async (request, reply) => {
      const { cancelledEvents } = await deps.store.transaction((tx) =>
        deleteIntegration(tx, request.params.projectId),
      );
      request.log.info({ projectId: request.params.projectId, cancelledEvents }, 'integration deleted');
      return sendSuccess(reply, 'Integration deleted successfully');
    },
  );

  app.post<{ Params: Params; Body: Static<typeof RegenerateBody> }>(
    '/external-support/:projectId/secret/regenerate',
    {
      preValidation: noBodyIsEmptyObject,
      schema: {
        summary: 'Regenerate the signing secret',
        description:
          'Replaces the signing secret at once: every delivery attempt from now on, retries of older events included, is signed with the new one.',
        tags: ['integrations'],
        params: ProjectParams,
        body: RegenerateBody,
        response: {
          200: successEnvelope(RegeneratedSecret, 'Signing secret regenerated successfully'),
          ...errorResponses(404, 422),
        },
      },
    },
    async (request, reply) => {
      const data = await deps.store.transaction((tx) =>
        regenerateSigningSecret(tx, request.params.projectId, deps.clock()),
      );
      return sendSuccess(reply, 'Signing secret regenerated successfully', data);
    },
  );

  app.post<{ Params: Params; Body: Static<typeof TestEventBody> }>(
    '/external-support/:projectId/events/test',
    {
      schema: {
        summary: 'Send a test event',
        description:
          'Sends a sample event of the given type, in the documented shape, to the project\'s webhook: a real delivery (signed, retried, in the delivery log, its id the answer\'s eventId). Its bot ("relevo test events") and end user ("Test user") exist only for tests, and a test conversation.start carries value.metadata {"test": true, "sentBy": "relevo"}. Without an integration the event is recorded as skipped, and still reaches the event stream (relevo listen).',
        tags: ['integrations'],
        params: ProjectParams,
        body: TestEventBody,
        response: {
          200: successEnvelope(TestEventSent, 'Test event sent successfully'),
          ...errorResponses(422),
        },
      },
    },
    async (request, reply) => {
      const { projectId } = request.params;
      const { type } = request.body;
      const event = await sendTestEventNow(deps.store, projectId, type, deps.clock(), originOf(request));
      request.log.info({ projectId, eventId: event.id, type }, 'test event sent');
      return sendSuccess(reply, 'Test event sent successfully', { eventId: event.id, type });
    },
  );
}
