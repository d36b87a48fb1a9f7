/**
 * The admin operations (docs/admin.md): what creating, listing and configuring projects,
 * credentials, bots and end users does. The admin routes and the `relevo` command run exactly
 * these, so one place decides what is checked, which service is called and what shape comes
 * back, and the HTTP answer and the CLI's JSON output cannot drift.
 */
import type { CredentialCache } from '../auth/credential-cache.js';
import type { BotRules } from '../bots/rules/rule-bot.js';
import { parseRules } from '../bots/rules/rules-schema.js';
import { type AllowList, checkWebhookUrl, type Resolver } from '../delivery/network-policy.js';
import {
  addCredential,
  createBot,
  createEndUser,
  createProject,
  requireProject,
  revokeCredential,
} from '../domain/projects/project.service.js';
import { ApiError, validationError } from '../errors.js';
import { randomHex } from '../model/ids.js';
import type { Bot, BotChannelConfig, ChannelKind, WhatsappSettings } from '../model/types.js';
import type { PageRequest, Queries, Store } from '../storage/store.js';
import {
  CHANNELS,
  DEFAULT_GRAPH_API_VERSION,
  NAME_MAX,
  PAGE_LIMIT_DEFAULT,
  PAGE_LIMIT_MAX,
  REFERENCE_ID_MAX,
  WEBHOOK_URL_MAX,
  WHATSAPP_ID,
  WHATSAPP_SECRET_MAX,
  WHATSAPP_VERSION,
} from './limits.js';
import type {
  BotView,
  ChannelKeyView,
  ChannelView,
  CredentialCreatedView,
  CredentialView,
  EndUserView,
  HttpChannelView,
  PageView,
  ProjectCreatedView,
  ProjectSummaryView,
  ProjectView,
  RulesView,
  WhatsappChannelView,
} from './schemas.js';
import {
  botView,
  channelKeyView,
  checkText,
  credentialCreatedView,
  credentialView,
  DEFAULT_RULES_JSON,
  endUserView,
  httpChannelView,
  pageView,
  projectSummaryView,
  rulesView,
  webchatPath,
  whatsappChannelView,
} from './views.js';

/** 32 random bytes, written as 64 hex characters, like an integration's signingSecret. */
const SIGNING_KEY_BYTES = 32;

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

/** Only the http channel has a signing key; saying so beats storing a key nobody uses. */
function requireHttpChannel(bot: Bot): void {
  if (bot.channel === 'webchat') {
    throw validationError({
      channel: [
        `is webchat, which needs no configuration: its chat page is served at ${webchatPath(bot.id)}`,
      ],
    });
  }
  if (bot.channel === 'whatsapp') {
    throw validationError({
      channel: ['is whatsapp, which has no signing key: Meta signs with the app secret set by PUT …/channel'],
    });
  }
}

const WHATSAPP_FIELDS = [
  'phoneNumberId',
  'accessToken',
  'appSecret',
  'verifyToken',
  'graphApiVersion',
] as const;

/** The whatsapp settings sent, checked; the CLI has only these checks, the route its schema too. */
function checkWhatsappSettings(bot: Bot, s: ChannelSettings): void {
  const errors: Record<string, string[]> = {};
  if (bot.channel !== 'whatsapp') {
    for (const f of WHATSAPP_FIELDS) {
      if (s[f] !== undefined) errors[f] = [`is for whatsapp channels; this bot's channel is ${bot.channel}`];
    }
  } else {
    if (s.webhookUrl !== undefined) errors.webhookUrl = ['is for http channels; this bot is on whatsapp'];
    if (s.phoneNumberId !== undefined && !WHATSAPP_ID.test(s.phoneNumberId)) {
      errors.phoneNumberId = ["must be Meta's phone number id: 1 to 32 digits"];
    }
    for (const f of ['accessToken', 'appSecret', 'verifyToken'] as const) {
      const v = s[f];
      if (v === undefined) continue;
      if (v.length === 0) errors[f] = ['must not be empty'];
      else if (v.length > WHATSAPP_SECRET_MAX)
        errors[f] = [`must be at most ${WHATSAPP_SECRET_MAX} characters`];
    }
    if (s.graphApiVersion !== undefined && !WHATSAPP_VERSION.test(s.graphApiVersion)) {
      errors.graphApiVersion = ['must be a Graph API version such as v23.0'];
    }
  }
  if (Object.keys(errors).length > 0) throw validationError(errors);
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
  /** whatsapp: each absent one is unchanged; all four but graphApiVersion are needed the first time. */
  readonly phoneNumberId?: string | undefined;
  readonly accessToken?: string | undefined;
  readonly appSecret?: string | undefined;
  readonly verifyToken?: string | undefined;
  readonly graphApiVersion?: string | undefined;
}

/**
 * The network policy, as for integrations: refused as a validation error on `webhookUrl`. Call
 * it before any transaction: it resolves DNS.
 */
export async function checkedWebhookUrl(
  ctx: AdminContext,
  url: string,
  projectId: string,
  /** The field the caller named it by (a Rasa server's is `url`). */
  field = 'webhookUrl',
): Promise<string> {
  checkText(field, url, WEBHOOK_URL_MAX);
  const check = await checkWebhookUrl(url, ctx.allowList, ctx.resolve, projectId);
  if (!check.ok) throw validationError({ [field]: [check.reason] });
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

/**
 * Creates or updates a whatsapp channel's settings (docs/channels.md, "WhatsApp"). Saving
 * re-enables a sending that Meta's 190 stopped: a new token is the usual reason to save.
 */
async function configureWhatsapp(
  ctx: AdminContext,
  bot: Bot,
  s: ChannelSettings,
): Promise<WhatsappChannelView> {
  return ctx.store.transaction(async (tx) => {
    const now = ctx.clock();
    const existing = await tx.bots.getChannel(bot.id);
    const before = existing?.whatsapp ?? undefined;
    const missing = (['phoneNumberId', 'accessToken', 'appSecret', 'verifyToken'] as const).filter(
      (f) => s[f] === undefined && before === undefined,
    );
    if (missing.length > 0) {
      throw validationError(
        Object.fromEntries(missing.map((f) => [f, ['is required to configure a whatsapp channel']])),
      );
    }
    const whatsapp: WhatsappSettings = {
      phoneNumberId: s.phoneNumberId ?? before?.phoneNumberId ?? '',
      accessToken: s.accessToken ?? before?.accessToken ?? '',
      verifyToken: s.verifyToken ?? before?.verifyToken ?? '',
      graphApiVersion: s.graphApiVersion ?? before?.graphApiVersion ?? DEFAULT_GRAPH_API_VERSION,
    };
    const config: BotChannelConfig = {
      botId: bot.id,
      webhookUrl: null,
      signingKey: s.appSecret ?? existing?.signingKey ?? '',
      whatsapp,
      sendingDisabled: null,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await tx.bots.putChannel(config);
    return whatsappChannelView(bot.id, config);
  });
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
    if (bot.channel === 'whatsapp') {
      return whatsappChannelView(bot.id, await ctx.store.queries.bots.getChannel(bot.id));
    }
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
  ): Promise<ChannelKeyView | HttpChannelView | WhatsappChannelView> {
    const bot = await requireBot(ctx.store.queries, projectId, botId);
    checkWhatsappSettings(bot, settings);
    if (bot.channel === 'whatsapp') return configureWhatsapp(ctx, bot, settings);
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
