import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyJelouSignature } from '../../src/delivery/signer.js';
import { call } from '../helpers/api.js';
import { eventually } from '../helpers/events.js';
import { ADMIN_TOKEN, createHarness, type Harness } from '../helpers/harness.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { ensureBuilt, runCli } from '../helpers/spawned-server.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read the printed JSON loosely and assert on it.
type Json = any;

let h: Harness;
let panel: Receiver;
let channel: Receiver;

beforeAll(async () => {
  ensureBuilt();
  panel = await startReceiver();
  channel = await startReceiver();
  h = await createHarness({}, { worker: true });
});
afterAll(async () => {
  await h?.close();
  await panel?.close();
  await channel?.close();
});

const relevo = (args: string[]) =>
  runCli(args, { DATABASE_URL: h.config.databaseUrl, RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8' });

/** A command that succeeds: one line of JSON on stdout, nothing on stderr. */
async function json(args: string[]): Promise<Json> {
  const r = await relevo(args);
  expect(r.stderr, args.join(' ')).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
  return JSON.parse(r.stdout);
}

/** A command that is refused: exit `code`, stdout empty, one line on stderr naming `error`. */
async function refused(args: string[], code: number, error: string | RegExp): Promise<void> {
  const r = await relevo(args);
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^relevo: [^\n]*\n$/);
  expect(r.stderr).toMatch(typeof error === 'string' ? `(${error})` : error);
}

/** The management API's `data` for a GET, with the project's API key. */
async function apiData(apiKey: string, url: string): Promise<Json> {
  const res = await call(h.app, {
    method: 'GET',
    url: `/v1/external-support/${url}`,
    headers: { 'x-api-key': apiKey },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data;
}

const NEW_COMMANDS = [
  'conversations list',
  'conversations get',
  'conversations messages',
  'conversations start',
  'conversations send',
  'conversations close',
  'integrations get',
  'integrations set',
  'integrations delete',
  'integrations rotate',
  'projects rename',
  'projects delete',
  'bots rename',
  'bots delete',
  'users update',
  'users delete',
  'bots engine get',
  'bots engine set',
  'bots engine regenerate',
];

describe('relevo: help of the new commands', () => {
  it.each(NEW_COMMANDS)('%s --help prints its usage and exits 0', async (name) => {
    const r = await relevo([...name.split(' '), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(`Usage: relevo ${name}`)).toBe(true);
    expect(r.stdout).toContain('--help');
  });

  it('the top-level help lists them', async () => {
    const r = await relevo(['--help']);
    for (const name of NEW_COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
  });

  it('conversations send says that it generates the value.id', async () => {
    expect((await relevo(['conversations', 'send', '--help'])).stdout).toMatch(
      /generated, cli-<random UUID>/,
    );
  });
});

describe('relevo: an unknown project is an error', () => {
  it.each([
    [['deliveries', 'list', 'prj_nope']],
    [['deliveries', 'replay', 'prj_nope', '--since', '2026-01-01T00:00:00Z']],
    [['conversations', 'list', 'prj_nope']],
    [['conversations', 'get', 'prj_nope', 'conv_x']],
    [['integrations', 'get', 'prj_nope']],
    [['integrations', 'set', 'prj_nope', '--webhook-url', 'http://127.0.0.1:9/']],
    [['integrations', 'rotate', 'prj_nope']],
    [['bots', 'delete', 'prj_nope', 'bot_x']],
    [['bots', 'engine', 'get', 'prj_nope', 'bot_x']],
  ])('relevo %j: exit 1, project_not_found on stderr, nothing on stdout', async (args) => {
    await refused(args, 1, 'project_not_found');
  });
});

describe('relevo bots channel on a whatsapp bot', () => {
  it('configures the Cloud API settings, shows them without the secrets, refuses the http options', async () => {
    const project = await json(['projects', 'create', '--name', 'WhatsApp']);
    const botId = (await json(['bots', 'create', project.id, '--name', 'Loja', '--channel', 'whatsapp'])).id;
    await refused(
      ['bots', 'channel', project.id, botId, '--phone-number-id', '106540352242922'],
      2,
      /accessToken is required/,
    );
    const set = await json([
      'bots',
      'channel',
      project.id,
      botId,
      '--phone-number-id',
      '106540352242922',
      '--access-token',
      'EAAG-cli-token',
      '--app-secret',
      'cli-app-secret',
      '--verify-token',
      'cli-verify',
    ]);
    const view = {
      botId,
      channel: 'whatsapp',
      webhookPath: `/v1/channels/whatsapp/${botId}`,
      phoneNumberId: '106540352242922',
      verifyToken: 'cli-verify',
      graphApiVersion: 'v23.0',
      hasAccessToken: true,
      hasAppSecret: true,
      sendingDisabled: null,
    };
    expect(set).toEqual(view);
    const shown = await relevo(['bots', 'channel', project.id, botId]);
    expect(JSON.parse(shown.stdout)).toEqual(view);
    expect(shown.stdout).not.toContain('EAAG-cli-token');
    expect(shown.stdout).not.toContain('cli-app-secret');
    expect(await json(['bots', 'channel', project.id, botId, '--graph-api-version', 'v24.0'])).toEqual({
      ...view,
      graphApiVersion: 'v24.0',
    });
    await refused(
      ['bots', 'channel', project.id, botId, '--webhook-url', channel.url],
      2,
      /webhookUrl is for http channels/,
    );
  });
});

describe('relevo bots engine', () => {
  it('gets, sets (the external secret printed once) and regenerates, as the admin API does', async () => {
    const project = await json(['projects', 'create', '--name', 'Engines']);
    const botId = (await json(['bots', 'create', project.id, '--name', 'Own bot', '--channel', 'http'])).id;
    expect(await json(['bots', 'engine', 'get', project.id, botId])).toEqual({ type: 'rules' });
    const set = await json([
      'bots',
      'engine',
      'set',
      project.id,
      botId,
      '--type',
      'external',
      '--url',
      channel.url,
    ]);
    expect(set).toEqual({
      type: 'external',
      webhookUrl: channel.url,
      hasSigningSecret: true,
      signingSecret: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await json(['bots', 'engine', 'get', project.id, botId])).toEqual({
      type: 'external',
      webhookUrl: channel.url,
      hasSigningSecret: true,
    });
    const regen = await json(['bots', 'engine', 'regenerate', project.id, botId]);
    expect(regen.signingSecret).not.toBe(set.signingSecret);
    expect(
      await json([
        'bots',
        'engine',
        'set',
        project.id,
        botId,
        '--type',
        'rasa',
        '--url',
        'http://127.0.0.1:5005',
      ]),
    ).toEqual({
      type: 'rasa',
      url: 'http://127.0.0.1:5005',
    });
    await refused(['bots', 'engine', 'regenerate', project.id, botId], 1, 'engine_has_no_secret');
    await refused(['bots', 'engine', 'set', project.id, botId, '--type', 'robot'], 2, /type must be one of/);
    await refused(
      ['bots', 'engine', 'set', project.id, botId, '--type', 'external'],
      2,
      /webhookUrl is required/,
    );
    await refused(['bots', 'engine', 'get', project.id, 'bot_nope'], 1, 'bot_not_found');
  });
});

describe('relevo: integrations and conversations', () => {
  let project: Json;
  let botId: string;
  let userId: string;
  let secret: string;
  let conversationId: string;

  beforeAll(async () => {
    project = await json(['projects', 'create', '--name', 'Acme']);
    botId = (await json(['bots', 'create', project.id, '--name', 'Helper', '--channel', 'http'])).id;
    await json(['bots', 'channel', project.id, botId, '--webhook-url', channel.url]);
    userId = (await json(['users', 'create', project.id, '--names', 'Maria', '--reference-id', 'crm-1'])).id;
  });

  it('integrations set creates the integration (secret shown once), then changes only what is given', async () => {
    await refused(['integrations', 'get', project.id], 1, 'integration_not_found');
    await refused(['integrations', 'set', project.id], 2, /webhookUrl is required/);
    await refused(
      ['integrations', 'set', project.id, '--webhook-url', 'http://10.0.0.1/x', '--auth-type', 'no_auth'],
      2,
      /webhookUrl/,
    );
    const created = await json(['integrations', 'set', project.id, '--webhook-url', panel.url]);
    expect(created).toEqual({
      id: expect.stringMatching(/^int_/),
      brainId: project.id,
      webhookUrl: panel.url,
      authType: 'no_auth',
      signingSecret: expect.stringMatching(/^[0-9a-f]{64}$/),
      createdAt: expect.any(String),
    });
    secret = created.signingSecret;
    await refused(['integrations', 'set', project.id], 2, /at least one of/);
    await refused(
      ['integrations', 'set', project.id, '--auth-type', 'bearer'],
      2,
      /authorization is required/,
    );
    await refused(['integrations', 'set', project.id, '--auth-type', 'oauth'], 2, /authType must be one of/);
    const updated = await json([
      'integrations',
      'set',
      project.id,
      '--auth-type',
      'bearer',
      '--authorization',
      'tok-1',
    ]);
    expect(updated).not.toHaveProperty('signingSecret');
    expect(await json(['integrations', 'get', project.id])).toEqual(updated);
    expect(updated).toEqual(await apiData(project.apiKey, project.id));
  });

  it('conversations start reaches the webhook, signed with the secret printed, with the auth set', async () => {
    const started = await json(['conversations', 'start', project.id, '--bot', botId, '--user', userId]);
    expect(started).toEqual({
      conversationId: expect.stringMatching(/^conv_/),
      botId,
      userId,
      status: 'active',
    });
    conversationId = started.conversationId;
    const [request] = await panel.waitFor(1);
    expect(JSON.parse(request?.body ?? '{}')).toMatchObject({
      event: 'conversation.start',
      conversation: { id: conversationId },
    });
    expect(verifyJelouSignature(request?.body ?? '', request?.headers['x-jelou-signature'], secret)).toBe(
      true,
    );
    expect(request?.headers.authorization).toBe('Bearer tok-1');
    await refused(
      ['conversations', 'start', project.id, '--bot', botId, '--user', userId],
      1,
      'conversation_already_active',
    );
  });

  it('conversations get and list print what the API answers', async () => {
    const got = await json(['conversations', 'get', project.id, conversationId]);
    expect(got).toEqual(await apiData(project.apiKey, `${project.id}/conversations/${conversationId}`));
    const list = await json([
      'conversations',
      'list',
      project.id,
      '--state',
      'active',
      '--bot',
      botId,
      '--user',
      userId,
    ]);
    expect(list).toEqual(
      await apiData(
        project.apiKey,
        `${project.id}/conversations?state=active&botId=${botId}&userId=${userId}`,
      ),
    );
    expect(list.items.map((c: Json) => c._id)).toEqual([conversationId]);
    expect((await json(['conversations', 'list', project.id, '--state', 'closed'])).items).toEqual([]);
    await refused(['conversations', 'list', project.id, '--state', 'open'], 2, /state must be one of/);
    await refused(['conversations', 'list', project.id, '--cursor', 'nope'], 2, /cursor/);
    await refused(['conversations', 'get', project.id, 'conv_nope'], 1, 'conversation_not_found');
  });

  it("conversations send delivers the panel's message to the end user through the bot's channel", async () => {
    const sent = await json(['conversations', 'send', project.id, conversationId, '--text', 'Hola, Maria']);
    expect(sent).toEqual({ messageId: expect.stringMatching(/^msg_/), conversationId });
    const [delivered] = await channel.waitFor(1);
    expect(delivered?.body).toContain('Hola, Maria');
    const stored = await h.store.queries.messages.listOfConversation(conversationId, { limit: 10 });
    expect(stored.items.map((m) => [m.id, m.sender, m.content])).toEqual([
      [sent.messageId, 'operator', { body: 'Hola, Maria' }],
    ]);
    expect(stored.items[0]?.externalId).toMatch(/^cli-[0-9a-f-]{36}$/);

    // Another type, with a panel id: sent once, acknowledged again with the same messageId.
    const image = [
      '--type',
      'image',
      '--url',
      'https://cdn.example.com/a.png',
      '--mime-type',
      'image/png',
      '--id',
      'p-1',
    ];
    const first = await json(['conversations', 'send', project.id, conversationId, ...image]);
    const again = await json(['conversations', 'send', project.id, conversationId, ...image]);
    expect(again).toEqual(first);
    const transcript = await json(['conversations', 'messages', project.id, conversationId]);
    expect(transcript).toEqual(
      await apiData(project.apiKey, `${project.id}/conversations/${conversationId}/messages`),
    );
    expect(transcript.items.map((m: Json) => m.type)).toEqual(['text', 'image']);

    await refused(['conversations', 'send', project.id, conversationId], 2, /text is required/);
    await refused(
      ['conversations', 'send', project.id, conversationId, '--type', 'image'],
      2,
      /value\.content\.url is required/,
    );
    await refused(
      ['conversations', 'send', project.id, conversationId, '--type', 'sticker'],
      2,
      /value\.type/,
    );
  });

  it('conversations close sends conversation.close; a closed conversation takes no message', async () => {
    const closed = await json([
      'conversations',
      'close',
      project.id,
      '--bot',
      botId,
      '--user',
      userId,
      '--redirect-text',
      'Bye',
    ]);
    expect(closed).toEqual({ conversationId, botId, userId, status: 'closed' });
    await eventually(
      async () => panel.received.map((r) => JSON.parse(r.body).event),
      (events) => events.includes('conversation.close'),
    );
    await refused(
      ['conversations', 'send', project.id, conversationId, '--text', 'late'],
      1,
      'conversation_not_found',
    );
    await refused(
      ['conversations', 'close', project.id, '--bot', botId, '--user', userId],
      1,
      'conversation_not_found',
    );
    await refused(
      ['conversations', 'close', project.id, '--bot', botId, '--user', userId, '--redirect-text', ''],
      2,
      /must not be empty/,
    );
  });

  it('integrations rotate prints a new secret that signs the next event; delete cancels what is undelivered', async () => {
    const rotated = await json(['integrations', 'rotate', project.id]);
    expect(rotated).toEqual({
      brainId: project.id,
      signingSecret: expect.stringMatching(/^[0-9a-f]{64}$/),
      regeneratedAt: expect.any(String),
    });
    expect(rotated.signingSecret).not.toBe(secret);
    const before = panel.received.length;
    await json(['conversations', 'start', project.id, '--bot', botId, '--user', userId]);
    const [request] = (await panel.waitFor(before + 1)).slice(before);
    expect(
      verifyJelouSignature(request?.body ?? '', request?.headers['x-jelou-signature'], rotated.signingSecret),
    ).toBe(true);

    panel.respond(() => ({ kind: 'status', status: 500 }));
    await json(['conversations', 'close', project.id, '--bot', botId, '--user', userId]);
    const deleted = await json(['integrations', 'delete', project.id]);
    expect(deleted).toMatchObject({ brainId: project.id, deleted: true });
    // The close, failing against a 500 or waiting for its next attempt, is cancelled, never sent.
    expect(deleted.cancelledEvents).toBeGreaterThanOrEqual(1);
    await refused(['integrations', 'get', project.id], 1, 'integration_not_found');
    await refused(['integrations', 'delete', project.id], 1, 'integration_not_found');
    const pending = await h.store.queries.outbox.list(project.id, { status: 'pending' }, { limit: 10 });
    expect(pending.items).toEqual([]);
  });
});

describe('relevo: rename and delete', () => {
  it('renames, updates and deletes bots, end users and projects', async () => {
    const project = await json(['projects', 'create', '--name', 'Old name']);
    expect(await json(['projects', 'rename', project.id, '--name', 'New name'])).toMatchObject({
      id: project.id,
      name: 'New name',
    });
    const bot = await json(['bots', 'create', project.id, '--name', 'Bot']);
    expect(await json(['bots', 'rename', project.id, bot.id, '--name', 'Better Bot'])).toEqual({
      ...bot,
      name: 'Better Bot',
    });
    const user = await json(['users', 'create', project.id, '--names', 'Ana']);
    expect(
      await json(['users', 'update', project.id, user.id, '--names', 'Ana B', '--reference-id', 'r-9']),
    ).toEqual({
      ...user,
      names: 'Ana B',
      referenceId: 'r-9',
    });
    expect(
      (await json(['users', 'update', project.id, user.id, '--clear-reference-id'])).referenceId,
    ).toBeNull();
    await refused(['users', 'update', project.id, user.id], 2, /at least one of names, referenceId/);
    await refused(['bots', 'rename', project.id, 'bot_nope', '--name', 'x'], 1, 'bot_not_found');

    const started = await json(['conversations', 'start', project.id, '--bot', bot.id, '--user', user.id]);
    await refused(
      ['bots', 'delete', project.id, bot.id],
      1,
      new RegExp(`${started.conversationId}.*\\(active_conversations\\)`),
    );
    const deleted = await json(['bots', 'delete', project.id, bot.id, '--force']);
    expect(deleted).toEqual({
      id: bot.id,
      deleted: true,
      deletedAt: expect.any(String),
      closedConversations: 1,
    });
    expect((await json(['conversations', 'get', project.id, started.conversationId])).Bot).toEqual({
      id: bot.id,
      name: 'Better Bot',
    });
    await refused(['bots', 'delete', project.id, bot.id], 1, 'bot_not_found');
    expect((await json(['bots', 'list', project.id])).items).toEqual([]);

    expect(await json(['users', 'delete', project.id, user.id])).toMatchObject({
      id: user.id,
      deleted: true,
      closedConversations: 0,
    });
    await refused(['users', 'delete', project.id, user.id], 1, 'user_not_found');

    const gone = await json(['projects', 'delete', project.id]);
    expect(gone).toMatchObject({
      id: project.id,
      deleted: true,
      revokedCredentials: 1,
      integrationDeleted: false,
    });
    await refused(['projects', 'show', project.id], 1, 'project_not_found');
    await refused(['conversations', 'list', project.id], 1, 'project_not_found');
  });
});

describe('relevo: names holding NUL and unpaired surrogates', () => {
  it('projects show, bots list and users list print them as JSON.stringify writes them', async () => {
    // The command line cannot carry U+0000, so the names come in through the admin API.
    const name = 'N\u0000 \ud800 \udc00 😀 ñ';
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const created = await call(h.app, { url: '/admin/v1/projects', headers: auth, body: { name } });
    expect(created.statusCode, created.body).toBe(201);
    const projectId = created.json().id as string;
    for (const [url, body] of [
      ['bots', { name }],
      ['users', { names: name }],
    ] as const) {
      const res = await call(h.app, { url: `/admin/v1/projects/${projectId}/${url}`, headers: auth, body });
      expect(res.statusCode, res.body).toBe(201);
    }
    const show = await relevo(['projects', 'show', projectId]);
    expect(JSON.parse(show.stdout).name).toBe(name);
    expect(show.stdout).toContain(`"name":${JSON.stringify(name)}`);
    const bots = await relevo(['bots', 'list', projectId]);
    expect(JSON.parse(bots.stdout).items[0].name).toBe(name);
    expect(bots.stdout).toContain(`"name":${JSON.stringify(name)}`);
    const users = await relevo(['users', 'list', projectId]);
    expect(JSON.parse(users.stdout).items[0].names).toBe(name);
    expect(users.stdout).toContain(`"names":${JSON.stringify(name)}`);
  });
});
