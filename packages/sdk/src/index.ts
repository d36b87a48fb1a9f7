export {
  type BasePath,
  type Credentials,
  METHOD_OPERATIONS,
  Relevo,
  type RelevoOptions,
  type SignedMessage,
} from './client.js';
export { RelevoApiError, RelevoConnectionError, RelevoTimeoutError } from './errors.js';
export type {
  ConversationCloseEvent,
  ConversationStartEvent,
  EventsByType,
  EventType,
  UserMessageEvent,
  WebhookEvent,
} from './generated/events.js';
export type { OperationKey, Operations } from './generated/operations.js';
export type { EventStreamOptions, StreamedEvent } from './stream.js';
export type { CallOptions } from './transport.js';
