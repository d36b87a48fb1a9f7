/**
 * The glossary, as types. Each term means one thing everywhere: in tables, routes and logs.
 *
 * - Project: a tenant; owns credentials, bots, end users and at most one integration.
 * - Credential: an API key and a clientId/clientSecret pair that authenticate as one project.
 * - Bot: owns a room whenever no human does; reaches its end users through one channel.
 * - End user: the person on the other side of a channel (`names` is what events show).
 * - Room: one per (bot, end user), long-lived, reused across conversations.
 * - Conversation: one episode of panel ownership of a room: active → closed.
 * - Message: one message in a room, either direction, one of five types.
 * - Event: something the panel must hear about, written to the outbox in the same transaction
 *   as the change that caused it; its id is the `webhook-id` of every delivery attempt.
 * - Integration: the project's webhook URL, its auth and its signing secret.
 */

export type ChannelKind = 'webchat' | 'http' | 'whatsapp';

/**
 * What answers a bot's end users (docs/bots.md, "Engines"): the built-in rule bot, the company's
 * own bot over signed webhooks, or a Rasa assistant over its REST channel.
 */
export type BotEngineType = 'rules' | 'external' | 'rasa';

export interface Project {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  /** When it was deleted (soft: the row stays for history); absent or null while live. */
  readonly deletedAt?: number | null;
}

export interface Credential {
  readonly id: string;
  readonly projectId: string;
  readonly clientId: string;
  /** Salted hash of the API key's secret part (see auth/credential-secrets.ts). */
  readonly apiKeyHash: string;
  readonly clientSecretHash: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

export interface Bot {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly channel: ChannelKind;
  /** What answers its end users while it owns a room; `rules` unless set. */
  readonly engine: BotEngineType;
  readonly createdAt: number;
  /** When it was deleted (soft: the row stays for history); absent or null while live. */
  readonly deletedAt?: number | null;
}

/**
 * An outside engine's settings (bot_engines). Kept when the bot switches engine, so switching
 * back to `external` keeps the secret the bot already verifies with.
 */
export interface BotEngineConfig {
  readonly botId: string;
  /** The `external` engine's webhook. */
  readonly webhookUrl: string | null;
  /** The `rasa` engine's server (its REST channel is `{rasaUrl}/webhooks/rest/webhook`). */
  readonly rasaUrl: string | null;
  /** Signs what goes to the `external` engine; null until it is first set. */
  readonly signingSecret: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface EndUser {
  readonly id: string;
  readonly projectId: string;
  readonly names: string;
  readonly referenceId: string | null;
  readonly createdAt: number;
  /** When it was deleted (soft: the row stays for history); absent or null while live. */
  readonly deletedAt?: number | null;
}

export interface Room {
  readonly id: string;
  readonly projectId: string;
  readonly botId: string;
  readonly userId: string;
  readonly createdAt: number;
  /** The bot flow step the room is at, when a close handed it back at a named step. */
  readonly botStep?: string | null;
}

/**
 * How a bot's channel is reached: the `http` channel's webhook and its signing key, or the
 * `whatsapp` channel's Cloud API settings (its app secret is `signingKey`: it checks inbound
 * signatures as the http channel's key does).
 */
export interface BotChannelConfig {
  readonly botId: string;
  /** Where messages for the end user are POSTed (http channel); null for webchat and whatsapp. */
  readonly webhookUrl: string | null;
  /** Signs both directions of the http channel (X-Jelou-Signature); the whatsapp app secret. */
  readonly signingKey: string;
  /** The whatsapp channel's Cloud API settings; absent or null for the other channels. */
  readonly whatsapp?: WhatsappSettings | null;
  /** Why the channel sends nothing now (Meta's 190: the access token is invalid); null while it sends. */
  readonly sendingDisabled?: { readonly reason: string; readonly at: number } | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** What relevo needs of a Meta app and its phone number (docs/channels.md, "WhatsApp"). */
export interface WhatsappSettings {
  readonly phoneNumberId: string;
  readonly accessToken: string;
  readonly verifyToken: string;
  readonly graphApiVersion: string;
}

/** A delivery state Meta reported for a message sent through WhatsApp, or `accepted` before any. */
export type WhatsappStatus = 'accepted' | 'sent' | 'delivered' | 'read' | 'failed';

export interface WhatsappReceipt {
  readonly botId: string;
  readonly wamid: string;
  /** relevo's message; null while Meta's status arrived before the send's answer was recorded. */
  readonly messageId: string | null;
  readonly status: WhatsappStatus;
  readonly errorCode: number | null;
  readonly errorTitle: string | null;
  readonly updatedAt: number;
}

/** A user's media file, fetched from the Graph API and served by relevo. */
export interface ChannelMedia {
  readonly id: string;
  readonly botId: string;
  /** Meta's media id. */
  readonly mediaId: string;
  readonly mimeType: string;
  /** null until fetched. */
  readonly data: Buffer | null;
  readonly error: string | null;
  readonly createdAt: number;
  readonly fetchedAt: number | null;
}

export type AssignmentType = 'queue' | 'operator' | 'team';
export interface Assignment {
  readonly type: AssignmentType;
  readonly target: string;
}

export type ConversationState = 'active' | 'closed';
export type EndedReason = 'closed_by_operator';

export interface Conversation {
  readonly id: string;
  readonly projectId: string;
  readonly roomId: string;
  readonly botId: string;
  readonly userId: string;
  readonly state: ConversationState;
  readonly assignment: Assignment | null;
  readonly metadata: Record<string, unknown> | null;
  readonly startAt: number;
  readonly endAt: number | null;
  readonly endedReason: EndedReason | null;
}

export type MessageType = 'text' | 'image' | 'video' | 'audio' | 'document';
/** Who wrote a message: the end user, the bot, or a human operator of the panel. */
export type MessageSender = 'user' | 'bot' | 'operator';

export interface Message {
  readonly id: string;
  readonly projectId: string;
  readonly roomId: string;
  readonly conversationId: string | null;
  readonly sender: MessageSender;
  readonly type: MessageType;
  readonly content: Record<string, unknown>;
  /** The panel's own id for a message it sent (idempotency of §4.10). */
  readonly externalId: string | null;
  readonly createdAt: number;
}

export type AuthType = 'no_auth' | 'bearer' | 'api_key' | 'basic';

export interface Integration {
  readonly id: string;
  readonly projectId: string;
  readonly webhookUrl: string;
  readonly authType: AuthType;
  /** The token, key or `user:password` relevo presents to the webhook; null for no_auth. */
  readonly authorization: string | null;
  readonly signingSecret: string;
  readonly enabled: boolean;
  readonly disabledReason: string | null;
  /** When it was disabled (ms); null while enabled. */
  readonly disabledAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export type EventType = 'conversation.start' | 'message' | 'conversation.close';

/**
 * Where an event goes: the project's panel webhook (every documented event), the bot's
 * channel (a message for the end user through the `http` channel), or the bot's outside engine
 * (the user's messages and the room's start and close, for an `external` or `rasa` bot).
 */
export type EventDestination = 'panel' | 'channel' | 'bot';

/** Where an event stands on its way to the webhook. */
export type DeliveryStatus =
  /** waiting for its next attempt */
  | 'pending'
  /** a 2xx was received */
  | 'delivered'
  /** every scheduled attempt failed: the dead letter */
  | 'failed'
  /** the integration was deleted before it was sent */
  | 'cancelled'
  /** the project had no enabled integration when it happened: recorded, never sent */
  | 'skipped';

export interface OutboxEvent {
  readonly id: string;
  readonly projectId: string;
  readonly roomId: string;
  /** Position of this event in its room: delivery follows it. */
  readonly roomSeq: number;
  readonly conversationId: string | null;
  readonly destination: EventDestination;
  readonly type: EventType;
  /** The exact JSON text that is signed and sent. */
  readonly payload: string;
  readonly createdAt: number;
  readonly status: DeliveryStatus;
  readonly attemptCount: number;
  readonly nextAttemptAt: number | null;
  readonly deliveredAt: number | null;
  /** Why the latest attempt failed, while it matters (cleared on success and on requeue). */
  readonly lastError: string | null;
  /** The request id of the call that created it; null when no request did (or before 0014). */
  readonly requestId?: string | null | undefined;
  /** That request's W3C traceparent, kept when tracing is on (docs/operations.md, Traces). */
  readonly traceparent?: string | null | undefined;
}

/** Who wrote a transaction's events: the request behind it, for logs and traces. */
export interface EventOrigin {
  readonly requestId: string;
  readonly traceparent?: string | undefined;
}

/** How one delivery attempt ended, as recorded in the delivery log. */
export type AttemptResult = 'delivered' | 'failed' | 'gone' | 'abandoned';

export interface DeliveryAttempt {
  readonly id: string;
  readonly eventId: string;
  readonly projectId: string;
  /** 1 for the first attempt of the event's current delivery cycle. */
  readonly attemptNumber: number;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly url: string;
  readonly statusCode: number | null;
  /** The first 4 KiB of the response body, as text. */
  readonly responseBody: string | null;
  readonly error: string | null;
  readonly outcome: AttemptResult;
}
