/**
 * Session tokens and other credentials never reach the logs: Fastify logs every request's URL
 * at info, and a web chat page (or a client) that gets the stream URL slightly wrong still sends
 * the session token in the query string. The log lines are captured as written.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { redactUrl } from '../../src/http/log-redaction.js';
import { createLogger } from '../../src/server.js';
import { call } from '../helpers/api.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';

const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
    done();
  },
});

let h: Harness;
let s: Seed;
beforeAll(async () => {
  h = await createHarness({}, { logger: pino({ level: 'info' }, sink) });
  s = await h.seed();
});
afterAll(async () => h.close());

it('a wrong stream URL logs the request with the token blanked', async () => {
  const session = await call(h.app, { url: `/webchat/${s.bot.id}/sessions`, body: {} });
  const token = session.json().sessionToken as string;
  lines.length = 0;
  const urls = [
    `/webchat/${s.bot.id}/stream/?token=${token}`,
    `/webchat/${s.bot.id}/streams?after=msg_x&token=${token}`,
    `/webchat/${s.bot.id}/stream?TOKEN=${token}&access_token=${token}x`,
    `/webchat/${s.bot.id}/messages?session=${token}`,
  ];
  for (const url of urls) {
    const res = await call(h.app, { method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
  }
  // The request lines were written, at info, with their URLs.
  const logged = lines
    .map((l) => JSON.parse(l) as { req?: { url?: string } })
    .flatMap((l) => l.req?.url ?? []);
  expect(logged).toContain(`/webchat/${s.bot.id}/stream/?token=[REDACTED]`);
  expect(logged).toContain(`/webchat/${s.bot.id}/streams?after=msg_x&token=[REDACTED]`);
  expect(logged).toContain(`/webchat/${s.bot.id}/messages?session=[REDACTED]`);
  for (const line of lines) expect(line).not.toContain(token);
});

it('redactUrl blanks credential parameters only', () => {
  expect(redactUrl('/a?token=abc&after=msg_1')).toBe('/a?token=[REDACTED]&after=msg_1');
  expect(redactUrl('/a?Access_Token=abc&api%5Fkey=def')).toBe(
    '/a?Access_Token=[REDACTED]&api%5Fkey=[REDACTED]',
  );
  expect(redactUrl('/a?token')).toBe('/a?token=[REDACTED]');
  expect(redactUrl('/a?limit=5')).toBe('/a?limit=5');
  expect(redactUrl('/a')).toBe('/a');
});

it("the server's logger blanks a request's secret parameters and leaves its headers out", () => {
  const out: string[] = [];
  const logger = createLogger(
    { logLevel: 'info' },
    new Writable({
      write(chunk: Buffer, _e, done) {
        out.push(chunk.toString('utf8'));
        done();
      },
    }),
  );
  logger.info(
    { req: { method: 'GET', url: '/x?token=abc123', headers: { authorization: 'Bearer s3cret' } } },
    'request',
  );
  logger.flush();
  expect(out).toHaveLength(1);
  const line = JSON.parse(out[0] ?? '{}');
  expect(line.req).toEqual({ method: 'GET', url: '/x?token=[REDACTED]' });
  expect(out[0]).not.toContain('abc123');
  expect(out[0]).not.toContain('s3cret');
});

it("the server's logger redacts secret headers and secret fields by configuration, wherever a log call puts them", () => {
  const out: string[] = [];
  const logger = createLogger(
    { logLevel: 'info' },
    new Writable({
      write(chunk: Buffer, _e, done) {
        out.push(chunk.toString('utf8'));
        done();
      },
    }),
  );
  const secrets = {
    authorization: 'Bearer hdr-auth-1',
    'x-api-key': 'hdr-key-2',
    'x-jelou-signature': 'sha256=hdr-sig-3',
    'webhook-signature': 'v1,hdr-sig-4',
    cookie: 'sid=hdr-cookie-5',
  };
  logger.info({ headers: secrets, res: { headers: { 'set-cookie': 'sid=hdr-cookie-6' } } }, 'headers');
  logger.info(
    {
      apiKey: 'body-key-7',
      body: { clientSecret: 'body-secret-8', signingSecret: 'body-secret-9', name: 'Acme' },
      integration: { signingKey: 'body-key-10', accessToken: 'body-token-11', appSecret: 'body-secret-12' },
      config: { adminToken: 'body-admin-13' },
    },
    'bodies',
  );
  logger.flush();
  const text = out.join('');
  for (const s of [
    ...Object.values(secrets),
    'hdr-cookie-6',
    'body-key-7',
    'body-secret-8',
    'body-secret-9',
  ]) {
    expect(text).not.toContain(s);
  }
  for (const s of ['body-key-10', 'body-token-11', 'body-secret-12', 'body-admin-13'])
    expect(text).not.toContain(s);
  const [headers, bodies] = out.map((l) => JSON.parse(l));
  expect(headers.headers['x-jelou-signature']).toBe('[REDACTED]');
  expect(bodies.body).toEqual({ clientSecret: '[REDACTED]', signingSecret: '[REDACTED]', name: 'Acme' });
  expect(bodies.config.adminToken).toBe('[REDACTED]');
});
