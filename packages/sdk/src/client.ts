/**
 * The client of relevo's External Support Panel API (docs/api.md), with a project credential.
 * Every method returns the envelope's `data`, typed from the server's OpenAPI document
 * (src/generated/operations.ts), and throws RelevoApiError for an answer in the error envelope.
 */
import type { Operations } from './generated/operations.js';
import { concat, hmacSha256, secretBytes, toHex, utf8 } from './hmac.js';
import { type EventStreamOptions, type StreamedEvent, streamEvents } from './stream.js';
import { type CallOptions, Transport } from './transport.js';

export type Credentials =
  | { readonly apiKey: string; readonly clientId?: undefined; readonly clientSecret?: undefined }
  | { readonly clientId: string; readonly clientSecret: string; readonly apiKey?: undefined };

export type RelevoOptions = {
  /** The server's origin, e.g. `http://localhost:3000`. */
  readonly baseUrl: string;
  readonly projectId: string;
  /** Per attempt, in milliseconds; 30 000 unless set. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt (network errors, 429, 503); 2 unless set. */
  readonly maxRetries?: number;
  /** A fetch to use instead of the global one (a test double, a proxy agent). */
  readonly fetch?: typeof fetch;
  /** The prefix of every route: `/jelouapi/v1` (Jelou's, the default), `/platform/v1` or `/v1`. */
  readonly basePath?: BasePath;
} & Credentials;

/** The prefixes relevo serves every route under (docs/api.md §1.1). */
export type BasePath = '/jelouapi/v1' | '/platform/v1' | '/v1';
const BASE_PATHS: readonly string[] = ['/jelouapi/v1', '/platform/v1', '/v1'] satisfies BasePath[];

type Body<K extends keyof Operations> = Operations[K]['body'];
type Query<K extends keyof Operations> = Operations[K]['query'];
type Data<K extends keyof Operations> = Operations[K]['data'];

const P = '/external-support/{projectId}';

/** SDK method → the OpenAPI operation it calls; a test checks that every operation has one. */
export const METHOD_OPERATIONS = {
  'integration.create': `POST ${P}`,
  'integration.get': `GET ${P}`,
  'integration.update': `PATCH ${P}`,
  'integration.delete': `DELETE ${P}`,
  'integration.regenerateSecret': `POST ${P}/secret/regenerate`,
  'conversations.start': `POST ${P}/conversations/start`,
  'conversations.close': `POST ${P}/conversations/close`,
  'conversations.list': `GET ${P}/conversations`,
  'conversations.get': `GET ${P}/conversations/{conversationId}`,
  'conversations.messages': `GET ${P}/conversations/{conversationId}/messages`,
  'conversations.send': `POST ${P}/conversations/{conversationId}/messages`,
  'conversations.sendSigned': 'POST /external-support/webhook',
  'deliveries.list': `GET ${P}/deliveries`,
  'deliveries.get': `GET ${P}/deliveries/{deliveryId}`,
  'deliveries.retry': `POST ${P}/deliveries/{deliveryId}/retry`,
  'deliveries.replay': `POST ${P}/deliveries/replay`,
  'events.test': `POST ${P}/events/test`,
  'events.stream': `GET ${P}/events/stream`,
  'overview.get': `GET ${P}/overview`,
  'bots.reply': `POST ${P}/bots/{botId}/messages`,
  'bots.room': `GET ${P}/bots/{botId}/rooms/{userId}`,
} as const satisfies Record<string, keyof Operations>;

/** The body of §4.10 without what the client fills in: the three constants and `project_id`. */
export type SignedMessage = Omit<
  Body<'POST /external-support/webhook'>,
  'field' | 'object' | 'event_type' | 'project_id'
> & { readonly project_id?: string };

function base64Ascii(text: string): string {
  // btoa exists in browsers, Deno, Bun and Node ≥ 16; credentials are ASCII in practice, and
  // UTF-8 bytes are encoded one per character so that a non-ASCII secret still round-trips.
  return btoa(Array.from(utf8(text), (b) => String.fromCharCode(b)).join(''));
}

export class Relevo {
  readonly projectId: string;
  readonly basePath: BasePath;
  private readonly transport: Transport;

  constructor(options: RelevoOptions) {
    if (!options.baseUrl) throw new TypeError('baseUrl is required');
    if (!options.projectId) throw new TypeError('projectId is required');
    const basePath = options.basePath ?? '/jelouapi/v1';
    // Checked at run time too: from JavaScript a typo such as '/v2' would otherwise send every
    // call to a route that does not exist and surface as 404s far from its cause.
    if (!BASE_PATHS.includes(basePath))
      throw new TypeError(`basePath must be one of ${BASE_PATHS.join(', ')}`);
    const auth: Record<string, string> = options.apiKey
      ? { 'x-api-key': options.apiKey }
      : options.clientId && options.clientSecret
        ? { authorization: `Basic ${base64Ascii(`${options.clientId}:${options.clientSecret}`)}` }
        : {};
    if (Object.keys(auth).length === 0)
      throw new TypeError('apiKey, or clientId and clientSecret, are required');
    this.projectId = options.projectId;
    this.basePath = basePath;
    const f = options.fetch ?? globalThis.fetch;
    this.transport = new Transport({
      baseUrl: options.baseUrl.replace(/\/+$/, '') + basePath,
      headers: () => auth,
      timeoutMs: options.timeoutMs ?? 30_000,
      maxRetries: options.maxRetries ?? 2,
      fetch: (input, init) => f(input, init),
    });
  }

  /** `/external-support/{projectId}` plus the rest, ids encoded. */
  private path(rest = '', ...ids: string[]): string {
    let out = `/external-support/${encodeURIComponent(this.projectId)}${rest}`;
    for (const id of ids) out = out.replace(/\{[A-Za-z]+\}/, encodeURIComponent(id));
    return out;
  }

  /** The integration: where the project's events go (docs/api.md §4.1–4.5). */
  readonly integration = {
    create: (body: Body<'POST /external-support/{projectId}'>, call?: CallOptions) =>
      this.transport.call<Data<'POST /external-support/{projectId}'>>(
        { method: 'POST', path: this.path(), body },
        call,
      ),
    get: (call?: CallOptions) =>
      this.transport.call<Data<'GET /external-support/{projectId}'>>(
        { method: 'GET', path: this.path() },
        call,
      ),
    update: (body: Body<'PATCH /external-support/{projectId}'>, call?: CallOptions) =>
      this.transport.call<Data<'PATCH /external-support/{projectId}'>>(
        { method: 'PATCH', path: this.path(), body },
        call,
      ),
    delete: (call?: CallOptions) => this.transport.call<void>({ method: 'DELETE', path: this.path() }, call),
    regenerateSecret: (call?: CallOptions) =>
      this.transport.call<Data<'POST /external-support/{projectId}/secret/regenerate'>>(
        { method: 'POST', path: this.path('/secret/regenerate') },
        call,
      ),
  };

  /** Conversations (docs/api.md §4.6–4.10, §5.3, §5.4, §5.7). */
  readonly conversations = {
    start: (body: Body<'POST /external-support/{projectId}/conversations/start'>, call?: CallOptions) =>
      this.transport.call<Data<'POST /external-support/{projectId}/conversations/start'>>(
        { method: 'POST', path: this.path('/conversations/start'), body },
        call,
      ),
    close: (body: Body<'POST /external-support/{projectId}/conversations/close'>, call?: CallOptions) =>
      this.transport.call<Data<'POST /external-support/{projectId}/conversations/close'>>(
        { method: 'POST', path: this.path('/conversations/close'), body },
        call,
      ),
    list: (query: Query<'GET /external-support/{projectId}/conversations'> = {}, call?: CallOptions) =>
      this.transport.call<Data<'GET /external-support/{projectId}/conversations'>>(
        { method: 'GET', path: this.path('/conversations'), query },
        call,
      ),
    get: (conversationId: string, call?: CallOptions) =>
      this.transport.call<Data<'GET /external-support/{projectId}/conversations/{conversationId}'>>(
        { method: 'GET', path: this.path('/conversations/{conversationId}', conversationId) },
        call,
      ),
    messages: (
      conversationId: string,
      query: Query<'GET /external-support/{projectId}/conversations/{conversationId}/messages'> = {},
      call?: CallOptions,
    ) =>
      this.transport.call<Data<'GET /external-support/{projectId}/conversations/{conversationId}/messages'>>(
        { method: 'GET', path: this.path('/conversations/{conversationId}/messages', conversationId), query },
        call,
      ),
    /** Sends a message to the end user with the project's credential (§5.7). */
    send: (
      conversationId: string,
      body: Body<'POST /external-support/{projectId}/conversations/{conversationId}/messages'>,
      call?: CallOptions,
    ) =>
      this.transport.call<Data<'POST /external-support/{projectId}/conversations/{conversationId}/messages'>>(
        { method: 'POST', path: this.path('/conversations/{conversationId}/messages', conversationId), body },
        call,
      ),
    /**
     * Sends a message to the end user the way Jelou's panels do (§4.10): the body signed with
     * the integration's signing secret, no credential.
     */
    sendSigned: async (message: SignedMessage, signingSecret: string, call?: CallOptions) => {
      const body = JSON.stringify({
        field: 'messages',
        object: 'message_event',
        event_type: 'incoming_message',
        project_id: message.project_id ?? this.projectId,
        room_id: message.room_id,
        bot_id: message.bot_id,
        user_id: message.user_id,
        value: message.value,
      });
      // The signature covers these exact bytes, which are also what is sent.
      const mac = await hmacSha256(secretBytes(signingSecret), concat(utf8(body)));
      return this.transport.call<Data<'POST /external-support/webhook'>>(
        {
          method: 'POST',
          path: '/external-support/webhook',
          rawBody: body,
          headers: { 'x-jelou-signature': `sha256=${toHex(mac)}` },
          credentials: false,
        },
        call,
      );
    },
  };

  /** The delivery log (docs/api.md §5.5). */
  readonly deliveries = {
    list: (query: Query<'GET /external-support/{projectId}/deliveries'> = {}, call?: CallOptions) =>
      this.transport.call<Data<'GET /external-support/{projectId}/deliveries'>>(
        { method: 'GET', path: this.path('/deliveries'), query },
        call,
      ),
    get: (deliveryId: string, call?: CallOptions) =>
      this.transport.call<Data<'GET /external-support/{projectId}/deliveries/{deliveryId}'>>(
        { method: 'GET', path: this.path('/deliveries/{deliveryId}', deliveryId) },
        call,
      ),
    retry: (deliveryId: string, call?: CallOptions) =>
      this.transport.call<Data<'POST /external-support/{projectId}/deliveries/{deliveryId}/retry'>>(
        { method: 'POST', path: this.path('/deliveries/{deliveryId}/retry', deliveryId) },
        call,
      ),
    replay: (body: Body<'POST /external-support/{projectId}/deliveries/replay'>, call?: CallOptions) =>
      this.transport.call<Data<'POST /external-support/{projectId}/deliveries/replay'>>(
        { method: 'POST', path: this.path('/deliveries/replay'), body },
        call,
      ),
  };

  /** The project's events (docs/api.md §5.8, §5.9). */
  readonly events = {
    /** Makes relevo send a sample event of `type` to the integration, as a real delivery. */
    test: (type: Body<'POST /external-support/{projectId}/events/test'>['type'], call?: CallOptions) =>
      this.transport.call<Data<'POST /external-support/{projectId}/events/test'>>(
        { method: 'POST', path: this.path('/events/test'), body: { type } },
        call,
      ),
    /**
     * Follows the event stream: reconnects when it ends or the connection fails, resuming
     * after the last event received (`Last-Event-ID`). Stop with `break` or the signal.
     */
    stream: (options: EventStreamOptions = {}): AsyncGenerator<StreamedEvent, void, undefined> =>
      streamEvents(this.transport, this.path('/events/stream'), options),
  };

  /** The project at a glance (docs/api.md §5.10). */
  readonly overview = {
    get: (call?: CallOptions) =>
      this.transport.call<Data<'GET /external-support/{projectId}/overview'>>(
        { method: 'GET', path: this.path('/overview') },
        call,
      ),
  };

  /** The routes of a bot whose engine is the company's own program (docs/api.md §5.6). */
  readonly bots = {
    reply: (
      botId: string,
      body: Body<'POST /external-support/{projectId}/bots/{botId}/messages'>,
      call?: CallOptions,
    ) =>
      this.transport.call<Data<'POST /external-support/{projectId}/bots/{botId}/messages'>>(
        { method: 'POST', path: this.path('/bots/{botId}/messages', botId), body },
        call,
      ),
    room: (botId: string, userId: string, call?: CallOptions) =>
      this.transport.call<Data<'GET /external-support/{projectId}/bots/{botId}/rooms/{userId}'>>(
        { method: 'GET', path: this.path('/bots/{botId}/rooms/{userId}', botId, userId) },
        call,
      ),
  };
}
