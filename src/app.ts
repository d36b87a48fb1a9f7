/**
 * buildApp(deps) assembles the HTTP application without listening: tests drive it with
 * inject(); main.ts listens. Nothing here reads the environment.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { CredentialCache } from './auth/credential-cache.js';
import { httpChannelRoutes } from './channels/http/http-channel.routes.js';
import { webchatRoutes } from './channels/webchat/webchat.routes.js';
import { whatsappRoutes } from './channels/whatsapp/whatsapp.routes.js';
import type { Config } from './config.js';
import { HostResolver } from './delivery/host-resolver.js';
import { parseAllowList } from './delivery/network-policy.js';
import { ApiError } from './errors.js';
import { adminAuthenticator, managementAuthenticator } from './http/auth.js';
import { registerErrorHandling } from './http/error-handler.js';
import { registerIdempotency } from './http/idempotency.js';
import { registerJsonParser } from './http/json-body-parser.js';
import { serializeRequest } from './http/log-redaction.js';
import { registerDocs, registerOpenApi } from './http/openapi/document.js';
import { clientErrorHandler, frameworkErrors, registerServerAnswers } from './http/pre-routing.js';
import { registerAbuseLimits, serverOptions } from './http/rate-limit.js';
import { RouteMethods, trackRouteMethods } from './http/route-methods.js';
import { adminRoutes } from './http/routes/admin/index.js';
import { adminLifecycleRoutes } from './http/routes/admin/lifecycle.routes.js';
import { botReplyRoutes } from './http/routes/bot-replies.routes.js';
import { consoleRoutes } from './http/routes/console.routes.js';
import { conversationMessageRoutes } from './http/routes/conversation-messages.routes.js';
import { conversationRoutes } from './http/routes/conversations.routes.js';
import { deliveryRoutes } from './http/routes/deliveries.routes.js';
import {
  adminEventStreamRoutes,
  eventStreamRoutes,
  eventStreams,
} from './http/routes/event-stream.routes.js';
import { faviconRoutes } from './http/routes/favicon.routes.js';
import { healthRoutes } from './http/routes/health.routes.js';
import { integrationRoutes } from './http/routes/integrations.routes.js';
import { overviewRoutes } from './http/routes/overview.routes.js';
import { panelMessageRoutes } from './http/routes/panel-messages.routes.js';
import type { RouteDeps } from './http/routes/route-deps.js';
import { instrumentApp } from './observability/instrument-app.js';
import type { Metrics } from './observability/metrics.js';
import type { Tracer } from './observability/tracer.js';
import { connectParties } from './parties.js';
import type { Store } from './storage/store.js';

export interface AppDeps {
  readonly config: Config;
  readonly store: Store;
  readonly logger: FastifyBaseLogger;
  /** Milliseconds since the epoch; tests may freeze it. */
  readonly clock?: () => number;
  /** Prometheus metrics (RELEVO_METRICS_ADDR); undefined when off: no hook is added then. */
  readonly metrics?: Metrics | undefined;
  /** Tracing (OTEL_EXPORTER_OTLP_ENDPOINT); undefined when off: no hook is added then. */
  readonly tracer?: Tracer | undefined;
}

/** The documented prefixes, all serving the same management routes (docs/api.md §1). */
export const API_PREFIXES = ['/jelouapi/v1', '/platform/v1', '/v1'] as const;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** How requests are validated: as sent (no coercion, no defaults, nothing removed), every problem at once. */
export const AJV_OPTIONS = {
  customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: true },
} as const;

export interface App {
  readonly server: FastifyInstance;
  /** Refuse new requests with 503 from now on (graceful shutdown). */
  beginShutdown(): void;
}

export async function buildApp(deps: AppDeps): Promise<App> {
  connectParties();
  let closing = false;
  const methods = new RouteMethods();
  const options = serverOptions(deps.config);
  const server = Fastify({
    // Request lines are logged with their secret query parameters (a web chat session token)
    // blanked, whichever logger the caller passed.
    loggerInstance: deps.logger.child({}, { serializers: { req: serializeRequest } }),
    bodyLimit: deps.config.bodyLimitBytes,
    // A caller's own request id is kept when it is sane, so both sides can grep one id.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Timeouts against slow clients (slowloris); numbers and reasons in docs/security.md.
    ...options,
    // A request without Host is refused in the onRequest hook below, in the envelope: Node's own
    // refusal is a bare 400.
    http: { ...options.http, requireHostHeader: false },
    // Answers before routing, in the envelope too (src/http/pre-routing.ts).
    clientErrorHandler: clientErrorHandler(methods, deps.logger),
    frameworkErrors,
    // Behind the proxies of RELEVO_TRUST_PROXY, request.ip is the client's, not the proxy's.
    trustProxy: deps.config.trustProxy.length > 0 ? [...deps.config.trustProxy] : false,
    ajv: AJV_OPTIONS,
  });

  registerJsonParser(server);
  trackRouteMethods(server, methods);
  registerErrorHandling(server, methods);
  registerServerAnswers(server.server, methods);

  server.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400 (HTTP/1.0 may omit it).
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      throw new ApiError('bad_request', 'An HTTP/1.1 request must carry a Host header.');
    }
    // /readyz answers during the drain too: shutting_down is what tells a balancer to go.
    if (closing && request.routeOptions.url !== '/readyz') {
      reply.header('connection', 'close');
      throw new ApiError(
        'service_unavailable',
        'The server is shutting down; retry on another node or in a moment.',
        {},
        {
          headers: { 'retry-after': '1' },
        },
      );
    }
  });
  // After the request-id hook (a 429 carries the id), before every route.
  registerAbuseLimits(server, deps.config);
  instrumentApp(server, deps.metrics, deps.tracer);

  await registerOpenApi(server);

  const routeDeps: RouteDeps = {
    config: deps.config,
    store: deps.store,
    clock: deps.clock ?? Date.now,
    log: deps.logger,
    allowList: parseAllowList(deps.config.webhookAllow),
    resolve: new HostResolver({ servers: deps.config.dnsServers }).resolve,
    credentials: new CredentialCache(deps.store.queries.credentials),
  };
  // Before the routes: its onRoute hook equips each POST route registered below.
  registerIdempotency(server, routeDeps, { managementPrefixes: API_PREFIXES, adminPrefix: '/admin/v1' });

  const app: App = {
    server,
    beginShutdown: () => {
      closing = true;
    },
  };

  healthRoutes(server, routeDeps, () => closing);
  // A worker-only process (RELEVO_ROLE=worker) delivers events and answers health checks only.
  if (deps.config.role === 'worker') return app;

  const streams = eventStreams(server, routeDeps);
  // Undefined when the admin API is off: a bearer token is then refused like any bad credential.
  const adminCheck = deps.config.adminApiOff
    ? undefined
    : adminAuthenticator(deps.config.adminToken, deps.store.queries);
  const projectCaller = managementAuthenticator(routeDeps.credentials, deps.store.queries, adminCheck);
  for (const prefix of API_PREFIXES) {
    await server.register(
      async (scope) => {
        // Only the first prefix appears in the OpenAPI document; the others are aliases.
        if (prefix !== API_PREFIXES[0]) {
          scope.addHook('onRoute', (route) => {
            route.schema = { ...(route.schema ?? {}), hide: true };
          });
        }
        scope.addHook('onRequest', projectCaller);
        integrationRoutes(scope, routeDeps);
        conversationRoutes(scope, routeDeps);
        deliveryRoutes(scope, routeDeps);
        overviewRoutes(scope, routeDeps);
        panelMessageRoutes(scope, routeDeps);
        botReplyRoutes(scope, routeDeps);
        conversationMessageRoutes(scope, routeDeps);
        eventStreamRoutes(scope, { ...routeDeps, adminCheck }, streams);
      },
      { prefix },
    );
  }

  if (deps.config.adminApiOff) {
    // Turned off on purpose: every /admin path says so and how to turn it on, rather than
    // answering as if the path were mistyped (route_not_found).
    const off = async (): Promise<never> => {
      throw new ApiError(
        'admin_api_disabled',
        'The admin API is off on this server (RELEVO_ADMIN_TOKEN=off).',
      );
    };
    // In onRequest, so a body that is not JSON gets the same answer.
    for (const url of ['/admin', '/admin/*'])
      server.all(url, { schema: { hide: true }, onRequest: off }, off);
  } else {
    const authenticate = adminCheck ?? adminAuthenticator(deps.config.adminToken, deps.store.queries);
    await server.register(
      async (scope) => {
        adminRoutes(scope, { ...routeDeps, authenticate });
        // After adminRoutes: its token check is a hook of this scope.
        adminLifecycleRoutes(scope, routeDeps);
        adminEventStreamRoutes(scope, { ...routeDeps, authenticate }, streams);
      },
      { prefix: '/admin/v1' },
    );
  }

  httpChannelRoutes(server, routeDeps);
  webchatRoutes(server, routeDeps);
  whatsappRoutes(server, routeDeps);
  faviconRoutes(server);
  consoleRoutes(server);

  await registerDocs(server);

  return app;
}
