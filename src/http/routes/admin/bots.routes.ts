/** The admin API: Bots, with each bot's rules and channel configuration. */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { type AdminContext, adminOps, parsePage } from '../../../admin/operations.js';
import {
  BotSchema,
  ChannelKeySchema,
  HttpChannelSchema,
  PageOf,
  RulesSchema,
  WebchatChannelSchema,
  WhatsappChannelSchema,
} from '../../../admin/schemas.js';
import { BotRulesSchema, RULES_BODY_MAX_BYTES } from '../../../bots/rules/rules-schema.js';
import {
  ADMIN,
  BotParams,
  ChannelBody,
  CreateBotBody,
  errors,
  PageQuery,
  ProjectIdParams,
  RegenerateBody,
} from './requests.js';

/** `bodyLimitBytes`: the server's body limit; the rules route takes at least RULES_BODY_MAX_BYTES. */
export function botRoutes(app: FastifyInstance, ctx: AdminContext, bodyLimitBytes: number): void {
  type BotRoute = { Params: Static<typeof BotParams> };

  app.post<{ Params: Static<typeof ProjectIdParams>; Body: Static<typeof CreateBotBody> }>(
    '/projects/:projectId/bots',
    {
      schema: {
        ...ADMIN,
        summary: 'Create a bot',
        params: ProjectIdParams,
        body: CreateBotBody,
        response: { 201: BotSchema, ...errors(404, 415, 413, 422) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await adminOps.createBot(ctx, request.params.projectId, request.body)),
  );

  app.get<{ Params: Static<typeof ProjectIdParams>; Querystring: Static<typeof PageQuery> }>(
    '/projects/:projectId/bots',
    {
      schema: {
        ...ADMIN,
        summary: 'List bots',
        params: ProjectIdParams,
        querystring: PageQuery,
        response: { 200: PageOf(BotSchema), ...errors(404, 422) },
      },
    },
    async (request) =>
      adminOps.listBots(ctx, request.params.projectId, parsePage(request.query.limit, request.query.after)),
  );

  app.get<BotRoute>(
    '/projects/:projectId/bots/:botId/rules',
    {
      schema: {
        ...ADMIN,
        summary: "Get a bot's rules",
        description: 'The rules the built-in rule bot runs on now: the ones set, or the defaults.',
        params: BotParams,
        response: { 200: RulesSchema, ...errors(404) },
      },
    },
    async (request) => adminOps.botRules(ctx, request.params.projectId, request.params.botId),
  );

  app.put<BotRoute & { Body: unknown }>(
    '/projects/:projectId/bots/:botId/rules',
    {
      schema: {
        ...ADMIN,
        summary: "Set a bot's rules",
        description:
          'Replaces the rules of the built-in rule bot; the next message the bot answers uses them. The format is in docs/bots.md.',
        params: BotParams,
        body: BotRulesSchema,
        response: { 200: BotRulesSchema, ...errors(404, 415, 413, 422) },
      },
      // The schema documents the body; the verdict is parseRules', in setBotRules, which the
      // `relevo bots rules` command runs too, so both refuse the same rules in the same words.
      attachValidation: true,
      bodyLimit: Math.max(bodyLimitBytes, RULES_BODY_MAX_BYTES),
    },
    async (request) =>
      adminOps.setBotRules(ctx, request.params.projectId, request.params.botId, request.body),
  );

  app.delete<BotRoute>(
    '/projects/:projectId/bots/:botId/rules',
    {
      schema: {
        ...ADMIN,
        summary: "Reset a bot's rules",
        description: 'The bot goes back to the built-in default rules.',
        params: BotParams,
        response: { 200: RulesSchema, ...errors(404) },
      },
    },
    async (request) => adminOps.resetBotRules(ctx, request.params.projectId, request.params.botId),
  );

  app.get<BotRoute>(
    '/projects/:projectId/bots/:botId/channel',
    {
      schema: {
        ...ADMIN,
        summary: "Get a bot's channel",
        description:
          'For an http bot, its webhook URL and whether it has a signing key (never the key); for a webchat bot, the chat page; for a whatsapp bot, its Cloud API settings (never the access token or the app secret) and its webhook path.',
        params: BotParams,
        response: {
          200: Type.Union([HttpChannelSchema, WebchatChannelSchema, WhatsappChannelSchema]),
          ...errors(404),
        },
      },
    },
    async (request) => adminOps.botChannel(ctx, request.params.projectId, request.params.botId),
  );

  app.put<BotRoute & { Body: Static<typeof ChannelBody> }>(
    '/projects/:projectId/bots/:botId/channel',
    {
      schema: {
        ...ADMIN,
        summary: "Configure a bot's http or whatsapp channel",
        description:
          'http: creates the configuration with a new signingKey, shown only in that answer (201), or updates it (200). whatsapp: sets phoneNumberId, accessToken, appSecret and verifyToken (all four the first time; later, absent ones are unchanged) and graphApiVersion, and re-enables sending (200). A webchat bot needs no configuration: 422.',
        params: BotParams,
        body: ChannelBody,
        response: {
          201: ChannelKeySchema,
          200: Type.Union([HttpChannelSchema, WhatsappChannelSchema]),
          ...errors(404, 415, 413, 422),
        },
      },
      // No body is `{}`: create the configuration without a webhook URL, or leave it as it is.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request, reply) => {
      const view = await adminOps.configureBotChannel(
        ctx,
        request.params.projectId,
        request.params.botId,
        request.body,
      );
      return reply.code('signingKey' in view ? 201 : 200).send(view);
    },
  );

  app.post<BotRoute & { Body: Static<typeof RegenerateBody> }>(
    '/projects/:projectId/bots/:botId/channel/signing-key/regenerate',
    {
      schema: {
        ...ADMIN,
        summary: "Regenerate a bot's channel signing key",
        description:
          'A new signingKey, shown only in this answer; the previous one stops working at once. Creates the configuration when there is none. A webchat bot has no key: 422.',
        params: BotParams,
        body: RegenerateBody,
        response: { 200: ChannelKeySchema, ...errors(404, 415, 413, 422) },
      },
    },
    async (request) => adminOps.regenerateChannelKey(ctx, request.params.projectId, request.params.botId),
  );
}
