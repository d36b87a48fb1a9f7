/**
 * What the admin API and the `relevo` command show of projects, credentials, bots, end users and
 * bot settings. Each view lists its keys explicitly, so a column added to a domain type (a hash,
 * say) never leaks into an answer by accident; the shapes are those of schemas.ts.
 */
import type { MintedCredential } from '../auth/credential-secrets.js';
import type { BotRules } from '../bots/rules/rule-bot.js';
import { DEFAULT_RULES } from '../bots/rules/rule-bot.js';
import { validationError } from '../errors.js';
import type { Bot, BotChannelConfig, Credential, EndUser, Project } from '../model/types.js';
import type { Page } from '../storage/store.js';
import type {
  BotView,
  ChannelKeyView,
  CredentialCreatedView,
  CredentialView,
  EndUserView,
  HttpChannelView,
  PageView,
  ProjectSummaryView,
  RulesView,
  WhatsappChannelView,
} from './schemas.js';

/** REST times are ISO-8601 UTC with milliseconds (docs/api.md §4). */
const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export const projectSummaryView = (p: Project): ProjectSummaryView => ({
  id: p.id,
  name: p.name,
  createdAt: iso(p.createdAt),
});
export const botView = (b: Bot): BotView => ({
  id: b.id,
  name: b.name,
  channel: b.channel,
  createdAt: iso(b.createdAt),
});
export const endUserView = (u: EndUser): EndUserView => ({
  id: u.id,
  names: u.names,
  referenceId: u.referenceId,
  createdAt: iso(u.createdAt),
});

/** A name-like field: the routes' schemas say the same, the CLI has only this check. */
export function checkText(field: string, value: string, max: number): void {
  if (value.length === 0) throw validationError({ [field]: ['must not be empty'] });
  if (value.length > max) throw validationError({ [field]: [`must be at most ${max} characters`] });
}

export const credentialView = (c: Credential): CredentialView => ({
  id: c.id,
  clientId: c.clientId,
  createdAt: iso(c.createdAt),
  revokedAt: isoOrNull(c.revokedAt),
});
export const credentialCreatedView = (m: MintedCredential): CredentialCreatedView => ({
  id: m.credential.id,
  apiKey: m.apiKey,
  clientId: m.credential.clientId,
  clientSecret: m.clientSecret,
});
export const httpChannelView = (botId: string, c: BotChannelConfig | undefined): HttpChannelView => ({
  botId,
  channel: 'http',
  webhookUrl: c?.webhookUrl ?? null,
  hasSigningKey: c !== undefined,
});
export const channelKeyView = (c: BotChannelConfig): ChannelKeyView => ({
  botId: c.botId,
  channel: 'http',
  webhookUrl: c.webhookUrl,
  signingKey: c.signingKey,
});
export const webchatPath = (botId: string): string => `/webchat/${botId}`;
export const whatsappWebhookPath = (botId: string): string => `/v1/channels/whatsapp/${botId}`;
export const whatsappChannelView = (botId: string, c: BotChannelConfig | undefined): WhatsappChannelView => ({
  botId,
  channel: 'whatsapp',
  webhookPath: whatsappWebhookPath(botId),
  phoneNumberId: c?.whatsapp?.phoneNumberId ?? null,
  verifyToken: c?.whatsapp?.verifyToken ?? null,
  graphApiVersion: c?.whatsapp?.graphApiVersion ?? null,
  hasAccessToken: c?.whatsapp != null,
  hasAppSecret: c?.whatsapp != null,
  sendingDisabled:
    c?.sendingDisabled == null ? null : { reason: c.sendingDisabled.reason, at: iso(c.sendingDisabled.at) },
});

/**
 * The store can replace a bot's rules but not remove them, so a reset stores the defaults
 * themselves, and rules equal to them count as the defaults. (A reset bot therefore keeps these
 * defaults if a later version changes DEFAULT_RULES.)
 */
export const DEFAULT_RULES_JSON = JSON.stringify(DEFAULT_RULES);
export function rulesView(stored: string | undefined): RulesView {
  if (stored === undefined) return { rules: DEFAULT_RULES, isDefault: true };
  return { rules: JSON.parse(stored) as BotRules, isDefault: stored === DEFAULT_RULES_JSON };
}

export const pageView = <T, V>(page: Page<T>, view: (t: T) => V): PageView<V> => ({
  items: page.items.map(view),
  nextCursor: page.nextCursor,
});
