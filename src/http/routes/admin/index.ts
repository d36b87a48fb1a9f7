/**
 * The admin API (docs/admin.md), one file per resource: projects and credentials, bots with their
 * rules and channel, end users; renames and deletions in lifecycle.routes.ts. The operations are
 * src/admin's, shared with the `relevo` command. Responses are plain JSON, as docs/admin.md says
 * (not the management success envelope); errors use the error envelope like every other route.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AdminContext } from '../../../admin/operations.js';
import type { RouteDeps } from '../route-deps.js';
import { botRoutes } from './bots.routes.js';
import { endUserRoutes } from './end-users.routes.js';
import { engineRoutes } from './engine.routes.js';
import { projectRoutes } from './projects.routes.js';

/**
 * Registered under /admin/v1 by buildApp unless RELEVO_ADMIN_TOKEN=off; `authenticate` checks
 * the bearer token. The replies go through the response schemas' serialisers, which also keep
 * any unlisted property out.
 */
export function adminRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { authenticate: (request: FastifyRequest) => Promise<void> },
): void {
  const ctx: AdminContext = {
    store: deps.store,
    clock: deps.clock,
    allowList: deps.allowList,
    resolve: deps.resolve,
    credentials: deps.credentials,
  };

  app.addHook('onRequest', deps.authenticate);
  // A POST without a body is treated as `{}`, so the answer names the missing fields.
  app.addHook('preValidation', async (request) => {
    if (request.method === 'POST' && request.body === undefined) request.body = {};
  });

  projectRoutes(app, ctx);
  botRoutes(app, ctx, deps.config.bodyLimitBytes);
  engineRoutes(app, ctx);
  endUserRoutes(app, ctx);
}
