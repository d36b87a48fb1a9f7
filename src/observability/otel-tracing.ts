/**
 * Tracing with the official OpenTelemetry SDK, exported over OTLP/HTTP (JSON bodies) to
 * `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`. Only tracer.ts's loadTracer imports this file, and
 * only with import(), so none of it is loaded while tracing is off.
 *
 * Spans are made by hand rather than by the http/fastify auto-instrumentations: those patch
 * modules through require hooks, which an ES-module program would have to install before
 * anything else loads (a --import flag on every start); three kinds of span are all the spec
 * asks for. Nothing is registered globally (no global tracer provider or context manager): each
 * Tracer holds its own, so several apps in one process keep their spans apart.
 */
import type { Server } from 'node:http';
import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { OutboxEvent } from '../model/types.js';
import type { Store } from '../storage/store.js';
import { TRACEPARENT, type TracedRequest } from './request-origin.js';
import type { AttemptSpan, Tracer } from './tracer.js';

const SPAN = Symbol('relevo.span');

interface SpannedRequest extends TracedRequest {
  [SPAN]?: Span;
}

const headerGetter: TextMapGetter<Record<string, string | string[] | undefined>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** The traceparent header naming `span`: version 00, trace id, span id, flags. */
function traceparentOf(span: Span): string {
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

export function createOtelTracer(options: { endpoint: string; version: string }): Tracer {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'relevo', 'service.version': options.version }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.endpoint}/v1/traces` }))],
  });
  const tracer = provider.getTracer('relevo', options.version);
  const contexts = new AsyncLocalStorageContextManager().enable();
  const propagator = new W3CTraceContextPropagator();
  const parentFrom = (headers: Record<string, string | string[] | undefined>): Context =>
    propagator.extract(ROOT_CONTEXT, headers, headerGetter);

  /** A span around `run`, ended when it settles, its failure recorded. */
  const spanned = <T>(name: string, kind: SpanKind, run: () => Promise<T>): Promise<T> => {
    const span = tracer.startSpan(name, { kind }, contexts.active());
    return contexts.with(trace.setSpan(contexts.active(), span), () =>
      run().then(
        (value) => {
          span.end();
          return value;
        },
        (e: unknown) => {
          span.setStatus({ code: SpanStatusCode.ERROR, message: String(e) });
          span.end();
          throw e;
        },
      ),
    );
  };

  return {
    instrumentServer(http: Server) {
      // The app's request listener runs inside the request's span, so everything it awaits
      // (transactions included) sees that span as its parent.
      const listeners = http.listeners('request') as Array<(...args: unknown[]) => void>;
      http.removeAllListeners('request');
      for (const listener of listeners) {
        http.on('request', (req: SpannedRequest, res) => {
          let span = req[SPAN];
          if (span === undefined) {
            span = tracer.startSpan(
              `${req.method ?? 'GET'}`,
              {
                kind: SpanKind.SERVER,
                attributes: {
                  'http.request.method': req.method ?? '',
                  'url.path': (req.url ?? '').split('?')[0],
                },
              },
              parentFrom(req.headers),
            );
            req[SPAN] = span;
            req[TRACEPARENT] = traceparentOf(span);
            const started = span;
            res.once('close', () => {
              started.setAttribute('http.response.status_code', res.statusCode);
              if (res.statusCode >= 500) started.setStatus({ code: SpanStatusCode.ERROR });
              started.end();
            });
          }
          contexts.with(trace.setSpan(ROOT_CONTEXT, span), () => listener.call(http, req, res));
        });
      }
    },
    nameRequest(raw, method, route) {
      const span = (raw as SpannedRequest)[SPAN];
      span?.updateName(`${method} ${route}`);
      span?.setAttribute('http.route', route);
    },
    traceStore(store: Store): Store {
      const transaction: Store['transaction'] = (fn, origin, key) =>
        spanned('db.transaction', SpanKind.CLIENT, () => store.transaction(fn, origin, key));
      const statement: Store['statement'] = (fn) =>
        spanned('db.statement', SpanKind.CLIENT, () => store.statement(fn));
      const poolStats = store.poolStats?.bind(store);
      return {
        dialect: store.dialect,
        capabilities: store.capabilities,
        queries: store.queries,
        migrate: (onApply) => store.migrate(onApply),
        transaction,
        statement,
        onCommitted: (listener) => store.onCommitted(listener),
        close: () => store.close(),
        ...(poolStats === undefined ? {} : { poolStats }),
      };
    },
    startAttempt(event: OutboxEvent, attemptNumber: number, url: string): AttemptSpan {
      const parent =
        event.traceparent === null || event.traceparent === undefined
          ? ROOT_CONTEXT
          : parentFrom({ traceparent: event.traceparent });
      const span = tracer.startSpan(
        'webhook.attempt',
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'relevo.event.id': event.id,
            'relevo.event.type': event.type,
            'relevo.attempt': attemptNumber,
            'url.full': url,
          },
        },
        parent,
      );
      const active = trace.setSpan(parent, span);
      return {
        traceparent: traceparentOf(span),
        run: (fn) => contexts.with(active, fn),
        end(outcome, statusCode, error) {
          span.setAttribute('relevo.outcome', outcome);
          if (statusCode !== null) span.setAttribute('http.response.status_code', statusCode);
          if (outcome !== 'delivered')
            span.setStatus({ code: SpanStatusCode.ERROR, message: error ?? outcome });
          span.end();
        },
      };
    },
    flush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown();
      contexts.disable();
    },
  };
}
