// `npm run dev`: the gateway for people changing its code. tsc recompiles src/ and web/ on every
// save, node restarts the server when dist/ changes, and the JSON logs are printed as readable
// lines. Ctrl-C stops them all. Production keeps `npm start` and its JSON logs.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const modules = join(root, 'node_modules');

// A first build, so the server has something to run before the watcher's first pass ends.
const first = spawnSync(process.execPath, [join(root, 'scripts', 'build-if-stale.js')], { stdio: 'inherit' });
if (first.status !== 0) process.exit(first.status ?? 1);

const tsc = spawn(
  process.execPath,
  [
    join(modules, 'typescript', 'bin', 'tsc'),
    '-p',
    join(root, 'tsconfig.build.json'),
    '--watch',
    '--preserveWatchOutput',
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
// The pages' browser code (web/ → dist/web/); the server reads it at start-up, and restarts.
const webBuild = spawn(process.execPath, [join(root, 'scripts', 'build-web.js'), '--watch'], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
const server = spawn(
  process.execPath,
  // As `npm start` runs it (src/server.ts says why).
  ['--no-memory-reducer', '--watch-path', join(root, 'dist'), join(root, 'dist', 'cli', 'main.js'), 'serve'],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { LOG_LEVEL: 'debug', ...process.env } },
);
const pretty = spawn(
  process.execPath,
  [join(modules, 'pino-pretty', 'bin.js'), '--colorize', '--ignore', 'pid,hostname,service'],
  {
    stdio: ['pipe', 'inherit', 'inherit'],
  },
);
server.stdout.pipe(pretty.stdin);

const children = [tsc, webBuild, server, pretty];
let stopping = false;
const stop = (code) => {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  process.exitCode = code;
};
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
for (const child of children) child.on('exit', (code) => stop(code ?? 0));
