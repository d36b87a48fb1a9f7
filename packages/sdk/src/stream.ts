/**
 * `relevo.events.stream()`: the project's events over Server-Sent Events (docs/api.md §5.8),
 * followed across disconnects. Each reconnection sends `Last-Event-ID` with the highest id
 * received, so the server resends whatever happened in between and nothing is lost.
 *
 * The highest, not the last: an event committed late (§5.8 "Order") comes after one with a higher
 * id, and the server resumes with every id above the one sent. Resuming from the late one would
 * send the higher ones again.
 */
import { RelevoApiError, RelevoConnectionError } from './errors.js';
import type { EventsByType, EventType, WebhookEvent } from './generated/events.js';
import { SseParser } from './sse.js';
import { backoffMs, type Transport } from './transport.js';

export interface EventStreamOptions {
  /** Start after this event (as a reconnecting client would); without it, with new events only. */
  readonly lastEventId?: string;
  /** Stops the stream; the loop over it then ends without an error. */
  readonly signal?: AbortSignal;
  /** Wait before reconnecting after the stream ended; the server's `retry:` (3 s) unless set. */
  readonly reconnectDelayMs?: number;
  /** Per connection attempt, until the stream's head arrives; 30 000 unless set. */
  readonly timeoutMs?: number;
}

/** One event of the stream: its id (the delivery id and `webhook-id`), type and webhook body. */
export type StreamedEvent = {
  [K in EventType]: {
    readonly id: string;
    readonly type: K;
    readonly data: EventsByType[K];
    /** The body exactly as relevo signs and sends it to the webhook. */
    readonly raw: string;
  };
}[EventType];

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function* streamEvents(
  transport: Transport,
  path: string,
  options: EventStreamOptions,
): AsyncGenerator<StreamedEvent, void, undefined> {
  const controller = new AbortController();
  const stop = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) return;
  options.signal?.addEventListener('abort', stop, { once: true });
  let lastEventId = options.lastEventId;
  let failures = 0;
  let serverRetryMs: number | undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    while (!controller.signal.aborted) {
      let answer: Response;
      try {
        answer = await transport.send(
          {
            method: 'GET',
            path,
            headers: {
              accept: 'text/event-stream',
              ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
            },
          },
          { signal: controller.signal, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) },
          true,
        );
      } catch (error) {
        if (controller.signal.aborted) return;
        const transient =
          error instanceof RelevoConnectionError ||
          (error instanceof RelevoApiError && (error.status === 429 || error.status >= 500));
        if (!transient) throw error;
        failures += 1;
        await wait(backoffMs(Math.min(failures, 5)), controller.signal);
        continue;
      }
      failures = 0;
      if (!answer.body) throw new RelevoConnectionError('the event stream has no body');
      reader = answer.body.getReader();
      const decoder = new TextDecoder();
      const parser = new SseParser();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          for (const message of parser.push(decoder.decode(value, { stream: true }))) {
            if (message.id === undefined) continue;
            // Event ids sort as they were made (a time-ordered suffix), as the server compares them.
            if (lastEventId === undefined || message.id > lastEventId) lastEventId = message.id;
            yield {
              id: message.id,
              type: message.event as EventType,
              data: JSON.parse(message.data) as WebhookEvent,
              raw: message.data,
            } as StreamedEvent;
          }
        }
      } catch (error) {
        // A connection cut mid-stream: reconnect below. Anything else is the caller's to see.
        if (controller.signal.aborted) return;
        if (error instanceof SyntaxError) throw error;
      } finally {
        serverRetryMs = parser.retryMs ?? serverRetryMs;
      }
      reader = undefined;
      await wait(options.reconnectDelayMs ?? serverRetryMs ?? 3_000, controller.signal);
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    controller.abort();
    await reader?.cancel().catch(() => undefined);
  }
}
