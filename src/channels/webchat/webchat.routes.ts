/**
 * The built-in web chat over HTTP: the page, sessions, history, sending, and the live stream.
 * These are relevo's own routes (not the external-support API), served once at the root. Every
 * call but the page and session creation carries the visitor's session token, and reaches only
 * that visitor's room with this bot. Answers are plain JSON; errors use the error envelope.
 */

import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { openRoom } from '../../domain/messages/inbound.service.js';
import { createEndUser } from '../../domain/projects/project.service.js';
import { ApiError, problemMap, type ValidationErrors, validationError } from '../../errors.js';
import { authenticated, clientKey, retryAfterSeconds } from '../../http/rate-limit.js';
import type { RouteDeps } from '../../http/routes/route-deps.js';
import { TokenBuckets } from '../../http/token-buckets.js';
import type { Bot, Message } from '../../model/types.js';
import { originOf } from '../../observability/request-origin.js';
import { SentWindow } from './sent-window.js';
import { StreamLimits, type StreamTicket } from './stream-limits.js';
import { webchatAssets } from './webchat-assets.js';
import { HandoffTracker } from './webchat-handoff.js';
import { type RoomListener, WebchatHub } from './webchat-hub.js';
import { chatPage, notFoundPage, pageSecurityPolicy, wantsHtml } from './webchat-page.js';
import { clientMessageIdOf, parseVisitorMessage, sendFromVisitor } from './webchat-send.js';
import {
  bearerToken,
  newSessionToken,
  type Session,
  sessionOf,
  sessionReference,
  webchatBot,
} from './webchat-session.js';
import { missingWidgetScript, widgetScript } from './webchat-widget.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The web chat's live fan-out (tests look at it to check that streams clean up). */
    webchatHub: WebchatHub;
  }
}

/** Same limit as end users' names in the admin API. */
const NAME_MAX = 200;
const DEFAULT_NAME = 'Web visitor';
const PAGE_DEFAULT = 100;
const PAGE_MAX = 200;
const MESSAGE_ID = /^msg_[0-9a-z]{26}$/;
/** How often refilled session buckets are forgotten. */
const SWEEP_EVERY_MS = 60_000;
/** A comment line every so often keeps proxies and browsers from closing an idle stream. */
export const HEARTBEAT_MS = 15_000;
/**
 * A client this far behind is dropped; it reconnects with Last-Event-ID and reads the rest.
 * 256 KiB holds a few hundred chat messages; at 1 MiB, 1 000 paused streams held ~0.6 GB.
 */
export const MAX_BUFFERED_BYTES = 256 * 1024;

/** What the browser gets for a message: no project or conversation internals. */
export interface WebchatMessage {
  readonly id: string;
  readonly sender: Message['sender'];
  readonly type: Message['type'];
  readonly content: Record<string, unknown>;
  readonly createdAt: string;
  /** The page's own id of a visitor's message, when it sent one (never the panel's ids). */
  readonly clientMessageId?: string;
}

export function messageView(m: Message): WebchatMessage {
  const view: WebchatMessage = {
    id: m.id,
    sender: m.sender,
    type: m.type,
    content: m.content,
    createdAt: new Date(m.createdAt).toISOString(),
  };
  const clientMessageId = clientMessageIdOf(m);
  return clientMessageId === undefined ? view : { ...view, clientMessageId };
}

type BotParams = { botId: string };

const HIDDEN = { hide: true };

function objectOrEmpty(raw: unknown, errors: ValidationErrors): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    errors.body = ['must be a JSON object'];
    return {};
  }
  return raw as Record<string, unknown>;
}

function parseSessionBody(raw: unknown): string {
  const errors = problemMap();
  const body = objectOrEmpty(raw, errors);
  for (const key of Object.keys(body)) {
    if (key !== 'name') errors[key] = ['is not a known field'];
  }
  let names = DEFAULT_NAME;
  if (body.name !== undefined) {
    const name = typeof body.name === 'string' ? body.name.trim() : undefined;
    if (name === undefined) errors.name = ['must be a string'];
    else if (name.length === 0) errors.name = ['must not be empty'];
    else if ([...name].length > NAME_MAX) errors.name = [`must be at most ${NAME_MAX} characters`];
    else names = name;
  }
  if (Object.keys(errors).length > 0) throw validationError(errors);
  return names;
}

/** Query parameters, each checked by hand so a refusal names exactly the parameter. */
function parseQuery(
  raw: unknown,
  allowed: readonly string[],
): { after: string | undefined; limit: number; token: string | undefined } {
  const q = (raw ?? {}) as Record<string, unknown>;
  const errors = problemMap();
  for (const key of Object.keys(q)) {
    if (!allowed.includes(key)) errors[key] = ['is not a known parameter'];
  }
  const after = q.after;
  if (after !== undefined && (typeof after !== 'string' || !MESSAGE_ID.test(after))) {
    errors.after = ['must be the id of a message (msg_…)'];
  }
  let limit = PAGE_DEFAULT;
  if (q.limit !== undefined) {
    // Digits only: Number() would also read "1e2", " 5" and "0x10".
    limit = typeof q.limit === 'string' && /^\d{1,4}$/.test(q.limit) ? Number(q.limit) : Number.NaN;
    if (!(limit >= 1 && limit <= PAGE_MAX)) errors.limit = [`must be a whole number from 1 to ${PAGE_MAX}`];
  }
  if (Object.keys(errors).length > 0) throw validationError(errors);
  return {
    after: after as string | undefined,
    limit,
    token: typeof q.token === 'string' ? q.token : undefined,
  };
}

/** X-Frame-Options can say only "same origin" or "nobody"; for any other list it is left out. */
function frameOptionsFor(ancestors: readonly string[]): string | undefined {
  if (ancestors.length !== 1) return undefined;
  return ancestors[0] === "'self'" ? 'SAMEORIGIN' : ancestors[0] === "'none'" ? 'DENY' : undefined;
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}

export function webchatRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store } = deps;
  // The page's built files, read now: a missing build stops the start, not a visitor's request.
  webchatAssets();
  const hub = new WebchatHub();
  store.onCommitted(hub.publish);
  app.decorate('webchatHub', hub);

  // Open streams never finish on their own: shutdown ends them, or close() would wait forever.
  // Browsers reconnect (to another node, or to this one once it is back).
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...openStreams]) end();
  });
  const streamLimits = new StreamLimits({
    perSession: deps.config.webchatStreamsPerSession,
    perAddress: deps.config.webchatStreamsPerAddress,
  });
  // Each session is a user, a room and a greeting on disk: without a limit one client made
  // 6 000 in 2.7 s. Per address, like the failure throttle; a burst covers a family or an office
  // behind one address opening the chat at once.
  const rate = deps.config.webchatSessionRate;
  const sessionBuckets = new TokenBuckets(rate.requests, rate.periodMs);
  const sweep = setInterval(() => sessionBuckets.sweep(), SWEEP_EVERY_MS);
  sweep.unref();
  app.addHook('onClose', async () => clearInterval(sweep));
  // Heartbeats must come well within the idle timeout, or they could not keep a live stream open.
  const heartbeatMs = Math.min(HEARTBEAT_MS, Math.floor(deps.config.webchatStreamIdleTimeoutMs / 3));

  const authorised = async (request: FastifyRequest<{ Params: BotParams }>) => {
    const bot = await webchatBot(store.queries, request.params.botId);
    const session = await sessionOf(store.queries, bot, bearerToken(request.headers.authorization));
    authenticated(request);
    return { bot, session };
  };

  // Who may frame the page: the plain page, RELEVO_WEBCHAT_FRAME_ANCESTORS ('self' by default,
  // against clickjacking); the widget's variant (?embed=1), any site, since one script tag on any
  // site is the widget's promise, unless the operator listed the sites (or 'none') in that same
  // setting: then those, for both. A framed chat holds nothing of the host page's, and the host
  // page cannot read the frame.
  const frameAncestors = deps.config.webchatFrameAncestors;
  const restricted = !(frameAncestors.length === 1 && frameAncestors[0] === "'self'");
  const embedAncestors = restricted ? frameAncestors : ['*'];

  app.get<{ Params: BotParams }>('/webchat/:botId', { schema: HIDDEN }, async (request, reply) => {
    const nonce = randomBytes(16).toString('base64');
    const embed = (request.query as Record<string, unknown> | undefined)?.embed === '1';
    const ancestors = embed ? embedAncestors : frameAncestors;
    reply
      .header('content-security-policy', pageSecurityPolicy(nonce, ancestors))
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .type('text/html; charset=utf-8');
    // For browsers that predate frame-ancestors; it can only say "same origin" or "nobody", so
    // it is left out when the operator lists other sites.
    const frameOptions = frameOptionsFor(ancestors);
    if (frameOptions !== undefined) reply.header('x-frame-options', frameOptions);
    const bot = await store.queries.bots.getById(request.params.botId);
    if (bot === undefined || bot.channel !== 'webchat') {
      // A browser gets a page a person can read; an API client the error envelope.
      if (!wantsHtml(request.headers.accept)) await webchatBot(store.queries, request.params.botId);
      return reply.code(404).send(notFoundPage(nonce));
    }
    return reply.send(chatPage({ botName: bot.name, nonce, embed }));
  });

  // The embeddable launcher. Any site may load it (Cross-Origin-Resource-Policy), including one
  // that sends Cross-Origin-Embedder-Policy; it reveals only the bot's name.
  app.get<{ Params: BotParams }>('/webchat/:botId/widget.js', { schema: HIDDEN }, async (request, reply) => {
    reply
      .type('text/javascript; charset=utf-8')
      .header('x-content-type-options', 'nosniff')
      .header('cross-origin-resource-policy', 'cross-origin');
    const bot = await store.queries.bots.getById(request.params.botId);
    if (bot === undefined || bot.channel !== 'webchat') {
      // Not cached: once the bot exists, the same tag shows the button.
      return reply.header('cache-control', 'no-store').send(missingWidgetScript(request.params.botId));
    }
    // Five minutes: a renamed bot's button says the new name soon, and a site's visitors do not
    // fetch the script on every page view.
    return reply
      .header('cache-control', 'public, max-age=300')
      .send(widgetScript(bot, restricted ? frameAncestors : null));
  });

  app.post<{ Params: BotParams }>('/webchat/:botId/sessions', { schema: HIDDEN }, async (request, reply) => {
    const waitMs = sessionBuckets.take(clientKey(request.ip));
    if (waitMs > 0) {
      const seconds = retryAfterSeconds(waitMs);
      throw new ApiError(
        'rate_limited',
        `This address has opened too many web chat sessions; retry in ${seconds} seconds, or keep using the session you have.`,
        {},
        { headers: { 'retry-after': String(seconds) } },
      );
    }
    const bot = await webchatBot(store.queries, request.params.botId);
    const names = parseSessionBody(request.body);
    const token = newSessionToken();
    const now = deps.clock();
    const { user, room } = await store.transaction(async (tx) => {
      const created = await createEndUser(tx, bot.projectId, names, sessionReference(token), now);
      // The room opens now, with the bot's greeting, so the visitor is greeted before typing.
      const opened = await openRoom(tx, bot, created, now);
      return { user: created, room: opened.room };
    });
    return noStore(reply).code(201).send({ sessionToken: token, userId: user.id, roomId: room.id });
  });

  app.get<{ Params: BotParams }>('/webchat/:botId/messages', { schema: HIDDEN }, async (request, reply) => {
    const { session } = await authorised(request);
    const { after, limit } = parseQuery(request.query, ['after', 'limit']);
    const page = await store.queries.messages.listOfRoom(session.room.id, { after, limit });
    return noStore(reply).send({ messages: page.items.map(messageView), nextCursor: page.nextCursor });
  });

  app.post<{ Params: BotParams }>('/webchat/:botId/messages', { schema: HIDDEN }, async (request, reply) => {
    const { bot, session } = await authorised(request);
    const visitor = parseVisitorMessage(request.body);
    const message = await sendFromVisitor(store, {
      bot,
      session,
      visitor,
      now: deps.clock(),
      origin: originOf(request),
    });
    return noStore(reply).code(202).send({ messageId: message.id });
  });

  // Server-Sent Events. EventSource cannot set request headers, so the session token comes in
  // the query string; this route logs at warn and above only, so the URL (and the token) stays
  // out of the request log.
  app.get<{ Params: BotParams }>(
    '/webchat/:botId/stream',
    { schema: HIDDEN, logLevel: 'warn' },
    async (request, reply) => {
      const bot = await webchatBot(store.queries, request.params.botId);
      const query = parseQuery(request.query, ['token', 'after']);
      const session = await sessionOf(store.queries, bot, query.token);
      // The stream stays open for as long as the visitor reads: its place in the failure
      // throttle goes back now, not when it ends.
      authenticated(request);
      // A reconnecting EventSource says where it stopped; that wins over the URL's `after`.
      const lastEventId = request.headers['last-event-id'];
      const resumeFrom =
        typeof lastEventId === 'string' && MESSAGE_ID.test(lastEventId) ? lastEventId : query.after;
      // Counted before the hijack, so that an address over its cap gets the 429 envelope.
      const closer = { supersede: () => {} };
      const ticket = streamLimits.admit(session.room.id, clientKey(request.ip), () => closer.supersede());
      reply.hijack();
      closer.supersede = stream(reply, bot, session, resumeFrom, ticket);
    },
  );

  /** Serves one stream; returns what ends it when a newer stream of its session takes its place. */
  function stream(
    reply: FastifyReply,
    bot: Bot,
    session: Session,
    after: string | undefined,
    ticket: StreamTicket,
  ): () => void {
    const res = reply.raw;
    // Headers set before the hijack (the request id) are not sent by Fastify any more.
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) res.setHeader(name, value);
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Reverse proxies that buffer responses (nginx) would hold messages back.
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n\n');

    // What was sent, shared by the backlog, the live push and the catch-up read: ids sort by
    // creation, but may commit out of order (sent-window.ts).
    const sentIds = new SentWindow(after ?? '');
    let live = false;
    let reading = false;
    let ended = false;
    const early: Message[] = [];
    const handoff = new HandoffTracker(store.queries, bot);

    const write = (text: string) => {
      if (text === '' || ended) return;
      res.write(text);
      // Destroyed, not ended: end() would keep the unread bytes (and the socket) until they drain.
      if (res.writableLength > MAX_BUFFERED_BYTES) end(true);
    };
    // One writer at a time: a handoff frame may need a read first, and must still come out
    // between the same two messages as the change it reports.
    let writing = Promise.resolve();
    const serially = (task: () => Promise<void>): Promise<void> => {
      writing = writing
        .then(() => (ended ? undefined : task()))
        .catch((err: unknown) => {
          reply.log.error({ err }, 'web chat stream: reading the conversation failed');
          end();
        });
      return writing;
    };
    /** Sends `m` with the handoff frames before it; true when it went out now. */
    const sendOne = async (m: Message): Promise<boolean> => {
      if (!sentIds.isNew(m.id)) return false;
      const before = await handoff.before(m);
      if (ended || !sentIds.isNew(m.id)) return false;
      write(before);
      sentIds.sent(m.id);
      write(`id: ${m.id}\ndata: ${JSON.stringify(messageView(m))}\n\n`);
      return true;
    };
    /**
     * Sends every message not sent yet, then says who has the room now. The room's state is read
     * before its messages: a change committed before that read has its messages (the bot's
     * handoff reply commits with the start) visible to the list after it, so a list with nothing
     * new means the state read is not ahead of what the page was sent. Otherwise (the visitor's
     * next message and the bot's handoff committed while the last reply was being sent: seen on
     * PostgreSQL) the page would be told "person" before the messages that led there.
     */
    const settle = async () => {
      for (;;) {
        const active = await store.queries.conversations.getActive(session.room.id);
        let any = false;
        let from = sentIds.readFrom();
        for (;;) {
          const page = await store.queries.messages.listOfRoom(session.room.id, {
            after: from,
            limit: PAGE_MAX,
          });
          for (const m of page.items) if (await sendOne(m)) any = true;
          if (page.nextCursor === null || ended) break;
          from = page.nextCursor;
        }
        if (ended) return;
        if (!any) return write(await handoff.at(active));
      }
    };
    const send = (m: Message): Promise<void> =>
      serially(async () => {
        // The bot's handoff reply is committed with the conversation's start, and no message of
        // the conversation may follow for a while: look now rather than at the next heartbeat.
        if ((await sendOne(m)) && live && m.sender === 'bot') await settle();
      });
    const readSince = () => serially(settle);

    // Subscribe before reading the backlog: a message committed in between is held, not lost.
    const catchUp = () => {
      if (ended || reading || !live) return;
      reading = true;
      readSince()
        .catch(() => end())
        .finally(() => {
          reading = false;
        });
    };
    const listener: RoomListener = Object.assign(
      (m: Message) => {
        if (live) void send(m);
        else early.push(m);
      },
      { poke: catchUp },
    );
    const unsubscribe = hub.subscribe(session.room.id, listener);
    const heartbeat = setInterval(() => {
      if (ended) return;
      write(': ping\n\n');
      catchUp();
    }, heartbeatMs);
    heartbeat.unref();
    // Node counts a write as activity only once the socket takes it: a client that reads
    // nothing for the idle timeout (its buffers full, heartbeats queued) is cut off, while the
    // heartbeats keep a live stream busy well within it.
    const socket = res.socket;
    const idle = () => end(true);
    socket?.setTimeout(deps.config.webchatStreamIdleTimeoutMs, idle);

    function end(abort = false): void {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
      ticket.release();
      openStreams.delete(end);
      socket?.setTimeout(0);
      socket?.off('timeout', idle);
      if (abort) res.destroy();
      else res.end();
    }
    openStreams.add(end);
    res.on('close', () => end());

    reading = true;
    readSince()
      .then(() => {
        live = true;
        for (const m of early.splice(0)) void send(m);
      })
      .catch((err: unknown) => {
        reply.log.error({ err }, 'web chat stream: reading the backlog failed');
        end();
      })
      .finally(() => {
        reading = false;
      });

    // The page stops on this event instead of reconnecting (which would close the next tab).
    return () => {
      write('event: superseded\ndata: {}\n\n');
      end();
    };
  }
}
