/**
 * Health: `GET /healthz` answers 200 while this process can reach its database, 503 otherwise —
 * what a load balancer or process manager needs to route around a node. Served by every role.
 */
import type { FastifyInstance } from 'fastify';
import { coerceError } from '../../errors.js';
import type { RouteDeps } from './route-deps.js';

export function healthRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/healthz', { schema: { hide: true } }, async (request, reply) => {
    let database: 'ok' | 'unavailable' = 'ok';
    try {
      // The cheapest query that needs a working connection.
      await deps.store.queries.projects.get('healthz');
    } catch (e) {
      request.log.warn({ err: coerceError(e) }, 'health check: database unavailable');
      database = 'unavailable';
    }
    return reply
      .code(database === 'ok' ? 200 : 503)
      .type('application/json; charset=utf-8')
      .send(
        JSON.stringify({ status: database === 'ok' ? 'ok' : 'degraded', role: deps.config.role, database }),
      );
  });
}
