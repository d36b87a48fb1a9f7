/**
 * The only way into the outbox: an event is appended inside the caller's transaction, so it
 * commits (or not) together with the change that caused it.
 */

import { newId } from '../model/ids.js';
import type { EventDestination, EventType, OutboxEvent } from '../model/types.js';
import type { Tx } from '../storage/store.js';

export interface NewEvent {
  readonly projectId: string;
  readonly roomId: string;
  readonly conversationId: string | null;
  readonly type: EventType;
  /** The panel's webhook unless said otherwise. */
  readonly destination?: EventDestination;
  readonly createdAt: number;
  readonly payload: Record<string, unknown>;
  /** Whether the project has an integration, when the caller read it in this transaction already. */
  readonly projectHasIntegration?: boolean | undefined;
}

export async function appendEvent(tx: Tx, e: NewEvent): Promise<OutboxEvent> {
  const destination = e.destination ?? 'panel';
  // Pending whenever the project has an integration, even a disabled one: its events wait and
  // go out, in order, once it is updated and enabled again (docs/webhooks.md, "Retries": new events are
  // recorded and wait while it is disabled).
  // A channel event is only appended for a channel that has somewhere to send it, a bot event
  // only for a bot whose engine is outside.
  const sendable =
    destination !== 'panel' || (e.projectHasIntegration ?? (await tx.integrations.exists(e.projectId)));
  return await tx.outbox.insertAtNextSeq({
    id: newId('evt', e.createdAt),
    projectId: e.projectId,
    roomId: e.roomId,
    conversationId: e.conversationId,
    destination,
    type: e.type,
    payload: JSON.stringify(e.payload),
    createdAt: e.createdAt,
    // A project without an integration records its events and sends nothing (docs/webhooks.md,
    // "The delivery log API"); they stay available to replay.
    status: sendable ? 'pending' : 'skipped',
    attemptCount: 0,
    nextAttemptAt: sendable ? e.createdAt : null,
    deliveredAt: null,
    lastError: null,
    requestId: tx.outbox.origin?.requestId ?? null,
    traceparent: tx.outbox.origin?.traceparent ?? null,
  });
}
