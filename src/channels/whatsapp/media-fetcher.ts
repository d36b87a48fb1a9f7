/**
 * The user's media, fetched through the Graph API (docs/channels.md, "WhatsApp"): `GET
 * {graph}/{version}/{media-id}` with the access token answers `{ url, mime_type, file_size }`;
 * `GET {url}` with the same token answers the bytes. Meta's URL expires after minutes but the
 * media id stays readable for weeks, so relevo keeps the bytes in its database and serves them
 * itself. A file is fetched right after the webhook is answered, and again when it is asked for
 * while it is still missing; one fetch per file at a time.
 *
 * The file's URL comes from an answer, not from the configuration, so it passes the network
 * policy a webhook URL does (no private or loopback address unless RELEVO_WEBHOOK_ALLOW lists
 * it) and no redirect is followed: the access token goes only where the policy allows.
 */
import type { FastifyBaseLogger } from 'fastify';
import { type AllowList, checkWebhookUrl, type Resolver } from '../../delivery/network-policy.js';
import type { ChannelMedia } from '../../model/types.js';
import type { Store } from '../../storage/store.js';
import { describe, mediaUrl, metaErrorOf } from './cloud-api.js';
import { bareMimeType } from './webhook-payload.js';

/**
 * 16 MiB: WhatsApp's own limit for audio and video (images are at most 5 MB); a larger document
 * (Meta allows 100 MB) is refused rather than held in the database.
 */
export const MEDIA_MAX_BYTES = 16 * 1024 * 1024;

export class MediaFetcher {
  private readonly inFlight = new Map<string, Promise<ChannelMedia | string>>();

  constructor(
    private readonly o: {
      readonly store: Store;
      readonly graphUrl: string;
      readonly timeoutMs: number;
      readonly log: FastifyBaseLogger;
      readonly clock: () => number;
      readonly allowList: AllowList;
      readonly resolve: Resolver;
    },
  ) {}

  /** The file with its bytes, or why it could not be fetched (also recorded on its row). */
  fetch(media: ChannelMedia): Promise<ChannelMedia | string> {
    if (media.data !== null) return Promise.resolve(media);
    let p = this.inFlight.get(media.id);
    if (p === undefined) {
      p = this.fetchAndKeep(media).finally(() => this.inFlight.delete(media.id));
      this.inFlight.set(media.id, p);
    }
    return p;
  }

  private async fetchAndKeep(media: ChannelMedia): Promise<ChannelMedia | string> {
    let outcome: { data: Buffer; mimeType: string } | { error: string };
    try {
      outcome = await this.download(media);
    } catch (e) {
      outcome = { error: `the Graph API could not be reached: ${(e as Error).message}` };
    }
    await this.o.store.statement((q) => q.whatsapp.fillMedia(media.id, outcome, this.o.clock()));
    if ('error' in outcome) {
      this.o.log.warn(
        { botId: media.botId, mediaId: media.mediaId, reason: outcome.error },
        'WhatsApp media not fetched',
      );
      return outcome.error;
    }
    return { ...media, data: outcome.data, mimeType: outcome.mimeType, error: null };
  }

  private async download(
    media: ChannelMedia,
  ): Promise<{ data: Buffer; mimeType: string } | { error: string }> {
    const channel = await this.o.store.queries.bots.getChannel(media.botId);
    const wa = channel?.whatsapp;
    if (wa == null) return { error: "the bot's WhatsApp channel is not configured" };
    const auth = { authorization: `Bearer ${wa.accessToken}` };
    const info = await fetch(mediaUrl(this.o.graphUrl, wa.graphApiVersion, media.mediaId), {
      headers: auth,
      redirect: 'error',
      signal: AbortSignal.timeout(this.o.timeoutMs),
    });
    const infoText = await info.text();
    if (!info.ok) {
      const e = metaErrorOf(infoText);
      return { error: `media lookup answered ${info.status}${e === undefined ? '' : ` (${describe(e)})`}` };
    }
    let meta: { url?: unknown; mime_type?: unknown; file_size?: unknown };
    try {
      meta = JSON.parse(infoText) as typeof meta;
    } catch {
      return { error: 'the media lookup did not answer JSON' };
    }
    if (typeof meta.url !== 'string' || !/^https?:\/\//i.test(meta.url)) {
      return { error: 'the media lookup answered no http(s) url' };
    }
    const size = Number(meta.file_size);
    if (Number.isFinite(size) && size > MEDIA_MAX_BYTES) {
      return { error: `the file has ${size} bytes, over the ${MEDIA_MAX_BYTES} relevo keeps` };
    }
    const expected = bareMimeType(
      typeof meta.mime_type === 'string' ? meta.mime_type : undefined,
      media.mimeType,
    );
    const allowed = await checkWebhookUrl(meta.url, this.o.allowList, this.o.resolve, media.botId);
    if (!allowed.ok) return { error: `the media URL ${allowed.reason}` };
    const file = await fetch(allowed.url, {
      headers: auth,
      redirect: 'error',
      signal: AbortSignal.timeout(this.o.timeoutMs),
    });
    if (!file.ok || file.body === null) {
      await file.body?.cancel();
      return { error: `the media URL answered ${file.status}` };
    }
    const got = bareMimeType(file.headers.get('content-type') ?? undefined, '');
    // The bytes must be what Meta announced: an HTML error page served with a 200 is not a photo.
    if (got !== expected) {
      await file.body.cancel();
      return { error: `the media URL answered ${got === '' ? 'no content type' : got}, not ${expected}` };
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of file.body) {
      total += chunk.length;
      if (total > MEDIA_MAX_BYTES) {
        return { error: `the file is larger than the ${MEDIA_MAX_BYTES} bytes relevo keeps` };
      }
      chunks.push(Buffer.from(chunk));
    }
    return { data: Buffer.concat(chunks), mimeType: expected };
  }
}
