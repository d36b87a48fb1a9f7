/**
 * Configuration: loaded once from the environment in main, validated, frozen and passed down.
 * Nothing else in the project reads process.env. Every default lives here and in the README table.
 */

export type Role = 'api' | 'worker' | 'all';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** `sqlite:<path>` or `postgres://…` */
  readonly databaseUrl: string;
  readonly adminToken: string | undefined;
  /** CIDRs and host names exempt from the webhook network policy. */
  readonly webhookAllow: readonly string[];
  readonly webhookTimeoutMs: number;
  /** Delay before each attempt, in ms; its length is the number of attempts. */
  readonly webhookRetryScheduleMs: readonly number[];
  /** Attempts in flight at once per integration: what one slow webhook can hold. */
  readonly webhookConcurrency: number;
  readonly role: Role;
  readonly logLevel: LogLevel;
  /** Largest accepted request body, in bytes. */
  readonly bodyLimitBytes: number;
  /** 32-byte key encrypting stored signing secrets and webhook credentials; undefined = plaintext. */
  readonly encryptionKey: Buffer | undefined;
  /** Connections in the PostgreSQL pool of one process. */
  readonly databasePoolSize: number;
  /** How long SIGTERM waits for in-flight work before giving up, in ms. */
  readonly shutdownTimeoutMs: number;
}

export const DEFAULTS = {
  PORT: '8080',
  HOST: '0.0.0.0',
  DATABASE_URL: 'sqlite:./data/relevo.db',
  RELEVO_WEBHOOK_ALLOW: '',
  RELEVO_WEBHOOK_TIMEOUT_MS: '15000',
  RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,5s,5m,30m,2h,5h,10h,10h',
  RELEVO_WEBHOOK_CONCURRENCY: '16',
  RELEVO_ROLE: 'all',
  LOG_LEVEL: 'info',
  RELEVO_BODY_LIMIT_BYTES: String(1024 * 1024),
  RELEVO_SHUTDOWN_TIMEOUT_MS: '30000',
  RELEVO_DB_POOL_SIZE: '10',
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

/** 64 hex characters, or base64 of 32 bytes (e.g. `openssl rand -base64 32`). */
function encryptionKey(raw: string | undefined): Buffer | undefined {
  if (raw === undefined || raw === '') return undefined;
  const text = raw.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32 || (!/^[0-9a-fA-F]{64}$/.test(text) && !/^[A-Za-z0-9+/_-]{43}=?$/.test(text))) {
    throw new ConfigError(
      'RELEVO_ENCRYPTION_KEY must be 32 bytes as 64 hex characters or base64 (e.g. `openssl rand -hex 32`).',
    );
  }
  return key;
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
  const adminToken = env.RELEVO_ADMIN_TOKEN === '' ? undefined : env.RELEVO_ADMIN_TOKEN;
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError(
      'RELEVO_ADMIN_TOKEN is shorter than 16 characters; use a long random value (e.g. `openssl rand -hex 32`).',
    );
  }
  const schedule = parseDurationList('RELEVO_WEBHOOK_RETRY_SCHEDULE', get('RELEVO_WEBHOOK_RETRY_SCHEDULE'));
  const config: Config = {
    port: int('PORT', get('PORT'), 0, 65535),
    host: get('HOST'),
    databaseUrl: databaseUrl(get('DATABASE_URL')),
    adminToken,
    webhookAllow: get('RELEVO_WEBHOOK_ALLOW')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    webhookTimeoutMs: int('RELEVO_WEBHOOK_TIMEOUT_MS', get('RELEVO_WEBHOOK_TIMEOUT_MS'), 1, 600_000),
    webhookRetryScheduleMs: schedule,
    webhookConcurrency: int('RELEVO_WEBHOOK_CONCURRENCY', get('RELEVO_WEBHOOK_CONCURRENCY'), 1, 1024),
    role,
    logLevel,
    bodyLimitBytes: int('RELEVO_BODY_LIMIT_BYTES', get('RELEVO_BODY_LIMIT_BYTES'), 1024, 64 * 1024 * 1024),
    encryptionKey: encryptionKey(env.RELEVO_ENCRYPTION_KEY),
    databasePoolSize: int('RELEVO_DB_POOL_SIZE', get('RELEVO_DB_POOL_SIZE'), 1, 1000),
    shutdownTimeoutMs: int('RELEVO_SHUTDOWN_TIMEOUT_MS', get('RELEVO_SHUTDOWN_TIMEOUT_MS'), 0, 3_600_000),
  };
  return Object.freeze(config);
}
