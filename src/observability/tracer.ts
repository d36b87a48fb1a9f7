/**
 * What the rest of relevo asks of tracing (docs/operations.md, "Traces"). The OpenTelemetry
 * implementation is otel-tracing.ts, loaded with import() only when OTEL_EXPORTER_OTLP_ENDPOINT
 * is set (loadTracer): with tracing off, no tracing library is loaded and every caller holds
 * `undefined` instead of a Tracer, so the request path pays one comparison.
 */
import type { Server } from 'node:http';
import type { OutboxEvent } from '../model/types.js';
import type { Store } from '../storage/store.js';

/** One delivery attempt's span, a child of the trace of the request that created the event. */
export interface AttemptSpan {
  /** The W3C traceparent naming this span: sent to the receiver. */
  readonly traceparent: string;
  /** Runs `fn` with this span active (the transactions recording the outcome are its children). */
  run<T>(fn: () => Promise<T>): Promise<T>;
  end(outcome: string, statusCode: number | null, error: string | null): void;
}

export interface Tracer {
  /**
   * Puts a span around every request the server answers (the request's own handling runs inside
   * it) and keeps its traceparent on the raw request for the events it creates.
   */
  instrumentServer(http: Server): void;
  /** Names the request's span after its route pattern, once routing has found it. */
  nameRequest(raw: object, method: string, route: string): void;
  /** `store` with a span around each transaction and each statement batch. */
  traceStore(store: Store): Store;
  startAttempt(event: OutboxEvent, attemptNumber: number, url: string): AttemptSpan;
  /** Sends what is buffered (tests; shutdown). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** The OpenTelemetry tracer, loaded only now; undefined when no endpoint is configured. */
export async function loadTracer(endpoint: string | undefined, version: string): Promise<Tracer | undefined> {
  if (endpoint === undefined) return undefined;
  const { createOtelTracer } = await import('./otel-tracing.js');
  return createOtelTracer({ endpoint, version });
}
