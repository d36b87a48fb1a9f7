/**
 * The `relevo` command as an operator runs it: the built executable in a child process, a real
 * SQLite file, real HTTP and real signals.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIAL_TTL_MS } from '../../src/auth/credential-cache.js';
import { CLI, ensureBuilt, firstRunToken, freePort, Served } from '../helpers/spawned-server.js';

let dir: string | undefined;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'relevo-cli-'));
  // Only what the command needs: an operator's shell may set anything, tests must not depend on it.
  env = { PATH: process.env.PATH, DATABASE_URL: `sqlite:${join(dir, 'x.db')}`, LOG_LEVEL: 'info' };
});
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function relevo(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...env, ...extraEnv } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      done({ code, stdout, stderr });
    });
  });
}

async function json(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const r = await relevo(args, extraEnv);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  // One JSON object on one line: what a script reads.
  expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const SUBCOMMANDS = [
  'serve',
  'migrate',
  'receive',
  'projects create',
  'projects list',
  'projects show',
  'credentials create',
  'credentials revoke',
  'bots create',
  'bots list',
  'bots rules',
  'bots channel',
  'users create',
  'users list',
  'admin-token reset',
];

describe('relevo: help and usage errors', () => {
  it('--help lists every subcommand on stdout and exits 0', async () => {
    const r = await relevo(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const name of SUBCOMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
  });

  it.each(SUBCOMMANDS)('%s --help prints its usage and exits 0, whatever the configuration', async (name) => {
    const r = await relevo([...name.split(' '), '--help'], { PORT: 'abc' });
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(`Usage: relevo ${name}`)).toBe(true);
    expect(r.stdout).toContain('--help');
  });

  it('no command, or an unknown one, prints the usage on stderr and exits 2', async () => {
    const none = await relevo([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('Usage: relevo <command>');

    const unknown = await relevo(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^relevo: unknown command 'frobnicate'\n/);
    expect(unknown.stderr).toContain('Usage: relevo <command>');

    const unknownSub = await relevo(['projects', 'frobnicate', 'prj_x']);
    expect(unknownSub.code).toBe(2);
    expect(unknownSub.stderr).toMatch(/^relevo: unknown command 'projects frobnicate'\n/);
  });

  it.each([
    [['bots', 'create'], /missing <projectId>/],
    [['bots', 'create', 'prj_x'], /--name is required/],
    [['projects', 'create', '--name'], /--name/],
    [['projects', 'create', '--name', 'x', '--plan', 'gold'], /--plan/],
    [['projects', 'show', 'prj_x', 'extra'], /unexpected argument 'extra'/],
  ])('relevo %j is a usage error: one line on stderr, exit 2', async (args, message) => {
    const r = await relevo(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^relevo: [^\n]*\n$/);
  });
});

describe('relevo: invalid configuration', () => {
  it('PORT=abc: exactly one line naming the variable, exit 1', async () => {
    const r = await relevo(['serve'], { PORT: 'abc' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'relevo: PORT="abc" is not a whole number; set it to an integer between 0 and 65535.\n',
    );
  });

  it('an unsupported DATABASE_URL stops an admin command the same way', async () => {
    const r = await relevo(['projects', 'list'], { DATABASE_URL: 'mysql://db/relevo' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^relevo: DATABASE_URL=[^\n]*\n$/);
  });
});

describe('relevo: administration on the database', () => {
  it('migrate prints what it applied, then "up to date"', async () => {
    const first = await relevo(['migrate']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^applied 0001 initial$/m);
    const again = await relevo(['migrate']);
    expect(again).toEqual({ code: 0, stdout: 'up to date\n', stderr: '' });
  });

  it('creates, lists and shows projects, credentials, bots and users', async () => {
    const project = await json(['projects', 'create', '--name', 'Acme']);
    expect(Object.keys(project)).toEqual([
      'id',
      'name',
      'apiKey',
      'clientId',
      'clientSecret',
      'credentialId',
    ]);
    const pid = String(project.id);

    const bot = await json(['bots', 'create', pid, '--name', 'Helper', '--channel', 'http']);
    expect(bot).toMatchObject({ name: 'Helper', channel: 'http' });
    expect(await json(['bots', 'create', pid, '--name', 'Web'])).toMatchObject({ channel: 'webchat' });

    const user = await json(['users', 'create', pid, '--names', 'Maria Silva', '--reference-id', 'crm-1']);
    expect(user).toMatchObject({ names: 'Maria Silva', referenceId: 'crm-1' });
    expect(await json(['users', 'create', pid, '--names', 'Ana'])).toMatchObject({ referenceId: null });

    const page1 = await json(['bots', 'list', pid, '--limit', '1']);
    expect((page1.items as unknown[]).length).toBe(1);
    const page2 = await json(['bots', 'list', pid, '--limit', '1', '--after', String(page1.nextCursor)]);
    expect(page2).toMatchObject({ items: [{ name: 'Web' }], nextCursor: null });
    expect(((await json(['users', 'list', pid])).items as unknown[]).length).toBe(2);
    const projects = await json(['projects', 'list']);
    expect((projects.items as Array<{ id: string }>).map((p) => p.id)).toContain(pid);

    const cred = await json(['credentials', 'create', pid]);
    expect(Object.keys(cred)).toEqual(['id', 'apiKey', 'clientId', 'clientSecret']);
    const revoked = await json(['credentials', 'revoke', pid, String(cred.id)]);
    expect(revoked.revokedAt).toEqual(expect.any(String));

    const shown = await relevo(['projects', 'show', pid]);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      id: pid,
      name: 'Acme',
      credentials: [
        { id: project.credentialId, revokedAt: null },
        { id: cred.id, revokedAt: revoked.revokedAt },
      ],
    });
    for (const secret of [project.apiKey, project.clientSecret, cred.apiKey, cred.clientSecret]) {
      expect(shown.stdout).not.toContain(String(secret));
    }
  });

  it('refusals are one line on stderr with their code: exit 1, or 2 for a bad value', async () => {
    const project = await json(['projects', 'create', '--name', 'Refusals']);
    const pid = String(project.id);
    await json(['users', 'create', pid, '--names', 'A', '--reference-id', 'dup']);

    const cases: Array<[string[], number, RegExp]> = [
      [['projects', 'show', 'prj_missing'], 1, /\(project_not_found\)$/],
      [['credentials', 'revoke', pid, 'cred_missing'], 1, /\(credential_not_found\)$/],
      [['users', 'create', pid, '--names', 'B', '--reference-id', 'dup'], 1, /\(reference_id_taken\)$/],
      [
        ['bots', 'create', pid, '--name', 'x', '--channel', 'sms'],
        2,
        /channel must be one of: webchat, http/,
      ],
      [['projects', 'create', '--name', ''], 2, /name must not be empty/],
      [['projects', 'list', '--limit', '0'], 2, /limit must be a whole number from 1 to 200/],
    ];
    for (const [args, code, message] of cases) {
      const r = await relevo(args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^relevo: [^\n]*\n$/);
      expect(r.stderr.trimEnd()).toMatch(message);
    }
  });
});

describe('relevo: bot rules and channels', () => {
  const ALLOW_LOOPBACK = { RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8' };

  /** One line on stderr with the refusal, nothing on stdout, and the exit code. */
  async function refused(args: string[], code: number, message: RegExp, extraEnv: NodeJS.ProcessEnv = {}) {
    const r = await relevo(args, extraEnv);
    expect(r.code, args.join(' ')).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^relevo: [^\n]*\n$/);
    expect(r.stderr.trimEnd()).toMatch(message);
  }

  function file(name: string, content: string): string {
    const path = join(dir ?? '', name);
    writeFileSync(path, content);
    return path;
  }

  it('shows the rules in effect, sets them from a file, and resets them', async () => {
    const pid = String((await json(['projects', 'create', '--name', 'Rules'])).id);
    const bot = String((await json(['bots', 'create', pid, '--name', 'Helper'])).id);

    const initial = await json(['bots', 'rules', pid, bot]);
    expect(initial.isDefault).toBe(true);
    expect(initial.rules).toMatchObject({
      handoff: { keywords: expect.arrayContaining(['human', 'humano']) },
    });

    const rules = {
      greeting: 'Olá!',
      answers: [{ keywords: ['preço'], reply: 'A partir de 10 BRL.' }],
      handoff: { keywords: ['atendente'], assignment: { type: 'team', target: 'br' } },
      steps: { survey: 'Nota de 1 a 5?' },
    };
    const set = await json(['bots', 'rules', pid, bot, '--file', file('rules.json', JSON.stringify(rules))]);
    expect(set).toEqual(rules);
    expect(await json(['bots', 'rules', pid, bot])).toEqual({ rules, isDefault: false });

    const reset = await json(['bots', 'rules', pid, bot, '--reset']);
    expect(reset).toEqual({ rules: initial.rules, isDefault: true });
    expect(await json(['bots', 'rules', pid, bot])).toEqual(initial);
  });

  it('refuses bad rule files as the admin API would, and leaves the rules as they were', async () => {
    const pid = String((await json(['projects', 'create', '--name', 'Bad rules'])).id);
    const bot = String((await json(['bots', 'create', pid, '--name', 'Helper'])).id);
    const good = file('good.json', JSON.stringify({ fallback: 'Sorry?' }));
    await json(['bots', 'rules', pid, bot, '--file', good]);

    const bad = file(
      'bad.json',
      JSON.stringify({ greeting: '', answers: [{ keywords: ['?'], reply: 'x' }] }),
    );
    await refused(
      ['bots', 'rules', pid, bot, '--file', bad],
      2,
      /greeting must not be empty.*\(unprocessable_entity\)$/,
    );
    const punct = file('punct.json', JSON.stringify({ answers: [{ keywords: ['?'], reply: 'x' }] }));
    await refused(
      ['bots', 'rules', pid, bot, '--file', punct],
      2,
      /answers\.0\.keywords\.0 must contain a letter or a digit/,
    );
    await refused(
      ['bots', 'rules', pid, bot, '--file', file('unknown.json', '{"farewell":"bye"}')],
      2,
      /farewell is not a known field/,
    );
    await refused(
      ['bots', 'rules', pid, bot, '--file', file('broken.json', '{"greeting": ')],
      2,
      /file is not valid JSON/,
    );
    await refused(
      ['bots', 'rules', pid, bot, '--file', join(dir ?? '', 'missing.json')],
      1,
      /cannot read the rules file: ENOENT/,
    );
    await refused(
      ['bots', 'rules', pid, bot, '--file', good, '--reset'],
      2,
      /reset cannot be combined with --file/,
    );
    await refused(['bots', 'rules', pid, 'bot_missing'], 1, /\(bot_not_found\)$/);
    await refused(['bots', 'rules', 'prj_missing', bot, '--reset'], 1, /\(project_not_found\)$/);
    await refused(['bots', 'rules', pid], 2, /missing <botId>/);

    expect(await json(['bots', 'rules', pid, bot])).toEqual({
      rules: { fallback: 'Sorry?' },
      isDefault: false,
    });
  });

  it('configures an http bot: the signing key is printed on creation and regeneration only', async () => {
    const pid = String((await json(['projects', 'create', '--name', 'Channels'])).id);
    const bot = String((await json(['bots', 'create', pid, '--name', 'App', '--channel', 'http'])).id);

    expect(await json(['bots', 'channel', pid, bot])).toEqual({
      botId: bot,
      channel: 'http',
      webhookUrl: null,
      hasSigningKey: false,
    });

    const created = await json(
      ['bots', 'channel', pid, bot, '--webhook-url', 'http://127.0.0.1:9/hook'],
      ALLOW_LOOPBACK,
    );
    expect(created).toEqual({
      botId: bot,
      channel: 'http',
      webhookUrl: 'http://127.0.0.1:9/hook',
      signingKey: expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    const updated = await json(
      ['bots', 'channel', pid, bot, '--webhook-url', 'http://127.0.0.1:9/v2'],
      ALLOW_LOOPBACK,
    );
    expect(updated).toEqual({
      botId: bot,
      channel: 'http',
      webhookUrl: 'http://127.0.0.1:9/v2',
      hasSigningKey: true,
    });

    const regenerated = await json(['bots', 'channel', pid, bot, '--regenerate-key']);
    expect(regenerated).toMatchObject({
      webhookUrl: 'http://127.0.0.1:9/v2',
      signingKey: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(regenerated.signingKey).not.toBe(created.signingKey);

    // Both at once: the URL changes, then the key; the key printed is the one in force.
    const both = await json(
      ['bots', 'channel', pid, bot, '--webhook-url', 'http://127.0.0.1:9/v3', '--regenerate-key'],
      ALLOW_LOOPBACK,
    );
    expect(both).toMatchObject({ webhookUrl: 'http://127.0.0.1:9/v3', signingKey: expect.any(String) });
    expect(both.signingKey).not.toBe(regenerated.signingKey);

    const shown = await relevo(['bots', 'channel', pid, bot]);
    expect(JSON.parse(shown.stdout)).toEqual({
      botId: bot,
      channel: 'http',
      webhookUrl: 'http://127.0.0.1:9/v3',
      hasSigningKey: true,
    });
    expect(shown.stdout).not.toContain(String(both.signingKey));
  });

  it('refuses webhook URLs the network policy refuses, and any configuration of a webchat bot', async () => {
    const pid = String((await json(['projects', 'create', '--name', 'Refused channels'])).id);
    const http = String((await json(['bots', 'create', pid, '--name', 'App', '--channel', 'http'])).id);
    const web = String((await json(['bots', 'create', pid, '--name', 'Web'])).id);

    // Without RELEVO_WEBHOOK_ALLOW, loopback is refused like any private address.
    await refused(
      ['bots', 'channel', pid, http, '--webhook-url', 'http://127.0.0.1:9/hook'],
      2,
      /webhookUrl host 127\.0\.0\.1 is a loopback address/,
    );
    await refused(
      ['bots', 'channel', pid, http, '--webhook-url', 'http://169.254.169.254/'],
      2,
      /cloud metadata address/,
      ALLOW_LOOPBACK,
    );
    await refused(
      ['bots', 'channel', pid, http, '--webhook-url', 'ftp://127.0.0.1/'],
      2,
      /absolute http or https URL/,
      ALLOW_LOOPBACK,
    );
    expect(await json(['bots', 'channel', pid, http])).toMatchObject({
      webhookUrl: null,
      hasSigningKey: false,
    });

    expect(await json(['bots', 'channel', pid, web])).toEqual({
      botId: web,
      channel: 'webchat',
      url: `/webchat/${web}`,
    });
    await refused(
      ['bots', 'channel', pid, web, '--regenerate-key'],
      2,
      /webchat, which needs no configuration/,
    );
    await refused(
      ['bots', 'channel', pid, web, '--webhook-url', 'http://127.0.0.1:9/'],
      2,
      /needs no configuration/,
      ALLOW_LOOPBACK,
    );
    await refused(['bots', 'channel', pid, 'bot_missing'], 1, /\(bot_not_found\)$/);
  });
});

// ------------------------------------------------------------------------------------------------
// relevo serve
// ------------------------------------------------------------------------------------------------

const running: Served[] = [];
afterEach(() => {
  for (const s of running.splice(0)) if (s.child.exitCode === null) s.child.kill('SIGKILL');
});

async function startServer(extraEnv: NodeJS.ProcessEnv = {}): Promise<Served> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { ...env, PORT: String(port), HOST: '127.0.0.1', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const served = new Served(child, port);
  running.push(served);
  await served.waitFor((l) => l.msg === 'relevo listening', 'relevo listening');
  return served;
}

interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/**
 * Starts a POST and sends only the first part of its body; the request stays in flight until
 * `finish()` sends the rest.
 */
function partialPost(
  port: number,
  path: string,
  headers: Record<string, string>,
  payload: unknown,
  agent?: http.Agent,
): { finish: () => void; response: Promise<HttpResult> } {
  const text = JSON.stringify(payload);
  const cut = Math.floor(text.length / 2);
  let req: http.ClientRequest | undefined;
  const response = new Promise<HttpResult>((done, fail) => {
    req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: agent ?? false,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(text)),
        },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          data += c;
        });
        res.on('end', () =>
          done({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(data) }),
        );
      },
    );
    req.on('error', fail);
    req.write(text.slice(0, cut));
  });
  return { finish: () => req?.end(text.slice(cut)), response };
}

async function post(port: number, path: string, headers: Record<string, string>, payload: unknown) {
  const p = partialPost(port, path, headers, payload);
  p.finish();
  return p.response;
}

async function seedProject(): Promise<{
  pid: string;
  apiKey: string;
  credentialId: string;
  bot: string;
  users: string[];
}> {
  const project = await json(['projects', 'create', '--name', 'Served']);
  const pid = String(project.id);
  const bot = String((await json(['bots', 'create', pid, '--name', 'Helper'])).id);
  const users: string[] = [];
  for (const names of ['One', 'Two', 'Three', 'Four']) {
    users.push(String((await json(['users', 'create', pid, '--names', names])).id));
  }
  return { pid, apiKey: String(project.apiKey), credentialId: String(project.credentialId), bot, users };
}

const startPath = (pid: string) => `/v1/external-support/${pid}/conversations/start`;

describe('relevo serve', () => {
  it('serves what the CLI created, sees a CLI revocation within a second (the credential cache), and drains an in-flight request on SIGTERM', async () => {
    const seed = await seedProject();
    const spare = await json(['credentials', 'create', seed.pid]);
    const served = await startServer();
    // First start on this database without RELEVO_ADMIN_TOKEN: a token, shown once, on stderr.
    const token = await firstRunToken(served);
    const listening = served.lines.find((l) => l.msg === 'relevo listening');
    expect(listening?.address).toBe(`http://127.0.0.1:${served.port}`);
    expect(listening?.adminApi).toBe(true);

    const key = { 'x-api-key': seed.apiKey };
    const first = await post(served.port, startPath(seed.pid), key, {
      botId: seed.bot,
      userId: seed.users[0],
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 1, data: { botId: seed.bot, userId: seed.users[0] } });

    // The admin API takes that token, and only it.
    const wrong = await post(
      served.port,
      '/admin/v1/projects',
      { authorization: 'Bearer whatever-token-1234' },
      { name: 'Nope' },
    );
    expect(wrong.status).toBe(401);
    const admin = await post(
      served.port,
      '/admin/v1/projects',
      { authorization: `Bearer ${token}` },
      { name: 'Yes' },
    );
    expect(admin.status).toBe(201);

    // Revoked by another process: refused once the node's credential cache lets go of the row
    // (CREDENTIAL_TTL_MS; revocations through the node's own admin API are immediate).
    await json(['credentials', 'revoke', seed.pid, seed.credentialId]);
    await new Promise((r) => setTimeout(r, CREDENTIAL_TTL_MS + 50));
    const refused = await post(served.port, startPath(seed.pid), key, {
      botId: seed.bot,
      userId: seed.users[1],
    });
    expect(refused.status).toBe(401);

    // A request in flight on a keep-alive connection when SIGTERM arrives still completes.
    const agent = new http.Agent({ keepAlive: true });
    const inFlight = partialPost(
      served.port,
      startPath(seed.pid),
      { 'x-api-key': String(spare.apiKey), 'x-request-id': 'in-flight-1' },
      { botId: seed.bot, userId: seed.users[2] },
      agent,
    );
    await served.waitFor((l) => l.reqId === 'in-flight-1' && l.msg === 'incoming request', 'for the request');
    const signalledAt = Date.now();
    served.child.kill('SIGTERM');
    await served.waitFor((l) => l.signal === 'SIGTERM', 'shutting down');

    // No new work is taken on meanwhile: refused at the door or with 503.
    const late = await post(
      served.port,
      startPath(seed.pid),
      { 'x-api-key': String(spare.apiKey) },
      {
        botId: seed.bot,
        userId: seed.users[3],
      },
    ).catch((e: NodeJS.ErrnoException) => e.code);
    expect([503, 'ECONNREFUSED', 'ECONNRESET']).toContain(typeof late === 'object' ? late.status : late);

    inFlight.finish();
    const res = await inFlight.response;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 1, data: { userId: seed.users[2], status: 'active' } });
    expect(res.headers.connection).toBe('close');

    expect(await served.exited).toBe(0);
    // The keep-alive connection did not hold the exit until its idle timeout.
    expect(Date.now() - signalledAt).toBeLessThan(5_000);
    expect(served.lines.some((l) => l.msg === 'shutdown complete')).toBe(true);
    agent.destroy();
  });

  it('logs that the admin API is on when RELEVO_ADMIN_TOKEN is set, and serves it', async () => {
    const token = 'e2e-admin-token-0123456789';
    const served = await startServer({ RELEVO_ADMIN_TOKEN: token });
    expect(served.lines.find((l) => l.msg === 'relevo listening')?.adminApi).toBe(true);
    expect(served.lines.some((l) => String(l.msg).startsWith('admin API is off'))).toBe(false);
    const created = await post(
      served.port,
      '/admin/v1/projects',
      { authorization: `Bearer ${token}` },
      {
        name: 'Over HTTP',
      },
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Over HTTP' });
    served.child.kill('SIGINT');
    expect(await served.exited).toBe(0);
  });

  it('admin-token reset: a new token on stdout alone, taken by the next start; RELEVO_ADMIN_TOKEN=off turns the API off', async () => {
    const db = { DATABASE_URL: `sqlite:${join(dir ?? '', 'reset.db')}` };
    const first = await startServer(db);
    const printed = await firstRunToken(first);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const reset = await relevo(['admin-token', 'reset'], db);
    expect(reset.code).toBe(0);
    expect(reset.stderr).toBe('');
    expect(reset.stdout).toMatch(/^rlva_[A-Za-z0-9_-]{43}\n$/);
    const token = reset.stdout.trim();
    expect(token).not.toBe(printed);

    const again = await startServer(db);
    expect(again.lines.some((l) => String(l.msg).startsWith('admin API on: a first-run'))).toBe(false);
    expect(again.stderr).toBe('');
    expect(
      again.lines.some((l) =>
        String(l.msg).startsWith('admin API is on with the token printed at the first start'),
      ),
    ).toBe(true);
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    expect((await post(again.port, '/admin/v1/projects', bearer(printed), { name: 'Old' })).status).toBe(401);
    expect((await post(again.port, '/admin/v1/projects', bearer(token), { name: 'New' })).status).toBe(201);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);

    const off = await startServer({ ...db, RELEVO_ADMIN_TOKEN: 'off' });
    expect(off.lines.find((l) => l.msg === 'relevo listening')?.adminApi).toBe(false);
    expect(off.lines.some((l) => String(l.msg).startsWith('admin API is off (RELEVO_ADMIN_TOKEN=off)'))).toBe(
      true,
    );
    const refused = await post(off.port, '/admin/v1/projects', bearer(token), { name: 'Off' });
    expect(refused.status).toBe(404);
    expect(refused.body).toMatchObject({ error: { code: 'admin_api_disabled' } });
    off.child.kill('SIGTERM');
    expect(await off.exited).toBe(0);

    // With RELEVO_ADMIN_TOKEN set, a reset still works and says the servers will not use it.
    const noted = await relevo(['admin-token', 'reset'], { ...db, RELEVO_ADMIN_TOKEN: 'off' });
    expect(noted.code).toBe(0);
    expect(noted.stdout).toMatch(/^rlva_[A-Za-z0-9_-]{43}\n$/);
    expect(noted.stderr).toContain('RELEVO_ADMIN_TOKEN is set in this environment');
  });

  it('a second signal during the drain exits 1 at once', async () => {
    const seed = await seedProject();
    const served = await startServer();
    const stuck = partialPost(
      served.port,
      startPath(seed.pid),
      { 'x-api-key': seed.apiKey, 'x-request-id': 'stuck-1' },
      { botId: seed.bot, userId: seed.users[0] },
    );
    stuck.response.catch(() => undefined);
    await served.waitFor((l) => l.reqId === 'stuck-1' && l.msg === 'incoming request', 'for the request');
    served.child.kill('SIGTERM');
    await served.waitFor((l) => l.signal === 'SIGTERM', 'shutting down');
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(1);
  });

  it('exits 1 when in-flight work overruns RELEVO_SHUTDOWN_TIMEOUT_MS', async () => {
    const seed = await seedProject();
    const served = await startServer({ RELEVO_SHUTDOWN_TIMEOUT_MS: '300' });
    const stuck = partialPost(
      served.port,
      startPath(seed.pid),
      { 'x-api-key': seed.apiKey, 'x-request-id': 'stuck-2' },
      { botId: seed.bot, userId: seed.users[0] },
    );
    stuck.response.catch(() => undefined);
    await served.waitFor((l) => l.reqId === 'stuck-2' && l.msg === 'incoming request', 'for the request');
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(1);
    expect(served.lines.some((l) => l.msg === 'shutdown did not finish in time; exiting')).toBe(true);
  });

  it('a port already in use is one line on stderr and exit 1', async () => {
    const served = await startServer();
    const r = await relevo(['serve'], { PORT: String(served.port), HOST: '127.0.0.1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^relevo: [^\n]*EADDRINUSE[^\n]*\n$/);
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
  });
});
