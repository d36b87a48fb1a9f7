/**
 * `relevo serve` runs with V8's memory reducer off from the launchers this project ships: V8
 * reads the flag only when node starts, so it lives in each launcher rather than in the server
 * (why: src/server.ts). test/e2e/memory-reducer-hint.test.ts checks what the server says when it
 * is missing; these check the launchers a user runs or copies.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/spawned-server.js';

const FLAG = '--no-memory-reducer';
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe(`the server is started with ${FLAG}`, () => {
  it('by npm start and npm run dev', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toContain(`node ${FLAG} dist/cli/main.js serve`);
    expect(scripts.dev).toBe('node scripts/dev.js');
    expect(read('scripts/dev.js')).toContain(`'${FLAG}'`);
  });

  it('by every line of docs/operations.md and the README that runs the server with node', () => {
    for (const doc of ['docs/operations.md', 'README.md']) {
      const lines = read(doc)
        .split('\n')
        .filter((l) => /\bnode\b.*dist\/cli\/main\.js\W+serve/.test(l));
      for (const line of lines) expect(line, doc).toContain(FLAG);
      // docs/operations.md: the systemd unit and the Dockerfile, at least.
      if (doc === 'docs/operations.md') expect(lines.length).toBeGreaterThanOrEqual(2);
    }
  });

  it('by the benchmark, for every relevo it starts', () => {
    const processes = read('bench/lib/processes.ts');
    expect(processes).toContain(`const SERVE_NODE_ARGS = ['${FLAG}'];`);
    expect(processes).toContain('nodeArgs: [...SERVE_NODE_ARGS, ...(o.nodeArgs ?? [])]');
  });

  it('but not by the executable, whose first line stays portable (BusyBox env has no -S)', () => {
    expect(read('src/cli/main.ts').split('\n')[0]).toBe('#!/usr/bin/env node');
  });
});
