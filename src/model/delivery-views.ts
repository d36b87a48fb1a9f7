/**
 * What the delivery log answers (docs/api.md §5.5): one TypeBox schema per shape, whose static
 * type is the view's type. The domain builds these views (domain/deliveries/delivery.service.ts);
 * the routes serialise and document with the same schemas.
 */
import { type Static, Type } from '@sinclair/typebox';
import { StringEnum } from './schema-parts.js';
import type { AttemptResult, DeliveryStatus, EventType } from './types.js';

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = [
  'pending',
  'delivered',
  'failed',
  'cancelled',
  'skipped',
];
export const EVENT_TYPES: readonly EventType[] = ['conversation.start', 'message', 'conversation.close'];
export const ATTEMPT_OUTCOMES: readonly AttemptResult[] = ['delivered', 'failed', 'gone', 'abandoned'];

const Timestamp = (description: string) =>
  Type.String({ format: 'date-time', description, examples: ['2026-01-15T10:30:00.000Z'] });
const NullableTimestamp = (description: string) => Type.Union([Timestamp(description), Type.Null()]);
const NullableString = (description: string) => Type.Union([Type.String(), Type.Null()], { description });

export const DeliverySummary = Type.Object({
  id: Type.String({ description: 'The event id; the webhook-id header of every attempt' }),
  eventType: StringEnum(EVENT_TYPES),
  conversationId: NullableString('The conversation the event belongs to, when it belongs to one'),
  roomId: Type.String(),
  status: StringEnum(DELIVERY_STATUSES, {
    description:
      'pending (waiting for an attempt), delivered (a 2xx was received), failed (every scheduled attempt failed), cancelled (the integration was deleted first), skipped (no integration when it happened)',
  }),
  attemptCount: Type.Integer({ description: 'Attempts in the current delivery cycle' }),
  nextAttemptAt: NullableTimestamp('When the next attempt is due; null unless pending'),
  deliveredAt: NullableTimestamp('When the 2xx was received'),
  createdAt: Timestamp('When the event happened'),
  lastError: NullableString('Why the latest attempt failed, while it matters'),
});

export const AttemptSchema = Type.Object({
  id: Type.String(),
  attemptNumber: Type.Integer({ description: '1 for the first attempt of each delivery cycle' }),
  startedAt: Timestamp('When the attempt started'),
  durationMs: Type.Integer(),
  url: Type.String({ description: 'The webhook URL at the time of the attempt' }),
  statusCode: Type.Union([Type.Integer(), Type.Null()], {
    description: 'null when no response arrived (timeout, connection error)',
  }),
  responseBody: NullableString('The first 4 KiB of the response body'),
  error: NullableString('What went wrong, when something did'),
  outcome: StringEnum(ATTEMPT_OUTCOMES, {
    description:
      'delivered (2xx), failed (to be retried or dead-lettered), gone (410: the integration was disabled), abandoned (cut short by a shutdown; repeated after restart)',
  }),
});

export const DeliveryDetail = Type.Object({
  ...DeliverySummary.properties,
  payload: Type.Object(
    {},
    { additionalProperties: true, description: 'The event exactly as sent, as a JSON object' },
  ),
  attempts: Type.Array(AttemptSchema, { description: 'Every attempt, oldest first, across delivery cycles' }),
});

export const DeliveryPage = Type.Object({
  items: Type.Array(DeliverySummary, { description: 'Newest first' }),
  nextCursor: NullableString('Pass as ?cursor= for the next page; null on the last page'),
});

export type DeliveryView = Static<typeof DeliverySummary>;
export type AttemptView = Static<typeof AttemptSchema>;
/** `payload`: the event exactly as sent, parsed back into JSON. */
export type DeliveryDetailView = Omit<Static<typeof DeliveryDetail>, 'payload'> & {
  readonly payload: unknown;
};
export type DeliveryPageView = Static<typeof DeliveryPage>;
