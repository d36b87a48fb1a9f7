/**
 * `--json` on every command, and progress on a terminal: the commands whose answer is text
 * (migrate, admin-token reset, receive, completion, --version) print JSON with it, the others
 * accept it; long work (migrations, replays) writes its progress on stderr only when stderr is
 * a terminal. Real SQLite files, the real `run()` of the executable, real HTTP for receive.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { type CliIo, run } from '../../src/cli/run.js';
import { jelouSignature } from '../../src/delivery/signer.js';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { VERSION } from '../../src/version.js';

let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'relevo-cli-json-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const freshDb = () => `sqlite:${join(dir, `db-${++n}.db`)}`;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function start(argv: string[], io: Partial<CliIo> = {}): { done: Promise<Outcome>; out: () => string } {
  let stdout = '';
  let stderr = '';
  const done = run(argv, {
    env: { DATABASE_URL: freshDb() },
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    ...io,
  }).then((code) => ({ code, stdout, stderr }));
  return { done, out: () => stdout };
}

const relevo = (argv: string[], io: Partial<CliIo> = {}) => start(argv, io).done;

describe('--json', () => {
  it.each(COMMANDS.map((c) => c.name))('relevo %s takes --json', async (name) => {
    const r = await relevo([...name.split(' '), '--json', '--help']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--json');
  });

  it('relevo --version --json prints { version }', async () => {
    expect(await relevo(['--version', '--json'])).toEqual({
      code: 0,
      stdout: `${JSON.stringify({ version: VERSION })}\n`,
      stderr: '',
    });
  });

  it('relevo migrate --json prints { applied: [{ version, name }] }, then an empty list', async () => {
    const env = { DATABASE_URL: freshDb() };
    const first = await relevo(['migrate', '--json'], { env });
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({
      applied: MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
    });
    const again = await relevo(['migrate', '--json'], { env });
    expect(again).toEqual({ code: 0, stdout: '{"applied":[]}\n', stderr: '' });
    // Without --json, the text it always printed.
    expect(await relevo(['migrate'], { env })).toEqual({ code: 0, stdout: 'up to date\n', stderr: '' });
  });

  it('relevo admin-token reset --json prints { token }', async () => {
    const r = await relevo(['admin-token', 'reset', '--json']);
    expect(r.code).toBe(0);
    expect(Object.keys(JSON.parse(r.stdout))).toEqual(['token']);
    expect(JSON.parse(r.stdout).token).toMatch(/^rlva_[A-Za-z0-9_-]{43}$/);
  });

  it('relevo receive --json prints one JSON line per request', async () => {
    const signals = new EventEmitter();
    const receiving = start(['receive', '--port', '0', '--secret', 'whsec_test', '--json'], { signals });
    let listening: { listening: string; checksSignatures: boolean } | undefined;
    for (let i = 0; i < 200 && listening === undefined; i++) {
      const line = receiving.out().split('\n')[0] ?? '';
      if (line !== '') listening = JSON.parse(line);
      else await new Promise((r) => setTimeout(r, 10));
    }
    expect(listening).toEqual({
      listening: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/),
      checksSignatures: true,
    });

    const body = JSON.stringify({ event: 'message', text: 'hi' });
    const signed = await fetch(`${listening?.listening}hooks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-jelou-signature': jelouSignature(body, 'whsec_test'),
      },
      body,
    });
    expect(signed.status).toBe(200);
    const wrong = await fetch(`${listening?.listening}hooks`, {
      method: 'POST',
      headers: { 'x-jelou-signature': jelouSignature(body, 'whsec_other') },
      body: 'plain',
    });
    expect(wrong.status).toBe(200);
    signals.emit('SIGTERM');
    const r = await receiving.done;
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { method: 'POST', path: '/hooks', event: 'message', signature: 'verified', body: JSON.parse(body) },
      { method: 'POST', path: '/hooks', event: null, signature: 'wrong', body: 'plain' },
    ]);
  });
});

describe('progress on a terminal', () => {
  it('migrate shows each migration on stderr when it is a terminal, then erases the line', async () => {
    const r = await relevo(['migrate'], { stderrIsTty: true });
    expect(r.code).toBe(0);
    const expected = MIGRATIONS.map(
      (m, i) => `\r\x1b[2Kmigrating the database: ${i + 1} of ${MIGRATIONS.length}, ${m.name}`,
    ).join('');
    expect(r.stderr).toBe(`${expected}\r\x1b[2K`);
    // stdout, what scripts read, is the same as off a terminal.
    expect(r.stdout.split('\n')[0]).toBe(`applied 0001 ${MIGRATIONS[0]?.name}`);
  });

  it('nothing on stderr when it is not a terminal (logs, pipes, CI)', async () => {
    const r = await relevo(['migrate']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('deliveries replay says what it replays while it runs, on a terminal only', async () => {
    // A loopback URL nothing listens on: replaying only queues deliveries, nothing is sent here.
    const env = { DATABASE_URL: freshDb(), RELEVO_WEBHOOK_ALLOW: '127.0.0.1' };
    const created = await relevo(['projects', 'create', '--name', 'Acme'], { env });
    const projectId = (JSON.parse(created.stdout) as { id: string }).id;
    const integration = await relevo(
      ['integrations', 'set', projectId, '--webhook-url', 'http://127.0.0.1:9/hooks'],
      { env },
    );
    expect(integration.code).toBe(0);
    const args = ['deliveries', 'replay', projectId, '--since', '2026-01-15T10:30:00Z'];
    const tty = await relevo(args, { env, stderrIsTty: true });
    expect(tty.code).toBe(0);
    expect(tty.stderr).toBe('\r\x1b[2Kreplaying the events since 2026-01-15T10:30:00.000Z…\r\x1b[2K');
    const piped = await relevo(args, { env });
    expect(piped).toEqual({ ...tty, stderr: '' });
  });
});
