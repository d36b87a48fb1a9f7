/**
 * Secrets never reach the logs through a URL. Fastify logs every request's URL at info; the web
 * chat's stream takes its session token in the query string (EventSource cannot send headers),
 * and a client that gets the URL slightly wrong (`/stream/`, `/streams`) reaches a route that
 * logs as usual — with the token. The request serializer below blanks the values of
 * token-bearing query parameters in every logged URL, whatever the route; headers are not
 * logged at all (so neither Authorization nor x-api-key).
 */
import { SECRET_FIELDS } from './idempotency-redaction.js';

/** Query parameters whose values are credentials, compared in lower case. */
const SECRET_PARAMS = new Set([
  'token',
  'access_token',
  'session',
  'session_token',
  'sessiontoken',
  'api_key',
  'apikey',
  'x-api-key',
  'client_secret',
  'secret',
  'password',
]);

export const REDACTED = '[REDACTED]';

/** Headers that carry a credential or a signature made with one, in lower case as Node keeps them. */
const SECRET_HEADERS = [
  'authorization',
  'x-api-key',
  'cookie',
  'set-cookie',
  'x-jelou-signature',
  'webhook-signature',
  'x-hub-signature-256',
];

/**
 * Body fields that carry a secret: those an answer hands out once (SECRET_FIELDS), and the ones
 * a request or a configuration may carry — the admin token, a WhatsApp access token, app
 * secret or verify token, a webhook's credentials, a Rasa token.
 */
const SECRET_BODY_FIELDS = [
  ...SECRET_FIELDS,
  'adminToken',
  'accessToken',
  'access_token',
  'appSecret',
  'app_secret',
  'engineSecret',
  'verifyToken',
  'verify_token',
  'secret',
  'token',
  'password',
  'authorization',
];

/**
 * pino's `redact` paths: the secret headers of a logged request, response or outgoing attempt,
 * and secret fields at the top of a logged object or one level down (`body.apiKey`,
 * `integration.signingSecret`). By configuration, so that a log call that passes a whole object
 * does not leak by accident (docs/operations.md, "Logs").
 */
export const LOG_REDACT_PATHS: readonly string[] = [
  ...['req', 'res', 'request', 'response', ''].flatMap((owner) =>
    SECRET_HEADERS.map((h) => `${owner === '' ? '' : `${owner}.`}headers["${h}"]`),
  ),
  ...SECRET_BODY_FIELDS.flatMap((f) => [f, `*.${f}`]),
];

/** The URL with the value of every secret query parameter replaced by `[REDACTED]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name: string;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        name = rawName;
      }
      return SECRET_PARAMS.has(name.trim().toLowerCase()) ? `${rawName}=${REDACTED}` : pair;
    })
    .join('&');
  return `${url.slice(0, q)}?${query}`;
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number } | null;
}

/** Fastify's request serializer (method, url, host, client address) with the URL redacted. */
export function serializeRequest(req: LoggedRequest): Record<string, unknown> {
  return {
    method: req.method,
    url: req.url === undefined ? undefined : redactUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}
