/**
 * Channels: how a bot reaches its end users. Every channel answers the same question — a message
 * for the end user was just stored, inside this transaction: how does it get there? — so the
 * services that produce messages (the panel, the bot, a close) never know which channel it is.
 * Inbound, each channel has its own route, and hands the user's message to receiveFromUser.
 * This file is the interface only; registry.ts says which implementation serves which kind.
 */
import type { SendResult } from '../delivery/webhook-sender.js';
import type { Bot, EndUser, Message, MessageSender, OutboxEvent, Room } from '../model/types.js';
import type { Queries, Tx } from '../storage/store.js';

export interface OutboundContext {
  readonly bot: Bot;
  readonly user: EndUser;
  readonly room: Room;
  /** Only the bot and the panel write to the user. */
  readonly message: Message & { readonly sender: Exclude<MessageSender, 'user'> };
  readonly now: number;
}

/**
 * What a channel's receiver answered, as the channel reads it (Meta's error codes): `retry` on
 * the schedule, `dead` at once (not retried), or `disable` the channel's sending; with the reason
 * the delivery log keeps.
 */
export interface ChannelVerdict {
  readonly action: 'retry' | 'dead' | 'disable';
  readonly reason: string;
}

/** How one queued message goes out through a channel that speaks its own protocol (WhatsApp). */
export type ChannelRequest =
  | {
      readonly kind: 'send';
      readonly url: string;
      readonly body: string;
      readonly headers: Record<string, string>;
      /** Reads a 2xx answer in the transaction that records the delivery; a note for the log, or null. */
      readonly answer?: (tx: Tx, responseBody: string) => Promise<string | null>;
      /** Reads any other answer; undefined leaves the decision to the retry schedule. */
      readonly judge?: (result: SendResult) => ChannelVerdict | undefined;
      /** Stops the channel's sending after a `disable` verdict, in the transaction that records it. */
      readonly disable?: (tx: Tx, now: number, reason: string) => Promise<void>;
    }
  | { readonly kind: 'wait' }
  | { readonly kind: 'cancel'; readonly reason: string };

/** What a channel's request needs of the process's configuration. */
export interface ChannelEnv {
  /** RELEVO_WHATSAPP_GRAPH_URL: the Graph API's base URL. */
  readonly graphUrl: string;
}

export interface Channel {
  readonly kind: Bot['channel'];
  /** Makes the delivery of `message` durable in the same transaction that stored it. */
  queueForUser(tx: Tx, ctx: OutboundContext): Promise<void>;
  /**
   * Channels with a protocol of their own: how a queued message (destination `channel`) goes out
   * now. Without it the message is POSTed to the channel's webhookUrl, signed (the http channel).
   */
  request?(
    q: Queries,
    p: { readonly bot: Bot; readonly user: EndUser; readonly room: Room },
    event: OutboxEvent,
    env: ChannelEnv,
  ): Promise<ChannelRequest>;
}
