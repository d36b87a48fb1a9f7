/**
 * No secret in a log line, an error message or a GET response (issue: "Secrets").
 *
 * One run drives every flow that handles a secret — project and credential creation (apiKey,
 * clientSecret), integrations of every auth type (signingSecret, authorization values) with
 * deliveries that present them, secret regeneration, http channel signing keys, a WhatsApp
 * channel's access token and app secret (the token presented to the Graph API), web chat session
 * tokens (also on the SSE stream, whose token travels in the URL), the admin token and the
 * encryption key — with the app and the worker logging at `trace` into a buffer. Then every log
 * line and every response is scanned for every secret; only the one response that hands a secret
 * out may contain it. Bad credentials are presented too, and must not come back in the answer.
 */
import { randomBytes } from 'node:crypto';
import { get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectOptions } from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jelouSignature } from '../../src/delivery/signer.js';
import { eventually } from '../helpers/events.js';
import { type GraphApiStandIn, startGraphApiStandIn } from '../helpers/graph-api-stand-in.js';
import { ADMIN_TOKEN, createHarness, type Harness } from '../helpers/harness.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { TEST_DB } from '../helpers/test-database.js';

const ENCRYPTION_KEY = randomBytes(32).toString('hex');

interface Secret {
  readonly name: string;
  readonly value: string;
}

interface Answer {
  readonly label: string;
  readonly status: number;
  readonly body: string;
  /** Secrets this answer exists to hand out (once). */
  readonly shows: readonly string[];
}

const logLines: string[] = [];
const answers: Answer[] = [];
const secrets: Secret[] = [];
/** Values presented as credentials that were wrong: they must not be echoed either. */
const presented: Secret[] = [];

let h: Harness;
let receiver: Receiver;
let channelReceiver: Receiver;
let graph: GraphApiStandIn;
let base: string;

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

function secret(name: string, value: unknown): string {
  expect(typeof value, name).toBe('string');
  secrets.push({ name, value: value as string });
  return value as string;
}

interface Req {
  readonly method?: InjectOptions['method'];
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** An object is sent as JSON; a string as is. */
  readonly body?: unknown;
}

/** Calls the app and keeps the answer for the scan; `shows` names the secrets it may carry. */
async function send(label: string, c: Req, shows: string[] = []) {
  const headers: Record<string, string> = { ...(c.headers ?? {}) };
  let payload: string | undefined;
  if (c.body !== undefined) {
    payload = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
    headers['content-type'] = 'application/json';
  }
  const res = await h.app.server.inject({ method: c.method ?? 'POST', url: c.url, headers, payload });
  answers.push({ label, status: res.statusCode, body: res.body, shows });
  return res;
}

const get = (label: string, url: string, headers: Record<string, string>) =>
  send(label, { method: 'GET', url, headers });

/**
 * The forms in which a secret could show up: as is, JSON-escaped, base64 (Basic), and any
 * 16-character piece of it (a truncated secret is still a leak).
 */
function needles(value: string): string[] {
  const out = new Set([value, JSON.stringify(value).slice(1, -1), Buffer.from(value).toString('base64')]);
  if (value.length > 24) {
    for (let i = 0; i + 16 <= value.length; i += 8) out.add(value.slice(i, i + 16));
  }
  return [...out];
}

/**
 * What is secret in a value: of an API key `rlvk_<26-char credential id>_<43-char secret>`, the
 * id is public (the secret itself may contain `_`, so the split is by position).
 */
const secretPart = (value: string) => /^rlvk_[0-9a-z]{26}_(.+)$/.exec(value)?.[1] ?? value;

beforeAll(async () => {
  const logger = pino(
    { level: 'trace' },
    {
      write: (line: string) => {
        logLines.push(line);
      },
    },
  );
  receiver = await startReceiver();
  channelReceiver = await startReceiver();
  graph = await startGraphApiStandIn(`EAAG-${randomBytes(24).toString('hex')}`);
  h = await createHarness(
    {
      RELEVO_ENCRYPTION_KEY: ENCRYPTION_KEY,
      RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,20ms',
      LOG_LEVEL: 'trace',
      RELEVO_WHATSAPP_GRAPH_URL: graph.url,
    },
    { worker: true, logger },
  );
  await h.app.server.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(h.app.server.server.address() as AddressInfo).port}`;
  secrets.push(
    { name: 'admin token', value: ADMIN_TOKEN },
    { name: 'encryption key', value: ENCRYPTION_KEY },
  );

  // --- Admin API: a project with its first credential, a second credential, bots, a user.
  const project = await send(
    'create project',
    { url: '/admin/v1/projects', headers: admin, body: { name: 'Acme' } },
    ['apiKey 1', 'clientSecret 1'],
  );
  expect(project.statusCode).toBe(201);
  const p = project.json();
  const projectId = p.id as string;
  const apiKey1 = secret('apiKey 1', p.apiKey);
  const clientSecret1 = secret('clientSecret 1', p.clientSecret);
  const credential = await send(
    'add credential',
    { url: `/admin/v1/projects/${projectId}/credentials`, headers: admin, body: {} },
    ['apiKey 2', 'clientSecret 2'],
  );
  expect(credential.statusCode).toBe(201);
  const apiKey2 = secret('apiKey 2', credential.json().apiKey);
  const clientSecret2 = secret('clientSecret 2', credential.json().clientSecret);
  const clientId2 = credential.json().clientId as string;
  const key1 = { 'x-api-key': apiKey1 };
  const basic2 = {
    authorization: `Basic ${Buffer.from(`${clientId2}:${clientSecret2}`).toString('base64')}`,
  };
  const clientId1 = p.clientId as string;
  const basic1 = {
    authorization: `Basic ${Buffer.from(`${clientId1}:${clientSecret1}`).toString('base64')}`,
  };

  const chatBot = (
    await send('create webchat bot', {
      url: `/admin/v1/projects/${projectId}/bots`,
      headers: admin,
      body: { name: 'Chat' },
    })
  ).json().id as string;
  const appBot = (
    await send('create http bot', {
      url: `/admin/v1/projects/${projectId}/bots`,
      headers: admin,
      body: { name: 'App', channel: 'http' },
    })
  ).json().id as string;
  const userId = (
    await send('create user', {
      url: `/admin/v1/projects/${projectId}/users`,
      headers: admin,
      body: { names: 'Maria Silva', referenceId: 'crm-1' },
    })
  ).json().id as string;

  // --- http channel: configure (a signing key), regenerate (another one).
  const configured = await send(
    'configure channel',
    {
      method: 'PUT',
      url: `/admin/v1/projects/${projectId}/bots/${appBot}/channel`,
      headers: admin,
      body: { webhookUrl: channelReceiver.url },
    },
    ['channel signingKey 1'],
  );
  expect(configured.statusCode).toBe(201);
  secret('channel signingKey 1', configured.json().signingKey);
  const regeneratedKey = await send(
    'regenerate channel key',
    {
      url: `/admin/v1/projects/${projectId}/bots/${appBot}/channel/signing-key/regenerate`,
      headers: admin,
      body: {},
    },
    ['channel signingKey 2'],
  );
  expect(regeneratedKey.statusCode).toBe(200);
  const channelKey = secret('channel signingKey 2', regeneratedKey.json().signingKey);

  // --- WhatsApp channel: the access token and the app secret go in and never come out; the
  // token is presented to the Graph API on a send.
  const waBot = (
    await send('create whatsapp bot', {
      url: `/admin/v1/projects/${projectId}/bots`,
      headers: admin,
      body: { name: 'Loja', channel: 'whatsapp' },
    })
  ).json().id as string;
  const accessToken = secret('whatsapp accessToken', graph.token);
  const appSecret = secret('whatsapp appSecret', `app-${randomBytes(24).toString('hex')}`);
  const waConfigured = await send('configure whatsapp channel', {
    method: 'PUT',
    url: `/admin/v1/projects/${projectId}/bots/${waBot}/channel`,
    headers: admin,
    body: { phoneNumberId: '106540352242922', accessToken, appSecret, verifyToken: 'public-verify' },
  });
  expect(waConfigured.statusCode).toBe(200);
  await get('get whatsapp channel', `/admin/v1/projects/${projectId}/bots/${waBot}/channel`, admin);
  const waHook = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '1',
        changes: [
          {
            field: 'messages',
            value: {
              metadata: { phone_number_id: '106540352242922' },
              contacts: [{ profile: { name: 'Ana' }, wa_id: '5215512345678' }],
              messages: [{ from: '5215512345678', id: 'wamid.leak-1', type: 'text', text: { body: 'hi' } }],
            },
          },
        ],
      },
    ],
  });
  const waSigned = await send('whatsapp webhook', {
    url: `/v1/channels/whatsapp/${waBot}`,
    headers: { 'x-hub-signature-256': jelouSignature(waHook, appSecret) },
    body: waHook,
  });
  expect(waSigned.statusCode).toBe(200);
  const waWrong = `sha256=${'0'.repeat(64)}`;
  await send('whatsapp webhook, wrong signature', {
    url: `/v1/channels/whatsapp/${waBot}`,
    headers: { 'x-hub-signature-256': waWrong },
    body: waHook,
  });
  await graph.waitForSends(1);
  expect(graph.sent[0]?.headers.authorization).toBe(`Bearer ${accessToken}`);

  // --- Integrations of every auth type; each presents its value to a real receiver.
  const auths: Array<[string, string]> = [
    ['bearer', `bearer-${randomBytes(24).toString('hex')}`],
    ['api_key', `key-"quoted"\\${randomBytes(24).toString('hex')}`],
    ['basic', `panel:${randomBytes(24).toString('hex')}`],
  ];
  let signingSecret = '';
  for (const [i, [authType, authorization]] of auths.entries()) {
    secret(`authorization (${authType})`, authorization);
    if (i === 0) {
      const created = await send(
        'create integration',
        {
          url: `/v1/external-support/${projectId}`,
          headers: key1,
          body: { webhookUrl: receiver.url, authType, authorization },
        },
        ['signingSecret 1'],
      );
      expect(created.statusCode).toBe(200);
      signingSecret = secret('signingSecret 1', created.json().data.signingSecret);
    } else {
      const patched = await send('update integration', {
        method: 'PATCH',
        url: `/jelouapi/v1/external-support/${projectId}`,
        headers: basic2,
        body: { authType, authorization },
      });
      expect(patched.statusCode).toBe(200);
    }
    await get('get integration', `/platform/v1/external-support/${projectId}`, basic1);
    const before = receiver.received.length;
    const started = await send('start conversation', {
      url: `/v1/external-support/${projectId}/conversations/start`,
      headers: key1,
      body: { botId: chatBot, userId, initialMessage: 'Hello', metadata: { ticket: `T-${i}` } },
    });
    expect(started.statusCode).toBe(200);
    const closed = await send('close conversation', {
      url: `/v1/external-support/${projectId}/conversations/close`,
      headers: key1,
      body: { botId: chatBot, userId },
    });
    expect(closed.statusCode).toBe(200);
    // Both events went out with this auth type's value, before the next update changes it.
    const got = (await receiver.waitFor(before + 2)).slice(before);
    for (const r of got) {
      const header = authType === 'api_key' ? r.headers['x-api-key'] : r.headers.authorization;
      expect(String(header)).toContain(
        authType === 'basic' ? Buffer.from(authorization).toString('base64') : authorization,
      );
    }
  }

  const regenerated = await send(
    'regenerate signing secret',
    { url: `/v1/external-support/${projectId}/secret/regenerate`, headers: key1 },
    ['signingSecret 2'],
  );
  expect(regenerated.statusCode).toBe(200);
  signingSecret = secret('signingSecret 2', regenerated.json().data.signingSecret);

  // --- §4.10 signed with the new secret, into an active conversation.
  const active = await send('start conversation', {
    url: `/v1/external-support/${projectId}/conversations/start`,
    headers: key1,
    body: { botId: chatBot, userId },
  });
  const conversationId = active.json().data.conversationId as string;
  const conv = await get(
    'get conversation',
    `/v1/external-support/${projectId}/conversations/${conversationId}`,
    key1,
  );
  const panelBody = JSON.stringify({
    field: 'messages',
    object: 'message_event',
    event_type: 'incoming_message',
    project_id: projectId,
    room_id: conv.json().data.roomId,
    bot_id: chatBot,
    user_id: userId,
    value: { id: 'panel-1', type: 'text', content: { body: 'Hi from the panel' } },
  });
  const sent = await send('send message (4.10)', {
    url: '/v1/external-support/webhook',
    headers: { 'x-jelou-signature': jelouSignature(panelBody, signingSecret) },
    body: panelBody,
  });
  expect(sent.statusCode).toBe(200);

  // --- The http channel's inbound route, signed with the channel key.
  const inbound = JSON.stringify({
    referenceId: 'app-user-1',
    message: { type: 'text', content: { body: 'hi' } },
  });
  const received = await send('channel inbound', {
    url: `/v1/custom-channel/${appBot}`,
    headers: { 'x-jelou-signature': jelouSignature(inbound, channelKey) },
    body: inbound,
  });
  expect(received.statusCode).toBe(202);
  await channelReceiver.waitFor(1);

  // --- Web chat: a session, history, a message, and the stream with the token in its URL.
  const session = await send(
    'webchat session',
    { url: `/webchat/${chatBot}/sessions`, body: { name: 'Visitor' } },
    ['webchat session token'],
  );
  expect(session.statusCode).toBe(201);
  const token = secret('webchat session token', session.json().sessionToken);
  const bearer = { authorization: `Bearer ${token}` };
  expect((await get('webchat history', `/webchat/${chatBot}/messages`, bearer)).statusCode).toBe(200);
  expect(
    (
      await send('webchat message', {
        url: `/webchat/${chatBot}/messages`,
        headers: bearer,
        body: { type: 'text', content: { body: 'hello' } },
      })
    ).statusCode,
  ).toBe(202);
  // The stream over a real socket (inject waits for an end that never comes), dropped after
  // its first bytes; the server must see it go before the scan, or closing would wait for it.
  const firstBytes = await new Promise<string>((done, fail) => {
    const req = httpGet(`${base}/webchat/${chatBot}/stream?token=${token}`, (res) => {
      expect(res.statusCode).toBe(200);
      res.once('data', (chunk: Buffer) => {
        req.destroy();
        done(chunk.toString('utf8'));
      });
    });
    req.on('error', () => {});
    req.once('timeout', () => fail(new Error('no stream')));
  });
  expect(firstBytes).toContain('retry:');
  const connections = () =>
    new Promise<number>((done) => h.app.server.server.getConnections((_e, n) => done(n)));
  await eventually(connections, (n) => n === 0);

  // --- Every management GET, with both schemes and both credentials.
  for (const headers of [key1, basic1, { 'x-api-key': apiKey2 }, basic2]) {
    await get('get integration', `/v1/external-support/${projectId}`, headers);
    await get('list conversations', `/v1/external-support/${projectId}/conversations`, headers);
    await get(
      'transcript',
      `/v1/external-support/${projectId}/conversations/${conversationId}/messages`,
      headers,
    );
  }
  await eventually(
    async () => (await h.store.queries.outbox.list(projectId, {}, { limit: 100 })).items,
    (items) => items.length > 0 && items.every((e) => e.status !== 'pending'),
  );
  const deliveries = await get(
    'list deliveries',
    `/v1/external-support/${projectId}/deliveries?limit=100`,
    key1,
  );
  for (const d of deliveries.json().data.items as Array<{ id: string }>) {
    await get('get delivery', `/v1/external-support/${projectId}/deliveries/${d.id}`, key1);
  }

  // --- Every admin GET.
  await get('admin list projects', '/admin/v1/projects', admin);
  await get('admin get project', `/admin/v1/projects/${projectId}`, admin);
  await get('admin list bots', `/admin/v1/projects/${projectId}/bots`, admin);
  await get('admin list users', `/admin/v1/projects/${projectId}/users`, admin);
  await get('admin get channel', `/admin/v1/projects/${projectId}/bots/${appBot}/channel`, admin);
  await get('admin get webchat channel', `/admin/v1/projects/${projectId}/bots/${chatBot}/channel`, admin);
  await get('admin get rules', `/admin/v1/projects/${projectId}/bots/${chatBot}/rules`, admin);
  await get('openapi', '/openapi.json', {});
  await get('health', '/healthz', {});

  // --- Bad credentials: close to real ones, or real ones in the wrong place.
  const other = await send(
    'create project',
    { url: '/admin/v1/projects', headers: admin, body: { name: 'Globex' } },
    ['apiKey 3', 'clientSecret 3'],
  );
  const otherKey = secret('apiKey 3', other.json().apiKey);
  secret('clientSecret 3', other.json().clientSecret);
  const almost = (v: string) => `${v.slice(0, -6)}${v.slice(-6).split('').reverse().join('')}x`;
  const bad: Array<[string, Record<string, string>, string]> = [
    ['api key of another project', { 'x-api-key': otherKey }, otherKey],
    ['api key one character off', { 'x-api-key': almost(apiKey1) }, almost(apiKey1)],
    [
      'client secret one character off',
      { authorization: `Basic ${Buffer.from(`${clientId1}:${almost(clientSecret1)}`).toString('base64')}` },
      almost(clientSecret1),
    ],
    [
      'a revoked-looking garbage key',
      { 'x-api-key': `rlvk_${'a'.repeat(26)}_${'B'.repeat(43)}` },
      'B'.repeat(43),
    ],
  ];
  for (const [label, headers, value] of bad) {
    presented.push({ name: label, value });
    const r = await get(`bad credential: ${label}`, `/v1/external-support/${projectId}`, headers);
    expect(r.statusCode, label).toBe(401);
  }
  const wrongAdmin = `${ADMIN_TOKEN.slice(0, -3)}zzz`;
  presented.push({ name: 'wrong admin token', value: wrongAdmin });
  expect(
    (await get('bad admin token', '/admin/v1/projects', { authorization: `Bearer ${wrongAdmin}` }))
      .statusCode,
  ).toBe(401);
  const wrongToken = `${token.slice(0, -3)}AAA`;
  presented.push({ name: 'wrong web chat token', value: wrongToken });
  expect(
    (
      await get('bad webchat token', `/webchat/${chatBot}/messages`, {
        authorization: `Bearer ${wrongToken}`,
      })
    ).statusCode,
  ).toBe(401);
  const wrongSignature = jelouSignature(panelBody, almost(signingSecret));
  presented.push({ name: 'signature with a wrong secret', value: wrongSignature.slice('sha256='.length) });
  expect(
    (
      await send('bad signature', {
        url: '/v1/external-support/webhook',
        headers: { 'x-jelou-signature': wrongSignature },
        body: panelBody,
      })
    ).statusCode,
  ).toBe(401);
  // An authorization value refused by validation is not repeated in the 422 either.
  const refusedValue = `basic-without-colon-${randomBytes(16).toString('hex')}`;
  presented.push({ name: 'refused authorization', value: refusedValue });
  const refused = await send('refused authorization', {
    method: 'PATCH',
    url: `/v1/external-support/${projectId}`,
    headers: key1,
    body: { authType: 'basic', authorization: refusedValue },
  });
  expect(refused.statusCode).toBe(400);
  const withPassword = `http://panel:${randomBytes(12).toString('hex')}@127.0.0.1/hooks`;
  presented.push({
    name: 'password in a webhook URL',
    value: withPassword.slice('http://panel:'.length, -'@127.0.0.1/hooks'.length),
  });
  const urlRefused = await send('refused webhook URL', {
    method: 'PATCH',
    url: `/v1/external-support/${projectId}`,
    headers: key1,
    body: { webhookUrl: withPassword },
  });
  expect(urlRefused.statusCode).toBe(400);
  // Let the worker finish what it logs about the last events.
  await new Promise((r) => setTimeout(r, 200));
}, 60_000);

afterAll(async () => {
  await h?.close();
  await receiver?.close();
  await channelReceiver?.close();
  await graph?.close();
});

/** Every row of every table, as JSON text, read around the store. */
async function everyRow(): Promise<string[]> {
  if (TEST_DB === 'sqlite') {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(`${h.dir}/relevo.db`, { readonly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{
        name: string;
      }>;
      return tables.flatMap((t) =>
        db
          .prepare(`SELECT * FROM "${t.name}"`)
          .all()
          .map((r) => JSON.stringify(r)),
      );
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: h.config.databaseUrl });
  await client.connect();
  try {
    const tables = await client.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    );
    const rows: string[] = [];
    for (const { table_name } of tables.rows as Array<{ table_name: string }>) {
      const r = await client.query(`SELECT row_to_json(t)::text AS row FROM "${table_name}" t`);
      rows.push(...r.rows.map((x: { row: string }) => x.row));
    }
    return rows;
  } finally {
    await client.end();
  }
}

describe('secrets never leak', () => {
  it('captured a real run: trace-level logs of requests and deliveries, and every answer', () => {
    expect(secrets.length).toBeGreaterThanOrEqual(15);
    expect(logLines.length).toBeGreaterThan(100);
    const messages = new Set(logLines.map((l) => (JSON.parse(l) as { msg?: string }).msg));
    expect(messages).toContain('incoming request');
    expect(messages).toContain('request completed');
    expect(answers.length).toBeGreaterThan(40);
  });

  it('no log line contains any secret, or a wrong credential that was presented', () => {
    const found: string[] = [];
    for (const s of [...secrets, ...presented]) {
      for (const needle of needles(secretPart(s.value))) {
        const line = logLines.find((l) => l.includes(needle));
        if (line !== undefined) found.push(`${s.name} in log line: ${line.slice(0, 300)}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('no answer contains a secret, except the one answer that hands it out', () => {
    const found: string[] = [];
    for (const a of answers) {
      for (const s of secrets) {
        if (a.shows.includes(s.name)) continue;
        for (const needle of needles(secretPart(s.value))) {
          if (a.body.includes(needle)) found.push(`${s.name} in the answer to ${a.label} (${a.status})`);
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('the answers that hand a secret out do show it, exactly once', () => {
    for (const a of answers.filter((x) => x.shows.length > 0)) {
      for (const name of a.shows) {
        const s = secrets.find((x) => x.name === name);
        expect(s, name).toBeDefined();
        expect(a.body.split(s!.value).length - 1, `${name} in ${a.label}`).toBe(1);
      }
    }
  });

  it('an answer to bad credentials never echoes what was presented', () => {
    const errors = answers.filter((a) => a.status >= 400);
    expect(errors.length).toBeGreaterThanOrEqual(9);
    const found: string[] = [];
    for (const a of errors) {
      for (const p of presented) {
        for (const needle of needles(secretPart(p.value))) {
          if (a.body.includes(needle)) found.push(`${p.name} in the answer to ${a.label}`);
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('the database holds none of them in clear (RELEVO_ENCRYPTION_KEY set): hashes and ciphertext only', async () => {
    const rows = await everyRow();
    expect(rows.length).toBeGreaterThan(30);
    const found: string[] = [];
    for (const s of secrets) {
      for (const needle of needles(secretPart(s.value))) {
        const row = rows.find((r) => r.includes(needle));
        if (row !== undefined) found.push(`${s.name} in ${row.slice(0, 200)}`);
      }
    }
    expect(found).toEqual([]);
    // Credentials are there, as salted SHA-256 hashes.
    expect(
      rows.filter((r) => /"s256\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+"/.test(r)).length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('no webhook body carries the signing secret or a credential', () => {
    const bodies = [...receiver.received, ...channelReceiver.received].map((r) => r.body);
    expect(bodies.length).toBeGreaterThanOrEqual(6);
    for (const s of secrets) {
      for (const body of bodies) expect(body.includes(s.value), s.name).toBe(false);
    }
  });
});
