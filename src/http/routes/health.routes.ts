/**
 * Health, for load balancers and orchestrators (docs/operations.md, "Health"):
 * - `GET /healthz`, liveness: 200 while this process serves requests (docs/operations.md), with the
 *   database's state in the body for people. A database outage is not a reason to restart the
 *   process (every node would be restarted at once, for nothing): /readyz takes it out of rotation.
 * - `GET /readyz`, readiness: 200 only when the database answers within READY_TIMEOUT_MS, its
 *   schema is this version's and the process is not draining; otherwise 503 in the error
 *   envelope naming the reason (database_unavailable, migrations_pending, shutting_down).
 * Both are served by every role, and /readyz during the drain too (app.ts lets it through).
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, coerceError } from '../../errors.js';
import { MIGRATIONS } from '../../storage/migrations/index.js';
import type { RouteDeps } from './route-deps.js';

/** A readiness probe's own timeout is usually 1–5 s; answering before it says why. */
export const READY_TIMEOUT_MS = 2_000;

const LATEST_MIGRATION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

export function healthRoutes(app: FastifyInstance, deps: RouteDeps, draining: () => boolean): void {
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
      .code(200)
      .type('application/json; charset=utf-8')
      .send(
        JSON.stringify({ status: database === 'ok' ? 'ok' : 'degraded', role: deps.config.role, database }),
      );
  });

  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    if (draining()) {
      throw new ApiError(
        'shutting_down',
        'This node is draining; send traffic to another node.',
        {},
        {
          headers: { 'retry-after': '1' },
        },
      );
    }
    let version: number;
    let timer: NodeJS.Timeout | undefined;
    try {
      // One indexed read of a tiny table: proves a connection, and tells the schema version.
      version = await Promise.race([
        deps.store.queries.operations.schemaVersion(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)),
            READY_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (e) {
      request.log.warn({ err: coerceError(e) }, 'readiness: database unavailable');
      throw new ApiError('database_unavailable', 'The database did not answer the readiness query.');
    } finally {
      clearTimeout(timer);
    }
    if (version < LATEST_MIGRATION) {
      throw new ApiError(
        'migrations_pending',
        `The database schema is at version ${version}; this relevo needs ${LATEST_MIGRATION}. Run \`relevo migrate\`.`,
      );
    }
    return reply
      .type('application/json; charset=utf-8')
      .send(JSON.stringify({ status: 'ready', role: deps.config.role, schemaVersion: version }));
  });
}
