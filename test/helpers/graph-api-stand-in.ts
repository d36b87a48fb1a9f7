/**
 * A stand-in for Meta's Graph API (WhatsApp Cloud API) on loopback, speaking the documented
 * shapes: `POST /{version}/{phone-number-id}/messages` answers
 * `{ messaging_product, contacts: [{ input, wa_id }], messages: [{ id: "wamid…" }] }`;
 * `GET /{version}/{media-id}` answers `{ messaging_product, url, mime_type, sha256, file_size, id }`,
 * and that url serves the bytes. Every request must carry `Authorization: Bearer <token>`;
 * otherwise, or when a test says so, it answers Meta's error shape
 * `{ error: { message, type, code, error_data: { messaging_product, details }, fbtrace_id } }`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SentMessage {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  // biome-ignore lint/suspicious/noExplicitAny: tests assert on the exact JSON the channel sent.
  readonly body: any;
  /** The wamid answered, or undefined when the send was refused. */
  readonly wamid: string | undefined;
}

export interface MetaErrorAnswer {
  readonly status: number;
  readonly code: number;
  readonly message: string;
  readonly details?: string;
}

export interface StandInMedia {
  readonly bytes: Buffer;
  readonly mimeType: string;
  /** The Content-Type the file URL answers with (default: mimeType). */
  readonly servedAs?: string;
  /** The origin the lookup names for the file (default: the stand-in's own). */
  readonly fileOrigin?: string;
}

export interface GraphApiStandIn {
  /** The base to set as RELEVO_WHATSAPP_GRAPH_URL. */
  readonly url: string;
  /** Every send, refused or not, in arrival order. */
  readonly sent: SentMessage[];
  /** Media lookups and file downloads, by path. */
  readonly mediaRequests: string[];
  /** The access token it accepts (a wrong one gets error 190). */
  token: string;
  /** Decides the answer to each send: undefined accepts it. */
  answerSends(
    fn: (body: SentMessage['body'], index: number, path: string) => MetaErrorAnswer | undefined,
  ): void;
  addMedia(id: string, media: StandInMedia): void;
  waitForSends(n: number, timeoutMs?: number): Promise<SentMessage[]>;
  close(): Promise<void>;
}

export const META_ERRORS = {
  outsideWindow: {
    status: 400,
    code: 131047,
    message: '(#131047) Re-engagement message',
    details:
      'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
  },
  unreachable: {
    status: 400,
    code: 131026,
    message: '(#131026) Message undeliverable',
    details: 'Unable to deliver message.',
  },
  throughput: {
    status: 400,
    code: 130429,
    message: '(#130429) Rate limit hit',
    details: 'Cloud API message throughput has been reached.',
  },
  pairRate: {
    status: 400,
    code: 131056,
    message: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
  },
  invalidToken: {
    status: 401,
    code: 190,
    message: 'Error validating access token: Session has expired.',
  },
  serverError: { status: 500, code: 131000, message: 'Something went wrong' },
} as const satisfies Record<string, MetaErrorAnswer>;

function errorBody(e: MetaErrorAnswer): string {
  return JSON.stringify({
    error: {
      message: e.message,
      type: 'OAuthException',
      code: e.code,
      error_data: { messaging_product: 'whatsapp', details: e.details ?? e.message },
      fbtrace_id: `A${randomBytes(8).toString('hex')}`,
    },
  });
}

export async function startGraphApiStandIn(token = 'EAAG-test-access-token'): Promise<GraphApiStandIn> {
  const sent: SentMessage[] = [];
  const mediaRequests: string[] = [];
  const media = new Map<string, StandInMedia>();
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let answer: (body: SentMessage['body'], index: number, path: string) => MetaErrorAnswer | undefined = () =>
    undefined;
  let base = '';
  const state = { token };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      const fail = (e: MetaErrorAnswer) => {
        res.writeHead(e.status, { 'content-type': 'application/json' }).end(errorBody(e));
      };
      const authorised = req.headers.authorization === `Bearer ${state.token}`;
      const send = /^\/v\d+\.\d+\/(\d+)\/messages$/.exec(path);
      if (req.method === 'POST' && send) {
        let body: SentMessage['body'];
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        const refusal = authorised ? answer(body, sent.length, path) : META_ERRORS.invalidToken;
        const wamid = refusal === undefined ? `wamid.${randomBytes(18).toString('base64url')}` : undefined;
        sent.push({ path, headers: req.headers, body, wamid });
        for (const w of waiters.splice(0)) {
          if (sent.length >= w.n) w.resolve();
          else waiters.push(w);
        }
        if (refusal !== undefined) return fail(refusal);
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            messaging_product: 'whatsapp',
            contacts: [{ input: body?.to, wa_id: body?.to }],
            messages: [{ id: wamid }],
          }),
        );
        return;
      }
      const lookup = /^\/v\d+\.\d+\/([A-Za-z0-9_-]+)$/.exec(path);
      const file = /^\/files\/([A-Za-z0-9_-]+)$/.exec(path);
      if (req.method === 'GET' && (lookup || file)) {
        mediaRequests.push(path);
        if (!authorised) return fail(META_ERRORS.invalidToken);
        const id = (lookup ?? file)?.[1] ?? '';
        const m = media.get(id);
        if (m === undefined) {
          return fail({
            status: 404,
            code: 100,
            message: 'Unsupported get request.',
            details: 'no such media',
          });
        }
        if (lookup) {
          res.writeHead(200, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              messaging_product: 'whatsapp',
              url: `${m.fileOrigin ?? base}/files/${id}`,
              mime_type: m.mimeType,
              sha256: createHash('sha256').update(m.bytes).digest('hex'),
              file_size: m.bytes.length,
              id,
            }),
          );
          return;
        }
        res.writeHead(200, { 'content-type': m.servedAs ?? m.mimeType }).end(m.bytes);
        return;
      }
      fail({ status: 404, code: 100, message: 'Unknown path components', details: path });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    sent,
    mediaRequests,
    get token() {
      return state.token;
    },
    set token(t: string) {
      state.token = t;
    },
    answerSends(fn) {
      answer = fn;
    },
    addMedia(id, m) {
      media.set(id, m);
    },
    waitForSends(n, timeoutMs = 15_000) {
      if (sent.length >= n) return Promise.resolve(sent.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`the Graph API stand-in got ${sent.length} sends, not ${n}, in ${timeoutMs} ms`),
            ),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve(sent.slice());
          },
        });
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
