/**
 * The WhatsApp channel's own records: Meta's message ids (wamid) of the messages relevo sent, with
 * the delivery state Meta last reported, and the user's media files fetched from the Graph API.
 */
import type { ChannelMedia, WhatsappReceipt, WhatsappStatus } from '../../model/types.js';
import type { SqlExecutor } from './executor.js';

interface ReceiptRow {
  bot_id: string;
  wamid: string;
  message_id: string | null;
  status: string;
  error_code: number | null;
  error_title: string | null;
  updated_at: number;
}

const toReceipt = (r: ReceiptRow): WhatsappReceipt => ({
  botId: r.bot_id,
  wamid: r.wamid,
  messageId: r.message_id,
  status: r.status as WhatsappStatus,
  errorCode: r.error_code === null ? null : Number(r.error_code),
  errorTitle: r.error_title,
  updatedAt: Number(r.updated_at),
});

interface MediaRow {
  id: string;
  bot_id: string;
  media_id: string;
  mime_type: string;
  data: string | null;
  error: string | null;
  created_at: number;
  fetched_at: number | null;
}

/**
 * Meta's statuses may arrive out of order (a `delivered` after the `read` of a phone with two
 * devices): a state never goes back. `failed` wins over every other.
 */
const RANK: Record<WhatsappStatus, number> = { accepted: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

export class WhatsappQueries {
  constructor(private readonly x: SqlExecutor) {}

  async receipt(botId: string, wamid: string): Promise<WhatsappReceipt | undefined> {
    const r = await this.x.one<ReceiptRow>(
      'SELECT * FROM whatsapp_receipts WHERE bot_id = ? AND wamid = ?',
      botId,
      wamid,
    );
    return r && toReceipt(r);
  }

  /** The send was accepted by Meta under `wamid`: ties it to relevo's message (a status may be there first). */
  async noteAccepted(botId: string, wamid: string, messageId: string, at: number): Promise<void> {
    await this.x.run(
      `INSERT INTO whatsapp_receipts (bot_id, wamid, message_id, status, updated_at) VALUES (?, ?, ?, 'accepted', ?)
       ON CONFLICT (bot_id, wamid) DO UPDATE SET message_id = excluded.message_id`,
      botId,
      wamid,
      messageId,
      at,
    );
  }

  /** A status Meta reported; kept when it moves the message forward. Returns the receipt as it is now. */
  async noteStatus(
    botId: string,
    wamid: string,
    status: WhatsappStatus,
    error: { code: number | null; title: string | null },
    at: number,
  ): Promise<WhatsappReceipt> {
    const known = await this.receipt(botId, wamid);
    if (known === undefined) {
      await this.x.run(
        `INSERT INTO whatsapp_receipts (bot_id, wamid, message_id, status, error_code, error_title, updated_at)
         VALUES (?, ?, NULL, ?, ?, ?, ?) ON CONFLICT (bot_id, wamid) DO NOTHING`,
        botId,
        wamid,
        status,
        error.code,
        error.title,
        at,
      );
    } else if (RANK[status] > RANK[known.status]) {
      await this.x.run(
        `UPDATE whatsapp_receipts SET status = ?, error_code = ?, error_title = ?, updated_at = ?
         WHERE bot_id = ? AND wamid = ?`,
        status,
        error.code,
        error.title,
        at,
        botId,
        wamid,
      );
    }
    return (await this.receipt(botId, wamid)) as WhatsappReceipt;
  }

  /** The latest state of each of these messages that went out through WhatsApp, by message id. */
  async receiptsOf(messageIds: readonly string[]): Promise<Map<string, WhatsappReceipt>> {
    const found = new Map<string, WhatsappReceipt>();
    if (messageIds.length === 0) return found;
    const marks = messageIds.map(() => '?').join(', ');
    const rows = await this.x.all<ReceiptRow>(
      `SELECT * FROM whatsapp_receipts WHERE message_id IN (${marks})`,
      ...messageIds,
    );
    for (const r of rows) {
      const receipt = toReceipt(r);
      const before = found.get(r.message_id as string);
      if (before === undefined || RANK[receipt.status] > RANK[before.status]) {
        found.set(r.message_id as string, receipt);
      }
    }
    return found;
  }

  async insertMedia(m: ChannelMedia): Promise<void> {
    await this.x.run(
      `INSERT INTO channel_media (id, bot_id, media_id, mime_type, data, size, error, created_at, fetched_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      m.id,
      m.botId,
      m.mediaId,
      m.mimeType,
      m.data === null ? null : m.data.toString('base64'),
      m.data?.length ?? null,
      m.error,
      m.createdAt,
      m.fetchedAt,
    );
  }

  async media(id: string): Promise<ChannelMedia | undefined> {
    const r = await this.x.one<MediaRow>('SELECT * FROM channel_media WHERE id = ?', id);
    if (r === undefined) return undefined;
    return {
      id: r.id,
      botId: r.bot_id,
      mediaId: r.media_id,
      mimeType: r.mime_type,
      data: r.data === null ? null : Buffer.from(r.data, 'base64'),
      error: r.error,
      createdAt: Number(r.created_at),
      fetchedAt: r.fetched_at === null ? null : Number(r.fetched_at),
    };
  }

  /** The bytes, once fetched (the MIME type Meta's file has); or why they could not be. */
  async fillMedia(
    id: string,
    outcome: { data: Buffer; mimeType: string } | { error: string },
    at: number,
  ): Promise<void> {
    if ('data' in outcome) {
      await this.x.run(
        'UPDATE channel_media SET data = ?, size = ?, mime_type = ?, error = NULL, fetched_at = ? WHERE id = ?',
        outcome.data.toString('base64'),
        outcome.data.length,
        outcome.mimeType,
        at,
        id,
      );
    } else {
      await this.x.run('UPDATE channel_media SET error = ? WHERE id = ? AND data IS NULL', outcome.error, id);
    }
  }
}
