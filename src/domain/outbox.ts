/**
 * The only way into the outbox: an event is appended inside the caller's transaction, so it
 * commits (or not) together with the change that caused it.
 */

import { newId } from '../model/ids.js';
import type { EventDestination, EventType, OutboxEvent } from '../model/types.js';
import type { RoomChange, Tx, WriteStatement } from '../storage/store.js';

export interface NewEvent {
  readonly projectId: string;
  readonly roomId: string;
  readonly conversationId: string | null;
  readonly type: EventType;
  /** The panel's webhook unless said otherwise. */
  readonly destination?: EventDestination;
  readonly createdAt: number;
  readonly payload: Record<string, unknown>;
  /**
   * The room's bot step, set with the event's position: a close hands the room back to the bot
   * at this step (null: its start) in the same write.
   */
  readonly roomBotStep?: string | null | undefined;
  /** Whether the project has an integration, when the caller read it in this transaction already. */
  readonly projectHasIntegration?: boolean | undefined;
}

export async function appendEvent(tx: Tx, e: NewEvent): Promise<OutboxEvent> {
  return await tx.outbox.insertAtNextSeq(await eventRow(tx, e), roomChange(e));
}

/**
 * Runs `gate` (a start's insert of its conversation, a close's update of it) and appends the
 * event only if the gate changed a row, in one statement where the database can; undefined, and
 * nothing written, if it changed none (another start or close won).
 */
export async function appendEventAfter(
  tx: Tx,
  gate: WriteStatement,
  e: NewEvent,
): Promise<OutboxEvent | undefined> {
  return await tx.outbox.insertAtNextSeqAfter(gate, await eventRow(tx, e), roomChange(e));
}

function roomChange(e: NewEvent): RoomChange | undefined {
  return e.roomBotStep === undefined ? undefined : { botStep: e.roomBotStep };
}

async function eventRow(tx: Tx, e: NewEvent): Promise<Omit<OutboxEvent, 'roomSeq'>> {
  const destination = e.destination ?? 'panel';
  // Pending whenever the project has an integration, even a disabled one: its events wait and
  // go out, in order, once it is updated and enabled again (docs/webhooks.md, "Retries": new events are
  // recorded and wait while it is disabled).
  // A channel event is only appended for a channel that has somewhere to send it, a bot event
  // only for a bot whose engine is outside.
  const sendable =
    destination !== 'panel' || (e.projectHasIntegration ?? (await tx.integrations.exists(e.projectId)));
  return {
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
  };
}
