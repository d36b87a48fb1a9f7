/**
 * Meta's WhatsApp Cloud API as relevo speaks it (docs/channels.md, "WhatsApp"): the body of
 * `POST {graph}/{version}/{phoneNumberId}/messages` for each of relevo's five message types, the
 * message id (wamid) of its answer, and what its error answers mean for the delivery.
 */
import type { ChannelVerdict } from '../channel.js';

/** The end user's WhatsApp id inside relevo's referenceId: `whatsapp:<wa_id>`. */
export const WA_REFERENCE_PREFIX = 'whatsapp:';

export function referenceOf(waId: string): string {
  return `${WA_REFERENCE_PREFIX}${waId}`;
}

/**
 * Whom to send to: the wa_id kept in the referenceId, or a referenceId that is itself a phone
 * number (an end user created through the admin API with one); undefined otherwise.
 */
export function recipientOf(referenceId: string | null): string | undefined {
  if (referenceId === null) return undefined;
  const id = referenceId.startsWith(WA_REFERENCE_PREFIX)
    ? referenceId.slice(WA_REFERENCE_PREFIX.length)
    : referenceId;
  const digits = id.replace(/^\+/, '');
  return /^\d{5,20}$/.test(digits) ? digits : undefined;
}

export function messagesUrl(graphUrl: string, version: string, phoneNumberId: string): string {
  return `${graphUrl}/${encodeURIComponent(version)}/${encodeURIComponent(phoneNumberId)}/messages`;
}

export function mediaUrl(graphUrl: string, version: string, mediaId: string): string {
  return `${graphUrl}/${encodeURIComponent(version)}/${encodeURIComponent(mediaId)}`;
}

/** A relevo message as the Cloud API's send body: media go by `link`, so Meta fetches them. */
export function sendBody(to: string, type: string, content: Record<string, unknown>): string {
  const str = (k: string): string | undefined =>
    typeof content[k] === 'string' ? (content[k] as string) : undefined;
  let part: Record<string, string>;
  switch (type) {
    case 'text':
      part = { body: str('body') ?? '' };
      break;
    case 'image':
    case 'video':
      part = { link: str('url') ?? '', ...optional('caption', str('caption')) };
      break;
    case 'audio':
      part = { link: str('url') ?? '' };
      break;
    default:
      // document: Meta shows the filename, and a caption under it; relevo's document has no
      // caption of its own, so the file name is both.
      part = { link: str('url') ?? '', ...optional('filename', str('filename')) };
      break;
  }
  return JSON.stringify({
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to,
    type,
    [type]: part,
  });
}

function optional(key: string, value: string | undefined): Record<string, string> {
  return value === undefined ? {} : { [key]: value };
}

/** The wamid of a send's 2xx answer (`messages[0].id`). */
export function wamidOf(answer: string): string | undefined {
  try {
    const parsed = JSON.parse(answer) as { messages?: Array<{ id?: unknown }> };
    const id = parsed.messages?.[0]?.id;
    return typeof id === 'string' && id !== '' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Meta's error object (`{ error: { message, type, code, error_data: { details }, fbtrace_id } }`). */
export interface MetaError {
  readonly code: number;
  readonly message: string;
  readonly details: string | undefined;
}

export function metaErrorOf(body: string | null | undefined): MetaError | undefined {
  if (body == null || body === '') return undefined;
  try {
    const e = (JSON.parse(body) as { error?: Record<string, unknown> }).error;
    if (typeof e !== 'object' || e === null || typeof e.code !== 'number') return undefined;
    const data = e.error_data as { details?: unknown } | undefined;
    return {
      code: e.code,
      message: typeof e.message === 'string' ? e.message : '',
      details: typeof data?.details === 'string' ? data.details : undefined,
    };
  } catch {
    return undefined;
  }
}

/** 190: the access token expired or was revoked; nothing can be sent until it is replaced. */
export const INVALID_TOKEN = 190;
/**
 * Worth sending again later: Meta's throughput and rate limits (4 app calls, 80007 account,
 * 130429 throughput, 131048 spam rate, 131056 pair rate) and its own temporary failures (1
 * unknown, 2 service, 131000 something went wrong, 131016 service unavailable).
 */
const RETRIED = new Set([1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056]);
/** Outside the 24-hour customer-service window (131047), or the user cannot be reached (131026). */
export const UNDELIVERABLE = new Set([131047, 131026]);

export function describe(e: MetaError): string {
  // Meta often repeats the message as the details: say it once.
  const details = e.details === e.message ? undefined : e.details;
  const text = [e.message, details].filter((t) => t !== undefined && t !== '').join(' — ');
  return `WhatsApp error ${e.code}${text === '' ? '' : `: ${text}`}`;
}

/**
 * What a non-2xx answer means. Meta's code decides where there is one: 190 stops the channel's
 * sending; throttling and Meta's temporary failures are retried on the schedule; 131047, 131026
 * and every other error of the request itself (a bad parameter, an unsupported type, a blocked
 * account) are not retried — sending the same request again gets the same answer, and a message
 * waiting for a retry holds back every later message of its room. A 5xx, or an answer without
 * Meta's error object (a proxy's 502, a 429), is retried on the schedule.
 */
export function judge(status: number | null, body: string | null): ChannelVerdict | undefined {
  const e = metaErrorOf(body);
  if (e === undefined) return undefined;
  const reason = describe(e);
  if (e.code === INVALID_TOKEN) return { action: 'disable', reason };
  if (RETRIED.has(e.code) || (status !== null && status >= 500)) return { action: 'retry', reason };
  return { action: 'dead', reason };
}
