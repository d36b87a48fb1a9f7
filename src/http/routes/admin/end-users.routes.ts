/** The admin API: End users. */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { type AdminContext, adminOps, parsePage } from '../../../admin/operations.js';
import { EndUserSchema, PageOf } from '../../../admin/schemas.js';
import { ADMIN, CreateEndUserBody, errors, PageQuery, ProjectIdParams } from './requests.js';

export function endUserRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post<{ Params: Static<typeof ProjectIdParams>; Body: Static<typeof CreateEndUserBody> }>(
    '/projects/:projectId/users',
    {
      schema: {
        ...ADMIN,
        summary: 'Create an end user',
        params: ProjectIdParams,
        body: CreateEndUserBody,
        response: { 201: EndUserSchema, ...errors(404, 409, 415, 413, 422) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await adminOps.createEndUser(ctx, request.params.projectId, request.body)),
  );

  app.get<{ Params: Static<typeof ProjectIdParams>; Querystring: Static<typeof PageQuery> }>(
    '/projects/:projectId/users',
    {
      schema: {
        ...ADMIN,
        summary: 'List end users',
        params: ProjectIdParams,
        querystring: PageQuery,
        response: { 200: PageOf(EndUserSchema), ...errors(404, 422) },
      },
    },
    async (request) =>
      adminOps.listEndUsers(
        ctx,
        request.params.projectId,
        parsePage(request.query.limit, request.query.after),
      ),
  );
}
