/**
 * The record of what one transaction wrote: the events and messages its commit announces (so
 * delivery and live channels wake at once). It belongs to the transaction, which creates it
 * empty and hands it to the listeners only after the commit.
 */
import type { EventOrigin, EventType, Message, OutboxEvent } from '../model/types.js';

export interface TxRecord {
  /** Pending events written (new, or requeued for another round), in write order. */
  readonly events: OutboxEvent[];
  /** Messages inserted, in write order. */
  readonly messages: Message[];
  /**
   * Projects that got an event for the panel, whatever its status (a project without an
   * integration records `skipped` ones): the live event streams wake for them.
   */
  readonly panelProjects: Set<string>;
  /** The type of every event inserted, whatever its status (relevo_events_total). */
  readonly recorded: EventType[];
  /** The request that asked for the transaction: its events keep its id and traceparent. */
  readonly origin: EventOrigin | undefined;
}

export function newTxRecord(origin?: EventOrigin): TxRecord {
  return { events: [], messages: [], panelProjects: new Set(), recorded: [], origin };
}
