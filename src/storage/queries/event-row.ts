/** An outbox event as stored, and as mapped back: shared by the outbox and its claim. */
import type { DeliveryStatus, EventDestination, EventType, OutboxEvent } from '../../model/types.js';

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
  request_id?: string | null;
  traceparent?: string | null;
}

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
  requestId: r.request_id ?? null,
  traceparent: r.traceparent ?? null,
});

/** The columns an event is inserted with, room_seq aside, in `eventValues` order. */
export const EVENT_COLUMNS = `id, project_id, room_id, conversation_id, destination, type, payload, created_at,
  status, attempt_count, next_attempt_at, delivered_at, request_id, traceparent`;
