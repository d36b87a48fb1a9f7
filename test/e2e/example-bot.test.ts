/**
 * examples/external-bot, as its README runs it: compiled with the repository's TypeScript and
 * started with node, in front of a real `relevo serve` whose bot runs on the `external` engine.
 * An end user writes through the bot's http channel; the example answers through the reply
 * route, hands the room to the panel (a real receiver) with the start call when the user asks
 * for an agent, stays out while the panel has the room, and resumes at the step the panel's
 * close names (docs/bots.md, "external").
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/events.js';
import { type JsonAnswer, postJson, requestJson } from '../helpers/http-client.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { ensureBuilt, freePort, ROOT, type Served, spawnServer } from '../helpers/spawned-server.js';

const ADMIN = 'example-bot-admin-token-0123456789';
const EXAMPLE = join(ROOT, 'examples', 'external-bot');

// biome-ignore lint/suspicious/noExplicitAny: events and answers are read loosely and asserted on.
type Json = Record<string, any>;

let dir: string;
let server: Served;
let panel: Receiver;
let channel: Receiver;
let bot: ChildProcess | undefined;
let botOutput = '';
let botUrl: string;
let projectId: string;
let apiKey: string;
let botId: string;
let signingKey: string;

const admin = { authorization: `Bearer ${ADMIN}` };
const body = (r: { body: string }): Json => JSON.parse(r.body) as Json;

/** What the user's app receives on the http channel: who said what, in order. */
const said = () =>
  channel.received.map((r) => {
    const m = body(r).message;
    return `${m.sender}: ${m.content.body}`;
  });

/** The end user writes through the bot's http channel, signed as an app signs (docs/channels.md). */
async function userWrites(text: string): Promise<JsonAnswer> {
  const raw = JSON.stringify({
    referenceId: 'customer-8812',
    name: 'Ana Lima',
    message: { type: 'text', content: { body: text } },
  });
  const res = await fetch(`http://127.0.0.1:${server.port}/v1/custom-channel/${botId}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-jelou-signature': `sha256=${createHmac('sha256', signingKey).update(raw).digest('hex')}`,
    },
    body: raw,
  });
  return { status: res.status, json: await res.json() };
}

async function channelSays(n: number): Promise<string[]> {
  await channel.waitFor(n, 20_000);
  return said();
}

beforeAll(async () => {
  ensureBuilt();
  // The README's compile step, with the repository's tsc.
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', EXAMPLE],
    { encoding: 'utf8' },
  );
  expect(tsc.status, `${tsc.stdout}${tsc.stderr}`).toBe(0);

  dir = mkdtempSync(join(tmpdir(), 'relevo-example-bot-'));
  panel = await startReceiver();
  channel = await startReceiver();
  server = await spawnServer({
    DATABASE_URL: `sqlite:${join(dir, 'relevo.db')}`,
    RELEVO_ADMIN_TOKEN: ADMIN,
    RELEVO_WEBHOOK_ALLOW: '127.0.0.1',
  });
  const port = server.port;

  const project = await postJson(port, '/admin/v1/projects', admin, { name: 'Acme' });
  expect(project.status).toBe(201);
  projectId = project.json.id;
  apiKey = project.json.apiKey;
  const created = await postJson(port, `/admin/v1/projects/${projectId}/bots`, admin, {
    name: 'Acme Help',
    channel: 'http',
  });
  expect(created.status).toBe(201);
  botId = created.json.id;
  const ch = await requestJson(port, 'PUT', `/admin/v1/projects/${projectId}/bots/${botId}/channel`, admin, {
    webhookUrl: channel.url,
  });
  expect(ch.status).toBe(201);
  signingKey = ch.json.signingKey;
  const integration = await postJson(
    port,
    `/v1/external-support/${projectId}`,
    { 'x-api-key': apiKey },
    { webhookUrl: panel.url },
  );
  expect(integration.status).toBe(200);

  const botPort = await freePort();
  botUrl = `http://127.0.0.1:${botPort}/relevo`;
  const engine = await requestJson(
    port,
    'PUT',
    `/admin/v1/projects/${projectId}/bots/${botId}/engine`,
    admin,
    { type: 'external', webhookUrl: botUrl },
  );
  expect(engine.status).toBe(200);
  expect(engine.json).toMatchObject({ type: 'external', webhookUrl: botUrl, hasSigningSecret: true });
  expect(engine.json.signingSecret).toMatch(/^[0-9a-f]{64}$/);

  // The README's run line.
  bot = spawn(process.execPath, [join(EXAMPLE, 'dist', 'bot.js')], {
    env: {
      PATH: process.env.PATH,
      RELEVO_URL: `http://127.0.0.1:${port}`,
      RELEVO_PROJECT_ID: projectId,
      RELEVO_API_KEY: apiKey,
      BOT_SIGNING_SECRET: engine.json.signingSecret,
      PORT: String(botPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  bot.stdout?.setEncoding('utf8');
  bot.stderr?.setEncoding('utf8');
  bot.stdout?.on('data', (c: string) => {
    botOutput += c;
  });
  bot.stderr?.on('data', (c: string) => {
    botOutput += c;
  });
  await eventually(
    async () => botOutput,
    (o) => o.includes(`bot listening on port ${botPort}`),
    10_000,
  );
}, 60_000);

afterAll(async () => {
  if (bot !== undefined && bot.exitCode === null) {
    bot.kill('SIGTERM');
    await new Promise((r) => bot?.once('exit', r));
  }
  if (server !== undefined && server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  await panel?.close();
  await channel?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('the example external bot against a real relevo', () => {
  it('refuses an event that is not signed with its secret', async () => {
    const raw = JSON.stringify({ field: 'messages', event_type: 'message' });
    const wrong = `sha256=${createHmac('sha256', 'not-the-secret').update(raw).digest('hex')}`;
    for (const headers of [{}, { 'x-jelou-signature': wrong }] as Record<string, string>[]) {
      const res = await fetch(botUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: raw,
      });
      expect(res.status).toBe(401);
    }
  });

  it('answers the user, hands off on "agent", keeps out while the panel has the room, and resumes at the step the close names', async () => {
    // No greeting from relevo: the bot answers the first message itself.
    const first = await userWrites('Hi');
    expect(first.status).toBe(202);
    expect(first.json.data).toMatchObject({ routedTo: 'bot', conversationId: null });
    expect(await channelSays(1)).toEqual([
      'bot: You wrote "Hi". Write "hours", or "agent" to talk to a person.',
    ]);
    const userId = body(channel.received[0]!).user.id as string;
    const roomId = first.json.data.roomId as string;

    const owner = () =>
      requestJson(server.port, 'GET', `/v1/external-support/${projectId}/bots/${botId}/rooms/${userId}`, {
        'x-api-key': apiKey,
      });
    expect((await owner()).json.data).toEqual({ roomId, owner: 'bot', conversationId: null });

    expect((await userWrites('What are your hours?')).json.data.routedTo).toBe('bot');
    expect((await channelSays(2)).at(-1)).toBe('bot: We are open Monday to Friday, 9:00 to 18:00.');

    // The handoff: the bot calls the start call with the user's words.
    expect((await userWrites('I want to talk to an agent')).json.data.routedTo).toBe('bot');
    const [start] = await panel.waitFor(1, 20_000);
    const started = body(start!);
    expect(started).toMatchObject({
      event: 'conversation.start',
      room_id: roomId,
      contact: { id: userId, name: 'Ana Lima' },
      bot: { id: botId, name: 'Acme Help' },
      value: { initial_message: 'I want to talk to an agent' },
    });
    const conversationId = started.conversation.id as string;
    // The start call's initialMessage reaches the user too (docs/api.md §4.6), from the operator.
    expect((await channelSays(3)).at(-1)).toBe('operator: I want to talk to an agent');
    expect((await owner()).json.data).toEqual({ roomId, owner: 'panel', conversationId });

    // The panel has the room: the user's next message is the panel's, and the bot says nothing.
    const later = await userWrites('Are you there?');
    expect(later.json.data).toMatchObject({ routedTo: 'panel', conversationId });
    const [, message] = await panel.waitFor(2, 20_000);
    expect(body(message!)).toMatchObject({
      event_type: 'message',
      conversation: { id: conversationId },
      value: { type: 'text', content: { body: 'Are you there?' } },
    });

    // The panel closes with an edge: the bot resumes at that step of its flow.
    const close = await postJson(
      server.port,
      `/v1/external-support/${projectId}/conversations/close`,
      { 'x-api-key': apiKey },
      { botId, userId, redirectPayload: { type: 'edge', text: 'survey' } },
    );
    expect(close.status).toBe(200);
    expect(await channelSays(4)).toEqual([
      'bot: You wrote "Hi". Write "hours", or "agent" to talk to a person.',
      'bot: We are open Monday to Friday, 9:00 to 18:00.',
      'operator: I want to talk to an agent',
      'bot: Before you go: how did we do, from 1 to 5?',
    ]);
    expect((await owner()).json.data).toEqual({ roomId, owner: 'bot', conversationId: null });
    await panel.waitFor(3, 20_000);
    expect(panel.received.map((r) => body(r).event ?? body(r).event_type)).toEqual([
      'conversation.start',
      'message',
      'conversation.close',
    ]);

    // And it answers the user again.
    expect((await userWrites('thanks')).json.data.routedTo).toBe('bot');
    expect((await channelSays(5)).at(-1)).toBe(
      'bot: You wrote "thanks". Write "hours", or "agent" to talk to a person.',
    );
    expect(botOutput).not.toMatch(/Error/);
  });
});
