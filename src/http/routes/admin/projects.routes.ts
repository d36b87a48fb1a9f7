/** The admin API: Projects and their credentials. */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { type AdminContext, adminOps, parsePage } from '../../../admin/operations.js';
import {
  CredentialCreatedSchema,
  CredentialSchema,
  PageOf,
  ProjectCreatedSchema,
  ProjectSchema,
  ProjectSummarySchema,
} from '../../../admin/schemas.js';
import {
  ADMIN,
  CreateCredentialBody,
  CreateProjectBody,
  CredentialParams,
  errors,
  PageQuery,
  ProjectIdParams,
} from './requests.js';

export function projectRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post<{ Body: Static<typeof CreateProjectBody> }>(
    '/projects',
    {
      schema: {
        ...ADMIN,
        summary: 'Create a project',
        description:
          'Creates a project with its first credential; the secrets are shown only in this answer.',
        body: CreateProjectBody,
        response: { 201: ProjectCreatedSchema, ...errors(415, 413, 422) },
      },
    },
    async (request, reply) => reply.code(201).send(await adminOps.createProject(ctx, request.body.name)),
  );

  app.get<{ Querystring: Static<typeof PageQuery> }>(
    '/projects',
    {
      schema: {
        ...ADMIN,
        summary: 'List projects',
        querystring: PageQuery,
        response: { 200: PageOf(ProjectSummarySchema), ...errors(422) },
      },
    },
    async (request) => adminOps.listProjects(ctx, parsePage(request.query.limit, request.query.after)),
  );

  app.get<{ Params: Static<typeof ProjectIdParams> }>(
    '/projects/:projectId',
    {
      schema: {
        ...ADMIN,
        summary: 'Get a project',
        description: 'The project and its credentials, without secrets.',
        params: ProjectIdParams,
        response: { 200: ProjectSchema, ...errors(404) },
      },
    },
    async (request) => adminOps.showProject(ctx, request.params.projectId),
  );

  app.post<{ Params: Static<typeof ProjectIdParams>; Body: Static<typeof CreateCredentialBody> }>(
    '/projects/:projectId/credentials',
    {
      schema: {
        ...ADMIN,
        summary: 'Add a credential',
        description:
          'A further API key and clientId/clientSecret pair; the secrets are shown only in this answer.',
        params: ProjectIdParams,
        body: CreateCredentialBody,
        response: { 201: CredentialCreatedSchema, ...errors(404, 415, 413, 422) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await adminOps.createCredential(ctx, request.params.projectId)),
  );

  app.delete<{ Params: Static<typeof CredentialParams> }>(
    '/projects/:projectId/credentials/:credentialId',
    {
      schema: {
        ...ADMIN,
        summary: 'Revoke a credential',
        description: 'Takes effect at once: the next request with it is refused with 401.',
        params: CredentialParams,
        response: { 200: CredentialSchema, ...errors(404) },
      },
    },
    async (request) => adminOps.revokeCredential(ctx, request.params.projectId, request.params.credentialId),
  );
}
