/**
 * docs/api.md §4.10: the panel sends a message to the end user — `POST {base}/external-support/webhook`.
 *
 * No API key: the body is authenticated by `X-Jelou-Signature` alone, keyed with the signingSecret
 * of the project the body names. Checks, in this order (each one answers before the next runs):
 *
 *   1. 415 — the body is not JSON (the content-type parser);
 *   2. 422 — the body is not valid JSON (the parser, path `body`);
 *   3. 401 invalid_signature — `project_id` is not a string, the project has no integration, or
 *      the signature is missing or wrong over the raw body;
 *   4. 422 — the body does not match the schema (every problem at once, exact field paths);
 *   5. 404 conversation_not_found — no such room in the project, the room is not this bot's and
 *      user's, or it has no active conversation (a repeated `value.id` is acknowledged first).
 *
 * The route's schema documents the body for /openapi.json but does not validate it: Fastify would
 * validate before the handler, that is before the signature, and step 4 must not answer an
 * unsigned caller.
 *
 * The path is static, so Fastify's router prefers it to `external-support/:projectId` (create
 * integration); no project can be called `webhook`, since project ids are generated.
 */

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  EXTERNAL_ID_MAX_CHARS,
  type PanelMessageSent,
  parsePanelMessage,
  repeatedPanelMessage,
  sendPanelMessage,
} from '../../domain/messages/panel-message.service.js';
import { ApiError } from '../../errors.js';
import { messageSchema } from '../../model/message-content.js';
import { originOf } from '../../observability/request-origin.js';
import { UniqueViolation } from '../../storage/errors.js';
import { panelSignature } from '../panel-signature.js';
import { ErrorEnvelope, errorResponses, StringEnum, successEnvelope } from '../schemas.js';
import type { RouteDeps } from './route-deps.js';
import { sendSuccess } from './send.js';

/** The X-Jelou-Signature header, as documented for both inbound signed routes. */
export function signatureHeader(keyedWith: string) {
  return Type.Object({
    'x-jelou-signature': Type.String({
      pattern: '^sha256=[0-9a-fA-F]{64}$',
      description: `sha256=<hex HMAC-SHA256 of the raw request body, keyed with ${keyedWith}>`,
    }),
  });
}

/** A validator that accepts anything: the handler validates, after the signature. */
export const validateInHandler = () => () => true;

const PanelMessageBody = Type.Object(
  {
    field: StringEnum(['messages']),
    object: StringEnum(['message_event']),
    event_type: StringEnum(['incoming_message']),
    project_id: Type.String({ minLength: 1, description: 'The project whose signingSecret signed the body' }),
    room_id: Type.String({ minLength: 1 }),
    bot_id: Type.String({ minLength: 1 }),
    user_id: Type.String({ minLength: 1 }),
    value: messageSchema(
      {
        id: Type.String({
          minLength: 1,
          maxLength: EXTERNAL_ID_MAX_CHARS,
          description: "The panel's own message id; a repeat in the same room is acknowledged, not resent",
        }),
      },
      'The message: one of the five types of the message table',
    ),
  },
  { additionalProperties: false },
);

const PanelMessageSentData = Type.Object({
  messageId: Type.String({ description: "relevo's id of the stored message" }),
  conversationId: Type.String(),
});

export function panelMessageRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post(
    '/external-support/webhook',
    {
      schema: {
        summary: 'Send a message to the end user',
        description:
          "Authenticated only by X-Jelou-Signature over the raw body, keyed with the signingSecret of the integration of project_id (no API key). The message is stored in the active conversation of the room and delivered through the bot's channel. A repeated value.id in the same room is acknowledged again with the same messageId, without a second delivery. Checks in order: 415, 422 (malformed JSON), 401, 422 (schema), 404.",
        tags: ['messages'],
        security: [],
        headers: signatureHeader("the signingSecret of the project's integration"),
        body: PanelMessageBody,
        response: {
          200: successEnvelope(PanelMessageSentData, 'Message sent successfully'),
          ...errorResponses(404, 422),
          401: {
            ...ErrorEnvelope,
            description:
              'invalid_signature: X-Jelou-Signature is missing or wrong, project_id is not a string, or the project has no integration',
          },
        },
      },
      validatorCompiler: validateInHandler,
    },
    async (request, reply) => {
      const body: unknown = request.body;
      const header = request.headers['x-jelou-signature'];
      if ((await panelSignature(request, deps.store.queries)).projectId === undefined) {
        throw new ApiError(
          'invalid_signature',
          header === undefined
            ? 'X-Jelou-Signature is missing.'
            : "X-Jelou-Signature does not match the body and the signingSecret of project_id's integration.",
        );
      }
      const input = parsePanelMessage(body);
      const now = deps.clock();
      let sent: PanelMessageSent;
      try {
        sent = await deps.store.transaction((tx) => sendPanelMessage(tx, input, now), originOf(request));
      } catch (e) {
        // Two requests with the same value.id at once: the unique index let one through; the
        // other is acknowledged with its messageId, as a later repeat would be. A winner that is
        // another sender's message (a bot's `bot:…` id) is found by a second run, which sends
        // without the id.
        if (!(e instanceof UniqueViolation && e.constraint === 'messages_external')) throw e;
        sent =
          (await repeatedPanelMessage(deps.store.queries, input)) ??
          (await deps.store.transaction((tx) => sendPanelMessage(tx, input, now), originOf(request)));
      }
      if (sent.repeated)
        request.log.info({ messageId: sent.messageId }, 'repeated panel message acknowledged');
      return sendSuccess(reply, 'Message sent successfully', {
        messageId: sent.messageId,
        conversationId: sent.conversationId,
      });
    },
  );
}
