/**
 * The `webhooks` of the OpenAPI 3.1 document: what relevo POSTs to the panel's webhookUrl (the
 * three events of docs/webhooks.md) and to an http channel's webhookUrl (docs/channels.md).
 * Bodies use the schemas the builders are typed by (src/model/events.ts); the examples are made
 * by the builders themselves, so they show the wire format exactly, key order included.
 */
import type { TSchema } from '@sinclair/typebox';
import {
  channelMessagePayload,
  conversationCloseEvent,
  conversationStartEvent,
  messageEvent,
} from '../../domain/events.js';
import {
  ChannelMessageSchema,
  ConversationCloseEventSchema,
  ConversationStartEventSchema,
  MessageEventSchema,
} from '../../model/events.js';
import { sampleId } from './sample.js';

// biome-ignore lint/suspicious/noExplicitAny: OpenAPI objects are plain JSON.
type Json = any;

const T = 1776134145523;
const common = {
  projectId: sampleId('prj'),
  roomId: sampleId('room'),
  user: { id: sampleId('usr'), names: 'Maria Silva' },
  bot: { id: sampleId('bot'), name: 'Helper Bot' },
  conversationId: sampleId('conv'),
};

/** One example body per webhook, made by the code that makes the real ones. */
export const WEBHOOK_EXAMPLES = {
  'conversation.start': conversationStartEvent({
    ...common,
    timestamp: T,
    assignment: { type: 'queue', target: 'SUPPORT' },
    initialMessage: 'Good morning, my order has not arrived',
    metadata: { ticketId: 'T-12345' },
  }),
  message: messageEvent({
    ...common,
    timestamp: T + 133_051,
    message: { id: sampleId('msg'), type: 'text', content: { body: 'Hello, is anyone there?' } },
  }),
  'conversation.close': conversationCloseEvent({
    ...common,
    timestamp: T + 853_477,
    redirectPayload: { type: 'text', text: 'Thanks for contacting us!' },
  }),
  'http channel message': channelMessagePayload({
    bot: {
      id: sampleId('bot'),
      projectId: sampleId('prj'),
      name: 'Helper Bot',
      channel: 'http',
      engine: 'rules',
      createdAt: T,
    },
    user: {
      id: sampleId('usr'),
      projectId: sampleId('prj'),
      names: 'Ana Lima',
      referenceId: 'customer-8812',
      createdAt: T,
    },
    room: {
      id: sampleId('room'),
      projectId: sampleId('prj'),
      botId: sampleId('bot'),
      userId: sampleId('usr'),
      createdAt: T,
    },
    message: {
      id: sampleId('msg'),
      projectId: sampleId('prj'),
      roomId: sampleId('room'),
      conversationId: null,
      sender: 'bot',
      type: 'text',
      content: { body: 'Hi! I am a virtual assistant. Type "human" at any time to talk to a person.' },
      externalId: null,
      createdAt: T,
    },
    now: T,
  }),
} as const;

export type WebhookName = keyof typeof WEBHOOK_EXAMPLES;

/** The schema of each webhook's body. */
export const WEBHOOK_SCHEMAS: Readonly<Record<WebhookName, TSchema>> = {
  'conversation.start': ConversationStartEventSchema,
  message: MessageEventSchema,
  'conversation.close': ConversationCloseEventSchema,
  'http channel message': ChannelMessageSchema,
};

/** Descriptions are Markdown: `<…>` placeholders go in code spans, or they read as HTML tags. */
function header(name: string, description: string): Json {
  return { name, in: 'header', required: true, description, schema: { type: 'string' } };
}

function signedHeaders(key: string): Json[] {
  return [
    header(
      'X-Jelou-Signature',
      `\`sha256=<lowercase hex HMAC-SHA256 of the raw body>\`, keyed with the UTF-8 bytes of ${key}. Verify it over the raw bytes before parsing.`,
    ),
    header('webhook-id', 'The event id: the same on every attempt, retry and replay. De-duplicate on it.'),
    header('webhook-timestamp', "This attempt's time, in Unix seconds."),
    header(
      'webhook-signature',
      '`v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, same key (Standard Webhooks 1.0).',
    ),
    header('User-Agent', '`relevo/<version>`'),
  ];
}

const PANEL_AUTH =
  "Plus the integration's own authentication (authType): bearer sends `Authorization: Bearer <authorization>`, api_key sends `X-API-Key: <authorization>`, basic sends `Authorization: Basic base64(<authorization>)`, no_auth nothing more.";

const PANEL_ANSWER = {
  '2XX': { description: 'Acknowledged within the timeout (15 s by default): the event is delivered.' },
  '410': { description: 'Gone: the integration is disabled until it is updated (PATCH).' },
  default: {
    description:
      'Anything else, a timeout or a dropped connection: the attempt failed and is retried on the schedule (8 attempts over about 27 h by default), honouring Retry-After within limits.',
  },
};

const CHANNEL_ANSWER = {
  '2XX': { description: 'Acknowledged within the timeout: the message is delivered.' },
  '410': { description: "Gone: this message's delivery ends at once." },
  default: { description: 'Anything else, a timeout or a dropped connection: retried on the schedule.' },
};

/** A JSON copy of a TypeBox schema: the document is plain data. */
function plain(schema: TSchema): Json {
  return JSON.parse(JSON.stringify(schema));
}

function webhook(name: WebhookName, summary: string, description: string, channel: boolean): Json {
  return {
    post: {
      summary,
      description: channel ? description : `${description}\n\n${PANEL_AUTH}`,
      tags: [channel ? 'channels' : 'webhooks'],
      operationId: `webhook.${name.replaceAll(' ', '.')}`,
      parameters: signedHeaders(channel ? "the bot's channel signingKey" : "the integration's signingSecret"),
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: plain(WEBHOOK_SCHEMAS[name]), example: WEBHOOK_EXAMPLES[name] },
        },
      },
      responses: channel ? CHANNEL_ANSWER : PANEL_ANSWER,
      security: [],
    },
  };
}

export function webhooks(): Json {
  return {
    'conversation.start': webhook(
      'conversation.start',
      'A conversation was handed to the panel',
      'POSTed to the integration webhookUrl when a conversation starts (start-conversation, or a bot handoff rule). `conversation.assignment`, `value.initial_message` and `value.metadata` appear only when the start had them. Events of one room arrive in order.',
      false,
    ),
    message: webhook(
      'message',
      'A message from the end user',
      'POSTed to the integration webhookUrl for each message of the end user while the conversation is active. It has no top-level `event` key.',
      false,
    ),
    'conversation.close': webhook(
      'conversation.close',
      'The panel closed the conversation',
      'POSTed to the integration webhookUrl when the conversation is closed. `value.redirect_payload` appears only when the close request sent one.',
      false,
    ),
    'http channel message': webhook(
      'http channel message',
      'A message for the end user (http channel)',
      "POSTed to an http bot's channel webhookUrl for each message to the end user: the bot's answers and the panel's messages. No Authorization header: the signature is the channel's only credential.",
      true,
    ),
  };
}
