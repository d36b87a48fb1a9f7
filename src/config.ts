/**
 * Configuration: loaded once from the environment in main, validated, frozen and passed down.
 * Nothing else in the project reads process.env. Every default lives here and in the README table.
 */

import { isIP } from 'node:net';

export type Role = 'api' | 'worker' | 'all';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** `sqlite:<path>` or `postgres://…` */
  readonly databaseUrl: string;
  /**
   * The admin API's bearer token from RELEVO_ADMIN_TOKEN; undefined: the token stored in the
   * database (created at the first start) is the one, unless `adminApiOff`.
   */
  readonly adminToken: string | undefined;
  /** RELEVO_ADMIN_TOKEN=off: no admin API at all; its paths answer admin_api_disabled. */
  readonly adminApiOff: boolean;
  /** CIDRs and host names exempt from the webhook network policy. */
  readonly webhookAllow: readonly string[];
  readonly webhookTimeoutMs: number;
  /** Delay before each attempt, in ms; its length is the number of attempts. */
  readonly webhookRetryScheduleMs: readonly number[];
  /** Attempts in flight at once per integration: what one slow webhook can hold. */
  readonly webhookConcurrency: number;
  /** DNS servers for webhook host names (`ip` or `ip:port`); empty = the system's resolv.conf. */
  readonly dnsServers: readonly string[];
  readonly role: Role;
  readonly logLevel: LogLevel;
  /** Largest accepted request body, in bytes. */
  readonly bodyLimitBytes: number;
  /** 32-byte key encrypting stored signing secrets and webhook credentials; undefined = plaintext. */
  readonly encryptionKey: Buffer | undefined;
  /** SQLite durability: `normal` survives a killed process, `full` a power cut as well. */
  readonly sqliteSynchronous: 'normal' | 'full';
  /** Connections in the PostgreSQL pool of one process. */
  readonly databasePoolSize: number;
  /**
   * PostgreSQL: a direct (session) connection for LISTEN and migrations, when DATABASE_URL goes
   * through a transaction pooler such as PgBouncer; undefined = DATABASE_URL serves both.
   */
  readonly databaseListenUrl: string | undefined;
  /** How long SIGTERM waits for in-flight work before giving up, in ms. */
  readonly shutdownTimeoutMs: number;
  /** Per-credential request rate on management routes; undefined = no limit (the default). */
  readonly rateLimit: RateLimit | undefined;
  /** Failed authentications per minute from one client address before it waits; 0 = no limit. */
  readonly authFailureLimit: number;
  /** Reverse proxies (IPs and CIDRs) whose X-Forwarded-For names the client; empty = none. */
  readonly trustProxy: readonly string[];
  /** Open connections one process accepts; more are closed at once. */
  readonly maxConnections: number;
  /** Time a client has to send the request line and headers, in ms. */
  readonly headersTimeoutMs: number;
  /** Time a client has to send the whole request, body included, in ms. */
  readonly requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open, in ms. */
  readonly keepAliveTimeoutMs: number;
  /** Open web chat streams one session may hold; one more closes its oldest. */
  readonly webchatStreamsPerSession: number;
  /** Open web chat streams one client address may hold; more are refused with 429. */
  readonly webchatStreamsPerAddress: number;
  /** A web chat stream that cannot write anything for this long is closed, in ms. */
  readonly webchatStreamIdleTimeoutMs: number;
  /** Web chat sessions one client address may create (a token bucket). */
  readonly webchatSessionRate: RateLimit;
  /** Web chat sessions whose visitor never wrote are deleted after this long, in ms. */
  readonly webchatIdleSessionTtlMs: number;
  /** The web chat page's CSP frame-ancestors sources; `'self'` by default. */
  readonly webchatFrameAncestors: readonly string[];
  /** A live event stream (…/events/stream) that cannot write anything for this long is closed, in ms. */
  readonly eventStreamIdleTimeoutMs: number;
  /** The Graph API's base URL for the WhatsApp channel (no trailing slash); Meta's by default. */
  readonly whatsappGraphUrl: string;
  /** RELEVO_METRICS_ADDR: where the Prometheus listener serves GET /metrics; undefined = off. */
  readonly metricsAddr: { readonly host: string; readonly port: number } | undefined;
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the OTLP/HTTP collector traces go to; undefined = tracing off. */
  readonly otlpEndpoint: string | undefined;
}

/** A token bucket's size: `requests` per `periodMs`, bursting up to `requests`. */
export interface RateLimit {
  readonly requests: number;
  readonly periodMs: number;
}

export const DEFAULTS = {
  PORT: '8080',
  HOST: '0.0.0.0',
  DATABASE_URL: 'sqlite:./data/relevo.db',
  RELEVO_WEBHOOK_ALLOW: '',
  RELEVO_WEBHOOK_TIMEOUT_MS: '15000',
  RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,5s,5m,30m,2h,5h,10h,10h',
  RELEVO_WEBHOOK_CONCURRENCY: '64',
  RELEVO_DNS_SERVERS: '',
  RELEVO_ROLE: 'all',
  LOG_LEVEL: 'info',
  RELEVO_BODY_LIMIT_BYTES: String(1024 * 1024),
  RELEVO_SHUTDOWN_TIMEOUT_MS: '30000',
  RELEVO_DB_POOL_SIZE: '10',
  RELEVO_DATABASE_LISTEN_URL: '',
  RELEVO_SQLITE_SYNCHRONOUS: 'normal',
  RELEVO_RATE_LIMIT: '',
  RELEVO_AUTH_FAILURE_LIMIT: '20',
  RELEVO_TRUST_PROXY: '',
  RELEVO_MAX_CONNECTIONS: '10000',
  RELEVO_HEADERS_TIMEOUT_MS: '10000',
  RELEVO_REQUEST_TIMEOUT_MS: '30000',
  RELEVO_KEEP_ALIVE_TIMEOUT_MS: '72000',
  RELEVO_WEBCHAT_STREAMS_PER_SESSION: '5',
  RELEVO_WEBCHAT_STREAMS_PER_ADDRESS: '50',
  RELEVO_WEBCHAT_STREAM_IDLE_TIMEOUT_MS: '60000',
  RELEVO_WEBCHAT_SESSION_RATE: '20/m',
  RELEVO_WEBCHAT_IDLE_SESSION_TTL: '24h',
  RELEVO_WEBCHAT_FRAME_ANCESTORS: "'self'",
  RELEVO_EVENT_STREAM_IDLE_TIMEOUT_MS: '60000',
  RELEVO_WHATSAPP_GRAPH_URL: 'https://graph.facebook.com',
  RELEVO_METRICS_ADDR: '',
  OTEL_EXPORTER_OTLP_ENDPOINT: '',
} as const;

/** A configuration problem: its message is the one line printed before exiting. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const ROLES: readonly Role[] = ['api', 'worker', 'all'];
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** No single retry delay may exceed 30 days (the default schedule's longest is 10 h). */
const MAX_RETRY_DELAY_MS = 30 * 24 * 3_600_000;

function int(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(
      `${name}=${JSON.stringify(raw)} is not a whole number; set it to an integer between ${min} and ${max}.`,
    );
  }
  const n = Number(raw.trim());
  if (n < min || n > max) {
    throw new ConfigError(`${name}=${raw} is out of range; set it to an integer between ${min} and ${max}.`);
  }
  return n;
}

/** Parses `0,5s,5m,30m` into milliseconds; a bare number is milliseconds. */
export function parseDurationList(name: string, raw: string): number[] {
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw new ConfigError(
      `${name}=${JSON.stringify(raw)} has an empty entry; write delays separated by commas, e.g. 0,5s,5m,30m.`,
    );
  }
  return parts.map((p) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(p);
    if (!m) {
      throw new ConfigError(
        `${name}: ${JSON.stringify(p)} is not a delay; use a number with an optional ms, s, m or h suffix (e.g. 5m).`,
      );
    }
    const ms = Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] ?? 1));
    if (ms > MAX_RETRY_DELAY_MS) {
      throw new ConfigError(
        `${name}: ${p} is longer than 30 days; a retry that far away is a dead letter in disguise.`,
      );
    }
    return ms;
  });
}

function databaseUrl(raw: string): string {
  if (raw.startsWith('sqlite:') && raw.length > 'sqlite:'.length) return raw;
  if (/^postgres(ql)?:\/\/.+/.test(raw)) return raw;
  throw new ConfigError(
    `DATABASE_URL=${JSON.stringify(raw)} is not supported; use sqlite:<path> (e.g. sqlite:./data/relevo.db) or postgres://user:password@host:5432/db.`,
  );
}

function databaseListenUrl(raw: string, database: string): string | undefined {
  if (raw === '') return undefined;
  if (!/^postgres(ql)?:\/\/.+/.test(raw)) {
    throw new ConfigError(
      `RELEVO_DATABASE_LISTEN_URL=${JSON.stringify(raw)} is not supported; use postgres://user:password@host:5432/db, a direct connection to the database DATABASE_URL reaches through the pooler.`,
    );
  }
  if (!/^postgres(ql)?:\/\//.test(database)) {
    throw new ConfigError(
      'RELEVO_DATABASE_LISTEN_URL is for PostgreSQL behind a transaction pooler; DATABASE_URL is not a postgres:// URL. Unset it.',
    );
  }
  return raw;
}

function sqliteSynchronous(raw: string): 'normal' | 'full' {
  if (raw === 'normal' || raw === 'full') return raw;
  throw new ConfigError(
    `RELEVO_SQLITE_SYNCHRONOUS=${JSON.stringify(raw)} is not a mode; use normal (survives a killed process) or full (survives a power cut too).`,
  );
}

/** 64 hex characters, or base64 of 32 bytes (e.g. `openssl rand -base64 32`). */
function encryptionKey(raw: string | undefined): Buffer | undefined {
  if (raw === undefined || raw === '') return undefined;
  const text = raw.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32 || (!/^[0-9a-fA-F]{64}$/.test(text) && !/^[A-Za-z0-9+/_-]{43}=?$/.test(text))) {
    throw new ConfigError(
      'RELEVO_ENCRYPTION_KEY is not a 32-byte key; set it to 64 hex characters or base64 of 32 bytes (e.g. `openssl rand -hex 32`).',
    );
  }
  return key;
}

const RATE_PERIOD_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** `100/s`, `6000/m` or `50000/h`; empty is no limit. */
export function parseRateLimit(raw: string, name = 'RELEVO_RATE_LIMIT'): RateLimit | undefined {
  const text = raw.trim();
  if (text === '') return undefined;
  const m = /^(\d{1,7})\s*\/\s*(s|m|h)$/.exec(text);
  const requests = Number(m?.[1]);
  if (!m || !(requests >= 1)) {
    const off = name === 'RELEVO_RATE_LIMIT' ? ' (empty turns it off)' : '';
    throw new ConfigError(
      `${name}=${JSON.stringify(raw)} is not a rate; write requests per second, minute or hour, e.g. 100/s or 6000/m${off}.`,
    );
  }
  return { requests, periodMs: RATE_PERIOD_MS[m[2] ?? 's'] ?? 1000 };
}

/**
 * `1.2.3.4`, `1.2.3.4:53`, `::1` or `[::1]:53`, comma-separated. Checked here, port included:
 * c-ares' setServers aborts the whole process on a port of 0 or above 65535.
 */
function dnsServers(raw: string): string[] {
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const entry of entries) {
    const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(entry) ?? /^([^:]+)(?::(\d{1,5}))?$/.exec(entry);
    const ip = m?.[1] ?? entry;
    const port = m?.[2] === undefined ? 53 : Number(m[2]);
    const bracketed = entry.startsWith('[');
    const family = isIP(ip);
    const ok =
      port >= 1 && port <= 65535 && (family === 4 ? !bracketed : family === 6 && (bracketed || m === null));
    if (!ok) {
      throw new ConfigError(
        `RELEVO_DNS_SERVERS: ${JSON.stringify(entry)} is not a DNS server address; write IP addresses with an optional port, e.g. 10.0.0.2,10.0.0.3:5353,[fd00::53]:53 (empty uses /etc/resolv.conf).`,
      );
    }
  }
  return entries;
}

/** Proxy addresses as `10.0.0.1`, `10.0.0.0/8` or `::1`: what Fastify's trustProxy accepts. */
function trustProxy(raw: string): string[] {
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const entry of entries) {
    const [ip = '', prefix, extra] = entry.split('/');
    const family = isIP(ip);
    const max = family === 6 ? 128 : 32;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max);
    if (family === 0 || !prefixOk || extra !== undefined) {
      throw new ConfigError(
        `RELEVO_TRUST_PROXY: ${JSON.stringify(entry)} is not an IP address or CIDR; write the addresses of your reverse proxies, e.g. 127.0.0.1,10.0.0.0/8.`,
      );
    }
  }
  return entries;
}

/** A single duration: a number with an optional ms, s, m, h or d suffix (bare = ms). */
function duration(name: string, raw: string, minMs: number, maxMs: number): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim());
  const ms = m
    ? Math.round(Number(m[1]) * (m[2] === 'd' ? 86_400_000 : (UNIT_MS[m[2] ?? 'ms'] ?? 1)))
    : Number.NaN;
  if (!(ms >= minMs && ms <= maxMs)) {
    throw new ConfigError(
      `${name}=${JSON.stringify(raw)} is not a duration from ${minMs / 60_000} minutes to ${maxMs / 86_400_000} days; write e.g. 24h, 90m or 7d.`,
    );
  }
  return ms;
}

/**
 * CSP frame-ancestors sources, separated by spaces or commas: 'self', 'none', a scheme
 * (`https:`) or an origin with an optional `*.` and port (`https://*.example.com:8443`).
 * Anything else (a quote, a semicolon, a path) could change the header's meaning, so it is refused.
 */
function frameAncestors(raw: string): string[] {
  const entries = raw.split(/[\s,]+/).filter((s) => s !== '');
  const source =
    /^(?:'self'|'none'|https?:|https?:\/\/(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::(?:\d{1,5}|\*))?)$/;
  const bad = entries.find((e) => !source.test(e));
  if (bad !== undefined || entries.length === 0 || (entries.includes("'none'") && entries.length > 1)) {
    const what =
      bad === undefined ? 'is not a list of sources' : `has ${JSON.stringify(bad)}, which is not a source`;
    throw new ConfigError(
      `RELEVO_WEBCHAT_FRAME_ANCESTORS ${what}; write 'self', 'none' or origins such as https://www.example.com, separated by spaces or commas.`,
    );
  }
  return entries;
}

/**
 * The Graph API's base: an absolute http(s) URL without query or fragment. A proxy or a test
 * stand-in may serve it under a path; the trailing slash is dropped so that
 * `{base}/{version}/…` has one slash.
 */
function graphUrl(raw: string): string {
  let u: URL | undefined;
  try {
    u = new URL(raw.trim());
  } catch {
    u = undefined;
  }
  if (
    u === undefined ||
    (u.protocol !== 'https:' && u.protocol !== 'http:') ||
    u.search !== '' ||
    u.hash !== ''
  ) {
    throw new ConfigError(
      `RELEVO_WHATSAPP_GRAPH_URL=${JSON.stringify(raw)} is not an http(s) URL without query; write e.g. https://graph.facebook.com.`,
    );
  }
  return u.href.replace(/\/+$/, '');
}

/** `host:port` or `[v6]:port` for the metrics listener; empty turns it off. */
function metricsAddr(raw: string): { host: string; port: number } | undefined {
  const text = raw.trim();
  if (text === '') return undefined;
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (!m?.[1] || !(port >= 0 && port <= 65535)) {
    throw new ConfigError(
      `RELEVO_METRICS_ADDR=${JSON.stringify(raw)} is not an address; write host:port, e.g. 127.0.0.1:9464 or [::1]:9464 (empty turns metrics off).`,
    );
  }
  return { host: m[1], port };
}

/** The OTLP/HTTP base URL, e.g. http://otel-collector:4318; empty turns tracing off. */
function otlpEndpoint(raw: string): string | undefined {
  const text = raw.trim();
  if (text === '') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(
      `OTEL_EXPORTER_OTLP_ENDPOINT=${JSON.stringify(raw)} is not an http(s) URL; write the collector's OTLP/HTTP address, e.g. http://localhost:4318 (empty turns tracing off).`,
    );
  }
  return text.replace(/\/+$/, '');
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const get = (k: keyof typeof DEFAULTS): string => {
    const v = env[k];
    return v === undefined || v === '' ? DEFAULTS[k] : v;
  };
  const role = get('RELEVO_ROLE') as Role;
  if (!ROLES.includes(role)) {
    throw new ConfigError(`RELEVO_ROLE=${JSON.stringify(role)} is not a role; use api, worker or all.`);
  }
  const logLevel = get('LOG_LEVEL') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(
      `LOG_LEVEL=${JSON.stringify(logLevel)} is not a level; use one of ${LOG_LEVELS.join(', ')}.`,
    );
  }
  const adminApiOff = env.RELEVO_ADMIN_TOKEN?.trim().toLowerCase() === 'off';
  const adminToken = env.RELEVO_ADMIN_TOKEN === '' || adminApiOff ? undefined : env.RELEVO_ADMIN_TOKEN;
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError(
      'RELEVO_ADMIN_TOKEN is shorter than 16 characters; use a long random value (e.g. `openssl rand -hex 32`), or off to turn the admin API off.',
    );
  }
  const headersTimeoutMs = int('RELEVO_HEADERS_TIMEOUT_MS', get('RELEVO_HEADERS_TIMEOUT_MS'), 100, 600_000);
  const requestTimeoutMs = int('RELEVO_REQUEST_TIMEOUT_MS', get('RELEVO_REQUEST_TIMEOUT_MS'), 100, 3_600_000);
  // Node refuses a headers timeout longer than the request timeout it is part of.
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(
      `RELEVO_HEADERS_TIMEOUT_MS=${headersTimeoutMs} is longer than RELEVO_REQUEST_TIMEOUT_MS=${requestTimeoutMs}; set it to at most the request timeout.`,
    );
  }
  const schedule = parseDurationList('RELEVO_WEBHOOK_RETRY_SCHEDULE', get('RELEVO_WEBHOOK_RETRY_SCHEDULE'));
  const config: Config = {
    port: int('PORT', get('PORT'), 0, 65535),
    host: get('HOST'),
    databaseUrl: databaseUrl(get('DATABASE_URL')),
    adminToken,
    adminApiOff,
    webhookAllow: get('RELEVO_WEBHOOK_ALLOW')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    webhookTimeoutMs: int('RELEVO_WEBHOOK_TIMEOUT_MS', get('RELEVO_WEBHOOK_TIMEOUT_MS'), 1, 600_000),
    webhookRetryScheduleMs: schedule,
    webhookConcurrency: int('RELEVO_WEBHOOK_CONCURRENCY', get('RELEVO_WEBHOOK_CONCURRENCY'), 1, 1024),
    dnsServers: dnsServers(get('RELEVO_DNS_SERVERS')),
    role,
    logLevel,
    bodyLimitBytes: int('RELEVO_BODY_LIMIT_BYTES', get('RELEVO_BODY_LIMIT_BYTES'), 1024, 64 * 1024 * 1024),
    encryptionKey: encryptionKey(env.RELEVO_ENCRYPTION_KEY),
    sqliteSynchronous: sqliteSynchronous(get('RELEVO_SQLITE_SYNCHRONOUS')),
    databasePoolSize: int('RELEVO_DB_POOL_SIZE', get('RELEVO_DB_POOL_SIZE'), 1, 1000),
    databaseListenUrl: databaseListenUrl(get('RELEVO_DATABASE_LISTEN_URL'), get('DATABASE_URL')),
    shutdownTimeoutMs: int('RELEVO_SHUTDOWN_TIMEOUT_MS', get('RELEVO_SHUTDOWN_TIMEOUT_MS'), 0, 3_600_000),
    rateLimit: parseRateLimit(get('RELEVO_RATE_LIMIT')),
    authFailureLimit: int('RELEVO_AUTH_FAILURE_LIMIT', get('RELEVO_AUTH_FAILURE_LIMIT'), 0, 1_000_000),
    trustProxy: trustProxy(get('RELEVO_TRUST_PROXY')),
    maxConnections: int('RELEVO_MAX_CONNECTIONS', get('RELEVO_MAX_CONNECTIONS'), 1, 1_000_000),
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: int(
      'RELEVO_KEEP_ALIVE_TIMEOUT_MS',
      get('RELEVO_KEEP_ALIVE_TIMEOUT_MS'),
      100,
      600_000,
    ),
    webchatStreamsPerSession: int(
      'RELEVO_WEBCHAT_STREAMS_PER_SESSION',
      get('RELEVO_WEBCHAT_STREAMS_PER_SESSION'),
      1,
      1000,
    ),
    webchatStreamsPerAddress: int(
      'RELEVO_WEBCHAT_STREAMS_PER_ADDRESS',
      get('RELEVO_WEBCHAT_STREAMS_PER_ADDRESS'),
      1,
      1_000_000,
    ),
    webchatStreamIdleTimeoutMs: int(
      'RELEVO_WEBCHAT_STREAM_IDLE_TIMEOUT_MS',
      get('RELEVO_WEBCHAT_STREAM_IDLE_TIMEOUT_MS'),
      1000,
      3_600_000,
    ),
    eventStreamIdleTimeoutMs: int(
      'RELEVO_EVENT_STREAM_IDLE_TIMEOUT_MS',
      get('RELEVO_EVENT_STREAM_IDLE_TIMEOUT_MS'),
      1000,
      3_600_000,
    ),
    webchatSessionRate: parseRateLimit(
      get('RELEVO_WEBCHAT_SESSION_RATE'),
      'RELEVO_WEBCHAT_SESSION_RATE',
    ) as RateLimit,
    webchatIdleSessionTtlMs: duration(
      'RELEVO_WEBCHAT_IDLE_SESSION_TTL',
      get('RELEVO_WEBCHAT_IDLE_SESSION_TTL'),
      60_000,
      365 * 86_400_000,
    ),
    webchatFrameAncestors: frameAncestors(get('RELEVO_WEBCHAT_FRAME_ANCESTORS')),
    whatsappGraphUrl: graphUrl(get('RELEVO_WHATSAPP_GRAPH_URL')),
    metricsAddr: metricsAddr(get('RELEVO_METRICS_ADDR')),
    otlpEndpoint: otlpEndpoint(get('OTEL_EXPORTER_OTLP_ENDPOINT')),
  };
  return Object.freeze(config);
}
