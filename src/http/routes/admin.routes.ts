/**
 * The admin API (runtime.md "Admin API"): projects, their credentials, bots and end users.
 *
 * The operations themselves (`adminOps`) live here too, apart from the routes, because the
 * `relevo` command runs exactly the same ones against the database: one place decides what is
 * checked, which service is called and what shape comes back, so the HTTP answer and the CLI's
 * JSON output cannot drift.
 *
 * Responses are plain JSON, as runtime.md says (not the management success envelope); errors
 * use the error envelope like every other route.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { MintedCredential } from '../../auth/credential-secrets.js';
import {
  addCredential,
  createBot,
  createEndUser,
  createProject,
  requireProject,
  revokeCredential,
} from '../../domain/projects/project.service.js';
import type { Bot, ChannelKind, Credential, EndUser, Project } from '../../domain/types.js';
import { ApiError, validationError } from '../../errors.js';
import type { Page, PageRequest, Store } from '../../storage/store.js';
import { authenticateAdmin } from '../auth.js';
import { ErrorEnvelope, StringEnum } from '../schemas.js';
import type { RouteDeps } from './route-deps.js';

// ---------------------------------------------------------------------------------------------
// Limits and views, shared by the routes and the CLI
// ---------------------------------------------------------------------------------------------

export const NAME_MAX = 200;
export const REFERENCE_ID_MAX = 200;
export const CHANNELS: readonly ChannelKind[] = ['webchat', 'http'];
export const PAGE_LIMIT_DEFAULT = 50;
export const PAGE_LIMIT_MAX = 200;

/** REST times are ISO-8601 UTC with milliseconds (api.md §4). */
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
export interface ProjectSummaryView {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
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
export interface BotView {
  readonly id: string;
  readonly name: string;
  readonly channel: ChannelKind;
  readonly createdAt: string;
}
export interface EndUserView {
  readonly id: string;
  readonly names: string;
  readonly referenceId: string | null;
  readonly createdAt: string;
}
export interface PageView<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

// Each view lists its keys explicitly, so a column added to a domain type (a hash, say) never
// leaks into an answer by accident.
const projectSummaryView = (p: Project): ProjectSummaryView => ({
  id: p.id,
  name: p.name,
  createdAt: iso(p.createdAt),
});
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
const botView = (b: Bot): BotView => ({
  id: b.id,
  name: b.name,
  channel: b.channel,
  createdAt: iso(b.createdAt),
});
const endUserView = (u: EndUser): EndUserView => ({
  id: u.id,
  names: u.names,
  referenceId: u.referenceId,
  createdAt: iso(u.createdAt),
});
const pageView = <T, V>(page: Page<T>, view: (t: T) => V): PageView<V> => ({
  items: page.items.map(view),
  nextCursor: page.nextCursor,
});

// ---------------------------------------------------------------------------------------------
// Input checks, shared by the routes (after schema validation) and the CLI (its only check)
// ---------------------------------------------------------------------------------------------

function checkText(field: string, value: string, max: number): void {
  if (value.length === 0) throw validationError({ [field]: ['must not be empty'] });
  if (value.length > max) throw validationError({ [field]: [`must be at most ${max} characters`] });
}

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

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

export interface AdminContext {
  readonly store: Store;
  readonly clock: () => number;
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
    return pageView(await ctx.store.queries.listProjects(page), projectSummaryView);
  },

  async showProject(ctx: AdminContext, projectId: string): Promise<ProjectView> {
    const project = await requireProject(ctx.store.queries, projectId);
    const credentials = await ctx.store.queries.listCredentials(projectId);
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
      return tx.getCredential(credentialId);
    });
    if (revoked === undefined) throw new ApiError('credential_not_found');
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
    return pageView(await ctx.store.queries.listBots(projectId, page), botView);
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
    return pageView(await ctx.store.queries.listEndUsers(projectId, page), endUserView);
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
 * Registered under /admin/v1 by buildApp, only when RELEVO_ADMIN_TOKEN is set. The replies go
 * through the response schemas' serialisers, which also keep any unlisted property out.
 */
export function adminRoutes(app: FastifyInstance, deps: RouteDeps & { adminToken: string }): void {
  const ctx: AdminContext = { store: deps.store, clock: deps.clock };

  app.addHook('onRequest', async (request) => {
    authenticateAdmin(request, deps.adminToken);
  });
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
}
