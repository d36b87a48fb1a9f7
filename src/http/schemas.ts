/**
 * Request and response schemas of the external-support API. They validate requests (with
 * unknown fields refused, docs/api.md §4.6) and feed the OpenAPI document at /openapi.json.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import { AssignmentSchema, StringEnum } from '../model/schema-parts.js';

export const ProjectParams = Type.Object({
  projectId: Type.String({ description: 'Identifier of the project' }),
});

/** The success envelope of docs/api.md §3 around `data`. */
export function successEnvelope(data: TSchema | undefined, example: string) {
  const props = {
    message: Type.Array(Type.String(), { examples: [[example]] }),
    statusMessage: Type.Literal('success'),
    status: Type.Literal(1),
  };
  return data === undefined ? Type.Object(props) : Type.Object({ ...props, data });
}

const Localised = Type.Object({ en: Type.String(), es: Type.String(), pt: Type.String() });

export const ErrorEnvelope = Type.Object(
  {
    message: Type.String(),
    statusMessage: Type.Literal('failure'),
    status: Type.Literal(0),
    error: Type.Object({
      code: Type.String(),
      key: Type.String(),
      description: Type.String(),
      developerMessages: Localised,
      clientMessages: Localised,
    }),
    validationError: Type.Record(Type.String(), Type.Array(Type.String())),
  },
  {
    description: 'The error envelope (docs/api.md §3); error.code is one of the catalogue in docs/errors.md',
  },
);

export { AssignmentSchema, StringEnum } from '../model/schema-parts.js';

export const StartConversationBody = Type.Object(
  {
    botId: Type.String({ minLength: 1 }),
    userId: Type.String({ minLength: 1 }),
    initialMessage: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    metadata: Type.Optional(
      Type.Object(
        {},
        { additionalProperties: true, description: 'Any JSON object, at most 16 KiB serialised' },
      ),
    ),
    assignment: Type.Optional(AssignmentSchema),
  },
  { additionalProperties: false },
);

export const ConversationSummary = Type.Object({
  conversationId: Type.String(),
  botId: Type.String(),
  userId: Type.String(),
  status: StringEnum(['active', 'closed']),
});

/**
 * Start's answer: the summary plus, as an extension, the room, which sending to the end user
 * (§4.10) needs as room_id; without it the panel would have to wait for the event or call §4.8.
 */
export const StartedConversation = Type.Object({
  conversationId: Type.String(),
  botId: Type.String(),
  userId: Type.String(),
  status: StringEnum(['active', 'closed']),
  roomId: Type.String({
    description: "Extension: the (bot, end user) room; the send-message route's room_id",
  }),
});

/** Error responses every management route may give. */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of [401, 415, 413, 500, ...statuses]) out[s] = ErrorEnvelope;
  return out;
}
