// Builds the browser code of the pages relevo serves, with Vite:
// - The web chat (web/webchat/ → dist/web/webchat/): the page's script and stylesheet, its HTML
//   skeletons, and the embeddable widget's script (web/webchat/vite.config.js, run once per
//   script: `chat`, then `widget`). The server inlines the page's script and style with each
//   response's nonce, and wraps the widget's script with the bot's id and name.
// - The console (web/console/ → dist/console/): a Preact application
//   (web/console/vite.config.js), served from files under /console
//   (src/http/routes/console.routes.ts).
// `--watch` keeps all of them up to date (npm run dev).
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'web');
const watching = process.argv.includes('--watch');

/** With `watching`, Vite rebuilds on every change until the process ends. */
async function bundle(app, mode) {
  const configFile = join(web, app, 'vite.config.js');
  if (!existsSync(configFile)) return;
  const { build } = await import('vite');
  await build({
    configFile,
    ...(mode === undefined ? {} : { mode }),
    logLevel: 'warn',
    ...(watching ? { build: { watch: {} } } : {}),
  });
}

// The web chat's two builds write into one folder and empty it not: a file they no longer make
// goes now.
rmSync(join(root, 'dist', 'web', 'webchat'), { recursive: true, force: true });
await bundle('webchat', 'chat');
await bundle('webchat', 'widget');
await bundle('console');
