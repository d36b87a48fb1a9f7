// Builds the browser code of the pages relevo serves.
// - The web chat (web/webchat/ → dist/web/webchat/): tsc compiles the script (web/tsconfig.json:
//   strict, DOM library); the HTML and CSS are copied as they are. No bundler: the page has one
//   classic script, which the server inlines with the response's nonce.
// - The console (web/console/ → dist/console/): a Preact application bundled by Vite
//   (web/console/vite.config.js), served from files under /console (src/http/routes/console.routes.ts).
// `--watch` keeps all of them up to date (npm run dev).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, watch } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'web');
const out = join(root, 'dist', 'web');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const copied = /\.(html|css)$/;
const watching = process.argv.includes('--watch');

function copyAll(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const from = join(dir, entry.name);
    if (entry.isDirectory()) copyAll(from);
    else if (copied.test(entry.name)) copyOne(from);
  }
}

function copyOne(from) {
  const to = join(out, relative(web, from));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}

/** The console's bundle; with `watch`, Vite rebuilds on every change until the process ends. */
async function buildConsole(watch) {
  if (!existsSync(join(web, 'console'))) return;
  const { build } = await import('vite');
  await build({
    configFile: join(web, 'console', 'vite.config.js'),
    logLevel: 'warn',
    ...(watch ? { build: { watch: {} } } : {}),
  });
}

const webchat = join(web, 'webchat');
const project = ['-p', join(web, 'tsconfig.json')];
copyAll(webchat);
if (watching) {
  const child = spawn(process.execPath, [tsc, ...project, '--watch', '--preserveWatchOutput'], {
    stdio: 'inherit',
  });
  watch(webchat, { recursive: true }, (_event, name) => {
    if (name && copied.test(name)) {
      try {
        copyOne(join(webchat, name));
      } catch {
        // Deleted or mid-save: the next event copies it.
      }
    }
  });
  await buildConsole(true);
  const stop = () => child.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  const result = spawnSync(process.execPath, [tsc, ...project], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  await buildConsole(false);
}
