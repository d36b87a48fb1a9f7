/**
 * The README as a newcomer follows it: its quick start and "Your first conversation", run
 * literally. The quick start's `npm ci && … npm start` becomes `node dist/cli/main.js serve` with
 * the variables that line sets (plus a fresh database, a free port and loopback only, so the test
 * can run beside others); the walkthrough's shell blocks then run one after the other in one
 * bash, as pasted into a second terminal. Only three things are changed in them: the server's
 * and the receiver's ports (8080 and 4000 may be taken), and the `rlva_…` placeholder, which
 * the reader fills from the server's log line, as this test does.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt, firstRunToken, freePort, ROOT, Served } from '../helpers/spawned-server.js';

type Json = Record<string, unknown>;

interface Block {
  readonly lang: string;
  readonly text: string;
}

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The fenced blocks of one `## ` section, in order. */
function blocksOf(section: string): Block[] {
  const start = README.indexOf(`\n## ${section}\n`);
  expect(start, `README section "${section}"`).toBeGreaterThanOrEqual(0);
  const end = README.indexOf('\n## ', start + 1);
  const text = README.slice(start, end === -1 ? undefined : end);
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1] ?? '',
    text: m[2] ?? '',
  }));
}

/** The same keys, recursively, as a sample answer of the README (values are placeholders). */
function sameShape(actual: unknown, sample: unknown, path = '$'): void {
  if (sample === null || typeof sample !== 'object' || Array.isArray(sample)) return;
  expect(actual, path).toBeTypeOf('object');
  expect(Object.keys(actual as Json), path).toEqual(Object.keys(sample));
  for (const [k, v] of Object.entries(sample)) sameShape((actual as Json)[k], v, `${path}.${k}`);
}

/**
 * The answer a step printed: the one compact JSON line. The background receiver prints in the
 * same terminal, before or after it (or right behind it, before curl's newline); its JSON is
 * indented, so its lines never start with `{"`.
 */
/**
 * The API's answer in what a block printed. The receiver started in the background prints each
 * webhook (a line, then its body) whenever it arrives, and curl's answer has no final newline, so
 * the two can share a line in either order. The answer is the JSON object with `statusMessage`.
 */
function firstLine(text: string): string {
  for (let start = text.indexOf('{"'); start >= 0; start = text.indexOf('{"', start + 1)) {
    const candidate = objectAt(text, start);
    if (candidate === undefined) continue;
    try {
      if ('statusMessage' in (JSON.parse(candidate) as object)) return candidate;
    } catch {
      // Not JSON after all: look further.
    }
  }
  return '';
}

/** The balanced `{…}` that starts at `start`, strings and escapes respected. */
function objectAt(text: string, start: number): string | undefined {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  return undefined;
}

/** One bash, fed block after block, as a person pastes them into a terminal. */
class Terminal {
  private output = '';
  private readonly waiters = new Set<() => void>();
  private step = 0;
  readonly bash: ChildProcessWithoutNullStreams;

  constructor(env: NodeJS.ProcessEnv) {
    // Its own process group, so the background receiver (npx, then node) ends with it.
    this.bash = spawn('bash', [], { cwd: ROOT, env, detached: true });
    this.bash.stdout.setEncoding('utf8');
    this.bash.stderr.setEncoding('utf8');
    const add = (chunk: string) => {
      this.output += chunk;
      for (const w of this.waiters) w();
    };
    this.bash.stdout.on('data', add);
    this.bash.stderr.on('data', add);
  }

  /** Everything printed so far, the background receiver's lines included. */
  get all(): string {
    return this.output;
  }

  /** Waits until the output matches, from `from` on. */
  waitFor(pattern: RegExp, from = 0, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return new Promise((done, fail) => {
      const check = () => {
        const m = this.output.slice(from).match(pattern);
        if (m === null) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        done(m);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        fail(new Error(`no ${pattern} within ${timeoutMs} ms; the terminal shows:\n${this.output}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Pastes a block and resolves with what it printed once it has finished. */
  async run(block: string): Promise<string> {
    const marker = `__step_${++this.step}_done__`;
    const from = this.output.length;
    this.bash.stdin.write(`${block}\necho ${marker}\n`);
    await this.waitFor(new RegExp(`${marker}\\n`), from);
    const end = this.output.indexOf(marker, from);
    return this.output.slice(from, end);
  }
}

let dir: string;
let served: Served | undefined;
let terminal: Terminal | undefined;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'relevo-readme-'));
});
afterAll(async () => {
  terminal?.bash.stdin.end();
  // The whole group: killing bash alone left the receiver it started in the background running.
  const group = terminal?.bash.pid;
  if (group !== undefined) {
    try {
      process.kill(-group, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  if (served !== undefined && served.child.exitCode === null) {
    served.child.kill('SIGTERM');
    await served.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('README', () => {
  it('quick start: two commands in blocks of their own', () => {
    const blocks = blocksOf('Quick start').filter((b) => b.lang === 'sh');
    expect(blocks.map((b) => b.text.trim())).toEqual([
      expect.stringMatching(/^npm ci && (?:[A-Z_]+=\S+ )*npm start$/),
      'npm ci && npm test',
    ]);
  });

  it('"Your first conversation" runs as written, from the first-run token to the close', async () => {
    // 1. The server, as the quick start starts it, on a fresh database.
    const startLine = blocksOf('Quick start')
      .map((b) => b.text.trim())
      .find((t) => t.endsWith('npm start'));
    const readmeEnv = Object.fromEntries(
      [...(startLine ?? '').matchAll(/([A-Z_]+)=(\S+) /g)].map((m) => [m[1] ?? '', m[2] ?? '']),
    );
    expect(readmeEnv).toEqual({ RELEVO_WEBHOOK_ALLOW: '127.0.0.1' });
    const port = await freePort();
    const receiverPort = await freePort();
    const child = spawn(process.execPath, [CLI, 'serve'], {
      env: {
        PATH: process.env.PATH,
        ...readmeEnv,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: `sqlite:${join(dir, 'relevo.db')}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    served = new Served(child, port);
    await served.waitFor((l) => l.msg === 'relevo listening', 'relevo listening', 20_000);
    const token = await firstRunToken(served);

    // 2. The walkthrough's blocks, in order, in one shell.
    const blocks = blocksOf('Your first conversation');
    const shell = blocks.filter((b) => b.lang === 'sh');
    const samples = blocks.filter((b) => b.lang === 'json').map((b) => JSON.parse(b.text) as Json);
    expect(shell).toHaveLength(8);
    const literal = (text: string) =>
      text
        .replaceAll('http://localhost:8080', `http://127.0.0.1:${port}`)
        .replaceAll('127.0.0.1:4000', `127.0.0.1:${receiverPort}`)
        .replaceAll('--port 4000', `--port ${receiverPort}`);
    const [tokenBlock, project, integration, botAndUser, start, send, transcript, close] = shell.map((b) =>
      literal(b.text),
    );
    const [projectSample, startSample, sendSample] = samples;

    terminal = new Terminal({ PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' });
    const t = terminal;

    // The README shows the banner the server printed, the token and the address aside.
    const banner = blocks.find((b) => b.lang === 'text' && b.text.includes('export RELEVO_ADMIN_TOKEN='));
    expect(banner?.text.trimEnd()).toBe(
      served.stderr
        .replace(token, 'rlva_…')
        .replace(`http://127.0.0.1:${port}`, 'http://localhost:8080')
        .trimEnd(),
    );
    // The placeholder the reader replaces with the token the server printed.
    expect(tokenBlock?.trim()).toBe('export RELEVO_ADMIN_TOKEN=rlva_…');
    expect(await t.run((tokenBlock ?? '').replace('rlva_…', token))).toBe('');

    const projectOut = JSON.parse(await t.run(project ?? '')) as Json;
    sameShape(projectOut, projectSample);
    expect(projectOut).toMatchObject({ name: 'Acme', id: expect.stringMatching(/^prj_/) });

    const integrationOut = await t.run(integration ?? '');
    const integrationJson = JSON.parse(firstLine(integrationOut)) as { status: number; data: Json };
    expect(integrationJson.status).toBe(1);
    expect(integrationJson.data).toMatchObject({
      webhookUrl: `http://127.0.0.1:${receiverPort}/webhooks`,
      signingSecret: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // The reader sees the receiver start before going on.
    await t.waitFor(new RegExp(`relevo receive: listening on http://127\\.0\\.0\\.1:${receiverPort}/`));

    expect(await t.run(botAndUser ?? '')).toMatch(/^bot bot_[0-9a-z]{26}, user usr_[0-9a-z]{26}\n$/);

    const before = t.all.length;
    // Its first line is the answer; the receiver's lines may follow it.
    const startOut = JSON.parse(firstLine(await t.run(start ?? ''))) as { data: Json };
    sameShape(startOut, startSample);
    expect(startOut.data).toMatchObject({ status: 'active', roomId: expect.stringMatching(/^room_/) });
    // The event reaches the receiver, signed with the integration's secret.
    await t.waitFor(
      /POST \/webhooks · conversation\.start · X-Jelou-Signature verified\n\{\n {2}"event": "conversation\.start"/,
      before,
    );
    const event = t.all.slice(before);
    expect(event).toContain(`"room_id": "${startOut.data.roomId}"`);
    expect(event).toContain(`"id": "${startOut.data.conversationId}"`);

    const sendOut = JSON.parse(firstLine(await t.run(send ?? ''))) as { data: Json };
    sameShape(sendOut, sendSample);
    expect(sendOut).toMatchObject({
      message: ['Message sent successfully'],
      status: 1,
      data: { conversationId: startOut.data.conversationId, messageId: expect.stringMatching(/^msg_/) },
    });

    const messages = JSON.parse(firstLine(await t.run(transcript ?? ''))) as {
      data: { items: Array<{ id: string; sender: string; content: Json }> };
    };
    expect(messages.data.items.map((m) => [m.sender, m.content])).toEqual([
      ['operator', { body: 'Hello, how can I help?' }],
      ['operator', { body: 'Hi Maria, Ana from support here.' }],
    ]);
    expect(messages.data.items[1]?.id).toBe(sendOut.data.messageId);

    const beforeClose = t.all.length;
    const closeOut = await t.run(close ?? '');
    expect(JSON.parse(firstLine(closeOut))).toMatchObject({
      message: ['Conversation closed successfully'],
      data: { conversationId: startOut.data.conversationId, status: 'closed' },
    });
    // The event is delivered after the answer: wait for the receiver to print it.
    await t.waitFor(/POST \/webhooks · conversation\.close · X-Jelou-Signature verified/, beforeClose);

    // Every request the receiver printed was signed with the integration's secret.
    // The receiver runs in the background of the same shell, so its line may follow a curl answer
    // that ended without a newline on the same line: match it anywhere, not at a line's start.
    const received = [...t.all.matchAll(/POST \/webhooks · ([a-z.]+) · ([^\n]*)/g)];
    expect(received.map((m) => m[1])).toEqual(['conversation.start', 'conversation.close']);
    expect(received.every((m) => m[2] === 'X-Jelou-Signature verified')).toBe(true);
  });
});
