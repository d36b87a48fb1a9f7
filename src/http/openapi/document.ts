/**
 * The OpenAPI 3.1 document (/openapi.json) and the page that renders it (/docs).
 *
 * @fastify/swagger builds the document from the routes' own schemas; transformObject then
 * attaches the examples (examples.ts), and the events relevo sends are listed as `webhooks`
 * (webhooks.ts). Each request then gets its own copy with `servers` and the curl commands set
 * to the origin the reader used (request.protocol and request.host, which honour
 * X-Forwarded-Proto/-Host only from the proxies of RELEVO_TRUST_PROXY).
 *
 * /docs is Swagger UI, served from the @fastify/swagger-ui package with every asset on this
 * server (no CDN: the page works on a network with no internet), under a CSP that admits
 * nothing else.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { VERSION } from '../../version.js';
import { curlSample, SHELL_VARIABLES, withCurl } from './curl.js';
import { attachExamples } from './examples.js';
import { webhooks } from './webhooks.js';

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is built loosely.
type Json = any;

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

const TAGS = [
  {
    name: 'integrations',
    description: "The project's webhook: where relevo sends every event (docs/api.md §4.1–§4.5).",
  },
  {
    name: 'conversations',
    description: 'Start, close, list and read conversations (docs/api.md §4.6–§4.8).',
  },
  {
    name: 'messages',
    description:
      'Send a message to the end user: signed with the signingSecret (docs/api.md §4.10), or with the API key into a conversation.',
  },
  {
    name: 'events',
    description: "The project's events as they are committed, as Server-Sent Events (text/event-stream).",
  },
  {
    name: 'bots',
    description:
      'Your own bot (engine external): reply to an end user, learn who owns a room (docs/api.md §5.6).',
  },
  {
    name: 'deliveries',
    description: 'The delivery log of the events sent to the webhook: look, retry, replay.',
  },
  {
    name: 'channels',
    description: "The http channel: your own app's users write to a bot (signed with its signingKey).",
  },
  {
    name: 'admin',
    description: 'Projects, credentials, bots, end users, bot rules (Bearer RELEVO_ADMIN_TOKEN).',
  },
  { name: 'webhooks', description: "What relevo POSTs to your integration's webhookUrl." },
];

/** Registers @fastify/swagger; call before the routes are registered (it collects them). */
export async function registerOpenApi(server: FastifyInstance): Promise<void> {
  await server.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'relevo external-support API',
        version: VERSION,
      },
      tags: TAGS,
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: "The project's API key" },
          basic: { type: 'http', scheme: 'basic', description: 'clientId and clientSecret of the project' },
          adminToken: {
            type: 'http',
            scheme: 'bearer',
            description:
              'The admin token: RELEVO_ADMIN_TOKEN, or the one printed at the first start; accepted by the admin API and, as any project, by the routes of a project',
          },
        },
      },
      security: [{ apiKey: [] }, { basic: [] }, { adminToken: [] }],
      webhooks: webhooks(),
    },
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      attachExamples(document.openapiObject);
      return document.openapiObject;
    },
  });
}

/** `host` or `host:port`, a bracketed IPv6 address allowed; anything else is not echoed. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** The origin the reader used, or undefined when the Host header is unusable. */
export function originOf(request: FastifyRequest): string | undefined {
  const host = request.host;
  if (typeof host !== 'string' || !HOST.test(host)) return undefined;
  return `${request.protocol}://${host}`;
}

function introduction(origin: string): string {
  const variables = SHELL_VARIABLES.map(([name, what]) => `export ${name}=…   # ${what}`).join('\n');
  return [
    `relevo speaks the External Support Panel API. Every management route is served under \`/jelouapi/v1\`, \`/platform/v1\` and \`/v1\` alike; this document lists \`/jelouapi/v1\`. The same document for code generators: [${origin}/openapi.json](${origin}/openapi.json).`,
    "**Try it.** Press *Authorize* and give your project's API key (`apiKey`), or its clientId and clientSecret (`basic`); for the admin API (and any project's routes), the admin token (`adminToken`: the one the first start printed, or `RELEVO_ADMIN_TOKEN`). Then open an operation, press *Try it out* and *Execute*: the request goes to this server. The two signed routes (send a message, custom channel) need an `X-Jelou-Signature` you compute yourself: their curl command shows how, with openssl.",
    `**curl.** Each operation shows a curl command for this server. Set the variables it uses first:\n\n\`\`\`sh\n${variables}\n\`\`\`\n\nA project and its API key come from the admin API:\n\n\`\`\`sh\ncurl -sS -X POST "${origin}/admin/v1/projects" \\\n  -H "authorization: Bearer $RELEVO_ADMIN_TOKEN" \\\n  -H 'content-type: application/json' --data '{"name":"Acme"}'\n\`\`\`\n\nor, on the server, \`npx relevo projects create --name Acme\`.`,
    '**Webhooks.** The events relevo POSTs to your `webhookUrl`, and their headers, are listed under *Webhooks* below. Signatures, retries and ordering: docs/webhooks.md.',
  ].join('\n\n');
}

/**
 * The document as this request should see it: `servers` and the curl commands use the reader's
 * origin. The cached document is not changed; only the objects on the way are copied.
 */
export function documentFor(base: Json, request: FastifyRequest): Json {
  const found = originOf(request);
  const origin = found ?? '';
  const paths: Json = {};
  for (const [path, item] of Object.entries<Json>(base.paths ?? {})) {
    const copy: Json = { ...item };
    for (const method of METHODS) {
      const op = item[method];
      if (op === undefined) continue;
      const security: Json[] = op.security ?? base.security ?? [];
      const basicToo = security.some((r) => Object.hasOwn(r, 'basic'));
      copy[method] = {
        ...op,
        description: withCurl(op.description, curlSample(base, origin, path, method, op), basicToo),
      };
    }
    paths[path] = copy;
  }
  return {
    ...base,
    info: { ...base.info, description: introduction(origin) },
    servers: [
      found === undefined
        ? { url: '/', description: 'This server' }
        : {
            url: origin,
            description: 'This server, as you reached it (management routes also under /platform/v1 and /v1)',
          },
    ],
    paths,
  };
}

/**
 * The Content-Security-Policy of /docs: scripts, styles and fetches from this server only,
 * images from it or inline (Swagger UI draws its icons as data: URIs).
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The document names the origin it was asked through: a cache must key it by these. */
const VARY = 'host, x-forwarded-host, x-forwarded-proto';

/** /openapi.json and the /docs page; call after every route is registered. */
export async function registerDocs(server: FastifyInstance): Promise<void> {
  server.get('/openapi.json', { schema: { hide: true } }, async (request, reply) => {
    reply.header('vary', VARY);
    return documentFor(server.swagger(), request);
  });

  // Its own scope, so that the hook below touches the page and its assets only.
  await server.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply, payload) => {
      reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
      // Swagger UI's page has no viewport meta: without one a phone lays it out 980 px wide.
      if (typeof payload === 'string' && payload.includes('<meta charset="UTF-8">')) {
        return payload.replace('<meta charset="UTF-8">', `<meta charset="UTF-8">\n${VIEWPORT}`);
      }
      return payload;
    });
    await registerSwaggerUi(scope);
  });
}

const VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">';

async function registerSwaggerUi(server: FastifyInstance): Promise<void> {
  await server.register(swaggerUi, {
    routePrefix: '/docs',
    // BaseLayout: no top bar with its "explore another URL" box; no external validator badge.
    theme: { title: 'relevo API reference' },
    uiConfig: {
      layout: 'BaseLayout',
      deepLinking: true,
      docExpansion: 'list',
      defaultModelsExpandDepth: -1,
      displayRequestDuration: true,
      filter: true,
      tryItOutEnabled: false,
      validatorUrl: null,
    },
    staticCSP: DOCS_CSP,
    transformSpecification: (document, request, reply) => {
      reply.header('vary', VARY);
      return documentFor(document, request);
    },
    transformSpecificationClone: false,
  });
}
