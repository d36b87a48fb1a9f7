/**
 * Rasa's REST input channel, as relevo speaks it (docs/bots.md, "rasa"): the request for one
 * queued event, and the parts of Rasa's answer relevo understands. Pure functions: what to do
 * with them is rasa-answer.ts's job.
 */
import type { ConversationCloseEvent } from '../../model/events.js';
import type { Assignment, AssignmentType, OutboxEvent } from '../../model/types.js';

/** Where Rasa's REST channel listens on a Rasa server. */
export function rasaWebhookUrl(server: string): string {
  return `${server.replace(/\/+$/, '')}/webhooks/rest/webhook`;
}

/** The queued message event's parts that Rasa's request needs (the panel's §4.9 shape). */
interface QueuedMessage {
  readonly room_id: string;
  readonly project_id: string;
  readonly contact: { readonly id: string };
  readonly bot: { readonly id: string };
  readonly value: { readonly type: string; readonly content: Readonly<Record<string, unknown>> };
}

/** What Rasa hears of a text: its body; of media, its caption or file name (docs/bots.md). */
function textOf(m: QueuedMessage['value']): string {
  const c = m.content;
  const text = m.type === 'text' ? c.body : (c.caption ?? c.filename);
  return typeof text === 'string' ? text : '';
}

/** The request body for a queued user message or hand-back; undefined for anything else. */
export function rasaRequestBody(event: OutboxEvent): string | undefined {
  if (event.type === 'message') {
    const m = JSON.parse(event.payload) as QueuedMessage;
    return JSON.stringify({
      sender: m.contact.id,
      message: textOf(m.value),
      metadata: { roomId: m.room_id, botId: m.bot.id, projectId: m.project_id, type: m.value.type },
    });
  }
  if (event.type === 'conversation.close') {
    const c = JSON.parse(event.payload) as ConversationCloseEvent;
    return JSON.stringify({
      sender: c.contact.id,
      message: '/handback',
      metadata: { redirectPayload: c.value.redirect_payload ?? null },
    });
  }
  return undefined;
}

/** The user's text of a queued message: what a handoff passes on as initial_message. */
export function queuedText(event: OutboxEvent): string | undefined {
  if (event.type !== 'message') return undefined;
  const text = textOf((JSON.parse(event.payload) as QueuedMessage).value);
  return text === '' ? undefined : text;
}

export type RasaItem =
  | { readonly kind: 'text'; readonly body: string }
  | { readonly kind: 'image'; readonly url: string }
  | {
      readonly kind: 'handoff';
      readonly assignment?: Assignment | undefined;
      readonly initialMessage?: string | undefined;
    };

export interface RasaAnswer {
  readonly items: readonly RasaItem[];
  /** What could not be used, for the attempt's log; null when everything was. */
  readonly problem: string | null;
}

const ASSIGNMENT_TYPES: readonly AssignmentType[] = ['queue', 'operator', 'team'];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function assignmentOf(v: unknown): Assignment | undefined | null {
  if (v === undefined) return undefined;
  if (!isObject(v)) return null;
  const { type, target } = v;
  if (typeof type !== 'string' || !ASSIGNMENT_TYPES.includes(type as AssignmentType)) return null;
  if (typeof target !== 'string' || target === '') return null;
  return { type: type as AssignmentType, target };
}

/** The custom `handoff` element (docs/bots.md); null when it is not one, or not a valid one. */
function handoffOf(custom: unknown): RasaItem | null {
  if (!isObject(custom) || !isObject(custom.handoff)) return null;
  const { assignment, initialMessage } = custom.handoff;
  const a = assignmentOf(assignment);
  if (a === null) return null;
  if (initialMessage !== undefined && typeof initialMessage !== 'string') return null;
  return {
    kind: 'handoff',
    assignment: a,
    initialMessage: initialMessage === '' ? undefined : initialMessage,
  };
}

/**
 * Rasa's answer: a JSON array whose elements carry `text`, `image`, `buttons` or `custom` (one
 * element may carry several, in that order). Buttons become one text listing their titles, since
 * a channel may not draw buttons. Anything else is skipped and named in `problem`.
 */
export function readRasaAnswer(body: string): RasaAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body === '' ? '[]' : body);
  } catch {
    return { items: [], problem: 'Rasa answered something that is not JSON; nothing was relayed' };
  }
  if (!Array.isArray(parsed)) {
    return { items: [], problem: 'Rasa answered something that is not a JSON array; nothing was relayed' };
  }
  const items: RasaItem[] = [];
  const skipped: number[] = [];
  parsed.forEach((element: unknown, i) => {
    if (!isObject(element)) {
      skipped.push(i);
      return;
    }
    let used = false;
    if (typeof element.text === 'string' && element.text !== '') {
      items.push({ kind: 'text', body: element.text });
      used = true;
    }
    if (typeof element.image === 'string' && element.image !== '') {
      items.push({ kind: 'image', url: element.image });
      used = true;
    }
    if (Array.isArray(element.buttons)) {
      const titles = element.buttons
        .map((b: unknown) => (isObject(b) && typeof b.title === 'string' ? b.title : ''))
        .filter((t) => t !== '');
      if (titles.length > 0) {
        items.push({ kind: 'text', body: titles.map((t) => `• ${t}`).join('\n') });
        used = true;
      }
    }
    if (element.custom !== undefined) {
      const handoff = handoffOf(element.custom);
      if (handoff !== null) {
        items.push(handoff);
        used = true;
      }
    }
    if (!used) skipped.push(i);
  });
  const problem =
    skipped.length === 0
      ? null
      : `Rasa's answer had ${skipped.length} element(s) relevo does not understand (index ${skipped.join(', ')}); they were skipped`;
  return { items, problem };
}
