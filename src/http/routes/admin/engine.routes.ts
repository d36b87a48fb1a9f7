/** The admin API: a bot's engine (docs/bots.md, "Engines"). */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { engineOps } from '../../../admin/engine-operations.js';
import type { AdminContext } from '../../../admin/operations.js';
import { EngineSchema, EngineSecretSchema, EngineSetSchema } from '../../../admin/schemas.js';
import { ADMIN, BotParams, EngineBody, errors, RegenerateBody } from './requests.js';

export function engineRoutes(app: FastifyInstance, ctx: AdminContext): void {
  type BotRoute = { Params: Static<typeof BotParams> };

  app.get<BotRoute>(
    '/projects/:projectId/bots/:botId/engine',
    {
      schema: {
        ...ADMIN,
        summary: "Get a bot's engine",
        description:
          'rules (the built-in rule bot), external (your own bot) or rasa; never the signing secret.',
        params: BotParams,
        response: { 200: EngineSchema, ...errors(404) },
      },
    },
    async (request) => engineOps.get(ctx, request.params.projectId, request.params.botId),
  );

  app.put<BotRoute & { Body: Static<typeof EngineBody> }>(
    '/projects/:projectId/bots/:botId/engine',
    {
      schema: {
        ...ADMIN,
        summary: "Set a bot's engine",
        description:
          "The first external setting makes the engine's signingSecret and shows it in this answer only. Events waiting for an outside engine go to the one set now; switching to rules cancels them (docs/bots.md).",
        params: BotParams,
        body: EngineBody,
        response: { 200: EngineSetSchema, ...errors(404, 415, 413, 422) },
      },
    },
    async (request) => engineOps.set(ctx, request.params.projectId, request.params.botId, request.body),
  );

  app.post<BotRoute & { Body: Static<typeof RegenerateBody> }>(
    '/projects/:projectId/bots/:botId/engine/secret/regenerate',
    {
      schema: {
        ...ADMIN,
        summary: "Regenerate a bot engine's signing secret",
        description:
          'External engines only (409 engine_has_no_secret otherwise). Shown in this answer only; it signs every later attempt, retries included.',
        params: BotParams,
        body: RegenerateBody,
        response: { 200: EngineSecretSchema, ...errors(404, 409, 415, 413, 422) },
      },
    },
    async (request) => engineOps.regenerate(ctx, request.params.projectId, request.params.botId),
  );
}
