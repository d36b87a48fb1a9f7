/**
 * `relevo serve` runs with V8's memory reducer off however this project starts it: V8 reads the
 * flag only when node starts, so it lives in each launcher rather than in the server (why:
 * src/cli/main.ts). test/e2e/package.test.ts checks that the installed executable's server runs
 * with it; these check the launchers a user copies or runs from the repository.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/spawned-server.js';

const FLAG = '--no-memory-reducer';
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe(`the server is started with ${FLAG}`, () => {
  it('by the relevo executable, on its first line', () => {
    expect(read('src/cli/main.ts').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${FLAG}`);
  });

  it('by npm start and npm run dev', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toContain(`node ${FLAG} dist/cli/main.js serve`);
    expect(read('scripts/dev.js')).toMatch(/\['--no-memory-reducer', '--watch-path'/);
  });

  it('by every line of docs/operations.md that runs the server', () => {
    const lines = read('docs/operations.md')
      .split('\n')
      .filter((l) => /dist\/cli\/main\.js\W+serve/.test(l));
    // The systemd unit and the Dockerfile, at least.
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line).toContain(FLAG);
  });

  it('by the benchmark, as npm start does', () => {
    expect(read('bench/lib/processes.ts')).toContain(`const SERVE_NODE_ARGS = ['${FLAG}'];`);
  });
});
