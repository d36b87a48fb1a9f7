/** The delivery log of the external-support API (docs/api.md §5.5; docs/webhooks.md, "The delivery log API"). */

import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  DELIVERY_CURSOR_MAX,
  DELIVERY_PAGE_DEFAULT,
  DELIVERY_PAGE_MAX,
  getDelivery,
  LOG_DESTINATIONS,
  listDeliveries,
  parseDeliveryQuery,
  parseSince,
  replayDeliveries,
  retryDelivery,
} from '../../domain/deliveries/delivery.service.js';
import { DELIVERY_STATUSES, DeliveryDetail, DeliveryPage, EVENT_TYPES } from '../../model/delivery-views.js';
import { errorResponses, ProjectParams, StringEnum, successEnvelope } from '../schemas.js';
import type { RouteDeps } from './route-deps.js';
import { sendSuccess } from './send.js';

/** Conversation ids are short; the bound only keeps absurd input out of the database query. */
const CONVERSATION_ID_MAX = 128;

const DeliveryParams = Type.Object({
  projectId: Type.String({ description: 'Identifier of the project' }),
  deliveryId: Type.String({
    description: 'Identifier of the delivery: the event id, sent as webhook-id on every attempt',
  }),
});

// Unknown parameters are refused like unknown body fields (docs/api.md §4.6): a misspelt filter
// would otherwise list everything and look like an answer.
const DestinationParam = StringEnum(LOG_DESTINATIONS, {
  description:
    "panel (default): events for the project's webhook; bot: events for the bots' outside engines (docs/bots.md); channel: messages for the end users, through the bots' channels (docs/channels.md)",
});

const DeliveriesQuery = Type.Object(
  {
    destination: Type.Optional(DestinationParam),
    status: Type.Optional(StringEnum(DELIVERY_STATUSES, { description: 'Only deliveries in this state' })),
    eventType: Type.Optional(StringEnum(EVENT_TYPES, { description: 'Only events of this type' })),
    conversationId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: CONVERSATION_ID_MAX,
        description: 'Only events of this conversation',
      }),
    ),
    limit: Type.Optional(
      Type.String({
        description: `Page size: a whole number from 1 to ${DELIVERY_PAGE_MAX} (default ${DELIVERY_PAGE_DEFAULT})`,
        examples: ['50'],
      }),
    ),
    cursor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: DELIVERY_CURSOR_MAX,
        description: 'The nextCursor of the previous page',
      }),
    ),
  },
  { additionalProperties: false },
);

const ReplayBody = Type.Object(
  {
    since: Type.String({
      description:
        'ISO-8601 date and time with a time zone (e.g. 2026-01-15T10:30:00.000Z), not in the future; events created at or after it are sent again',
      examples: ['2026-01-15T10:30:00.000Z'],
    }),
    conversationId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: CONVERSATION_ID_MAX,
        description: 'Replay only the events of this conversation',
      }),
    ),
    destination: Type.Optional(DestinationParam),
  },
  { additionalProperties: false },
);

/** Retry takes no body; an empty object (or no body at all) is tolerated, anything in it is not. */
const RetryBody = Type.Object({}, { additionalProperties: false, description: 'No fields.' });

const Replayed = Type.Object({
  replayed: Type.Integer({ description: 'How many events start a new delivery cycle' }),
});

type Params = Static<typeof DeliveryParams>;

async function noBodyIsEmptyObject(request: FastifyRequest): Promise<void> {
  if (request.body === undefined) request.body = {};
}

export function deliveryRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get<{ Params: Static<typeof ProjectParams>; Querystring: Static<typeof DeliveriesQuery> }>(
    '/external-support/:projectId/deliveries',
    {
      schema: {
        summary: 'List deliveries',
        description:
          'The delivery log: every event of the project with where it stands on its way to the webhook, newest first, filtered by status, event type or conversation. Unknown parameters are refused.',
        tags: ['deliveries'],
        params: ProjectParams,
        querystring: DeliveriesQuery,
        response: {
          200: successEnvelope(DeliveryPage, 'Deliveries retrieved successfully'),
          ...errorResponses(422),
        },
      },
    },
    async (request, reply) => {
      const { filter, page } = parseDeliveryQuery(request.query);
      const data = await listDeliveries(deps.store.queries, request.params.projectId, filter, page);
      return sendSuccess(reply, 'Deliveries retrieved successfully', data);
    },
  );

  app.get<{ Params: Params }>(
    '/external-support/:projectId/deliveries/:deliveryId',
    {
      schema: {
        summary: 'Get a delivery',
        description:
          'One delivery with its payload and every attempt: time, duration, status, response, error.',
        tags: ['deliveries'],
        params: DeliveryParams,
        response: {
          200: successEnvelope(DeliveryDetail, 'Delivery retrieved successfully'),
          ...errorResponses(404),
        },
      },
    },
    async (request, reply) => {
      const { projectId, deliveryId } = request.params;
      const data = await getDelivery(deps.store.queries, projectId, deliveryId);
      return sendSuccess(reply, 'Delivery retrieved successfully', data);
    },
  );

  app.post<{ Params: Params; Body: Static<typeof RetryBody> }>(
    '/external-support/:projectId/deliveries/:deliveryId/retry',
    {
      preValidation: noBodyIsEmptyObject,
      schema: {
        summary: 'Retry a delivery now',
        description:
          'Sends the event again at once with the same webhook-id and payload, fresh timestamp and signatures. A settled delivery (delivered, failed, cancelled, skipped) starts a new delivery cycle; a pending one waiting on its backoff is made due now. If an attempt is in flight, nothing changes and that attempt counts as the retry. Order per room still holds: an event behind an earlier pending event of its room waits for it. 404 integration_not_found when the project has no integration.',
        tags: ['deliveries'],
        params: DeliveryParams,
        body: RetryBody,
        response: {
          200: successEnvelope(DeliveryDetail, 'Delivery retry scheduled successfully'),
          ...errorResponses(404, 422),
        },
      },
    },
    async (request, reply) => {
      const { projectId, deliveryId } = request.params;
      const { delivery, requeued } = await deps.store.transaction((tx) =>
        retryDelivery(tx, projectId, deliveryId, deps.clock()),
      );
      request.log.info({ projectId, eventId: deliveryId, requeued }, 'delivery retry requested');
      return sendSuccess(reply, 'Delivery retry scheduled successfully', delivery);
    },
  );

  app.post<{ Params: Static<typeof ProjectParams>; Body: Static<typeof ReplayBody> }>(
    '/external-support/:projectId/deliveries/replay',
    {
      preValidation: noBodyIsEmptyObject,
      schema: {
        summary: 'Replay deliveries since a time',
        description:
          'Every event of the project (or of one conversation) created at or after `since` that is not pending starts a new delivery cycle, keeping its original webhook-id and payload; events go out in order per room. 404 integration_not_found when the project has no integration; 404 conversation_not_found for an unknown conversationId.',
        tags: ['deliveries'],
        params: ProjectParams,
        body: ReplayBody,
        response: {
          200: successEnvelope(Replayed, 'Replay scheduled successfully'),
          ...errorResponses(404, 422),
        },
      },
    },
    async (request, reply) => {
      const { projectId } = request.params;
      const now = deps.clock();
      const since = parseSince(request.body.since, now);
      const { conversationId, destination } = request.body;
      const data = await deps.store.transaction((tx) =>
        replayDeliveries(tx, projectId, { since, conversationId, destination }, now),
      );
      request.log.info({ projectId, since, conversationId, replayed: data.replayed }, 'deliveries replayed');
      return sendSuccess(reply, 'Replay scheduled successfully', data);
    },
  );
}
