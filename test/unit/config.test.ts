/**
 * loadConfig: the defaults of docs/configuration.md, one clear line naming the variable for every invalid
 * value, the retry schedule's units, and a frozen result.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Config, ConfigError, DEFAULTS, loadConfig, parseDurationList } from '../../src/config.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

describe('defaults', () => {
  it('match docs/configuration.md when nothing is set', () => {
    const expected: Config = {
      port: 8080,
      host: '0.0.0.0',
      databaseUrl: 'sqlite:./data/relevo.db',
      adminToken: undefined,
      adminApiOff: false,
      webhookAllow: [],
      webhookTimeoutMs: 15_000,
      webhookRetryScheduleMs: [
        0,
        5 * SECOND,
        5 * MINUTE,
        30 * MINUTE,
        2 * HOUR,
        5 * HOUR,
        10 * HOUR,
        10 * HOUR,
      ],
      webhookConcurrency: 64,
      dnsServers: [],
      role: 'all',
      logLevel: 'info',
      bodyLimitBytes: 1024 * 1024,
      encryptionKey: undefined,
      sqliteSynchronous: 'normal',
      databasePoolSize: 10,
      databaseListenUrl: undefined,
      shutdownTimeoutMs: 30_000,
      rateLimit: undefined,
      authFailureLimit: 20,
      trustProxy: [],
      maxConnections: 10_000,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 72_000,
      webchatStreamsPerSession: 5,
      webchatStreamsPerAddress: 50,
      webchatStreamIdleTimeoutMs: 60_000,
      webchatSessionRate: { requests: 20, periodMs: MINUTE },
      webchatIdleSessionTtlMs: 24 * HOUR,
      webchatFrameAncestors: ["'self'"],
      eventStreamIdleTimeoutMs: 60_000,
      whatsappGraphUrl: 'https://graph.facebook.com',
      metricsAddr: undefined,
      otlpEndpoint: undefined,
    };
    expect(loadConfig({})).toEqual(expected);
  });

  it('treat an empty variable as unset', () => {
    const env = Object.fromEntries(Object.keys(DEFAULTS).map((k) => [k, '']));
    expect(loadConfig({ ...env, RELEVO_ADMIN_TOKEN: '' })).toEqual(loadConfig({}));
  });

  it('turn the admin API off with RELEVO_ADMIN_TOKEN=off, in any case, never as a token', () => {
    for (const off of ['off', 'OFF', ' Off ']) {
      expect(loadConfig({ RELEVO_ADMIN_TOKEN: off })).toMatchObject({
        adminToken: undefined,
        adminApiOff: true,
      });
    }
    expect(loadConfig({ RELEVO_ADMIN_TOKEN: 'off'.repeat(6) })).toMatchObject({
      adminToken: 'off'.repeat(6),
      adminApiOff: false,
    });
  });

  it('read only the environment passed in', () => {
    expect(loadConfig({ PORT: '9999' }).port).toBe(9999);
    expect(loadConfig({}).port).toBe(8080);
  });
});

describe('valid values', () => {
  it('are parsed', () => {
    const c = loadConfig({
      PORT: ' 9090 ',
      HOST: '127.0.0.1',
      DATABASE_URL: 'sqlite:/var/lib/relevo/relevo.db',
      RELEVO_ADMIN_TOKEN: 'x'.repeat(16),
      RELEVO_WEBHOOK_ALLOW: ' 127.0.0.0/8 , ::1,, localhost ',
      RELEVO_WEBHOOK_TIMEOUT_MS: '2500',
      RELEVO_WEBHOOK_RETRY_SCHEDULE: '0, 1s',
      RELEVO_WEBHOOK_CONCURRENCY: '4',
      RELEVO_DNS_SERVERS: ' 10.0.0.2, 10.0.0.3:5353,[fd00::53]:53 ',
      RELEVO_ROLE: 'worker',
      LOG_LEVEL: 'silent',
      RELEVO_BODY_LIMIT_BYTES: '2048',
      RELEVO_DB_POOL_SIZE: '3',
      RELEVO_SHUTDOWN_TIMEOUT_MS: '0',
      RELEVO_RATE_LIMIT: ' 6000 / m ',
      RELEVO_AUTH_FAILURE_LIMIT: '0',
      RELEVO_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1,fd00::/8',
      RELEVO_MAX_CONNECTIONS: '500',
      RELEVO_HEADERS_TIMEOUT_MS: '5000',
      RELEVO_REQUEST_TIMEOUT_MS: '5000',
      RELEVO_KEEP_ALIVE_TIMEOUT_MS: '61000',
    });
    expect(c).toMatchObject({
      port: 9090,
      host: '127.0.0.1',
      databaseUrl: 'sqlite:/var/lib/relevo/relevo.db',
      adminToken: 'x'.repeat(16),
      adminApiOff: false,
      webhookAllow: ['127.0.0.0/8', '::1', 'localhost'],
      webhookTimeoutMs: 2500,
      webhookRetryScheduleMs: [0, 1000],
      webhookConcurrency: 4,
      dnsServers: ['10.0.0.2', '10.0.0.3:5353', '[fd00::53]:53'],
      role: 'worker',
      logLevel: 'silent',
      bodyLimitBytes: 2048,
      databasePoolSize: 3,
      shutdownTimeoutMs: 0,
      rateLimit: { requests: 6000, periodMs: 60_000 },
      authFailureLimit: 0,
      trustProxy: ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8'],
      maxConnections: 500,
      headersTimeoutMs: 5000,
      requestTimeoutMs: 5000,
      keepAliveTimeoutMs: 61_000,
    });
  });

  it.each([
    'postgres://relevo:secret@db.internal:5432/relevo',
    'postgresql://relevo@localhost/relevo',
    'sqlite::memory:',
  ])('accept DATABASE_URL=%s', (url) => {
    expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
  });

  it.each(['api', 'worker', 'all'])('accept RELEVO_ROLE=%s', (role) => {
    expect(loadConfig({ RELEVO_ROLE: role }).role).toBe(role);
  });

  it.each(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])('accept LOG_LEVEL=%s', (level) => {
    expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
  });

  it('accept the bounds of every range', () => {
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
    expect(loadConfig({ PORT: '65535' }).port).toBe(65535);
    expect(loadConfig({ RELEVO_WEBHOOK_TIMEOUT_MS: '1' }).webhookTimeoutMs).toBe(1);
    expect(loadConfig({ RELEVO_WEBHOOK_TIMEOUT_MS: '600000' }).webhookTimeoutMs).toBe(600_000);
    expect(loadConfig({ RELEVO_WEBHOOK_CONCURRENCY: '1' }).webhookConcurrency).toBe(1);
    expect(loadConfig({ RELEVO_WEBHOOK_CONCURRENCY: '1024' }).webhookConcurrency).toBe(1024);
    expect(loadConfig({ RELEVO_BODY_LIMIT_BYTES: '1024' }).bodyLimitBytes).toBe(1024);
    expect(loadConfig({ RELEVO_BODY_LIMIT_BYTES: String(64 * 1024 * 1024) }).bodyLimitBytes).toBe(
      64 * 1024 * 1024,
    );
    expect(loadConfig({ RELEVO_DB_POOL_SIZE: '1' }).databasePoolSize).toBe(1);
    expect(loadConfig({ RELEVO_DB_POOL_SIZE: '1000' }).databasePoolSize).toBe(1000);
    expect(loadConfig({ RELEVO_SHUTDOWN_TIMEOUT_MS: '3600000' }).shutdownTimeoutMs).toBe(3_600_000);
  });
});

describe('invalid values', () => {
  const cases: Array<[string, string]> = [
    ['PORT', 'http'],
    ['RELEVO_WHATSAPP_GRAPH_URL', 'graph.facebook.com'],
    ['RELEVO_WHATSAPP_GRAPH_URL', 'ftp://graph.example.com'],
    ['RELEVO_WHATSAPP_GRAPH_URL', 'https://graph.example.com/?v=1'],
    ['PORT', '-1'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['PORT', '8080abc'],
    ['PORT', ' '],
    ['DATABASE_URL', 'mysql://root@localhost/relevo'],
    ['DATABASE_URL', 'sqlite:'],
    ['DATABASE_URL', 'postgres://'],
    ['DATABASE_URL', './data/relevo.db'],
    ['RELEVO_ADMIN_TOKEN', 'too-short'],
    ['RELEVO_WEBHOOK_TIMEOUT_MS', '0'],
    ['RELEVO_WEBHOOK_TIMEOUT_MS', '600001'],
    ['RELEVO_WEBHOOK_TIMEOUT_MS', '15s'],
    ['RELEVO_WEBHOOK_RETRY_SCHEDULE', '0,,5s'],
    ['RELEVO_WEBHOOK_RETRY_SCHEDULE', ','],
    ['RELEVO_WEBHOOK_RETRY_SCHEDULE', '0,5x'],
    ['RELEVO_WEBHOOK_RETRY_SCHEDULE', '1d'],
    ['RELEVO_WEBHOOK_RETRY_SCHEDULE', '-5s'],
    ['RELEVO_WEBHOOK_RETRY_SCHEDULE', 'soon'],
    ['RELEVO_WEBHOOK_CONCURRENCY', '0'],
    ['RELEVO_WEBHOOK_CONCURRENCY', '1025'],
    ['RELEVO_WEBHOOK_CONCURRENCY', 'many'],
    ['RELEVO_ROLE', 'both'],
    ['RELEVO_ROLE', 'API'],
    ['LOG_LEVEL', 'verbose'],
    ['RELEVO_BODY_LIMIT_BYTES', '1023'],
    ['RELEVO_BODY_LIMIT_BYTES', '1mb'],
    ['RELEVO_BODY_LIMIT_BYTES', String(64 * 1024 * 1024 + 1)],
    ['RELEVO_DB_POOL_SIZE', '0'],
    ['RELEVO_DB_POOL_SIZE', '1001'],
    ['RELEVO_DB_POOL_SIZE', 'ten'],
    ['RELEVO_DATABASE_LISTEN_URL', 'sqlite:./data/relevo.db'],
    ['RELEVO_DATABASE_LISTEN_URL', 'postgres://'],
    // A listen URL with SQLite (the default DATABASE_URL) has nothing to listen to.
    ['RELEVO_DATABASE_LISTEN_URL', 'postgres://relevo@db:5432/relevo'],
    ['RELEVO_SQLITE_SYNCHRONOUS', 'off'],
    ['RELEVO_SQLITE_SYNCHRONOUS', 'FULL'],
    ['RELEVO_ENCRYPTION_KEY', 'short'],
    ['RELEVO_ENCRYPTION_KEY', 'z'.repeat(64)],
    ['RELEVO_SHUTDOWN_TIMEOUT_MS', '-5'],
    ['RELEVO_SHUTDOWN_TIMEOUT_MS', '3600001'],
    ['RELEVO_RATE_LIMIT', 'fast'],
    ['RELEVO_RATE_LIMIT', '100'],
    ['RELEVO_RATE_LIMIT', '0/s'],
    ['RELEVO_RATE_LIMIT', '100/d'],
    ['RELEVO_RATE_LIMIT', '-5/m'],
    ['RELEVO_AUTH_FAILURE_LIMIT', '-1'],
    ['RELEVO_AUTH_FAILURE_LIMIT', 'many'],
    ['RELEVO_DNS_SERVERS', 'dns.internal'],
    ['RELEVO_DNS_SERVERS', '10.0.0.2:99999'],
    ['RELEVO_DNS_SERVERS', '10.0.0.2:0'],
    ['RELEVO_DNS_SERVERS', 'fd00::53:53:x'],
    ['RELEVO_DNS_SERVERS', '[10.0.0.2]:53'],
    ['RELEVO_TRUST_PROXY', 'proxy.internal'],
    ['RELEVO_TRUST_PROXY', '10.0.0.0/33'],
    ['RELEVO_TRUST_PROXY', '10.0.0.1/8/8'],
    ['RELEVO_MAX_CONNECTIONS', '0'],
    ['RELEVO_MAX_CONNECTIONS', 'lots'],
    ['RELEVO_HEADERS_TIMEOUT_MS', '99'],
    ['RELEVO_REQUEST_TIMEOUT_MS', '10s'],
    ['RELEVO_KEEP_ALIVE_TIMEOUT_MS', '0'],
    ['RELEVO_WEBCHAT_STREAMS_PER_SESSION', '0'],
    ['RELEVO_WEBCHAT_STREAMS_PER_SESSION', '1001'],
    ['RELEVO_WEBCHAT_STREAMS_PER_ADDRESS', '0'],
    ['RELEVO_WEBCHAT_STREAMS_PER_ADDRESS', 'fifty'],
    ['RELEVO_WEBCHAT_STREAM_IDLE_TIMEOUT_MS', '999'],
    ['RELEVO_WEBCHAT_STREAM_IDLE_TIMEOUT_MS', '60s'],
    ['RELEVO_EVENT_STREAM_IDLE_TIMEOUT_MS', '999'],
    ['RELEVO_EVENT_STREAM_IDLE_TIMEOUT_MS', '3600001'],
    ['RELEVO_WEBCHAT_SESSION_RATE', '20'],
    ['RELEVO_WEBCHAT_SESSION_RATE', '0/m'],
    ['RELEVO_WEBCHAT_IDLE_SESSION_TTL', '30s'],
    ['RELEVO_WEBCHAT_IDLE_SESSION_TTL', '366d'],
    ['RELEVO_WEBCHAT_IDLE_SESSION_TTL', 'a day'],
    ['RELEVO_WEBCHAT_FRAME_ANCESTORS', "'self'; script-src *"],
    ['RELEVO_WEBCHAT_FRAME_ANCESTORS', 'https://example.com/path'],
    ['RELEVO_WEBCHAT_FRAME_ANCESTORS', 'example.com'],
    ['RELEVO_WEBCHAT_FRAME_ANCESTORS', "'none' https://example.com"],
    ['RELEVO_METRICS_ADDR', '9464'],
    ['RELEVO_METRICS_ADDR', '127.0.0.1:99999'],
    ['RELEVO_METRICS_ADDR', '::1:9464'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'localhost:4318'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://collector:4317'],
  ];

  it.each(cases)('%s=%j stops start-up with one line naming the variable', (name, value) => {
    let thrown: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const e = thrown as ConfigError;
    expect(e.name).toBe('ConfigError');
    expect(e.message).toContain(name);
    expect(e.message).not.toMatch(/[\r\n]/);
    // Says what to do, not only what is wrong.
    expect(e.message).toMatch(/use|set|write/);
  });

  it('refuses a headers timeout longer than the request timeout, naming both', () => {
    let thrown: unknown;
    try {
      loadConfig({ RELEVO_HEADERS_TIMEOUT_MS: '20000', RELEVO_REQUEST_TIMEOUT_MS: '10000' });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(/RELEVO_HEADERS_TIMEOUT_MS.*RELEVO_REQUEST_TIMEOUT_MS/);
  });

  it('never echoes the admin token', () => {
    const secret = 'hunter2-secret';
    expect(() => loadConfig({ RELEVO_ADMIN_TOKEN: secret })).toThrow(ConfigError);
    try {
      loadConfig({ RELEVO_ADMIN_TOKEN: secret });
    } catch (e) {
      expect((e as Error).message).not.toContain(secret);
    }
  });

  it('covers every variable with a default', () => {
    const tested = new Set(cases.map(([name]) => name));
    // HOST and RELEVO_WEBHOOK_ALLOW accept any text; the rest must each have an invalid case.
    for (const name of Object.keys(DEFAULTS)) {
      if (name === 'HOST' || name === 'RELEVO_WEBHOOK_ALLOW') continue;
      expect(tested, `add an invalid case for ${name}`).toContain(name);
    }
  });
});

describe('observability', () => {
  it('reads the metrics address and the OTLP endpoint', () => {
    expect(loadConfig({ RELEVO_METRICS_ADDR: '127.0.0.1:9464' }).metricsAddr).toEqual({
      host: '127.0.0.1',
      port: 9464,
    });
    expect(loadConfig({ RELEVO_METRICS_ADDR: '[::1]:0' }).metricsAddr).toEqual({ host: '::1', port: 0 });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).otlpEndpoint).toBe(
      'http://collector:4318',
    );
  });
});

describe('RELEVO_DATABASE_LISTEN_URL', () => {
  it('is kept beside a postgres:// DATABASE_URL (a pooler in front, the database behind)', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://relevo@pgbouncer:6432/relevo',
      RELEVO_DATABASE_LISTEN_URL: 'postgresql://relevo@db:5432/relevo',
    });
    expect(c.databaseUrl).toBe('postgres://relevo@pgbouncer:6432/relevo');
    expect(c.databaseListenUrl).toBe('postgresql://relevo@db:5432/relevo');
  });
});

describe('retry schedule', () => {
  it('turns the documented default into milliseconds', () => {
    expect(parseDurationList('RELEVO_WEBHOOK_RETRY_SCHEDULE', '0,5s,5m,30m,2h,5h,10h,10h')).toEqual([
      0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]);
  });

  it('reads a bare number as milliseconds and accepts ms, decimals and spaces', () => {
    expect(
      loadConfig({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '250, 250ms ,1.5s,0.5m,1h' }).webhookRetryScheduleMs,
    ).toEqual([250, 250, 1500, 30_000, HOUR]);
  });

  it('accepts delays up to 30 days and refuses longer ones', () => {
    expect(loadConfig({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '720h' }).webhookRetryScheduleMs).toEqual([
      720 * HOUR,
    ]);
    let thrown: unknown;
    try {
      loadConfig({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,721h' });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toContain('RELEVO_WEBHOOK_RETRY_SCHEDULE');
    expect((thrown as Error).message).not.toMatch(/[\r\n]/);
  });

  it('has one entry per attempt', () => {
    expect(loadConfig({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0' }).webhookRetryScheduleMs).toEqual([0]);
  });
});

describe('rate limit', () => {
  it.each([
    ['100/s', { requests: 100, periodMs: 1000 }],
    ['6000/m', { requests: 6000, periodMs: 60_000 }],
    ['50000/h', { requests: 50_000, periodMs: 3_600_000 }],
  ])('reads RELEVO_RATE_LIMIT=%s', (raw, expected) => {
    expect(loadConfig({ RELEVO_RATE_LIMIT: raw }).rateLimit).toEqual(expected);
  });
});

describe('web chat limits', () => {
  it('read durations, rates and frame ancestors', () => {
    const c = loadConfig({
      RELEVO_WEBCHAT_SESSION_RATE: '5/s',
      RELEVO_WEBCHAT_IDLE_SESSION_TTL: '7d',
      RELEVO_WEBCHAT_FRAME_ANCESTORS: " 'self' https://shop.example.com,https://*.example.org:8443  ",
    });
    expect(c.webchatSessionRate).toEqual({ requests: 5, periodMs: 1000 });
    expect(c.webchatIdleSessionTtlMs).toBe(7 * 24 * HOUR);
    expect(c.webchatFrameAncestors).toEqual([
      "'self'",
      'https://shop.example.com',
      'https://*.example.org:8443',
    ]);
    expect(loadConfig({ RELEVO_WEBCHAT_IDLE_SESSION_TTL: '90m' }).webchatIdleSessionTtlMs).toBe(90 * MINUTE);
    expect(loadConfig({ RELEVO_WEBCHAT_FRAME_ANCESTORS: "'none'" }).webchatFrameAncestors).toEqual([
      "'none'",
    ]);
  });
  it('read the Graph API URL without its trailing slash', () => {
    expect(loadConfig({ RELEVO_WHATSAPP_GRAPH_URL: 'http://127.0.0.1:9000/graph/' }).whatsappGraphUrl).toBe(
      'http://127.0.0.1:9000/graph',
    );
  });
});

describe('the result', () => {
  it('is frozen', () => {
    const c = loadConfig({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(c.port).toBe(8080);
  });
});

describe('documentation', () => {
  const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
  const variables = [...Object.keys(DEFAULTS), 'RELEVO_ADMIN_TOKEN', 'RELEVO_ENCRYPTION_KEY'];

  it('docs/configuration.md gives every variable its default', () => {
    const rows = new Map<string, string>();
    for (const line of read('docs/configuration.md').split('\n')) {
      const m = /^\|\s*`([A-Z_]+)`\s*\|([^|]*)\|/.exec(line);
      if (m?.[1] !== undefined) rows.set(m[1], (m[2] ?? '').trim());
    }
    expect([...rows.keys()].sort()).toEqual([...variables].sort());
    for (const [name, value] of Object.entries(DEFAULTS)) {
      const cell = rows.get(name) ?? '';
      if (value === '') expect(cell, name).toBe('empty');
      else expect(cell, name).toContain(`\`${value}\``);
    }
    expect(rows.get('RELEVO_ADMIN_TOKEN')).toBe('none');
  });

  it('README.md names every variable', () => {
    const readme = read('README.md');
    for (const name of variables) expect(readme, name).toContain(`\`${name}\``);
  });
});
