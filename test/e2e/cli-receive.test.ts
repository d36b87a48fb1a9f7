/**
 * `relevo receive`, the receiver for trying relevo out: the built executable on loopback, real
 * HTTP requests signed (or not) as relevo signs its webhooks, and what it prints for each.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jelouSignature } from '../../src/delivery/signer.js';
import { CLI, ensureBuilt, freePort } from '../helpers/spawned-server.js';

const SECRET = 'a'.repeat(64);
let child: ChildProcessWithoutNullStreams | undefined;
let output = '';
let port = 0;

async function printed(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pattern.test(output)) {
    if (Date.now() > until) throw new Error(`no ${pattern} in:\n${output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function post(
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/hooks?x=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, text: await res.text() };
}

beforeAll(async () => {
  ensureBuilt();
  port = await freePort();
  child = spawn(process.execPath, [CLI, 'receive', '--port', String(port), '--secret', SECRET], {
    env: { PATH: process.env.PATH },
  });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    output += chunk;
  });
  await printed(new RegExp(`listening on http://127\\.0\\.0\\.1:${port}/`));
});
afterAll(async () => {
  if (child !== undefined && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child?.once('exit', r));
  }
});

describe('relevo receive', () => {
  it('answers 200 and prints the request, its event and whether the signature verifies', async () => {
    const event = JSON.stringify({ event: 'conversation.start', room_id: 'room_1' });
    const res = await post(event, { 'x-jelou-signature': jelouSignature(event, SECRET) });
    expect(res).toEqual({ status: 200, text: 'ok' });
    await printed(
      /POST \/hooks\?x=1 · conversation\.start · X-Jelou-Signature verified\n\{\n {2}"event": "conversation\.start",\n {2}"room_id": "room_1"\n\}\n/,
    );
  });

  it('says when the signature is wrong or missing, and names a message event by its event_type', async () => {
    const message = JSON.stringify({ field: 'messages', event_type: 'message' });
    expect(
      (await post(message, { 'x-jelou-signature': jelouSignature(message, 'b'.repeat(64)) })).status,
    ).toBe(200);
    await printed(/POST \/hooks\?x=1 · message · X-Jelou-Signature WRONG: not signed with this --secret\n/);
    expect((await post('not json')).status).toBe(200);
    await printed(/POST \/hooks\?x=1 · X-Jelou-Signature missing\nnot json\n/);
  });

  it('listens on loopback only and stops on SIGTERM with exit 0', async () => {
    expect(output).toContain(`listening on http://127.0.0.1:${port}/`);
    child?.kill('SIGTERM');
    const code = await new Promise((r) => child?.once('exit', r));
    expect(code).toBe(0);
  });

  it('without --secret, says signatures are not checked; a bad port is a usage error (exit 2)', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((done) =>
      execFile(process.execPath, [CLI, 'receive', '--port', 'http'], (error, _stdout, stderr) =>
        done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stderr }),
      ),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('port');

    const free = await freePort();
    const plain = spawn(process.execPath, [CLI, 'receive', '--port', String(free)], {
      env: { PATH: process.env.PATH },
    });
    let text = '';
    plain.stdout.setEncoding('utf8');
    plain.stdout.on('data', (c: string) => {
      text += c;
    });
    while (!text.includes('listening')) await new Promise((r) => setTimeout(r, 20));
    const body = '{"event":"conversation.close"}';
    await fetch(`http://127.0.0.1:${free}/`, {
      method: 'POST',
      body,
      headers: { 'x-jelou-signature': 'sha256=00' },
    });
    while (!text.includes('conversation.close')) await new Promise((r) => setTimeout(r, 20));
    expect(text).toContain('no --secret given: signatures are not checked');
    expect(text).toContain('POST / · conversation.close · X-Jelou-Signature not checked (no --secret)');
    plain.kill('SIGINT');
    expect(await new Promise((r) => plain.once('exit', r))).toBe(0);
  });
});
