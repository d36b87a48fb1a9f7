/**
 * Secrets never reach the logs through a URL. Fastify logs every request's URL at info; the web
 * chat's stream takes its session token in the query string (EventSource cannot send headers),
 * and a client that gets the URL slightly wrong (`/stream/`, `/streams`) reaches a route that
 * logs as usual — with the token. The request serializer below blanks the values of
 * token-bearing query parameters in every logged URL, whatever the route; headers are not
 * logged at all (so neither Authorization nor x-api-key).
 */
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
