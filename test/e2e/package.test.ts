/**
 * The published package as a user gets it: `npm pack` of the repository, installed in an empty
 * folder, where `npx relevo --version` and `npx relevo serve` (on a SQLite file in that folder)
 * must work with nothing from the repository around. Only the tarball's own files and its
 * dependencies from the registry (the npm cache first) are there, so a file missing from `files`,
 * or a devDependency the server needs at run time, fails here. Then `@relevo/sdk` the same way:
 * packed from packages/sdk, installed alone in another empty folder, and used against that
 * server (a list, an error envelope as RelevoApiError, the verifier refusing a bad signature).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { ensureBuilt, freePort, ROOT } from '../helpers/spawned-server.js';

// Installing compiles better-sqlite3 from source when no prebuilt binary can be fetched: about
// a minute on two cores, more when other tests share them.
const INSTALL_TIMEOUT_MS = 240_000;
const ADMIN_TOKEN = 'package-test-admin-token-0123456789ab';

let dir: string;
let app: string;
let served: ChildProcess | undefined;

/**
 * The environment of the npm commands: this one, less what `npm test` sets for the repository's
 * own package (npm_package_*, npm_lifecycle_*, the local prefix), which would make the install
 * in the empty folder act on the repository instead. The node running the tests comes first on
 * PATH, so npm and the installed package run on it (CI's Node 24 pass).
 */
function npmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_|^npm_config_local_prefix$|^npm_command$|^INIT_CWD$/i.test(key)) continue;
    env[key] = value;
  }
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
  return { ...env, ...extra };
}

function exec(
  file: string,
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(file, args, { cwd, env: npmEnv(), timeout: timeoutMs }, (err, stdout, stderr) =>
      done({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  // The suite builds first (`npm test`); a direct run builds here. The pack below skips the
  // prepack build so it never rewrites dist/ under the other tests that run it.
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'relevo-package-'));
  const packed = await exec('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], ROOT, 60_000);
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
  app = join(dir, 'app');
  mkdirSync(app);
  // better-sqlite3 builds its native module in an install script, which npm allows here.
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'empty', private: true, allowScripts: { 'better-sqlite3': true } }),
  );
}, 90_000);

afterAll(() => {
  // npx runs the command through a shell that does not pass signals on: end the whole group.
  if (served?.pid !== undefined && served.exitCode === null) {
    try {
      process.kill(-served.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

it(
  'the tarball holds only what runs, installs in an empty folder, and `npx relevo serve` answers there',
  async () => {
    const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
    expect(tarballs).toEqual([`relevo-${VERSION}.tgz`]);
    const tarball = join(dir, tarballs[0] ?? '');

    const listed = await exec('tar', ['tzf', tarball], dir, 30_000);
    // npm puts everything under package/ in the tarball.
    const files = listed.stdout
      .split('\n')
      .filter((f) => f !== '' && !f.endsWith('/'))
      .map((f) => f.replace(/^package\//, ''));
    // Everything under dist/, README and package.json, and the SDK the CLI uses, bundled (it is
    // a workspace, not on the registry); no sources, tests, maps or build stamps.
    const sdk = 'node_modules/@relevo/sdk/';
    expect(files.filter((f) => !f.startsWith('dist/') && !f.startsWith(sdk)).sort()).toEqual([
      'README.md',
      'package.json',
    ]);
    expect(
      files.filter(
        (f) =>
          f.startsWith(sdk) &&
          !/^node_modules\/@relevo\/sdk\/(dist\/.*\.(js|d\.ts)|README\.md|package\.json)$/.test(f),
      ),
    ).toEqual([]);
    expect(files).toContain(`${sdk}dist/index.js`);
    expect(files.filter((f) => f.endsWith('.map') || f.endsWith('.build-stamp'))).toEqual([]);
    for (const needed of [
      'dist/cli/main.js',
      'dist/app.js',
      'dist/app.d.ts',
      'dist/server.d.ts',
      'dist/console/index.html',
      'dist/web/webchat/chat.js',
      'dist/storage/migrations/index.js',
    ]) {
      expect(files).toContain(needed);
    }

    const installed = await exec(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', tarball],
      app,
      INSTALL_TIMEOUT_MS,
    );
    expect(installed.stderr).not.toMatch(/ERR!/);
    expect(installed.code).toBe(0);
    // Runtime dependencies only: none of the repository's devDependencies came along.
    for (const dev of ['typescript', 'vitest', 'vite', '@biomejs/biome']) {
      expect(existsSync(join(app, 'node_modules', dev))).toBe(false);
    }

    // Linked locally, so npx runs this copy and never looks the name up in the registry.
    expect(existsSync(join(app, 'node_modules', '.bin', 'relevo'))).toBe(true);
    const version = await exec('npx', ['relevo', '--version'], app, 30_000);
    expect(version).toMatchObject({ code: 0, stdout: `${VERSION}\n` });

    // The exports map: the application and the server for embedding, by their public names.
    const imported = await exec(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const a = await import('relevo'); const s = await import('relevo/server'); console.log(typeof a.buildApp, typeof s.serve)",
      ],
      app,
      30_000,
    );
    expect(imported).toMatchObject({ code: 0, stdout: 'function function\n' });

    // The developer's commands load the bundled SDK.
    const listenHelp = await exec('npx', ['relevo', 'listen', '--help'], app, 30_000);
    expect(listenHelp.code).toBe(0);
    expect(listenHelp.stdout).toContain('--forward-to');

    const port = await freePort();
    served = spawn('npx', ['relevo', 'serve'], {
      cwd: app,
      env: npmEnv({
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: 'sqlite:./relevo.db',
        LOG_LEVEL: 'warn',
        RELEVO_ADMIN_TOKEN: ADMIN_TOKEN,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    served.stdout?.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    served.stderr?.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });

    // The web chat's files are read when the routes are registered: a start that answers has them.
    const health = await poll(`http://127.0.0.1:${port}/healthz`, 30_000, () => output);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', role: 'all', database: 'ok' });
    const consolePage = await fetch(`http://127.0.0.1:${port}/console`);
    expect(consolePage.status).toBe(200);
    expect(consolePage.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await consolePage.text()).toContain('/console/assets/');
    // The database is the file named in the folder, migrated by the first start.
    expect(existsSync(join(app, 'relevo.db'))).toBe(true);

    // @relevo/sdk from its own tarball, in another empty folder, against this server.
    const sdkPacked = await exec(
      'npm',
      ['pack', '--pack-destination', dir],
      join(ROOT, 'packages/sdk'),
      60_000,
    );
    expect(sdkPacked.code).toBe(0);
    const sdkTarball = join(dir, readdirSync(dir).find((f) => f.startsWith('relevo-sdk-')) ?? '');
    const client = join(dir, 'client');
    mkdirSync(client);
    writeFileSync(
      join(client, 'package.json'),
      JSON.stringify({ name: 'client', private: true, type: 'module' }),
    );
    const sdkInstalled = await exec(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', sdkTarball],
      client,
      60_000,
    );
    expect(sdkInstalled.code).toBe(0);
    // No runtime dependency: the SDK alone.
    expect(readdirSync(join(client, 'node_modules')).filter((d) => !d.startsWith('.'))).toEqual(['@relevo']);
    const created = await fetch(`http://127.0.0.1:${port}/admin/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'From the tarball' }),
    });
    const { id: projectId, apiKey } = (await created.json()) as { id: string; apiKey: string };
    writeFileSync(
      join(client, 'use.js'),
      [
        "import { Relevo, RelevoApiError } from '@relevo/sdk';",
        "import { verifyWebhook, WebhookVerificationError } from '@relevo/sdk/webhooks';",
        `const relevo = new Relevo({ baseUrl: 'http://127.0.0.1:${port}', projectId: '${projectId}', apiKey: '${apiKey}' });`,
        'const list = await relevo.conversations.list();',
        "let code = 'none';",
        "try { await relevo.conversations.get('conv_missing'); } catch (e) { code = e instanceof RelevoApiError ? e.code : String(e); }",
        "let reason = 'none';",
        "try { await verifyWebhook('{}', { 'x-jelou-signature': 'sha256=00' }, 'secret'); } catch (e) { reason = e instanceof WebhookVerificationError ? e.reason : String(e); }",
        'console.log(JSON.stringify({ items: list.items.length, code, reason }));',
      ].join('\n'),
    );
    const used = await exec(process.execPath, ['use.js'], client, 30_000);
    expect(used.stderr).toBe('');
    expect(JSON.parse(used.stdout)).toMatchObject({ items: 0, code: 'conversation_not_found' });
    expect(JSON.parse(used.stdout).reason).not.toBe('none');

    const exited = new Promise<number | null>((done) => served?.once('exit', (code) => done(code)));
    process.kill(-(served.pid ?? 0), 'SIGTERM');
    await exited;
  },
  INSTALL_TIMEOUT_MS + 60_000,
);

async function poll(url: string, timeoutMs: number, output: () => string): Promise<Response> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fetch(url);
    } catch (e) {
      if (Date.now() > until) throw new Error(`${url} never answered: ${String(e)}\n${output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
