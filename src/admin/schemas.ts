/**
 * What the admin API and the `relevo` command answer: one TypeBox schema per shape, whose static
 * type is the view's type. The routes serialise and document with these schemas; the views
 * (views.ts) are typed by them, so the two cannot drift.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { BotRules } from '../bots/rules/rule-bot.js';
import { BotRulesSchema } from '../bots/rules/rules-schema.js';
import { StringEnum } from '../model/schema-parts.js';
import { CHANNELS } from './limits.js';

const Iso = (description: string) => Type.String({ format: 'date-time', description });

const NullableString = (description?: string) =>
  Type.Union([Type.String(), Type.Null()], description === undefined ? {} : { description });

export const ProjectSummarySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Iso('Creation time'),
});

export const CredentialSchema = Type.Object({
  id: Type.String(),
  clientId: Type.String(),
  createdAt: Iso('Creation time'),
  revokedAt: Type.Union([Iso('Revocation time'), Type.Null()]),
});

export const ProjectSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Iso('Creation time'),
  credentials: Type.Array(CredentialSchema, {
    description: 'Every credential, revoked ones included; no secrets',
  }),
});

export const ProjectCreatedSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  apiKey: Type.String({ description: 'Shown once; send as x-api-key' }),
  clientId: Type.String(),
  clientSecret: Type.String({ description: 'Shown once; send as Basic base64(clientId:clientSecret)' }),
  credentialId: Type.String({ description: 'The id of this credential, to revoke it' }),
});

export const CredentialCreatedSchema = Type.Object({
  id: Type.String({ description: 'The id of this credential, to revoke it' }),
  apiKey: Type.String({ description: 'Shown once' }),
  clientId: Type.String(),
  clientSecret: Type.String({ description: 'Shown once' }),
});

export const BotSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  channel: StringEnum(CHANNELS),
  createdAt: Iso('Creation time'),
});

export const EndUserSchema = Type.Object({
  id: Type.String(),
  names: Type.String(),
  referenceId: NullableString('null when the user was created without one'),
  createdAt: Iso('Creation time'),
});

export const RulesSchema = Type.Object({
  rules: BotRulesSchema,
  isDefault: Type.Boolean({ description: 'True when the bot runs on the built-in default rules' }),
});

const ChannelWebhookUrl = NullableString('null until one is set: messages then stay in the history only');

export const HttpChannelSchema = Type.Object({
  botId: Type.String(),
  channel: Type.Literal('http'),
  webhookUrl: ChannelWebhookUrl,
  hasSigningKey: Type.Boolean({ description: 'False until the channel is first configured' }),
});

export const WebchatChannelSchema = Type.Object({
  botId: Type.String(),
  channel: Type.Literal('webchat'),
  url: Type.String({ description: 'The chat page, a path on this server' }),
});

/** docs/channels.md, "WhatsApp": the settings, never the access token or the app secret. */
export const WhatsappChannelSchema = Type.Object({
  botId: Type.String(),
  channel: Type.Literal('whatsapp'),
  webhookPath: Type.String({
    description:
      "The path of the callback URL to paste into the Meta app's webhook (after this server's origin)",
  }),
  phoneNumberId: NullableString(
    'The phone number id of the WhatsApp Business account; null until configured',
  ),
  verifyToken: NullableString(
    "The token Meta's verification request must carry; paste it beside the callback URL",
  ),
  graphApiVersion: NullableString('The Graph API version of every call, e.g. v23.0'),
  hasAccessToken: Type.Boolean(),
  hasAppSecret: Type.Boolean(),
  sendingDisabled: Type.Union(
    [
      Type.Object({
        reason: Type.String({ description: "Meta's answer, e.g. WhatsApp error 190: …" }),
        at: Iso('When it was disabled'),
      }),
      Type.Null(),
    ],
    {
      description:
        'Set when Meta refused the access token (190): nothing is sent until the configuration is saved again',
    },
  ),
});

export const ChannelKeySchema = Type.Object({
  botId: Type.String(),
  channel: Type.Literal('http'),
  webhookUrl: ChannelWebhookUrl,
  signingKey: Type.String({
    description:
      '64 hex characters; signs both directions (X-Jelou-Signature). Shown on creation and regeneration only',
  }),
});

/** docs/bots.md, "Engines": which engine answers a bot's users (never its secret). */
export const EngineSchema = Type.Union([
  Type.Object({ type: Type.Literal('rules') }),
  Type.Object({
    type: Type.Literal('external'),
    webhookUrl: Type.String({
      description: "Where the bot's events are POSTed, signed with its signingSecret",
    }),
    hasSigningSecret: Type.Literal(true),
  }),
  Type.Object({ type: Type.Literal('rasa'), url: Type.String({ description: 'The Rasa server' }) }),
]);

/** A PUT's answer: the engine, with the external engine's secret the one time it is made. */
export const EngineSetSchema = Type.Union([
  Type.Object({ type: Type.Literal('rules') }),
  Type.Object({
    type: Type.Literal('external'),
    webhookUrl: Type.String(),
    hasSigningSecret: Type.Literal(true),
    signingSecret: Type.Optional(
      Type.String({
        description:
          '64 hex characters; signs the events sent to the bot. Only in the answer of the first external setting',
      }),
    ),
  }),
  Type.Object({ type: Type.Literal('rasa'), url: Type.String() }),
]);

export const EngineSecretSchema = Type.Object({
  signingSecret: Type.String({ description: '64 hex characters; the previous one stops working at once' }),
});

export const PageOf = (item: TSchema) =>
  Type.Object({
    items: Type.Array(item),
    nextCursor: NullableString('Pass as ?after= for the next page; null on the last page'),
  });

export type ProjectSummaryView = Static<typeof ProjectSummarySchema>;
export type CredentialView = Static<typeof CredentialSchema>;
export type ProjectView = Static<typeof ProjectSchema>;
export type ProjectCreatedView = Static<typeof ProjectCreatedSchema>;
export type CredentialCreatedView = Static<typeof CredentialCreatedSchema>;
export type BotView = Static<typeof BotSchema>;
export type EndUserView = Static<typeof EndUserSchema>;
/** The rules keep the rule bot's own (read-only) type; the schema says the same shape. */
export type RulesView = Omit<Static<typeof RulesSchema>, 'rules'> & { readonly rules: BotRules };
export type HttpChannelView = Static<typeof HttpChannelSchema>;
export type WebchatChannelView = Static<typeof WebchatChannelSchema>;
export type WhatsappChannelView = Static<typeof WhatsappChannelSchema>;
export type ChannelView = HttpChannelView | WebchatChannelView | WhatsappChannelView;
/** The only answers that show the signing key: its creation and its regeneration. */
export type ChannelKeyView = Static<typeof ChannelKeySchema>;
export interface PageView<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}
