/**
 * The developer's commands against a running relevo (the built CLI and server, as child
 * processes): `relevo listen` forwards each event to a local receiver, signed both ways with the
 * secret it printed (checked with the SDK's verifier and the server's own signer), across a
 * server restart with nothing lost and in order; `relevo trigger` sends a test event to the
 * project's integration; `relevo events tail` prints the stream; Ctrl-C stops them cleanly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyWebhook } from '@relevo/sdk/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { CLI, runCli, type Served, spawnServer } from '../helpers/spawned-server.js';

const TOKEN = 'cli-listen-admin-token-0123456789abcdef';

/** A CLI child whose stdout lines are collected as they come. */
function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv) {
  const child: ChildProcess = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let buffer = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, lines, exited, stderr: () => stderr };
}

async function until<T>(read: () => T, ok: (v: T) => boolean, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`not in time: ${what}; have ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('relevo listen, trigger and events tail', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let served: Served;
  let base: string;
  let receiver: Receiver;
  let project: { id: string; apiKey: string; botId: string };

  const api = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? null : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: the test reads JSON answers loosely.
    return { status: r.status, body: (await r.json()) as any };
  };
  const admin = { authorization: `Bearer ${TOKEN}` };
  /** A new end user handed to the panel: one conversation.start event. */
  const start = async (i: number) => {
    const u = await api('POST', `/admin/v1/projects/${project.id}/users`, admin, { names: `User ${i}` });
    const s = await api(
      'POST',
      `/v1/external-support/${project.id}/conversations/start`,
      { 'x-api-key': project.apiKey },
      {
        botId: project.botId,
        userId: u.body.id,
      },
    );
    expect(s.status).toBe(200);
    return s.body.data.conversationId as string;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'relevo-cli-listen-'));
    env = {
      DATABASE_URL: `sqlite:${join(dir, 'listen.db')}`,
      RELEVO_ADMIN_TOKEN: TOKEN,
      RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8',
    };
    served = await spawnServer(env);
    base = `http://127.0.0.1:${served.port}`;
    receiver = await startReceiver();
    const p = await api('POST', '/admin/v1/projects', admin, { name: 'Listen' });
    const b = await api('POST', `/admin/v1/projects/${p.body.id}/bots`, admin, {
      name: 'Helper',
      channel: 'http',
    });
    project = { id: p.body.id, apiKey: p.body.apiKey, botId: b.body.id };
  });

  afterAll(async () => {
    served?.child.kill('SIGTERM');
    await served?.exited;
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listen forwards every event, signed both ways with its printed secret, across a server restart', async () => {
    const listen = spawnCli(
      ['listen', '--forward-to', `${receiver.url}/local`, '--url', base, '--project', project.id, '--json'],
      { RELEVO_API_KEY: project.apiKey },
    );
    try {
      const ready = JSON.parse(
        await until(
          () => listen.lines[0] ?? '',
          (l) => l !== '',
          'the ready line',
        ),
      ) as {
        ready: boolean;
        secret: string;
      };
      expect(ready.ready).toBe(true);
      expect(ready.secret).toMatch(/^[0-9a-f]{64}$/);
      // The stream starts with events committed from now on: wait until it is connected.
      await new Promise((r) => setTimeout(r, 500));
      const before = [await start(1), await start(2)];
      await until(
        () => receiver.received.length,
        (n) => n >= 2,
        'two forwarded events',
      );

      // The server restarts; events committed while listen reconnects still come, in order.
      served.child.kill('SIGTERM');
      await served.exited;
      served = await spawnServer(env, served.port);
      const after = [await start(3), await start(4), await start(5)];
      await until(
        () => receiver.received.length,
        (n) => n >= 5,
        'five forwarded events',
        30_000,
      );

      const got = receiver.received.map((r) => JSON.parse(r.body) as { conversation: { id: string } });
      expect(got.map((e) => e.conversation.id)).toEqual([...before, ...after]);
      for (const r of receiver.received) {
        expect(r.path).toBe('/hooks/local');
        const event = await verifyWebhook(r.body, r.headers as Record<string, string>, ready.secret);
        expect(event.event_type).toBe('start');
        // X-Jelou-Signature alone verifies too.
        const jelouOnly = { 'x-jelou-signature': String(r.headers['x-jelou-signature']) };
        await expect(verifyWebhook(r.body, jelouOnly, ready.secret)).resolves.toBeTruthy();
      }
      // One line per event, with the local answer.
      const lines = listen.lines.slice(1).map((l) => JSON.parse(l) as { type: string; status: number });
      expect(lines).toHaveLength(5);
      expect(lines.every((l) => l.type === 'conversation.start' && l.status === 200)).toBe(true);
    } finally {
      listen.child.kill('SIGINT');
    }
    expect(await listen.exited).toBe(0);
  }, 90_000);

  it('trigger sends a test event to the integration; events tail prints it', async () => {
    const hooks = await startReceiver();
    try {
      const created = await api(
        'POST',
        `/v1/external-support/${project.id}`,
        { 'x-api-key': project.apiKey },
        {
          webhookUrl: hooks.url,
        },
      );
      expect(created.status).toBe(200);
      const tail = spawnCli(
        ['events', 'tail', '--url', base, '--project', project.id, '--events', 'message'],
        {
          RELEVO_API_KEY: project.apiKey,
        },
      );
      await new Promise((r) => setTimeout(r, 800));
      const cli = { RELEVO_URL: base, RELEVO_PROJECT_ID: project.id, RELEVO_API_KEY: project.apiKey };
      const sent = await runCli(['trigger', 'message', '--json'], cli);
      expect(sent.code).toBe(0);
      const { eventId, type } = JSON.parse(sent.stdout) as { eventId: string; type: string };
      expect(type).toBe('message');
      const delivered = await until(
        () => hooks.received.find((r) => r.headers['webhook-id'] === eventId),
        (r) => r !== undefined,
        'the test event at the integration',
      );
      expect(JSON.parse(delivered?.body ?? '{}').event_type).toBe('message');
      const line = await until(
        () => tail.lines.find((l) => l.includes(eventId)),
        (l) => l !== undefined,
        'the tail line',
      );
      expect(line).toMatch(/^\d\d:\d\d:\d\d {2}message +evt_/);
      tail.child.kill('SIGINT');
      expect(await tail.exited).toBe(0);

      // A type it does not know is a usage error; a wrong key says what the server said.
      expect((await runCli(['trigger', 'conversation.transfer'], cli)).code).toBe(2);
      const refused = await runCli(['trigger', 'message'], { ...cli, RELEVO_API_KEY: 'rlvk_wrong' });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('401 unauthorized');
    } finally {
      await hooks.close();
    }
  }, 60_000);
});
