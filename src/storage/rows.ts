/** Row shapes of the tables (shared by every database) and their mapping to domain types. */
import type {
  Assignment,
  AttemptResult,
  AuthType,
  Bot,
  BotChannelConfig,
  ChannelKind,
  Conversation,
  ConversationState,
  Credential,
  DeliveryAttempt,
  DeliveryStatus,
  EndedReason,
  EndUser,
  EventDestination,
  EventType,
  Integration,
  Message,
  MessageSender,
  MessageType,
  OutboxEvent,
  Project,
  Room,
} from '../model/types.js';

export interface ProjectRow {
  id: string;
  name: string;
  created_at: number;
  deleted_at: number | null;
}
export interface CredentialRow {
  id: string;
  project_id: string;
  client_id: string;
  api_key_hash: string;
  client_secret_hash: string;
  created_at: number;
  revoked_at: number | null;
}
export interface BotRow {
  id: string;
  project_id: string;
  name: string;
  channel: string;
  created_at: number;
  deleted_at: number | null;
}
export interface EndUserRow {
  id: string;
  project_id: string;
  names: string;
  reference_id: string | null;
  created_at: number;
  deleted_at: number | null;
}
export interface IntegrationRow {
  id: string;
  project_id: string;
  webhook_url: string;
  auth_type: string;
  authorization_value: string | null;
  signing_secret: string;
  enabled: number;
  disabled_reason: string | null;
  disabled_at: number | null;
  created_at: number;
  updated_at: number;
}
export interface RoomRow {
  id: string;
  project_id: string;
  bot_id: string;
  user_id: string;
  last_seq: number;
  created_at: number;
  bot_step: string | null;
}
export interface ConversationRow {
  id: string;
  project_id: string;
  room_id: string;
  bot_id: string;
  user_id: string;
  state: string;
  assignment: string | null;
  metadata: string | null;
  start_at: number;
  end_at: number | null;
  ended_reason: string | null;
}
export interface MessageRow {
  id: string;
  project_id: string;
  room_id: string;
  conversation_id: string | null;
  sender: string;
  type: string;
  content: string;
  external_id: string | null;
  created_at: number;
}
export interface EventRow {
  id: string;
  project_id: string;
  room_id: string;
  room_seq: number;
  conversation_id: string | null;
  destination: string;
  type: string;
  payload: string;
  created_at: number;
  status: string;
  attempt_count: number;
  next_attempt_at: number | null;
  delivered_at: number | null;
  last_error: string | null;
}

/**
 * `deletedAt` only on a deleted row: a live one reads exactly as it was created. (PostgreSQL
 * returns BIGINT as text.)
 */
const deletion = (v: number | string | null | undefined): { deletedAt?: number } =>
  v === null || v === undefined ? {} : { deletedAt: Number(v) };

/**
 * Names are stored as JSON text, a JSON string literal (migration 0009): JSON.stringify writes
 * U+0000 and unpaired surrogates as `\u` escapes, so a name comes back exactly as it was sent on
 * every database, where plain text would lose both. Reading one costs a JSON.parse of a short
 * string (two per conversation start: the bot's name and the end user's).
 */
export const nameText = (name: string): string => JSON.stringify(name);
const nameOf = (text: string): string => JSON.parse(text) as string;

export const toProject = (r: ProjectRow): Project => ({
  id: r.id,
  name: nameOf(r.name),
  createdAt: Number(r.created_at),
  ...deletion(r.deleted_at),
});

export const toCredential = (r: CredentialRow): Credential => ({
  id: r.id,
  projectId: r.project_id,
  clientId: r.client_id,
  apiKeyHash: r.api_key_hash,
  clientSecretHash: r.client_secret_hash,
  createdAt: Number(r.created_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

export const toBot = (r: BotRow): Bot => ({
  id: r.id,
  projectId: r.project_id,
  name: nameOf(r.name),
  channel: r.channel as ChannelKind,
  createdAt: Number(r.created_at),
  ...deletion(r.deleted_at),
});

export const toEndUser = (r: EndUserRow): EndUser => ({
  id: r.id,
  projectId: r.project_id,
  names: nameOf(r.names),
  referenceId: r.reference_id,
  createdAt: Number(r.created_at),
  ...deletion(r.deleted_at),
});

export const toIntegration = (r: IntegrationRow): Integration => ({
  id: r.id,
  projectId: r.project_id,
  webhookUrl: r.webhook_url,
  authType: r.auth_type as AuthType,
  authorization: r.authorization_value,
  signingSecret: r.signing_secret,
  enabled: Number(r.enabled) === 1,
  disabledReason: r.disabled_reason,
  disabledAt: r.disabled_at === null ? null : Number(r.disabled_at),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export const toRoom = (r: RoomRow): Room => ({
  id: r.id,
  projectId: r.project_id,
  botId: r.bot_id,
  userId: r.user_id,
  createdAt: Number(r.created_at),
  botStep: r.bot_step,
});

export const toConversation = (r: ConversationRow): Conversation => ({
  id: r.id,
  projectId: r.project_id,
  roomId: r.room_id,
  botId: r.bot_id,
  userId: r.user_id,
  state: r.state as ConversationState,
  assignment: r.assignment === null ? null : (JSON.parse(r.assignment) as Assignment),
  metadata: r.metadata === null ? null : (JSON.parse(r.metadata) as Record<string, unknown>),
  startAt: Number(r.start_at),
  endAt: r.end_at === null ? null : Number(r.end_at),
  endedReason: r.ended_reason as EndedReason | null,
});

export const toMessage = (r: MessageRow): Message => ({
  id: r.id,
  projectId: r.project_id,
  roomId: r.room_id,
  conversationId: r.conversation_id,
  sender: r.sender as MessageSender,
  type: r.type as MessageType,
  content: JSON.parse(r.content) as Record<string, unknown>,
  externalId: r.external_id,
  createdAt: Number(r.created_at),
});

export const toEvent = (r: EventRow): OutboxEvent => ({
  id: r.id,
  projectId: r.project_id,
  roomId: r.room_id,
  roomSeq: Number(r.room_seq),
  conversationId: r.conversation_id,
  destination: r.destination as EventDestination,
  type: r.type as EventType,
  payload: r.payload,
  createdAt: Number(r.created_at),
  status: r.status as DeliveryStatus,
  attemptCount: Number(r.attempt_count),
  nextAttemptAt: r.next_attempt_at === null ? null : Number(r.next_attempt_at),
  deliveredAt: r.delivered_at === null ? null : Number(r.delivered_at),
  lastError: r.last_error,
});

export interface AttemptRow {
  id: string;
  event_id: string;
  project_id: string;
  attempt_number: number;
  started_at: number;
  duration_ms: number;
  url: string;
  status_code: number | null;
  response_body: string | null;
  error: string | null;
  outcome: string;
}

export const toAttempt = (r: AttemptRow): DeliveryAttempt => ({
  id: r.id,
  eventId: r.event_id,
  projectId: r.project_id,
  attemptNumber: Number(r.attempt_number),
  startedAt: Number(r.started_at),
  durationMs: Number(r.duration_ms),
  url: r.url,
  statusCode: r.status_code === null ? null : Number(r.status_code),
  responseBody: r.response_body,
  error: r.error,
  outcome: r.outcome as AttemptResult,
});

export interface BotChannelRow {
  bot_id: string;
  webhook_url: string | null;
  signing_key: string;
  created_at: number;
  updated_at: number;
}

export const toBotChannel = (r: BotChannelRow): BotChannelConfig => ({
  botId: r.bot_id,
  webhookUrl: r.webhook_url,
  signingKey: r.signing_key,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/** The columns of the tables that `PAIR_SELECT` joins, under the aliases b, u, r and c. */
const PAIR_COLUMNS = {
  b: ['id', 'project_id', 'name', 'channel', 'created_at', 'deleted_at'] satisfies Array<keyof BotRow>,
  u: ['id', 'project_id', 'names', 'reference_id', 'created_at', 'deleted_at'] satisfies Array<
    keyof EndUserRow
  >,
  r: ['id', 'project_id', 'bot_id', 'user_id', 'last_seq', 'created_at', 'bot_step'] satisfies Array<
    keyof RoomRow
  >,
  c: [
    'id',
    'project_id',
    'room_id',
    'bot_id',
    'user_id',
    'state',
    'assignment',
    'metadata',
    'start_at',
    'end_at',
    'ended_reason',
  ] satisfies Array<keyof ConversationRow>,
};

/**
 * The select list of a bot, end user, room and conversation joined in one row, read as an array
 * (no object with 28 keys built per start or close), then two facts the same requests need next:
 * whether the project has an integration (the events' status) and the bot's rules (the hand-back).
 */
export const PAIR_SELECT = [
  ...Object.entries(PAIR_COLUMNS).flatMap(([alias, columns]) => columns.map((c) => `${alias}.${c}`)),
  'EXISTS (SELECT 1 FROM integrations i WHERE i.project_id = b.project_id) AS has_integration',
  'br.rules AS bot_rules',
].join(', ');

/** Where each table's columns start in a `PAIR_SELECT` row. */
const PAIR_OFFSETS = (() => {
  let at = 0;
  const out = {} as Record<keyof typeof PAIR_COLUMNS, number>;
  for (const [alias, columns] of Object.entries(PAIR_COLUMNS)) {
    out[alias as keyof typeof PAIR_COLUMNS] = at;
    at += columns.length;
  }
  return { ...out, extras: at };
})();

function part<R>(row: readonly unknown[], alias: keyof typeof PAIR_COLUMNS): R | undefined {
  const at = PAIR_OFFSETS[alias];
  // A LEFT JOIN that found nothing leaves every column of its table NULL (id comes first).
  if (row[at] == null) return undefined;
  const columns = PAIR_COLUMNS[alias];
  const out: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) out[columns[i] as string] = row[at + i];
  return out as R;
}

/** Splits a row selected with `PAIR_SELECT` (as an array) into its tables' rows and facts. */
export function splitPairRow(row: readonly unknown[]): {
  bot: BotRow | undefined;
  user: EndUserRow | undefined;
  room: RoomRow | undefined;
  active: ConversationRow | undefined;
  hasIntegration: boolean;
  botRules: string | null;
} {
  const hasIntegration = row[PAIR_OFFSETS.extras];
  return {
    bot: part<BotRow>(row, 'b'),
    user: part<EndUserRow>(row, 'u'),
    room: part<RoomRow>(row, 'r'),
    active: part<ConversationRow>(row, 'c'),
    // PostgreSQL answers EXISTS with a boolean, SQLite with 0 or 1.
    hasIntegration: hasIntegration === true || hasIntegration === 1,
    botRules: (row[PAIR_OFFSETS.extras + 1] as string | null | undefined) ?? null,
  };
}
