/**
 * The `whatsapp` channel, inbound (docs/channels.md, "WhatsApp"): the URL a Meta app's webhook
 * points at, one per bot, and the address relevo serves the users' media at. Served under /v1
 * only, like the http channel's: it is the channel's address, not a management route.
 *
 * - `GET /v1/channels/whatsapp/{botId}`: Meta's verification request. The challenge comes back
 *   as text when `hub.verify_token` is the channel's verifyToken; 403 otherwise.
 * - `POST /v1/channels/whatsapp/{botId}`: 404 (no such whatsapp bot, or not configured) → 401
 *   (`X-Hub-Signature-256` is not the HMAC-SHA256 of the raw body keyed with the app secret;
 *   nothing is stored) → each message stored and routed in its own transaction, in the order of
 *   the body, a repeated wamid once; each status recorded → 200. Whatever else the body holds,
 *   the answer is 200: Meta sends a webhook again and again until it gets one, and then disables
 *   the subscription.
 * - `GET /v1/channels/whatsapp/media/{mediaKey}`: a user's file. The key is a random 32-byte
 *   capability, the way a panel opens any other message's URL: whoever has the message has it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { verifyJelouSignature } from '../../delivery/signer.js';
import { receiveFromUser } from '../../domain/messages/inbound.service.js';
import { ApiError } from '../../errors.js';
import { rawBodyOf } from '../../http/json-body-parser.js';
import { authenticated } from '../../http/rate-limit.js';
import { validateInHandler } from '../../http/routes/panel-messages.routes.js';
import type { RouteDeps } from '../../http/routes/route-deps.js';
import { sendSuccess } from '../../http/routes/send.js';
import { ErrorEnvelope, errorResponses, successEnvelope } from '../../http/schemas.js';
import { newId } from '../../model/ids.js';
import type { Bot, BotChannelConfig, EndUser, WhatsappSettings } from '../../model/types.js';
import { UniqueViolation } from '../../storage/errors.js';
import type { Tx } from '../../storage/store.js';
import { referenceOf } from './cloud-api.js';
import { MediaFetcher } from './media-fetcher.js';
import { type InboundMessage, readWebhook } from './webhook-payload.js';

/** Keeps wamids apart from the panel's own message ids, which share the room's index. */
const EXTERNAL_PREFIX = 'whatsapp:';
const MEDIA_KEY_BYTES = 32;
export const MEDIA_PATH = '/v1/channels/whatsapp/media/';

type Configured = BotChannelConfig & { readonly whatsapp: WhatsappSettings };

async function whatsappBot(deps: RouteDeps, botId: string): Promise<{ bot: Bot; channel: Configured }> {
  const bot = await deps.store.queries.bots.getById(botId);
  const channel = bot?.channel === 'whatsapp' ? await deps.store.queries.bots.getChannel(botId) : undefined;
  if (bot === undefined || channel?.whatsapp == null) {
    throw new ApiError(
      'bot_not_found',
      `No bot with id ${JSON.stringify(botId)} takes messages on a configured whatsapp channel.`,
    );
  }
  return { bot, channel: channel as Configured };
}

/** The end user behind a wa_id, created on first contact with their WhatsApp profile name. */
async function endUserFor(tx: Tx, bot: Bot, m: InboundMessage, now: number): Promise<EndUser> {
  const referenceId = referenceOf(m.from);
  const known = await tx.endUsers.getByReference(bot.projectId, referenceId);
  if (known !== undefined) return known;
  const user: EndUser = {
    id: newId('usr', now),
    projectId: bot.projectId,
    names: m.name ?? `+${m.from}`,
    referenceId,
    createdAt: now,
  };
  await tx.endUsers.insert(user);
  return user;
}

/** The origin the request reached relevo at (behind RELEVO_TRUST_PROXY, the forwarded one). */
function originOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/**
 * Stores and routes one message, unless its wamid is already stored in the room (undefined);
 * returns the key of the media row to fetch, or null.
 */
async function storeMessage(
  deps: RouteDeps,
  bot: Bot,
  m: InboundMessage,
  origin: string,
): Promise<string | null | undefined> {
  const externalId = `${EXTERNAL_PREFIX}${m.wamid}`;
  const now = deps.clock();
  const once = () =>
    deps.store.transaction(async (tx): Promise<string | null | undefined> => {
      const user = await endUserFor(tx, bot, m, now);
      const room = await tx.rooms.getByPair(bot.id, user.id);
      if (room !== undefined && (await tx.messages.getByExternalId(room.id, externalId)) !== undefined) {
        return undefined;
      }
      let message = m.message;
      let mediaKey: string | null = null;
      if (m.media !== undefined) {
        mediaKey = randomBytes(MEDIA_KEY_BYTES).toString('base64url');
        message = { ...message, content: { ...message.content, url: `${origin}${MEDIA_PATH}${mediaKey}` } };
        await tx.whatsapp.insertMedia({
          id: mediaKey,
          botId: bot.id,
          mediaId: m.media.id,
          mimeType: m.media.mimeType,
          data: null,
          error: null,
          createdAt: now,
          fetchedAt: null,
        });
      }
      await receiveFromUser(tx, { bot, user, message, now, externalId });
      return mediaKey;
    });
  try {
    return await once();
  } catch (e) {
    // The same wamid arriving twice at once (Meta retries a webhook it thinks was lost), or two
    // first messages of a new user: the unique index let one through; the second pass sees it.
    const raced =
      e instanceof UniqueViolation &&
      (e.constraint === 'messages_external' || e.constraint === 'end_users_reference');
    if (!raced) throw e;
    return await once();
  }
}

const VerifyQuery = Type.Object({
  'hub.mode': Type.Optional(Type.String({ description: 'subscribe' })),
  'hub.verify_token': Type.Optional(Type.String({ description: "The channel's verifyToken" })),
  'hub.challenge': Type.Optional(Type.String({ description: 'Sent back as the answer' })),
});

const Received = Type.Object({
  messages: Type.Integer({ description: 'Messages stored now (a repeated wamid is not counted)' }),
  statuses: Type.Integer({ description: 'Delivery states recorded' }),
});

export function whatsappRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const media = new MediaFetcher({
    store: deps.store,
    graphUrl: deps.config.whatsappGraphUrl,
    timeoutMs: deps.config.webhookTimeoutMs,
    log: deps.log,
    clock: deps.clock,
    allowList: deps.allowList,
    resolve: deps.resolve,
  });

  app.get<{ Params: { botId: string }; Querystring: Record<string, string | undefined> }>(
    '/v1/channels/whatsapp/:botId',
    {
      schema: {
        summary: "Verify the bot's WhatsApp webhook (Meta's handshake)",
        description:
          "Meta's verification request: answers hub.challenge as text/plain when hub.mode is subscribe and hub.verify_token is the channel's verifyToken; 403 verify_token_mismatch otherwise.",
        tags: ['channels'],
        security: [],
        params: Type.Object({ botId: Type.String({ description: 'A bot whose channel is whatsapp' }) }),
        querystring: VerifyQuery,
        response: {
          200: Type.String({ description: 'hub.challenge, as text/plain' }),
          ...errorResponses(404),
          403: { ...ErrorEnvelope, description: 'verify_token_mismatch' },
        },
      },
    },
    async (request, reply) => {
      const { channel } = await whatsappBot(deps, request.params.botId);
      const q = request.query;
      const token = q['hub.verify_token'];
      const challenge = q['hub.challenge'];
      const expected = channel.whatsapp.verifyToken;
      if (q['hub.mode'] !== 'subscribe' || challenge === undefined || !sameText(token, expected)) {
        throw new ApiError('verify_token_mismatch');
      }
      // The caller's own text sent back: never sniffed into HTML.
      return reply
        .code(200)
        .type('text/plain; charset=utf-8')
        .header('x-content-type-options', 'nosniff')
        .send(challenge);
    },
  );

  app.post<{ Params: { botId: string } }>(
    '/v1/channels/whatsapp/:botId',
    {
      schema: {
        summary: "Receive the bot's WhatsApp webhook (messages and statuses)",
        description:
          "Meta's webhook of the `messages` field, signed with the app secret in X-Hub-Signature-256. Checks in order: 415, 422 (malformed JSON), 404, 401. 200 once every message and status is stored, whatever else the body holds.",
        tags: ['channels'],
        security: [],
        params: Type.Object({ botId: Type.String({ description: 'A bot whose channel is whatsapp' }) }),
        headers: Type.Object({
          'x-hub-signature-256': Type.String({
            pattern: '^sha256=[0-9a-fA-F]{64}$',
            description: "sha256=<hex HMAC-SHA256 of the raw request body, keyed with the Meta app's secret>",
          }),
        }),
        body: Type.Object({}, { additionalProperties: true, description: "Meta's webhook payload" }),
        response: {
          200: successEnvelope(Received, 'Webhook received'),
          ...errorResponses(404, 422),
          401: {
            ...ErrorEnvelope,
            description: 'invalid_signature: X-Hub-Signature-256 is missing or wrong',
          },
        },
      },
      validatorCompiler: validateInHandler,
    },
    async (request, reply) => {
      const { bot, channel } = await whatsappBot(deps, request.params.botId);
      const header = request.headers['x-hub-signature-256'];
      if (!verifyJelouSignature(rawBodyOf(request), header, channel.signingKey)) {
        throw new ApiError(
          'invalid_signature',
          header === undefined
            ? 'X-Hub-Signature-256 is missing.'
            : "X-Hub-Signature-256 does not match the body and the channel's appSecret.",
        );
      }
      authenticated(request);
      const content = readWebhook(request.body);
      const ours = (phoneNumberId: string | undefined) =>
        phoneNumberId === undefined || phoneNumberId === channel.whatsapp.phoneNumberId;
      const origin = originOf(request);
      let stored = 0;
      const toFetch: string[] = [];
      for (const m of content.messages) {
        if (!ours(m.phoneNumberId)) {
          request.log.warn(
            { botId: bot.id, phoneNumberId: m.phoneNumberId },
            "WhatsApp message for another phone number than the channel's: ignored",
          );
          continue;
        }
        const mediaKey = await storeMessage(deps, bot, m, origin);
        if (mediaKey === undefined) continue;
        stored += 1;
        if (mediaKey !== null) toFetch.push(mediaKey);
      }
      const statuses = content.statuses.filter((s) => ours(s.phoneNumberId));
      if (statuses.length > 0) {
        const now = deps.clock();
        await deps.store.transaction(async (tx) => {
          for (const s of statuses) {
            await tx.whatsapp.noteStatus(
              bot.id,
              s.wamid,
              s.status,
              { code: s.errorCode, title: s.errorTitle },
              now,
            );
          }
        });
        for (const s of statuses) {
          if (s.status === 'failed') {
            request.log.warn(
              { botId: bot.id, wamid: s.wamid, errorCode: s.errorCode, error: s.errorTitle },
              'WhatsApp reported a message as failed',
            );
          }
        }
      }
      // After the answer: Meta wants its 200 within seconds, and the messages are already stored
      // (with relevo's URL for their file) and routed in order.
      if (toFetch.length > 0) {
        setImmediate(() => void fetchAll(deps, media, toFetch));
      }
      return sendSuccess(reply, 'Webhook received', { messages: stored, statuses: statuses.length });
    },
  );

  app.get<{ Params: { mediaKey: string } }>(
    `${MEDIA_PATH}:mediaKey`,
    {
      schema: {
        summary: "A WhatsApp user's media file",
        description:
          'The bytes of an image, video, audio or document a user sent on WhatsApp, at the url of its message. Fetched from the Graph API when still missing: 502 media_unavailable when that fails.',
        tags: ['channels'],
        security: [],
        params: Type.Object({ mediaKey: Type.String({ description: 'From the message url' }) }),
        response: {
          200: Type.String({ description: 'The file, with its MIME type' }),
          404: { ...ErrorEnvelope, description: 'media_not_found' },
          502: { ...ErrorEnvelope, description: 'media_unavailable' },
        },
      },
    },
    async (request, reply) => {
      const row = await deps.store.queries.whatsapp.media(request.params.mediaKey);
      if (row === undefined) throw new ApiError('media_not_found');
      const got = await media.fetch(row);
      if (typeof got === 'string')
        throw new ApiError('media_unavailable', `The file could not be fetched: ${got}.`);
      return (
        reply
          .code(200)
          .type(got.mimeType)
          // The bytes are the user's: never run as a page of relevo's origin (an SVG, an HTML
          // document), never sniffed into another type.
          .header('content-security-policy', "sandbox; default-src 'none'")
          .header('x-content-type-options', 'nosniff')
          .header('cache-control', 'private, max-age=86400, immutable')
          .send(got.data)
      );
    },
  );
}

async function fetchAll(deps: RouteDeps, media: MediaFetcher, keys: readonly string[]): Promise<void> {
  for (const key of keys) {
    try {
      const row = await deps.store.queries.whatsapp.media(key);
      if (row !== undefined) await media.fetch(row);
    } catch (e) {
      deps.log.warn({ err: e, mediaKey: key }, 'WhatsApp media not fetched');
    }
  }
}

/** A constant-time comparison of two texts (the verify token is a shared secret). */
function sameText(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
