// Writes src/generated/*.ts from the /openapi.json of relevo's own build: starts `relevo serve`
// (dist/cli/main.js, built by `npm run build` at the repository root) on a throwaway SQLite
// file and a free loopback port, reads the document, stops the server.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './openapi-to-ts.js';

const sdk = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(sdk, '..', '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function readDocument(port, child) {
  // The server needs a moment to open its database and bind; 20 s covers a cold start on a
  // slow machine by a wide margin.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`relevo serve exited with ${child.exitCode}`);
    try {
      const answer = await fetch(`http://127.0.0.1:${port}/openapi.json`);
      if (answer.ok) return await answer.json();
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('relevo serve did not answer /openapi.json within 20 s');
}

const dir = mkdtempSync(join(tmpdir(), 'relevo-sdk-generate-'));
const port = await freePort();
const child = spawn(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'serve'], {
  env: {
    PATH: process.env.PATH,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: `sqlite:${join(dir, 'openapi.db')}`,
    RELEVO_ADMIN_TOKEN: 'off',
    LOG_LEVEL: 'silent',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
try {
  const files = generate(await readDocument(port, child));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(sdk, 'src', 'generated', name), content);
    console.log(`wrote src/generated/${name}`);
  }
} finally {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}
