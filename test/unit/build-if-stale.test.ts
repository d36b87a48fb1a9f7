/**
 * `npm start` builds only when the sources changed since the last build (scripts/build-if-stale.js).
 * The script runs here in a scratch copy of the project's shape, with a stand-in for tsc that
 * counts its runs, so the test checks the decision and not TypeScript.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let dir: string;
const runs = () => readFileSync(join(dir, 'tsc-runs'), 'utf8').length;
const buildIfStale = (...args: string[]) =>
  spawnSync(process.execPath, [join(dir, 'scripts', 'build-if-stale.js'), ...args], { encoding: 'utf8' });
/** An edit made now, after the last build. */
const touch = (path: string) => {
  const now = new Date();
  utimesSync(path, now, now);
};
/** The scratch project's files were written a minute ago, before any build of the test. */
const INPUTS = [
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'src/app.ts',
  'src/http/routes.ts',
  'src/http',
  'src',
];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'relevo-build-'));
  mkdirSync(join(dir, 'scripts'));
  cpSync(join(process.cwd(), 'scripts', 'build-if-stale.js'), join(dir, 'scripts', 'build-if-stale.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(join(dir, 'tsconfig.json'), '{}\n');
  writeFileSync(join(dir, 'tsconfig.build.json'), '{}\n');
  mkdirSync(join(dir, 'src', 'http'), { recursive: true });
  writeFileSync(join(dir, 'src', 'app.ts'), 'export {};\n');
  writeFileSync(join(dir, 'src', 'http', 'routes.ts'), 'export {};\n');
  mkdirSync(join(dir, 'dist'));
  mkdirSync(join(dir, 'node_modules', 'typescript', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'tsc-runs'), '');
  // The stand-in tsc appends one character per run.
  writeFileSync(
    join(dir, 'node_modules', 'typescript', 'bin', 'tsc'),
    `require('node:fs').appendFileSync(${JSON.stringify(join(dir, 'tsc-runs'))}, 'x');\n`,
  );
  writeFileSync(join(dir, 'node_modules', 'typescript', 'package.json'), '{"type":"commonjs"}\n');
  const aMinuteAgo = new Date(Date.now() - 60_000);
  for (const path of INPUTS) utimesSync(join(dir, path), aMinuteAgo, aMinuteAgo);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('scripts/build-if-stale.js', () => {
  it('builds when there is no build yet, then not again while nothing changed', () => {
    expect(buildIfStale().status).toBe(0);
    expect(runs()).toBe(1);
    expect(buildIfStale().status).toBe(0);
    expect(buildIfStale().status).toBe(0);
    expect(runs()).toBe(1);
  });

  it('builds again after a source file, a nested one or a tsconfig changed', () => {
    buildIfStale();
    touch(join(dir, 'src', 'http', 'routes.ts'));
    buildIfStale();
    expect(runs()).toBe(2);
    touch(join(dir, 'tsconfig.build.json'));
    buildIfStale();
    expect(runs()).toBe(3);
    buildIfStale();
    expect(runs()).toBe(3);
  });

  it('builds again after a source file was deleted (its folder changed)', () => {
    buildIfStale();
    rmSync(join(dir, 'src', 'http', 'routes.ts'));
    touch(join(dir, 'src', 'http'));
    buildIfStale();
    expect(runs()).toBe(2);
  });

  /** A stand-in Vite that records the configuration file and mode of each build. */
  function fakeVite(): () => string[] {
    mkdirSync(join(dir, 'node_modules', 'vite'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'vite', 'package.json'), '{"type":"module","main":"index.js"}\n');
    writeFileSync(
      join(dir, 'node_modules', 'vite', 'index.js'),
      `import { appendFileSync } from 'node:fs';
export async function build(options) {
  appendFileSync(${JSON.stringify(join(dir, 'vite-runs'))}, options.configFile + ' ' + (options.mode ?? '-') + '\\n');
}
`,
    );
    return () =>
      readFileSync(join(dir, 'vite-runs'), 'utf8')
        .split('\n')
        .filter((l) => l !== '');
  }

  it("also bundles web/ (the pages' browser code) with Vite, and again after a file under it changed", () => {
    for (const app of ['webchat', 'console']) {
      mkdirSync(join(dir, 'web', app, 'src'), { recursive: true });
      writeFileSync(join(dir, 'web', app, 'vite.config.js'), 'export default {};\n');
    }
    writeFileSync(join(dir, 'web', 'webchat', 'src', 'chat.ts'), 'export {};\n');
    cpSync(join(process.cwd(), 'scripts', 'build-web.js'), join(dir, 'scripts', 'build-web.js'));
    const viteRuns = fakeVite();
    const aMinuteAgo = new Date(Date.now() - 60_000);
    for (const path of [
      'web/webchat/src/chat.ts',
      'web/webchat/src',
      'web/webchat/vite.config.js',
      'web/webchat',
      'web/console/src',
      'web/console/vite.config.js',
      'web/console',
      'web',
    ]) {
      utimesSync(join(dir, path), aMinuteAgo, aMinuteAgo);
    }
    expect(buildIfStale().status).toBe(0);
    // tsc once, for the server; the web chat's page script, its widget, then the console.
    expect(runs()).toBe(1);
    const chat = join(dir, 'web', 'webchat', 'vite.config.js');
    const console = join(dir, 'web', 'console', 'vite.config.js');
    expect(viteRuns()).toEqual([`${chat} chat`, `${chat} widget`, `${console} -`]);
    buildIfStale();
    expect(viteRuns()).toHaveLength(3);
    touch(join(dir, 'web', 'webchat', 'src', 'chat.ts'));
    expect(buildIfStale().status).toBe(0);
    expect(runs()).toBe(2);
    expect(viteRuns()).toHaveLength(6);
  });

  it('bundles only the pages that are there (a checkout without web/webchat/)', () => {
    mkdirSync(join(dir, 'web', 'console', 'src'), { recursive: true });
    writeFileSync(join(dir, 'web', 'console', 'vite.config.js'), 'export default {};\n');
    cpSync(join(process.cwd(), 'scripts', 'build-web.js'), join(dir, 'scripts', 'build-web.js'));
    const viteRuns = fakeVite();
    expect(buildIfStale().status).toBe(0);
    expect(viteRuns()).toEqual([`${join(dir, 'web', 'console', 'vite.config.js')} -`]);
  });

  it('--force always builds (npm run build)', () => {
    buildIfStale();
    buildIfStale('--force');
    expect(runs()).toBe(2);
  });

  it('a failed build leaves no stamp, so the next start tries again', () => {
    writeFileSync(join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), 'process.exit(2);\n');
    expect(buildIfStale().status).toBe(2);
    expect(() => readFileSync(join(dir, 'dist', '.build-stamp'))).toThrow();
  });
});
