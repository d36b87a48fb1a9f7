/**
 * The curl commands of /docs, run as a newcomer would: each taken from the document the server
 * serves, run by bash with curl and openssl against the listening server, with only the shell
 * variables set and the example ids replaced by real ones. A newcomer creates a project with the
 * admin token, a bot and an end user, starts a conversation with the API key, reads it, reads
 * the integration with Basic, and sends a message signed with openssl.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleId } from '../../src/http/openapi/sample.js';
import { ADMIN_TOKEN, createHarness, type Harness } from '../helpers/harness.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

// biome-ignore lint/suspicious/noExplicitAny: the document and the answers are read loosely.
type Json = any;

const haveTools = ['/usr/bin/curl', '/usr/bin/openssl'].every((p) => existsSync(p));
if (!haveTools)
  console.warn('\n*** curl or openssl not found in /usr/bin: the curl sample test is SKIPPED. ***\n');

const M = '/jelouapi/v1/external-support/{projectId}';

describe.skipIf(!haveTools)('the curl commands of /docs', () => {
  let h: Harness;
  let receiver: Receiver;
  let doc: Json;
  const env: Record<string, string> = { RELEVO_ADMIN_TOKEN: ADMIN_TOKEN };

  beforeAll(async () => {
    h = await createHarness();
    receiver = await startReceiver();
    await h.app.server.listen({ port: 0, host: '127.0.0.1' });
    const port = (h.app.server.server.address() as AddressInfo).port;
    doc = await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json();
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  /** The fenced `sh` block of an operation's description. */
  function sample(method: string, path: string): string {
    const description = String(doc.paths[path]?.[method]?.description);
    const found = /```sh\n([\s\S]*?)\n```/.exec(description)?.[1];
    if (found === undefined) throw new Error(`${method} ${path} shows no curl command`);
    return found;
  }

  /** Runs a command in bash with only PATH and the variables set; answers its stdout as JSON. */
  function run(command: string): Promise<Json> {
    return new Promise((resolve, reject) => {
      execFile(
        'bash',
        ['-euo', 'pipefail', '-c', command],
        { env: { PATH: '/usr/bin:/bin', ...env }, timeout: 15_000 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`${command}\n${stderr}`));
          else resolve(JSON.parse(stdout));
        },
      );
    });
  }

  it('take a newcomer from a new project to a message signed with openssl', async () => {
    // The admin token: a project, a bot and an end user.
    const project = await run(sample('post', '/admin/v1/projects'));
    expect(Object.keys(project)).toEqual(
      expect.arrayContaining(['id', 'apiKey', 'clientId', 'clientSecret']),
    );
    Object.assign(env, {
      PROJECT_ID: project.id,
      RELEVO_API_KEY: project.apiKey,
      RELEVO_CLIENT_ID: project.clientId,
      RELEVO_CLIENT_SECRET: project.clientSecret,
    });
    const bot = await run(sample('post', '/admin/v1/projects/{projectId}/bots'));
    const user = await run(sample('post', '/admin/v1/projects/{projectId}/users'));
    expect(bot.id).toMatch(/^bot_/);
    expect(user.id).toMatch(/^usr_/);

    // The API key: no integration yet, then one (at a receiver on loopback).
    const none = await run(sample('get', M));
    expect(none.error.code).toBe('integration_not_found');
    const integration = await run(
      sample('post', M).replace('https://panel.example.com/jelou/events', receiver.url),
    );
    expect(integration.statusMessage).toBe('success');
    env.SIGNING_SECRET = integration.data.signingSecret;

    // Basic, as the note under each command says.
    const basic = sample('get', M).replace(
      '-H "x-api-key: $RELEVO_API_KEY"',
      '-u "$RELEVO_CLIENT_ID:$RELEVO_CLIENT_SECRET"',
    );
    expect(basic).toContain('-u "$RELEVO_CLIENT_ID:$RELEVO_CLIENT_SECRET"');
    expect((await run(basic)).data.webhookUrl).toBe(receiver.url);

    // Start a conversation with the example body, for this bot and user.
    const ids = (command: string) =>
      command
        .replaceAll(sampleId('bot'), bot.id)
        .replaceAll(sampleId('usr'), user.id)
        .replaceAll(sampleId('prj'), project.id);
    const started = await run(ids(sample('post', `${M}/conversations/start`)));
    expect(started.message).toEqual(['Conversation started successfully']);
    env.CONVERSATION_ID = started.data.conversationId;
    const conversation = await run(sample('get', `${M}/conversations/{conversationId}`));
    expect(conversation.data._id).toBe(env.CONVERSATION_ID);

    // §4.10: no API key, the body signed with the signingSecret by openssl.
    const send = ids(sample('post', '/jelouapi/v1/external-support/webhook')).replaceAll(
      sampleId('room'),
      conversation.data.roomId,
    );
    expect(send).toContain('openssl dgst -sha256 -hmac "$SIGNING_SECRET"');
    const sent = await run(send);
    expect(sent.message).toEqual(['Message sent successfully']);
    expect(sent.data.conversationId).toBe(env.CONVERSATION_ID);

    // The same command with another secret is refused: the signature is what let it in.
    env.SIGNING_SECRET = 'not-the-secret';
    expect((await run(send)).error.code).toBe('invalid_signature');
  });
});
