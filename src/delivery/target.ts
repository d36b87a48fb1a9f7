/**
 * Where an event goes now, with what credentials, or why it cannot go: the first step of an
 * attempt, read in the transaction that leases the event.
 */
import type { EngineRequest } from '../bots/engine.js';
import type { ChannelEnv, ChannelRequest } from '../channels/channel.js';
import { parties } from '../domain/parties.js';
import type { Integration, OutboxEvent } from '../model/types.js';
import type { Queries } from '../storage/store.js';

type EngineSend = Extract<EngineRequest, { kind: 'send' }>;

export type Target =
  | {
      kind: 'send';
      url: string;
      /** Signs the body; null: sent unsigned (a Rasa server). */
      secret: string | null;
      headers: Record<string, string>;
      /** What is sent when it is not the event's own payload (a Rasa request). */
      body?: string | undefined;
      keepBytes?: number | undefined;
      answer?: EngineSend['answer'];
      /** A channel that reads its receiver's failures itself (WhatsApp's error codes). */
      judge?: Extract<ChannelRequest, { kind: 'send' }>['judge'];
      disable?: Extract<ChannelRequest, { kind: 'send' }>['disable'];
    }
  /** Not sendable now (integration disabled, channel without a webhook): the event waits. */
  | { kind: 'wait' }
  | { kind: 'cancel'; reason: string }
  | Extract<EngineRequest, { kind: 'instead' }>;

/**
 * Where events go now, with what credentials, or why they cannot go: read in the transaction that
 * leases them (the writer's connection, whose pages are warm), once per project.
 */
export class TargetMemo {
  private readonly panels = new Map<string, Promise<Target>>();

  /** `q`: the claim's transaction, or the store's queries after a claim sent alone. */
  constructor(
    private readonly q: Queries,
    private readonly env: ChannelEnv = { graphUrl: DEFAULT_GRAPH_URL },
  ) {}

  of(event: OutboxEvent): Promise<Target> {
    if (event.destination === 'channel') return this.channel(event);
    if (event.destination === 'bot') return this.bot(event);
    let t = this.panels.get(event.projectId);
    if (t === undefined) {
      t = this.panel(event.projectId);
      this.panels.set(event.projectId, t);
    }
    return t;
  }

  private async panel(projectId: string): Promise<Target> {
    const integration = await this.q.integrations.get(projectId);
    // Deleted since the claim: delete cancels pending events; this one slipped through.
    if (integration === undefined) return { kind: 'cancel', reason: 'the integration was deleted' };
    if (!integration.enabled) return { kind: 'wait' };
    return {
      kind: 'send',
      url: integration.webhookUrl,
      secret: integration.signingSecret,
      headers: authHeader(integration),
    };
  }

  /** An outside engine's event: its bot's engine, as it is now, says how it goes (bots/engine.ts). */
  private async bot(event: OutboxEvent): Promise<Target> {
    const room = await this.q.rooms.get(event.projectId, event.roomId);
    const bot = room && (await this.q.bots.get(event.projectId, room.botId));
    const user = room && (await this.q.endUsers.get(event.projectId, room.userId));
    if (room === undefined || bot === undefined || user === undefined) {
      return { kind: 'cancel', reason: 'the bot or the end user was deleted' };
    }
    const engine = parties().engineOf(bot);
    if (engine.request === undefined)
      return { kind: 'cancel', reason: `the bot's engine is now ${bot.engine}` };
    const r = await engine.request(this.q, { bot, user, room, now: Date.now() }, event);
    return r.kind === 'send' ? { ...r, headers: {} } : r;
  }

  private async channel(event: OutboxEvent): Promise<Target> {
    const room = await this.q.rooms.get(event.projectId, event.roomId);
    const bot = room && (await this.q.bots.get(event.projectId, room.botId, { includeDeleted: true }));
    const request = bot && parties().channelOf(bot).request;
    if (room !== undefined && bot !== undefined && request !== undefined) {
      const user = await this.q.endUsers.get(event.projectId, room.userId, { includeDeleted: true });
      if (user === undefined) return { kind: 'cancel', reason: 'the end user was deleted' };
      const r = await request(this.q, { bot, user, room }, event, this.env);
      return r.kind === 'send' ? { ...r, secret: null } : r;
    }
    const channel = room === undefined ? undefined : await this.q.bots.getChannel(room.botId);
    if (channel?.webhookUrl == null) return { kind: 'wait' };
    return { kind: 'send', url: channel.webhookUrl, secret: channel.signingKey, headers: {} };
  }
}

/** Meta's public Graph API (RELEVO_WHATSAPP_GRAPH_URL's default). */
export const DEFAULT_GRAPH_URL = 'https://graph.facebook.com';

/** The integration's own credential for its webhook (docs/webhooks.md, "The request"). */
export function authHeader(i: Pick<Integration, 'authType' | 'authorization'>): Record<string, string> {
  const value = i.authorization ?? '';
  switch (i.authType) {
    case 'bearer':
      return { authorization: `Bearer ${value}` };
    case 'api_key':
      return { 'x-api-key': value };
    case 'basic':
      return { authorization: `Basic ${Buffer.from(value, 'utf8').toString('base64')}` };
    case 'no_auth':
      return {};
  }
}
