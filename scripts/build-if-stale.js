// Builds dist/ only when a source is newer than the last successful build, so `npm start` on
// an unchanged checkout starts in well under a second instead of paying tsc's 6–9 s.
// A build is stale when any file under src/ or web/ or the tsconfig/package files was modified
// after the stamp that a successful build leaves in dist/. Git rewrites the mtime of every file
// it changes, so a pull or a checkout makes the next start rebuild.
// Three builds: the SDK (packages/sdk, its own tsconfig: no Node types, so nothing of Node
// slips into code meant for browsers too), the server (tsconfig.build.json, src/ → dist/) and the browser code of the pages
// it serves (build-web.js: the web chat, web/webchat/ → dist/web/, and the console,
// web/console/ → dist/console/).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.build-stamp');
const web = join(root, 'web');
const sdk = join(root, 'packages', 'sdk');
const inputs = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];

function newestUnder(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs;
    if (mtime > newest) newest = mtime;
  }
  // A deleted file only changes its directory's mtime.
  return Math.max(newest, statSync(dir).mtimeMs);
}

function isStale() {
  if (!existsSync(stamp)) return true;
  const built = statSync(stamp).mtimeMs;
  if (newestUnder(join(root, 'src')) > built) return true;
  if (existsSync(web) && newestUnder(web) > built) return true;
  if (existsSync(sdk) && newestUnder(join(sdk, 'src')) > built) return true;
  if (existsSync(sdk) && statSync(join(sdk, 'tsconfig.json')).mtimeMs > built) return true;
  return inputs.some((file) => existsSync(join(root, file)) && statSync(join(root, file)).mtimeMs > built);
}

function run(script, ...args) {
  const result = spawnSync(process.execPath, [script, ...args], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (process.argv.includes('--force') || isStale()) {
  if (existsSync(sdk))
    run(join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(sdk, 'tsconfig.json'));
  run(join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'));
  if (existsSync(web)) run(join(root, 'scripts', 'build-web.js'));
  // tsc writes a new file as 0644. `npx relevo` sets the bit only when it first links the
  // project into its cache; a later fresh build (a new clone at the same path) would then
  // answer "relevo: Permission denied".
  const bin = join(root, 'dist', 'cli', 'main.js');
  if (existsSync(bin)) chmodSync(bin, 0o755);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
