/**
 * The `http` custom channel, inbound (docs/channels.md, "The http channel"): the project's own app sends its
 * user's messages to `POST /v1/custom-channel/{botId}`, signed with the bot's channel signingKey
 * in `X-Jelou-Signature` (the scheme of docs/api.md §4.10, over the raw body). Served once, under /v1
 * only: it is the channel's address, not a management route with aliases.
 *
 * Checks, in this order: 415 not JSON → 422 malformed JSON → 404 bot_not_found (no such bot, not
 * an http bot, or no channel configured: one answer for all three) → 401 invalid_signature → 422
 * schema → 202. The bot comes before the signature because the key to check with is the bot's.
 *
 * 202, not 200: the message is stored and routed (to the panel or the bot), but the user hears
 * back later, through the channel's webhook.
 */

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { verifyJelouSignature } from '../../delivery/signer.js';
import { receiveFromUser } from '../../domain/messages/inbound.service.js';
import { type MessageInput, parseMessage } from '../../domain/messages/message-content.js';
import { ApiError, type ValidationErrors, validationError } from '../../errors.js';
import { rawBodyOf } from '../../http/json-body-parser.js';
import { authenticated } from '../../http/rate-limit.js';
import { signatureHeader, validateInHandler } from '../../http/routes/panel-messages.routes.js';
import type { RouteDeps } from '../../http/routes/route-deps.js';
import { sendSuccess } from '../../http/routes/send.js';
import { ErrorEnvelope, errorResponses, StringEnum, successEnvelope } from '../../http/schemas.js';
import { newId } from '../../model/ids.js';
import { messageSchema } from '../../model/message-content.js';
import type { Bot, EndUser } from '../../model/types.js';
import { originOf } from '../../observability/request-origin.js';
import { UniqueViolation } from '../../storage/errors.js';
import type { Tx } from '../../storage/store.js';

/** Bounds on the app's own user id and display name. */
export const REFERENCE_ID_MAX_CHARS = 200;
export const NAME_MAX_CHARS = 200;

export interface ChannelInbound {
  readonly referenceId: string;
  readonly name: string | undefined;
  readonly message: MessageInput;
}

const KNOWN: readonly string[] = ['referenceId', 'name', 'message'];

function add(errors: ValidationErrors, path: string, problem: string): void {
  const list = errors[path] ?? [];
  list.push(problem);
  errors[path] = list;
}

function checkText(errors: ValidationErrors, path: string, v: unknown, required: boolean, max: number): void {
  if (v === undefined) {
    if (required) add(errors, path, 'is required');
  } else if (typeof v !== 'string') add(errors, path, 'must be a string');
  else if (v.trim() === '') add(errors, path, 'must not be empty');
  else if ([...v].length > max) add(errors, path, `must be at most ${max} characters`);
}

/** Validates the whole body in one pass; throws the 422 that names every problem. */
export function parseChannelInbound(body: unknown): ChannelInbound {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw validationError({ body: ['must be a JSON object'] });
  }
  // No prototype: an unknown field literally named `__proto__` must be reported, not become one.
  const errors = Object.create(null) as ValidationErrors;
  const obj = body as Record<string, unknown>;
  checkText(errors, 'referenceId', obj.referenceId, true, REFERENCE_ID_MAX_CHARS);
  checkText(errors, 'name', obj.name, false, NAME_MAX_CHARS);
  let message: MessageInput | undefined;
  if (obj.message === undefined) add(errors, 'message', 'is required');
  else message = parseMessage(obj.message, 'message', errors);
  for (const name of Object.keys(obj)) {
    if (!KNOWN.includes(name)) add(errors, name, 'is not a known field');
  }
  if (Object.keys(errors).length > 0 || message === undefined) throw validationError(errors);
  return {
    referenceId: obj.referenceId as string,
    name: obj.name as string | undefined,
    message,
  };
}

/**
 * The end user behind a referenceId (scoped to the bot's project), created on first contact with
 * the name the app gave, or a placeholder naming the reference.
 */
async function endUserFor(tx: Tx, bot: Bot, input: ChannelInbound, now: number): Promise<EndUser> {
  const known = await tx.endUsers.getByReference(bot.projectId, input.referenceId);
  if (known !== undefined) return known;
  const user: EndUser = {
    id: newId('usr', now),
    projectId: bot.projectId,
    names: input.name ?? `Customer ${input.referenceId}`,
    referenceId: input.referenceId,
    createdAt: now,
  };
  await tx.endUsers.insert(user);
  return user;
}

const ChannelInboundBody = Type.Object(
  {
    referenceId: Type.String({
      minLength: 1,
      maxLength: REFERENCE_ID_MAX_CHARS,
      description: "The app's stable id of its user; the first message from a new one creates the end user",
    }),
    name: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: NAME_MAX_CHARS,
        description: 'The user\'s name, used on first contact only (default "Customer <referenceId>")',
      }),
    ),
    message: messageSchema({}, 'The message: one of the five types of the message table'),
  },
  { additionalProperties: false },
);

const ChannelReceived = Type.Object({
  messageId: Type.String(),
  roomId: Type.String(),
  routedTo: StringEnum(['panel', 'bot'], {
    description:
      "panel while a conversation is active (also when another start won the race with this message's handoff), else bot",
  }),
  conversationId: Type.Unsafe<string | null>({
    type: 'string',
    nullable: true,
    description:
      'The active conversation, or the one a handoff just started; null when the bot kept the room',
  }),
});

export function httpChannelRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post<{ Params: { botId: string } }>(
    '/v1/custom-channel/:botId',
    {
      schema: {
        summary: 'Receive an end user message (http channel)',
        description:
          "The project's app sends its user's message, signed with the bot's channel signingKey. Checks in order: 415, 422 (malformed JSON), 404, 401, 422 (schema). 202 once stored and routed.",
        tags: ['channels'],
        security: [],
        params: Type.Object({ botId: Type.String({ description: 'A bot whose channel is http' }) }),
        headers: signatureHeader("the bot's channel signingKey"),
        body: ChannelInboundBody,
        response: {
          202: successEnvelope(ChannelReceived, 'Message received'),
          ...errorResponses(404, 422),
          401: {
            ...ErrorEnvelope,
            description: "invalid_signature: X-Jelou-Signature is missing or wrong for the bot's signingKey",
          },
        },
      },
      validatorCompiler: validateInHandler,
    },
    async (request, reply) => {
      const { botId } = request.params;
      const bot = await deps.store.queries.bots.getById(botId);
      const channel = bot?.channel === 'http' ? await deps.store.queries.bots.getChannel(botId) : undefined;
      if (bot === undefined || channel === undefined) {
        throw new ApiError(
          'bot_not_found',
          `No bot with id ${JSON.stringify(botId)} takes messages on the http channel.`,
        );
      }
      const header = request.headers['x-jelou-signature'];
      if (!verifyJelouSignature(rawBodyOf(request), header, channel.signingKey)) {
        throw new ApiError(
          'invalid_signature',
          header === undefined
            ? 'X-Jelou-Signature is missing.'
            : "X-Jelou-Signature does not match the body and the bot's channel signingKey.",
        );
      }
      authenticated(request);
      const input = parseChannelInbound(request.body);
      const now = deps.clock();
      const receive = () =>
        deps.store.transaction(
          async (tx) =>
            receiveFromUser(tx, {
              bot,
              user: await endUserFor(tx, bot, input, now),
              message: input.message,
              now,
            }),
          originOf(request),
        );
      let received: Awaited<ReturnType<typeof receive>>;
      try {
        received = await receive();
      } catch (e) {
        // A concurrent first message from the same referenceId created the user first: the
        // second attempt reads it.
        if (!(e instanceof UniqueViolation && e.constraint === 'end_users_reference')) throw e;
        received = await receive();
      }
      return sendSuccess(
        reply,
        'Message received',
        {
          messageId: received.message.id,
          roomId: received.room.id,
          routedTo: received.routedTo,
          conversationId: received.conversationId,
        },
        202,
      );
    },
  );
}
