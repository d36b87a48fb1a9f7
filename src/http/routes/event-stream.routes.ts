/**
 * The project's events as they are committed, as Server-Sent Events (docs/api.md §5.8):
 * `GET {base}/external-support/{projectId}/events/stream` with project credentials, and
 * `GET /admin/v1/projects/{projectId}/events/stream` with the admin token.
 *
 * One SSE message per panel event of the project, whatever its delivery status (a project
 * without an integration records its events too): `id:` the event id, `event:` its type, `data:`
 * the exact webhook payload. `Last-Event-ID` (or the `lastEventId` query parameter, for clients
 * that cannot set headers) resumes after that event; without it the stream starts with the
 * events committed from now on. Which events a read sends is src/domain/event-stream/stream-cursor.ts.
 *
 * A stream reads the database when one of the project's commits wakes it (this node's, or
 * another node's through NOTIFY) and at every heartbeat; before each read it checks the
 * credential again (revoked, or the project deleted: the stream ends).
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EventStreamHub } from '../../domain/event-stream/event-stream-hub.js';
import { StreamCursor, type StreamStart } from '../../domain/event-stream/stream-cursor.js';
import { requireProject } from '../../domain/projects/project.service.js';
import { validationError } from '../../errors.js';
import type { OutboxEvent } from '../../model/types.js';
import type { Queries } from '../../storage/store.js';
import { authenticated } from '../rate-limit.js';
import { errorResponses, ProjectParams } from '../schemas.js';
import { ADMIN, errors as adminErrors, ProjectIdParams } from './admin/requests.js';
import type { RouteDeps } from './route-deps.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The live event streams' wake-ups (tests look at it to check that streams clean up). */
    eventStreamHub: EventStreamHub;
  }
}

/** A comment line this often keeps proxies and browsers from closing an idle stream. */
export const EVENT_STREAM_HEARTBEAT_MS = 15_000;
/** What EventSource waits before reconnecting after the stream ends (the `retry:` hint). */
const RETRY_MS = 3_000;
/**
 * Above this many unread bytes a stream stops reading events and waits for its client to take
 * them: a backlog of any length goes out through at most 64 KiB of memory (plus one event of at
 * most ~30 KB), at the pace the client reads.
 */
const DRAIN_MARK_BYTES = 64 * 1024;
/**
 * A stream holding more unread bytes than this is closed at once (heartbeats only add to a stream
 * that waits; 256 KiB is four times the drain mark). A client that takes nothing is closed after
 * RELEVO_EVENT_STREAM_IDLE_TIMEOUT_MS (60 s); either way it resumes with Last-Event-ID and loses
 * nothing. So 1 000 stalled streams hold at most ~100 MB of unsent output (64 KiB and one event
 * each), and then only for a minute.
 */
const MAX_BUFFERED_BYTES = 256 * 1024;

const EVENT_ID = /^evt_[0-9a-z]{26}$/;

const StreamQuery = Type.Object(
  {
    lastEventId: Type.Optional(
      Type.String({
        pattern: EVENT_ID.source,
        description:
          'Resume after this event, as the Last-Event-ID header does (for clients that cannot set headers); the header wins when both are sent',
      }),
    ),
  },
  { additionalProperties: false },
);

const AdminStreamParams = ProjectIdParams;

const DESCRIPTION =
  "Server-Sent Events: one message per event of the project for the panel (conversation.start, message, conversation.close), whatever its delivery status, as it is committed. Each message is `id: <event id>`, `event: <event type>`, `data: <the webhook payload, exactly as signed and sent>`, then a blank line. The stream begins with a `retry:` hint and sends a `: ping` comment every 15 s. Send `Last-Event-ID` (or `?lastEventId=`) to resume after that event; without it the stream starts with new events only. An event committed late (another transaction's, whose id is lower than one already sent) is sent when found, so ids may arrive out of order. A client that stops reading is closed and resumes with Last-Event-ID.";

/** The 200 answer: a text/event-stream, documented with an example of two messages. */
const STREAM_RESPONSE = {
  200: {
    description: "The stream of the project's events (text/event-stream), open until the client leaves",
    content: {
      'text/event-stream': {
        schema: { type: 'string', description: 'SSE messages: id, event and data lines, then a blank line' },
        example:
          'retry: 3000\n\nid: evt_01kp9g2y3ab0c1d2e3f4g5h6j7\nevent: conversation.start\ndata: {"event":"conversation.start","timestamp":1776134145523,"field":"conversation","object":"conversation_event","event_type":"start","project_id":"prj_01kp9g2y3ab0c1d2e3f4g5h6j7","room_id":"room_01kp9g2y3ab0c1d2e3f4g5h6j7","contact":{"id":"usr_01kp9g2y3ab0c1d2e3f4g5h6j7","name":"Maria Silva"},"conversation":{"id":"conv_01kp9g2y3ab0c1d2e3f4g5h6j7"},"bot":{"id":"bot_01kp9g2y3ab0c1d2e3f4g5h6j7","name":"Helper Bot"},"value":{}}\n\n: ping\n\n',
      },
    },
  },
};

/** The resume point of a request: the header, else the query parameter; 422 when malformed. */
function resumePoint(
  request: FastifyRequest,
  query: { lastEventId?: string | undefined },
): string | undefined {
  const header = request.headers['last-event-id'];
  if (header === undefined || header === '') return query.lastEventId;
  if (typeof header !== 'string' || !EVENT_ID.test(header.trim())) {
    throw validationError({ 'Last-Event-ID': ['must be the id of an event (evt_…)'] });
  }
  return header.trim();
}

export interface EventStreams {
  readonly hub: EventStreamHub;
  /**
   * Serves one stream of `projectId` on a hijacked reply. `stillAllowed` is asked before every
   * read: false (the credential was revoked, the project deleted) ends the stream.
   */
  serve(
    request: FastifyRequest,
    reply: FastifyReply,
    projectId: string,
    lastEventId: string | undefined,
    stillAllowed: () => Promise<boolean>,
  ): Promise<void>;
}

/** The hub, the shutdown hook and the stream writer, shared by both routes; once per app. */
export function eventStreams(app: FastifyInstance, deps: RouteDeps): EventStreams {
  const hub = new EventStreamHub();
  deps.store.onCommitted(hub.publish);
  app.decorate('eventStreamHub', hub);
  // Open streams never finish on their own: shutdown ends them, or close() would wait forever.
  // Clients reconnect (to another node, or to this one once it is back) with Last-Event-ID.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
  const idleMs = deps.config.eventStreamIdleTimeoutMs;
  // Heartbeats must come well within the idle timeout, or they could not keep a live stream open.
  const heartbeatMs = Math.min(EVENT_STREAM_HEARTBEAT_MS, Math.floor(idleMs / 3));

  async function serve(
    request: FastifyRequest,
    reply: FastifyReply,
    projectId: string,
    lastEventId: string | undefined,
    stillAllowed: () => Promise<boolean>,
  ): Promise<void> {
    // The stream stays open for as long as the client reads: its place in the failure throttle
    // goes back now, not when it ends.
    authenticated(request);
    let woken = false;
    let wake = () => {
      woken = true;
    };
    // Subscribed before the first read: a commit in between wakes the stream, it is not lost.
    const unsubscribe = hub.subscribe(projectId, () => wake());
    let cursor: StreamCursor;
    try {
      const start: StreamStart = lastEventId === undefined ? { now: deps.clock() } : { after: lastEventId };
      cursor = await StreamCursor.open(deps.store.queries, projectId, start);
    } catch (e) {
      unsubscribe();
      throw e;
    }

    reply.hijack();
    const res = reply.raw;
    // Headers set before the hijack (the request id) are not sent by Fastify any more.
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) res.setHeader(name, value);
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Reverse proxies that buffer responses (nginx) would hold events back.
      'x-accel-buffering': 'no',
      // The connection ends with the stream: a kept-alive socket would be busy until its last
      // chunk drained and idle only after, and a server closing (which closes idle sockets
      // once) would then wait for the keep-alive timeout (72 s). A client reconnects anyway.
      connection: 'close',
    });
    let ended = false;
    const socket = res.socket;
    const idle = () => end(true);

    function end(abort = false): void {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(end);
      socket?.setTimeout(0);
      socket?.off('timeout', idle);
      // Destroyed, not ended: end() would keep the unread bytes (and the socket) until they drain.
      if (abort) res.destroy();
      else res.end();
      // A read waiting for the client to drain must not wait forever.
      res.emit('drain');
    }

    const write = (text: string): void => {
      if (ended) return;
      res.write(text);
      if (res.writableLength > MAX_BUFFERED_BYTES) end(true);
    };
    const emit = async (event: OutboxEvent): Promise<void> => {
      if (res.writableLength > DRAIN_MARK_BYTES) {
        await new Promise<void>((resolve) => res.once('drain', resolve));
      }
      write(frame(event));
    };

    // One read at a time; wake-ups during a read make one more read after it.
    let reading = false;
    let again = false;
    const readNow = async (): Promise<void> => {
      if (ended) return;
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        do {
          again = false;
          // The credential is checked before every read (a wake-up or a heartbeat): a revoked
          // one reads no further event. Project credentials come from the credential cache (at
          // most one read a second), so a busy project's wake-ups cost no extra query.
          if (!(await stillAllowed())) {
            end();
            return;
          }
          await cursor.read(emit, () => ended);
        } while (again && !ended);
      } catch (err) {
        request.log.error({ err }, 'event stream: reading the events failed');
        end();
      } finally {
        reading = false;
      }
    };
    wake = () => void readNow();

    const heartbeat = setInterval(() => {
      if (ended) return;
      write(': ping\n\n');
      // A read at every heartbeat too: it covers a lost notification, and checks the credential
      // of a quiet project's stream, which then ends within one heartbeat of a revocation.
      void readNow();
    }, heartbeatMs);
    heartbeat.unref();
    // Node counts a write as activity only once the socket takes it: a client that reads nothing
    // for the idle timeout (its buffers full, heartbeats queued) is cut off, while heartbeats
    // keep a live stream busy well within it.
    socket?.setTimeout(idleMs, idle);
    open.add(end);
    res.on('close', () => end());

    res.write(`retry: ${RETRY_MS}\n\n`);
    void readNow();
    if (woken) void readNow();
  }

  return { hub, serve };
}

/** One SSE message. The payload is JSON.stringify's output (no line breaks); any would be split. */
function frame(event: OutboxEvent): string {
  const data = event.payload
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('');
  return `id: ${event.id}\nevent: ${event.type}\n${data}\n`;
}

/** `GET {base}/external-support/{projectId}/events/stream`, under each management prefix. */
export function eventStreamRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { adminCheck: ((request: FastifyRequest) => Promise<void>) | undefined },
  streams: EventStreams,
): void {
  app.get<{ Params: Static<typeof ProjectParams>; Querystring: Static<typeof StreamQuery> }>(
    '/external-support/:projectId/events/stream',
    {
      // The stream logs at warn and above only: one line per reconnect would flood the log.
      logLevel: 'warn',
      // A HEAD would open a stream that sends nothing, held until the idle timeout.
      exposeHeadRoute: false,
      schema: {
        summary: "Stream the project's events",
        description: DESCRIPTION,
        tags: ['events'],
        params: ProjectParams,
        querystring: StreamQuery,
        headers: Type.Object({
          'last-event-id': Type.Optional(
            Type.String({ description: 'Resume after this event (evt_…): every event with a higher id' }),
          ),
        }),
        response: { ...STREAM_RESPONSE, ...errorResponses(422) },
      },
    },
    async (request, reply) => {
      const { projectId } = request.params;
      const after = resumePoint(request, request.query);
      const credential = request.credential;
      const { adminCheck } = deps;
      let stillAllowed: () => Promise<boolean>;
      if (credential !== undefined) {
        stillAllowed = async () => {
          const row = await deps.credentials.credential(credential.id);
          return row !== undefined && row.revokedAt === null && row.projectId === credential.projectId;
        };
      } else if (request.adminCaller === true && adminCheck !== undefined) {
        stillAllowed = () => adminStillAllowed(deps.store.queries, request, projectId, adminCheck);
      } else {
        throw new Error('the event stream ran without a caller');
      }
      await streams.serve(request, reply, projectId, after, stillAllowed);
    },
  );
}

/** The admin token may be reset, and the project deleted, while the stream is open. */
async function adminStillAllowed(
  queries: Queries,
  request: FastifyRequest,
  projectId: string,
  adminCheck: (request: FastifyRequest) => Promise<void>,
): Promise<boolean> {
  try {
    await adminCheck(request);
  } catch {
    return false;
  }
  return (await queries.projects.get(projectId)) !== undefined;
}

/** `GET /admin/v1/projects/{projectId}/events/stream`: any project's stream, with the admin token. */
export function adminEventStreamRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { authenticate: (request: FastifyRequest) => Promise<void> },
  streams: EventStreams,
): void {
  app.get<{ Params: Static<typeof AdminStreamParams>; Querystring: Static<typeof StreamQuery> }>(
    '/projects/:projectId/events/stream',
    {
      logLevel: 'warn',
      exposeHeadRoute: false,
      schema: {
        ...ADMIN,
        summary: "Stream a project's events",
        description: `${DESCRIPTION} The admin token reads any project's stream; 404 project_not_found for an unknown project.`,
        params: AdminStreamParams,
        querystring: StreamQuery,
        headers: Type.Object({
          'last-event-id': Type.Optional(
            Type.String({ description: 'Resume after this event (evt_…): every event with a higher id' }),
          ),
        }),
        response: { ...STREAM_RESPONSE, ...adminErrors(404, 422) },
      },
    },
    async (request, reply) => {
      const { projectId } = request.params;
      await requireProject(deps.store.queries, projectId);
      const after = resumePoint(request, request.query);
      const stillAllowed = () => adminStillAllowed(deps.store.queries, request, projectId, deps.authenticate);
      await streams.serve(request, reply, projectId, after, stillAllowed);
    },
  );
}
