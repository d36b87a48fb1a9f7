/** Bots, with their rules and their channel configuration (whose signing key is sealed here). */
import type {
  Bot,
  BotChannelConfig,
  BotEngineConfig,
  BotEngineType,
  ChannelKind,
} from '../../model/types.js';
import type { SecretBox } from '../secret-box.js';
import type { LookupOptions } from './columns.js';
import { deletion, nameOf, nameText } from './columns.js';
import { LIVE, type SqlExecutor } from './executor.js';
import { type Page, type PageRequest, selectPage } from './paging.js';

export interface BotRow {
  id: string;
  project_id: string;
  name: string;
  channel: string;
  engine: string;
  created_at: number;
  deleted_at: number | null;
}

export const toBot = (r: BotRow): Bot => ({
  id: r.id,
  projectId: r.project_id,
  name: nameOf(r.name),
  channel: r.channel as ChannelKind,
  engine: (r.engine ?? 'rules') as BotEngineType,
  createdAt: Number(r.created_at),
  ...deletion(r.deleted_at),
});

export interface BotChannelRow {
  bot_id: string;
  webhook_url: string | null;
  signing_key: string;
  wa_phone_number_id?: string | null;
  wa_access_token?: string | null;
  wa_verify_token?: string | null;
  wa_graph_version?: string | null;
  sending_disabled_reason?: string | null;
  sending_disabled_at?: number | null;
  created_at: number;
  updated_at: number;
}

export const toBotChannel = (r: BotChannelRow): BotChannelConfig => ({
  botId: r.bot_id,
  webhookUrl: r.webhook_url,
  signingKey: r.signing_key,
  whatsapp:
    r.wa_phone_number_id == null
      ? null
      : {
          phoneNumberId: r.wa_phone_number_id,
          accessToken: r.wa_access_token ?? '',
          verifyToken: r.wa_verify_token ?? '',
          graphApiVersion: r.wa_graph_version ?? '',
        },
  sendingDisabled:
    r.sending_disabled_at == null
      ? null
      : { reason: r.sending_disabled_reason ?? '', at: Number(r.sending_disabled_at) },
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export interface BotEngineRow {
  bot_id: string;
  webhook_url: string | null;
  rasa_url: string | null;
  signing_secret: string | null;
  created_at: number;
  updated_at: number;
}

export class BotQueries {
  constructor(
    private readonly x: SqlExecutor,
    /** Seals the channel signing key on its way in, opens it on its way out. */
    private readonly box: SecretBox,
  ) {}
  async insert(b: Bot): Promise<void> {
    await this.x.run(
      'INSERT INTO bots (id, project_id, name, channel, engine, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      b.id,
      b.projectId,
      nameText(b.name),
      b.channel,
      b.engine,
      b.createdAt,
    );
  }
  /** A live bot; with `includeDeleted`, a deleted one too (reading history: names stay). */
  async get(projectId: string, id: string, options: LookupOptions = {}): Promise<Bot | undefined> {
    const r = await this.x.one<BotRow>(
      `SELECT * FROM bots WHERE project_id = ? AND id = ?${options.includeDeleted ? '' : LIVE}`,
      projectId,
      id,
    );
    return r && toBot(r);
  }
  /** Any project's live bot: for routes that name only the bot (a channel's inbound route). */
  async getById(id: string): Promise<Bot | undefined> {
    const r = await this.x.one<BotRow>(`SELECT * FROM bots WHERE id = ?${LIVE}`, id);
    return r && toBot(r);
  }
  async list(projectId: string, page: PageRequest): Promise<Page<Bot>> {
    return selectPage(
      this.x,
      page,
      toBot,
      `SELECT * FROM bots WHERE project_id = ? AND id > ?${LIVE} ORDER BY id LIMIT ?`,
      projectId,
      page.after ?? '',
    );
  }
  /** Renames a live bot; undefined when there is none. */
  async rename(projectId: string, id: string, name: string): Promise<Bot | undefined> {
    const r = await this.x.one<BotRow>(
      `UPDATE bots SET name = ? WHERE project_id = ? AND id = ?${LIVE} RETURNING *`,
      nameText(name),
      projectId,
      id,
    );
    return r && toBot(r);
  }
  /** Marks a live bot deleted; false when there is none. */
  async softDelete(projectId: string, id: string, at: number): Promise<boolean> {
    const changed = await this.x.run(
      `UPDATE bots SET deleted_at = ? WHERE project_id = ? AND id = ?${LIVE}`,
      at,
      projectId,
      id,
    );
    return changed > 0;
  }
  async getChannel(botId: string): Promise<BotChannelConfig | undefined> {
    const r = await this.x.one<BotChannelRow>('SELECT * FROM bot_channels WHERE bot_id = ?', botId);
    if (r === undefined) return undefined;
    const c = toBotChannel(r);
    const wa = c.whatsapp;
    return {
      ...c,
      signingKey: this.box.open(c.signingKey),
      whatsapp:
        wa == null
          ? null
          : { ...wa, accessToken: this.box.open(wa.accessToken), verifyToken: this.box.open(wa.verifyToken) },
    };
  }
  /** Writes the whole configuration; a write re-enables sending unless `sendingDisabled` says otherwise. */
  async putChannel(c: BotChannelConfig): Promise<void> {
    const wa = c.whatsapp ?? null;
    await this.x.run(
      `INSERT INTO bot_channels (bot_id, webhook_url, signing_key, wa_phone_number_id, wa_access_token,
         wa_verify_token, wa_graph_version, sending_disabled_reason, sending_disabled_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (bot_id) DO UPDATE SET webhook_url = excluded.webhook_url, signing_key = excluded.signing_key,
         wa_phone_number_id = excluded.wa_phone_number_id, wa_access_token = excluded.wa_access_token,
         wa_verify_token = excluded.wa_verify_token, wa_graph_version = excluded.wa_graph_version,
         sending_disabled_reason = excluded.sending_disabled_reason,
         sending_disabled_at = excluded.sending_disabled_at, updated_at = excluded.updated_at`,
      c.botId,
      c.webhookUrl,
      this.box.seal(c.signingKey),
      wa?.phoneNumberId ?? null,
      wa === null ? null : this.box.seal(wa.accessToken),
      wa === null ? null : this.box.seal(wa.verifyToken),
      wa?.graphApiVersion ?? null,
      c.sendingDisabled?.reason ?? null,
      c.sendingDisabled?.at ?? null,
      c.createdAt,
      c.updatedAt,
    );
  }
  /**
   * Stops the channel's sending (Meta's 190: the token is invalid) until its configuration is
   * written again; false when it was already stopped.
   */
  async disableSending(botId: string, reason: string, at: number): Promise<boolean> {
    const changed = await this.x.run(
      `UPDATE bot_channels SET sending_disabled_reason = ?, sending_disabled_at = ?
       WHERE bot_id = ? AND sending_disabled_at IS NULL`,
      reason,
      at,
      botId,
    );
    return changed > 0;
  }
  /** The bot's rules as stored (JSON text), or undefined when it has none. */
  async getRules(botId: string): Promise<string | undefined> {
    return (await this.x.one<{ rules: string }>('SELECT rules FROM bot_rules WHERE bot_id = ?', botId))
      ?.rules;
  }
  async putRules(botId: string, rulesJson: string, at: number): Promise<void> {
    await this.x.run(
      `INSERT INTO bot_rules (bot_id, rules, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (bot_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at`,
      botId,
      rulesJson,
      at,
    );
  }
  /** The outside engines' settings of a bot, the signing secret opened; undefined when never set. */
  async getEngine(botId: string): Promise<BotEngineConfig | undefined> {
    const r = await this.x.one<BotEngineRow>('SELECT * FROM bot_engines WHERE bot_id = ?', botId);
    if (r === undefined) return undefined;
    return {
      botId: r.bot_id,
      webhookUrl: r.webhook_url,
      rasaUrl: r.rasa_url,
      signingSecret: r.signing_secret === null ? null : this.box.open(r.signing_secret),
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    };
  }
  /** Sets which engine answers a live bot and that engine's settings; false when there is no such bot. */
  async setEngine(projectId: string, type: BotEngineType, c: BotEngineConfig): Promise<boolean> {
    const changed = await this.x.run(
      `UPDATE bots SET engine = ? WHERE project_id = ? AND id = ?${LIVE}`,
      type,
      projectId,
      c.botId,
    );
    if (changed === 0) return false;
    await this.x.run(
      `INSERT INTO bot_engines (bot_id, webhook_url, rasa_url, signing_secret, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (bot_id) DO UPDATE SET webhook_url = excluded.webhook_url, rasa_url = excluded.rasa_url,
         signing_secret = excluded.signing_secret, updated_at = excluded.updated_at`,
      c.botId,
      c.webhookUrl,
      c.rasaUrl,
      c.signingSecret === null ? null : this.box.seal(c.signingSecret),
      c.createdAt,
      c.updatedAt,
    );
    return true;
  }
}
