/**
 * What a signed WhatsApp webhook (Meta's `messages` field) says, read defensively: Meta adds
 * fields and types over time, and relevo must still answer 200 and keep what it understands.
 * Each `entry[].changes[].value` carries `messages[]` (the users' messages, with `contacts[]`
 * naming their senders) and `statuses[]` (the delivery states of messages relevo sent).
 */
import type { MessageInput } from '../../domain/messages/message-content.js';
import { TEXT_MAX_CHARS } from '../../model/message-content.js';
import type { WhatsappStatus } from '../../model/types.js';

/** A user's message, as relevo will store it; `media` when its file must be fetched. */
export interface InboundMessage {
  readonly wamid: string;
  /** The user's wa_id. */
  readonly from: string;
  /** The name on the user's WhatsApp profile, when the webhook gives one. */
  readonly name: string | undefined;
  /** The phone number the message was sent to (`metadata.phone_number_id`). */
  readonly phoneNumberId: string | undefined;
  readonly message: MessageInput;
  readonly media?: { readonly id: string; readonly mimeType: string } | undefined;
}

export interface InboundStatus {
  readonly wamid: string;
  readonly status: WhatsappStatus;
  readonly phoneNumberId: string | undefined;
  readonly errorCode: number | null;
  readonly errorTitle: string | null;
}

export interface WebhookContent {
  readonly messages: InboundMessage[];
  readonly statuses: InboundStatus[];
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

/**
 * At most `max` code points (relevo's fields are measured so), in text the database can keep: a
 * U+0000 or a lone surrogate becomes U+FFFD rather than making the message unstorable.
 */
function clip(raw: string, max: number): string {
  const text = raw.replaceAll('\u0000', '\uFFFD').toWellFormed();
  const points = [...text];
  return points.length <= max ? text : points.slice(0, max).join('');
}

function text(body: string): MessageInput {
  return { type: 'text', content: { body: clip(body, TEXT_MAX_CHARS) } };
}

/** `audio/ogg; codecs=opus` → `audio/ogg`: relevo's MIME types carry no parameters. */
export function bareMimeType(raw: string | undefined, fallback: string): string {
  const t = raw?.split(';')[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(t) && t.length <= 255 ? t : fallback;
}

const MEDIA_FALLBACK: Record<string, string> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  audio: 'audio/ogg',
  document: 'application/octet-stream',
};

function unsupported(type: string): MessageInput {
  return text(
    `(The user sent a WhatsApp message of type "${clip(type, 40)}", which relevo does not support.)`,
  );
}

function location(l: Json): MessageInput {
  const place = [str(l.name), str(l.address)].filter((s) => s !== undefined).join(', ');
  const lat = typeof l.latitude === 'number' ? l.latitude : Number(l.latitude);
  const lon = typeof l.longitude === 'number' ? l.longitude : Number(l.longitude);
  const where = Number.isFinite(lat) && Number.isFinite(lon) ? `${lat}, ${lon}` : '';
  const parts = [place, where].filter((s) => s !== '');
  return text(`Location: ${parts.length > 0 ? parts.join(' — ') : 'unknown'}`);
}

/** The content of one of Meta's message objects, in relevo's five types. */
function contentOf(m: Json): { message: MessageInput; media?: { id: string; mimeType: string } } {
  const type = str(m.type) ?? 'unknown';
  switch (type) {
    case 'text':
      return { message: text(str(obj(m.text)?.body) ?? '(empty message)') };
    case 'image':
    case 'video':
    case 'audio':
    case 'document': {
      const part = obj(m[type]);
      const id = str(part?.id);
      if (part === undefined || id === undefined) return { message: unsupported(type) };
      const mimeType = bareMimeType(str(part.mime_type), MEDIA_FALLBACK[type] as string);
      const content: Record<string, string> = { url: '', mime_type: mimeType };
      const caption = str(part.caption);
      if (caption !== undefined && (type === 'image' || type === 'video'))
        content.caption = clip(caption, 2048);
      const filename = str(part.filename);
      if (type === 'document' && filename !== undefined) content.filename = clip(filename, 2048);
      return { message: { type, content }, media: { id, mimeType } };
    }
    case 'location':
      return { message: location(obj(m.location) ?? {}) };
    case 'interactive': {
      const i = obj(m.interactive) ?? {};
      const reply = obj(i.button_reply) ?? obj(i.list_reply);
      const title = str(reply?.title) ?? str(reply?.id);
      if (title === undefined) return { message: unsupported(`interactive ${str(i.type) ?? ''}`.trim()) };
      const description = str(reply?.description);
      return { message: text(description === undefined ? title : `${title} — ${description}`) };
    }
    case 'button': {
      const b = obj(m.button) ?? {};
      const label = str(b.text) ?? str(b.payload);
      return { message: label === undefined ? unsupported(type) : text(label) };
    }
    default:
      return { message: unsupported(type) };
  }
}

const STATUSES: readonly WhatsappStatus[] = ['sent', 'delivered', 'read', 'failed'];

/** Everything relevo understands in a webhook body; what it does not is left out. */
export function readWebhook(body: unknown): WebhookContent {
  const messages: InboundMessage[] = [];
  const statuses: InboundStatus[] = [];
  for (const entry of arr(obj(body)?.entry)) {
    for (const change of arr(obj(entry)?.changes)) {
      const value = obj(obj(change)?.value);
      if (value === undefined) continue;
      const phoneNumberId = str(obj(value.metadata)?.phone_number_id);
      const names = new Map<string, string>();
      for (const c of arr(value.contacts)) {
        const waId = str(obj(c)?.wa_id);
        const name = str(obj(obj(c)?.profile)?.name);
        if (waId !== undefined && name !== undefined) names.set(waId, clip(name, 200));
      }
      for (const raw of arr(value.messages)) {
        const m = obj(raw);
        const wamid = str(m?.id);
        const from = str(m?.from);
        if (m === undefined || wamid === undefined || from === undefined || wamid.length > 512) continue;
        messages.push({ wamid, from, name: names.get(from), phoneNumberId, ...contentOf(m) });
      }
      for (const raw of arr(value.statuses)) {
        const s = obj(raw);
        const wamid = str(s?.id);
        const status = STATUSES.find((x) => x === s?.status);
        if (wamid === undefined || status === undefined) continue;
        const error = obj(arr(s?.errors)[0]);
        statuses.push({
          wamid,
          status,
          phoneNumberId,
          errorCode: typeof error?.code === 'number' ? error.code : null,
          errorTitle: str(error?.title) ?? str(error?.message) ?? null,
        });
      }
    }
  }
  return { messages, statuses };
}
