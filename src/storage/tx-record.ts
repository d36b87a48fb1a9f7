/**
 * The record of what one transaction wrote: the events and messages its commit announces (so
 * delivery and live channels wake at once). It belongs to the transaction, which creates it
 * empty and hands it to the listeners only after the commit.
 */
import type { Message, OutboxEvent } from '../model/types.js';

export interface TxRecord {
  /** Pending events written (new, or requeued for another round), in write order. */
  readonly events: OutboxEvent[];
  /** Messages inserted, in write order. */
  readonly messages: Message[];
}

export function newTxRecord(): TxRecord {
  return { events: [], messages: [] };
}
