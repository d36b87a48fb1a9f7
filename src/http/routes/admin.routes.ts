/**
 * The admin API (docs/admin.md): projects, their credentials, bots and end users, and
 * each bot's rules and channel configuration.
 *
 * The operations themselves (`adminOps`) live here too, apart from the routes, because the
 * `relevo` command runs exactly the same ones against the database: one place decides what is
 * checked, which service is called and what shape comes back, so the HTTP answer and the CLI's
 * JSON output cannot drift.
 *
 * Responses are plain JSON, as docs/admin.md says (not the management success envelope); errors
 * use the error envelope like every other route.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CredentialCache } from '../../auth/credential-cache.js';
import type { MintedCredential } from '../../auth/credential-secrets.js';
import { type BotRules, DEFAULT_RULES } from '../../bots/rules/rule-bot.js';
import { BotRulesSchema, parseRules, RULES_BODY_MAX_BYTES } from '../../bots/rules/rules-schema.js';
import { type AllowList, checkWebhookUrl, type Resolver } from '../../delivery/network-policy.js';
import {
  addCredential,
  createBot,
  createEndUser,
  createProject,
  requireProject,
  revokeCredential,
} from '../../domain/projects/project.service.js';
import {
  type BotView,
  botView,
  checkText,
  type EndUserView,
  endUserView,
  NAME_MAX,
  type ProjectSummaryView,
  projectSummaryView,
  REFERENCE_ID_MAX,
} from '../../domain/projects/project.views.js';
import { ApiError, validationError } from '../../errors.js';
import { randomHex } from '../../model/ids.js';
import type { Bot, BotChannelConfig, ChannelKind, Credential } from '../../model/types.js';
import type { Page, PageRequest, Queries, Store } from '../../storage/store.js';
import { ErrorEnvelope, StringEnum } from '../schemas.js';
import type { RouteDeps } from './route-deps.js';

// ---------------------------------------------------------------------------------------------
// Limits and views, shared by the routes and the CLI
// ---------------------------------------------------------------------------------------------

export { NAME_MAX, REFERENCE_ID_MAX };
export const CHANNELS: readonly ChannelKind[] = ['webchat', 'http'];
export const PAGE_LIMIT_DEFAULT = 50;
export const PAGE_LIMIT_MAX = 200;
/** As for integrations: browsers' and proxies' practical limit; a webhook URL needs no more. */
export const WEBHOOK_URL_MAX = 2048;
/** 32 random bytes, written as 64 hex characters, like an integration's signingSecret. */
const SIGNING_KEY_BYTES = 32;

/** REST times are ISO-8601 UTC with milliseconds (docs/api.md §4). */
const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export interface ProjectCreatedView {
  readonly id: string;
  readonly name: string;
  readonly apiKey: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Extension: the id needed to revoke this first credential. */
  readonly credentialId: string;
}
export interface CredentialView {
  readonly id: string;
  readonly clientId: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}
export interface ProjectView extends ProjectSummaryView {
  readonly credentials: CredentialView[];
}
export interface CredentialCreatedView {
  readonly id: string;
  readonly apiKey: string;
  readonly clientId: string;
  readonly clientSecret: string;
}
export interface PageView<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}
export interface RulesView {
  readonly rules: BotRules;
  /** True when the bot runs on DEFAULT_RULES: none were set, or they were reset. */
  readonly isDefault: boolean;
}
export interface HttpChannelView {
  readonly botId: string;
  readonly channel: 'http';
  readonly webhookUrl: string | null;
  readonly hasSigningKey: boolean;
}
export interface WebchatChannelView {
  readonly botId: string;
  readonly channel: 'webchat';
  /** The chat page, on this server. */
  readonly url: string;
}
export type ChannelView = HttpChannelView | WebchatChannelView;
/** The only answers that show the signing key: its creation and its regeneration. */
export interface ChannelKeyView {
  readonly botId: string;
  readonly channel: 'http';
  readonly webhookUrl: string | null;
  readonly signingKey: string;
}

// Each view lists its keys explicitly, so a column added to a domain type (a hash, say) never
// leaks into an answer by accident.
const credentialView = (c: Credential): CredentialView => ({
  id: c.id,
  clientId: c.clientId,
  createdAt: iso(c.createdAt),
  revokedAt: isoOrNull(c.revokedAt),
});
const credentialCreatedView = (m: MintedCredential): CredentialCreatedView => ({
  id: m.credential.id,
  apiKey: m.apiKey,
  clientId: m.credential.clientId,
  clientSecret: m.clientSecret,
});
const httpChannelView = (botId: string, c: BotChannelConfig | undefined): HttpChannelView => ({
  botId,
  channel: 'http',
  webhookUrl: c?.webhookUrl ?? null,
  hasSigningKey: c !== undefined,
});
const channelKeyView = (c: BotChannelConfig): ChannelKeyView => ({
  botId: c.botId,
  channel: 'http',
  webhookUrl: c.webhookUrl,
  signingKey: c.signingKey,
});
const webchatPath = (botId: string): string => `/webchat/${botId}`;

/**
 * The store can replace a bot's rules but not remove them, so a reset stores the defaults
 * themselves, and rules equal to them count as the defaults. (A reset bot therefore keeps these
 * defaults if a later version changes DEFAULT_RULES.)
 */
const DEFAULT_RULES_JSON = JSON.stringify(DEFAULT_RULES);
function rulesView(stored: string | undefined): RulesView {
  if (stored === undefined) return { rules: DEFAULT_RULES, isDefault: true };
  return { rules: JSON.parse(stored) as BotRules, isDefault: stored === DEFAULT_RULES_JSON };
}

const pageView = <T, V>(page: Page<T>, view: (t: T) => V): PageView<V> => ({
  items: page.items.map(view),
  nextCursor: page.nextCursor,
});

// ---------------------------------------------------------------------------------------------
// Input checks, shared by the routes (after schema validation) and the CLI (its only check)
// ---------------------------------------------------------------------------------------------

function checkChannel(value: string): ChannelKind {
  const channel = CHANNELS.find((c) => c === value);
  if (channel === undefined) throw validationError({ channel: [`must be one of: ${CHANNELS.join(', ')}`] });
  return channel;
}

/**
 * Reads `limit` and `after` as they arrive in a query string or on a command line: text. Query
 * values are validated here rather than by the schema because the schema compiler does not
 * coerce types, and one message for "abc" and "0" alike is clearer.
 */
export function parsePage(limit: string | undefined, after: string | undefined): PageRequest {
  let n = PAGE_LIMIT_DEFAULT;
  if (limit !== undefined) {
    n = /^\d{1,6}$/.test(limit) ? Number(limit) : Number.NaN;
    if (!(n >= 1 && n <= PAGE_LIMIT_MAX)) {
      throw validationError({ limit: [`must be a whole number from 1 to ${PAGE_LIMIT_MAX}`] });
    }
  }
  if (after !== undefined && after.length === 0) throw validationError({ after: ['must not be empty'] });
  return { limit: n, after };
}

async function requireBot(q: Queries, projectId: string, botId: string): Promise<Bot> {
  await requireProject(q, projectId);
  const bot = await q.bots.get(projectId, botId);
  if (bot === undefined) {
    throw new ApiError('bot_not_found', `No bot with id ${JSON.stringify(botId)} exists in this project.`);
  }
  return bot;
}

/** Only the http channel has anything to configure; saying so beats storing a key nobody uses. */
function requireHttpChannel(bot: Bot): void {
  if (bot.channel === 'webchat') {
    throw validationError({
      channel: [
        `is webchat, which needs no configuration: its chat page is served at ${webchatPath(bot.id)}`,
      ],
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

export interface AdminContext {
  readonly store: Store;
  readonly clock: () => number;
  /** RELEVO_WEBHOOK_ALLOW: exemptions from the network policy for channel webhook URLs. */
  readonly allowList: AllowList;
  /** Resolves channel webhook host names (the system's DNS when absent). */
  readonly resolve?: Resolver;
  /** The serving node's credential cache, told of revocations (absent in the CLI). */
  readonly credentials?: Pick<CredentialCache, 'forget'>;
}

export interface ChannelSettings {
  /** Absent: unchanged (none on creation). */
  readonly webhookUrl?: string | undefined;
}

/**
 * The network policy, as for integrations: refused as a validation error on `webhookUrl`. Call
 * it before any transaction: it resolves DNS.
 */
async function checkedWebhookUrl(ctx: AdminContext, url: string, projectId: string): Promise<string> {
  checkText('webhookUrl', url, WEBHOOK_URL_MAX);
  const check = await checkWebhookUrl(url, ctx.allowList, ctx.resolve, projectId);
  if (!check.ok) throw validationError({ webhookUrl: [check.reason] });
  // Stored as sent: the sender parses it with the same WHATWG parser and checks the addresses
  // again when it connects.
  return url;
}

export interface NewBot {
  readonly name: string;
  readonly channel?: string | undefined;
}
export interface NewEndUser {
  readonly names: string;
  readonly referenceId?: string | undefined;
}

export const adminOps = {
  async createProject(ctx: AdminContext, name: string): Promise<ProjectCreatedView> {
    checkText('name', name, NAME_MAX);
    const { project, minted } = await ctx.store.transaction((tx) => createProject(tx, name, ctx.clock()));
    return {
      id: project.id,
      name: project.name,
      apiKey: minted.apiKey,
      clientId: minted.credential.clientId,
      clientSecret: minted.clientSecret,
      credentialId: minted.credential.id,
    };
  },

  async listProjects(ctx: AdminContext, page: PageRequest): Promise<PageView<ProjectSummaryView>> {
    return pageView(await ctx.store.queries.projects.list(page), projectSummaryView);
  },

  async showProject(ctx: AdminContext, projectId: string): Promise<ProjectView> {
    const project = await requireProject(ctx.store.queries, projectId);
    const credentials = await ctx.store.queries.credentials.list(projectId);
    return { ...projectSummaryView(project), credentials: credentials.map(credentialView) };
  },

  async createCredential(ctx: AdminContext, projectId: string): Promise<CredentialCreatedView> {
    const minted = await ctx.store.transaction((tx) => addCredential(tx, projectId, ctx.clock()));
    return credentialCreatedView(minted);
  },

  async revokeCredential(
    ctx: AdminContext,
    projectId: string,
    credentialId: string,
  ): Promise<CredentialView> {
    const revoked = await ctx.store.transaction(async (tx) => {
      await revokeCredential(tx, projectId, credentialId, ctx.clock());
      return tx.credentials.get(credentialId);
    });
    if (revoked === undefined) throw new ApiError('credential_not_found');
    ctx.credentials?.forget(credentialId);
    return credentialView(revoked);
  },

  async createBot(ctx: AdminContext, projectId: string, input: NewBot): Promise<BotView> {
    checkText('name', input.name, NAME_MAX);
    const channel = checkChannel(input.channel ?? 'webchat');
    const bot = await ctx.store.transaction((tx) =>
      createBot(tx, projectId, input.name, channel, ctx.clock()),
    );
    return botView(bot);
  },

  async listBots(ctx: AdminContext, projectId: string, page: PageRequest): Promise<PageView<BotView>> {
    await requireProject(ctx.store.queries, projectId);
    return pageView(await ctx.store.queries.bots.list(projectId, page), botView);
  },

  async createEndUser(ctx: AdminContext, projectId: string, input: NewEndUser): Promise<EndUserView> {
    checkText('names', input.names, NAME_MAX);
    if (input.referenceId !== undefined) checkText('referenceId', input.referenceId, REFERENCE_ID_MAX);
    const user = await ctx.store.transaction((tx) =>
      createEndUser(tx, projectId, input.names, input.referenceId ?? null, ctx.clock()),
    );
    return endUserView(user);
  },

  async listEndUsers(
    ctx: AdminContext,
    projectId: string,
    page: PageRequest,
  ): Promise<PageView<EndUserView>> {
    await requireProject(ctx.store.queries, projectId);
    return pageView(await ctx.store.queries.endUsers.list(projectId, page), endUserView);
  },

  /** The rules the bot runs on now. */
  async botRules(ctx: AdminContext, projectId: string, botId: string): Promise<RulesView> {
    await requireBot(ctx.store.queries, projectId, botId);
    return rulesView(await ctx.store.queries.bots.getRules(botId));
  },

  /** Replaces the bot's rules; `body` is anything parsed from JSON, checked here. */
  async setBotRules(ctx: AdminContext, projectId: string, botId: string, body: unknown): Promise<BotRules> {
    const text = JSON.stringify(parseRules(body));
    await ctx.store.transaction(async (tx) => {
      await requireBot(tx, projectId, botId);
      await tx.bots.putRules(botId, text, ctx.clock());
    });
    // What the bot will read, rather than the caller's object.
    return JSON.parse(text) as BotRules;
  },

  async resetBotRules(ctx: AdminContext, projectId: string, botId: string): Promise<RulesView> {
    return ctx.store.transaction(async (tx) => {
      await requireBot(tx, projectId, botId);
      // A bot that never had rules keeps having none, and so follows DEFAULT_RULES as they change.
      if ((await tx.bots.getRules(botId)) !== undefined) {
        await tx.bots.putRules(botId, DEFAULT_RULES_JSON, ctx.clock());
      }
      return rulesView(undefined);
    });
  },

  /** How the bot reaches its users; never the signing key. */
  async botChannel(ctx: AdminContext, projectId: string, botId: string): Promise<ChannelView> {
    const bot = await requireBot(ctx.store.queries, projectId, botId);
    if (bot.channel === 'webchat') return { botId: bot.id, channel: 'webchat', url: webchatPath(bot.id) };
    return httpChannelView(bot.id, await ctx.store.queries.bots.getChannel(bot.id));
  },

  /**
   * Creates the http channel's configuration, with a new signing key that this answer alone
   * shows, or updates it (the key stays, and is not shown).
   */
  async configureBotChannel(
    ctx: AdminContext,
    projectId: string,
    botId: string,
    settings: ChannelSettings,
  ): Promise<ChannelKeyView | HttpChannelView> {
    const bot = await requireBot(ctx.store.queries, projectId, botId);
    requireHttpChannel(bot);
    const webhookUrl =
      settings.webhookUrl === undefined
        ? undefined
        : await checkedWebhookUrl(ctx, settings.webhookUrl, projectId);
    return ctx.store.transaction(async (tx) => {
      const now = ctx.clock();
      const existing = await tx.bots.getChannel(bot.id);
      if (existing === undefined) {
        const created: BotChannelConfig = {
          botId: bot.id,
          webhookUrl: webhookUrl ?? null,
          signingKey: randomHex(SIGNING_KEY_BYTES),
          createdAt: now,
          updatedAt: now,
        };
        await tx.bots.putChannel(created);
        return channelKeyView(created);
      }
      const updated: BotChannelConfig = {
        ...existing,
        webhookUrl: webhookUrl ?? existing.webhookUrl,
        updatedAt: now,
      };
      await tx.bots.putChannel(updated);
      return httpChannelView(bot.id, updated);
    });
  },

  /** A new signing key, shown in this answer only; the old one stops working at once. */
  async regenerateChannelKey(ctx: AdminContext, projectId: string, botId: string): Promise<ChannelKeyView> {
    const bot = await requireBot(ctx.store.queries, projectId, botId);
    requireHttpChannel(bot);
    return ctx.store.transaction(async (tx) => {
      const now = ctx.clock();
      const existing = await tx.bots.getChannel(bot.id);
      const config: BotChannelConfig = {
        botId: bot.id,
        webhookUrl: existing?.webhookUrl ?? null,
        signingKey: randomHex(SIGNING_KEY_BYTES),
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      await tx.bots.putChannel(config);
      return channelKeyView(config);
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Schemas (validation and the OpenAPI document)
// ---------------------------------------------------------------------------------------------

const Iso = (description: string) => Type.String({ format: 'date-time', description });

const ProjectIdParams = Type.Object({ projectId: Type.String({ description: 'Identifier of the project' }) });
const CredentialParams = Type.Object({
  projectId: Type.String({ description: 'Identifier of the project' }),
  credentialId: Type.String({ description: 'Identifier of the credential' }),
});
const BotParams = Type.Object({
  projectId: Type.String({ description: 'Identifier of the project' }),
  botId: Type.String({ description: 'Identifier of the bot' }),
});
const PageQuery = Type.Object({
  limit: Type.Optional(
    Type.String({
      description: `Page size: a whole number from 1 to ${PAGE_LIMIT_MAX} (default ${PAGE_LIMIT_DEFAULT})`,
      examples: ['50'],
    }),
  ),
  after: Type.Optional(Type.String({ description: 'The nextCursor of the previous page' })),
});

const CreateProjectBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: NAME_MAX }) },
  { additionalProperties: false },
);
const CreateCredentialBody = Type.Object({}, { additionalProperties: false });
const CreateBotBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: NAME_MAX, description: 'Shown in events as bot.name' }),
    channel: Type.Optional(
      StringEnum(CHANNELS, { description: 'How the bot reaches its users; default webchat' }),
    ),
  },
  { additionalProperties: false },
);
const CreateEndUserBody = Type.Object(
  {
    names: Type.String({
      minLength: 1,
      maxLength: NAME_MAX,
      description: 'Shown in events as contact.name',
    }),
    referenceId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: REFERENCE_ID_MAX,
        description: "The user's stable id in the project's own systems; unique in the project",
      }),
    ),
  },
  { additionalProperties: false },
);

const NullableString = (description?: string) =>
  Type.Union([Type.String(), Type.Null()], description === undefined ? {} : { description });

const ProjectSummarySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Iso('Creation time'),
});
const CredentialSchema = Type.Object({
  id: Type.String(),
  clientId: Type.String(),
  createdAt: Iso('Creation time'),
  revokedAt: Type.Union([Iso('Revocation time'), Type.Null()]),
});
const ProjectSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Iso('Creation time'),
  credentials: Type.Array(CredentialSchema, {
    description: 'Every credential, revoked ones included; no secrets',
  }),
});
const ProjectCreatedSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  apiKey: Type.String({ description: 'Shown once; send as x-api-key' }),
  clientId: Type.String(),
  clientSecret: Type.String({ description: 'Shown once; send as Basic base64(clientId:clientSecret)' }),
  credentialId: Type.String({ description: 'The id of this credential, to revoke it' }),
});
const CredentialCreatedSchema = Type.Object({
  id: Type.String({ description: 'The id of this credential, to revoke it' }),
  apiKey: Type.String({ description: 'Shown once' }),
  clientId: Type.String(),
  clientSecret: Type.String({ description: 'Shown once' }),
});
const BotSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  channel: StringEnum(CHANNELS),
  createdAt: Iso('Creation time'),
});
const EndUserSchema = Type.Object({
  id: Type.String(),
  names: Type.String(),
  referenceId: NullableString('null when the user was created without one'),
  createdAt: Iso('Creation time'),
});
const RulesSchema = Type.Object({
  rules: BotRulesSchema,
  isDefault: Type.Boolean({ description: 'True when the bot runs on the built-in default rules' }),
});
const ChannelBody = Type.Object(
  {
    webhookUrl: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: WEBHOOK_URL_MAX,
        description:
          'Absolute http(s) URL that receives each message for an end user, signed with the signingKey. Refused when its host is, or resolves to, a loopback, private, link-local, CGNAT, multicast, reserved or cloud-metadata address, unless the operator allows it. Absent: unchanged.',
        examples: ['https://app.example.com/relevo/messages'],
      }),
    ),
  },
  { additionalProperties: false },
);
const ChannelWebhookUrl = NullableString('null until one is set: messages then stay in the history only');
const HttpChannelSchema = Type.Object({
  botId: Type.String(),
  channel: Type.Literal('http'),
  webhookUrl: ChannelWebhookUrl,
  hasSigningKey: Type.Boolean({ description: 'False until the channel is first configured' }),
});
const WebchatChannelSchema = Type.Object({
  botId: Type.String(),
  channel: Type.Literal('webchat'),
  url: Type.String({ description: 'The chat page, a path on this server' }),
});
const ChannelKeySchema = Type.Object({
  botId: Type.String(),
  channel: Type.Literal('http'),
  webhookUrl: ChannelWebhookUrl,
  signingKey: Type.String({
    description:
      '64 hex characters; signs both directions (X-Jelou-Signature). Shown on creation and regeneration only',
  }),
});
const RegenerateBody = Type.Object({}, { additionalProperties: false });

const PageOf = (item: TSchema) =>
  Type.Object({
    items: Type.Array(item),
    nextCursor: NullableString('Pass as ?after= for the next page; null on the last page'),
  });

function errors(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of [401, 500, ...statuses]) out[s] = ErrorEnvelope;
  return out;
}

const ADMIN = { tags: ['admin'], security: [{ adminToken: [] }] };

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

/**
 * Registered under /admin/v1 by buildApp unless RELEVO_ADMIN_TOKEN=off; `authenticate` checks
 * the bearer token. The replies go through the response schemas' serialisers, which also keep
 * any unlisted property out.
 */
export function adminRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { authenticate: (request: FastifyRequest) => Promise<void> },
): void {
  const ctx: AdminContext = {
    store: deps.store,
    clock: deps.clock,
    allowList: deps.allowList,
    resolve: deps.resolve,
    credentials: deps.credentials,
  };

  app.addHook('onRequest', deps.authenticate);
  // A POST without a body is treated as `{}`, so the answer names the missing fields.
  app.addHook('preValidation', async (request) => {
    if (request.method === 'POST' && request.body === undefined) request.body = {};
  });

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

  type BotRoute = { Params: Static<typeof BotParams> };

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
      bodyLimit: Math.max(deps.config.bodyLimitBytes, RULES_BODY_MAX_BYTES),
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
          'For an http bot, its webhook URL and whether it has a signing key (never the key); for a webchat bot, the chat page.',
        params: BotParams,
        response: { 200: Type.Union([HttpChannelSchema, WebchatChannelSchema]), ...errors(404) },
      },
    },
    async (request) => adminOps.botChannel(ctx, request.params.projectId, request.params.botId),
  );

  app.put<BotRoute & { Body: Static<typeof ChannelBody> }>(
    '/projects/:projectId/bots/:botId/channel',
    {
      schema: {
        ...ADMIN,
        summary: "Configure a bot's http channel",
        description:
          'Creates the configuration with a new signingKey, shown only in that answer (201), or updates it (200). A webchat bot needs no configuration: 422.',
        params: BotParams,
        body: ChannelBody,
        response: {
          201: ChannelKeySchema,
          200: HttpChannelSchema,
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
