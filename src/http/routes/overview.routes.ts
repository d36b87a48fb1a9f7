/** `GET {base}/external-support/{projectId}/overview`: a project at a glance (docs/api.md §5.10). */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { projectOverview } from '../../domain/projects/overview.service.js';
import { ProjectOverview } from '../../model/overview-views.js';
import { errorResponses, ProjectParams, successEnvelope } from '../schemas.js';
import type { RouteDeps } from './route-deps.js';
import { sendSuccess } from './send.js';

export function overviewRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get<{ Params: Static<typeof ProjectParams> }>(
    '/external-support/:projectId/overview',
    {
      schema: {
        summary: 'A project at a glance',
        description:
          "Active conversations, events waiting for the webhook, dead letters (events whose every attempt failed), and the webhook's attempts over the last hour, minute by minute, with their success rate. Read from indexes that hold only what they count: cheap to poll every few seconds.",
        tags: ['deliveries'],
        params: ProjectParams,
        response: {
          200: successEnvelope(ProjectOverview, 'Overview retrieved successfully'),
          ...errorResponses(),
        },
      },
    },
    async (request, reply) => {
      const data = await projectOverview(deps.store.queries, request.params.projectId, deps.clock());
      return sendSuccess(reply, 'Overview retrieved successfully', data);
    },
  );
}
