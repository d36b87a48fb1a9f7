/** What the admin routes accept (params, query strings, bodies), and their shared route options. */
import { type TSchema, Type } from '@sinclair/typebox';
import {
  CHANNELS,
  NAME_MAX,
  PAGE_LIMIT_DEFAULT,
  PAGE_LIMIT_MAX,
  REFERENCE_ID_MAX,
  WEBHOOK_URL_MAX,
} from '../../../admin/limits.js';
import { ErrorEnvelope, StringEnum } from '../../schemas.js';

export const ProjectIdParams = Type.Object({
  projectId: Type.String({ description: 'Identifier of the project' }),
});

export const CredentialParams = Type.Object({
  projectId: Type.String({ description: 'Identifier of the project' }),
  credentialId: Type.String({ description: 'Identifier of the credential' }),
});

export const BotParams = Type.Object({
  projectId: Type.String({ description: 'Identifier of the project' }),
  botId: Type.String({ description: 'Identifier of the bot' }),
});

export const PageQuery = Type.Object({
  limit: Type.Optional(
    Type.String({
      description: `Page size: a whole number from 1 to ${PAGE_LIMIT_MAX} (default ${PAGE_LIMIT_DEFAULT})`,
      examples: ['50'],
    }),
  ),
  after: Type.Optional(Type.String({ description: 'The nextCursor of the previous page' })),
});

export const CreateProjectBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: NAME_MAX }) },
  { additionalProperties: false },
);

export const CreateCredentialBody = Type.Object({}, { additionalProperties: false });

export const CreateBotBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: NAME_MAX, description: 'Shown in events as bot.name' }),
    channel: Type.Optional(
      StringEnum(CHANNELS, { description: 'How the bot reaches its users; default webchat' }),
    ),
  },
  { additionalProperties: false },
);

export const CreateEndUserBody = Type.Object(
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

export const ChannelBody = Type.Object(
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
    phoneNumberId: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,32}$',
        description:
          'whatsapp: the phone number id (Meta app → WhatsApp → API Setup). Required the first time',
        examples: ['106540352242922'],
      }),
    ),
    accessToken: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description:
          'whatsapp: a system user access token with whatsapp_business_messaging. Stored encrypted, never shown',
      }),
    ),
    appSecret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description:
          "whatsapp: the Meta app's secret, which signs its webhooks. Stored encrypted, never shown",
      }),
    ),
    verifyToken: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: "whatsapp: any text you choose; Meta's verification request must carry it",
      }),
    ),
    graphApiVersion: Type.Optional(
      Type.String({
        pattern: '^v[0-9]{1,3}\\.[0-9]{1,2}$',
        description: 'whatsapp: e.g. v23.0 (the default)',
        examples: ['v23.0'],
      }),
    ),
  },
  { additionalProperties: false },
);

export const RegenerateBody = Type.Object({}, { additionalProperties: false });

const EngineUrl = (description: string, example: string) =>
  Type.String({ minLength: 1, maxLength: WEBHOOK_URL_MAX, description, examples: [example] });

/** docs/bots.md, "Engines": one of the three shapes, nothing else. */
export const EngineBody = Type.Union([
  Type.Object({ type: Type.Literal('rules') }, { additionalProperties: false }),
  Type.Object(
    {
      type: Type.Literal('external'),
      webhookUrl: EngineUrl(
        "Absolute http(s) URL that receives the bot's events; the same network policy as integrations",
        'https://bot.example.com/relevo',
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('rasa'),
      url: EngineUrl(
        'The Rasa server; relevo POSTs to {url}/webhooks/rest/webhook. The same network policy as integrations',
        'https://rasa.example.com',
      ),
    },
    { additionalProperties: false },
  ),
]);

export function errors(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of [401, 500, ...statuses]) out[s] = ErrorEnvelope;
  return out;
}

export const ADMIN = { tags: ['admin'], security: [{ adminToken: [] }] };
