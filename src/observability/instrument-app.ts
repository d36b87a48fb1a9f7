/**
 * The HTTP side of metrics and traces: hooks added to the app only when each is on, so with both
 * off the request path is exactly what it was (docs/operations.md).
 */
import type { FastifyInstance } from 'fastify';
import { type Metrics, UNMATCHED_ROUTE } from './metrics.js';
import type { Tracer } from './tracer.js';

export function instrumentApp(
  server: FastifyInstance,
  metrics: Metrics | undefined,
  tracer: Tracer | undefined,
): void {
  if (tracer !== undefined) {
    tracer.instrumentServer(server.server);
    server.addHook('onRequest', (request, _reply, done) => {
      tracer.nameRequest(request.raw, request.method, request.routeOptions.url ?? UNMATCHED_ROUTE);
      done();
    });
  }
  if (metrics !== undefined) {
    const { httpRequests, httpDuration } = metrics;
    // The route pattern (/v1/external-support/:projectId/conversations), never the raw URL:
    // one series per route, not one per id.
    server.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      const method = request.method;
      httpRequests.inc({ method, route, status: reply.statusCode });
      httpDuration.observe({ method, route }, reply.elapsedTime / 1000);
      done();
    });
  }
}
