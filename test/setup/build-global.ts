/**
 * Global setup of both test projects: `npm run build`'s stale check before any test. The server
 * code runs from src/ in-process, but the web chat page it serves is built from web/ into
 * dist/web/ (src/channels/webchat/webchat-assets.ts), and the end-to-end tests spawn
 * dist/cli/main.js; both must match the checkout, or a test would pass against an old build.
 * When nothing changed since the last build this only compares file times.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function setup(): void {
  const script = fileURLToPath(new URL('../../scripts/build-if-stale.js', import.meta.url));
  const result = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`The build before the tests failed:\n${result.stdout}${result.stderr}`);
  }
}
