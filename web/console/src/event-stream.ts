/**
 * The project's event stream (docs/api.md §5.8) for the live screens. EventSource cannot send
 * the credential's header, so this reads the Server-Sent Events with fetch and a stream reader,
 * and does what EventSource would: parse the frames, reconnect after the server's `retry:` hint
 * (doubling up to 30 s while the server is away), and resume with Last-Event-ID so that nothing
 * committed in between is missed. A 401 is the layout's business (it signs the tab out); the
 * stream then stops.
 */
import { API, enc } from './api';
import { authHeaders, type Session } from './session';

export interface StreamEvent {
  readonly id: string;
  readonly type: string;
  /** The webhook payload, parsed. */
  readonly data: Record<string, unknown>;
}

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface StreamHandlers {
  event(e: StreamEvent): void;
  state(s: StreamState): void;
  /** The credential was refused: the stream has stopped. */
  unauthorized(): void;
}

const MAX_DELAY_MS = 30_000;

/** Splits SSE text into frames (blank-line separated) and reads their fields. */
export class FrameParser {
  private buffer = '';

  /** Feeds a chunk; returns the complete frames it finished. */
  push(chunk: string): { id?: string; event?: string; data: string; retry?: number }[] {
    this.buffer += chunk.replace(/\r\n?/g, '\n');
    const frames: { id?: string; event?: string; data: string; retry?: number }[] = [];
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end < 0) return frames;
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const frame: { id?: string; event?: string; data: string; retry?: number } = { data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') frame.id = value;
        else if (field === 'event') frame.event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'retry' && /^\d+$/.test(value)) frame.retry = Number(value);
      }
      frame.data = data.join('\n');
      frames.push(frame);
    }
  }
}

/** Follows the project's stream until `stop()` is called; `after` resumes after that event id. */
export function followEvents(
  session: Session,
  projectId: string,
  handlers: StreamHandlers,
  after?: string,
): { stop(): void } {
  let lastId = after;
  let stopped = false;
  let controller: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let retryMs = 3_000;
  let delay = retryMs;

  const connect = async () => {
    handlers.state(lastId === undefined ? 'connecting' : 'reconnecting');
    controller = new AbortController();
    const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders(session) };
    if (lastId !== undefined) headers['last-event-id'] = lastId;
    try {
      const response = await fetch(`${API}/external-support/${enc(projectId)}/events/stream`, {
        headers,
        signal: controller.signal,
        cache: 'no-store',
        credentials: 'omit',
      });
      if (response.status === 401) {
        stopped = true;
        handlers.state('stopped');
        handlers.unauthorized();
        return;
      }
      if (!response.ok || response.body === null) throw new Error(`stream answered ${response.status}`);
      handlers.state('live');
      delay = retryMs;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new FrameParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const frame of parser.push(value)) {
          if (frame.retry !== undefined) retryMs = delay = frame.retry;
          if (frame.id === undefined || frame.event === undefined) continue;
          // Resume after the highest id, not the last: a late-committed event (docs/api.md §5.8,
          // "Order") has a lower id than one already shown, and the server resends every id above
          // the one given. Ids sort as they were made.
          if (lastId === undefined || frame.id > lastId) lastId = frame.id;
          let data: Record<string, unknown>;
          try {
            data = JSON.parse(frame.data) as Record<string, unknown>;
          } catch {
            continue;
          }
          handlers.event({ id: frame.id, type: frame.event, data });
        }
      }
    } catch {
      // Aborted by stop(), or the network went away: both end here.
    }
    if (stopped) return;
    handlers.state('reconnecting');
    timer = setTimeout(() => void connect(), delay);
    delay = Math.min(MAX_DELAY_MS, delay * 2);
  };

  void connect();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
      handlers.state('stopped');
    },
  };
}
