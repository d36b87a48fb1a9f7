/** A message as the stream and /messages give it (src/channels/webchat/webchat.routes.ts). */
export interface ChatMessage {
  id: string;
  sender?: string;
  type?: string;
  content?: {
    body?: string;
    url?: string;
    caption?: string;
    filename?: string;
    mime_type?: string;
  };
  createdAt: string;
  clientMessageId?: string;
}

/** Who holds the room, from the stream's `handoff` events. */
export interface HandoffView {
  to?: string;
  name?: unknown;
}

/** A message typed but not yet acknowledged. */
export interface OutboxItem {
  clientId: string;
  text: string;
  state: 'sending' | 'failed';
  /** Refused as it is: only the visitor's tap sends it again. */
  hold: boolean;
  li: HTMLLIElement | null;
  reason?: string;
}
