/**
 * The install on the supported Node.js: package.json names Node 20 and 24, the supported lines, so no
 * package the lock file installs may ask for a newer one — npm would print an EBADENGINE warning on every
 * `npm ci` (cookie@2, pulled in by fastify → light-my-request, wants Node 22).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// fastify depends on semver itself, so it is always installed.
const semver = createRequire(import.meta.url)('semver') as {
  satisfies(version: string, range: string): boolean;
  intersects(a: string, b: string): boolean;
};

interface LockEntry {
  readonly engines?: { readonly node?: string } | readonly string[];
}

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('engines', () => {
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, LockEntry> };
  const wanted = Object.entries(lock.packages).flatMap(([path, entry]) => {
    const node = Array.isArray(entry.engines) ? undefined : (entry.engines as { node?: string })?.node;
    return path === '' || node === undefined ? [] : [{ path, node }];
  });

  it('package.json names the supported lines, Node 20 and 24; the SDK runs on any Node from 20', () => {
    const server = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    expect(server).toBe('^20.19.0 || ^24.0.0');
    for (const v of ['20.19.0', '20.20.0', '24.0.0', '24.11.1'])
      expect(semver.satisfies(v, server)).toBe(true);
    for (const v of ['18.20.0', '22.12.0', '25.0.0']) expect(semver.satisfies(v, server)).toBe(false);
    const sdk = (JSON.parse(read('packages/sdk/package.json')) as { engines: { node: string } }).engines.node;
    expect(sdk).toBe('>=20');
  });

  it('every installed package accepts the current Node 20 line (no EBADENGINE on npm ci)', () => {
    expect(wanted.length).toBeGreaterThan(10);
    const refusing = wanted.filter(({ node }) => !semver.intersects(node, '^20.19.0'));
    expect(refusing).toEqual([]);
  });

  it('every installed package accepts Node 24, the other supported line (CI runs the suite on it)', () => {
    const refusing = wanted.filter(({ node }) => !semver.intersects(node, '^24.0.0'));
    expect(refusing).toEqual([]);
  });

  it('light-my-request (app.inject) gets a cookie package with the API it calls', async () => {
    const require = createRequire(createRequire(import.meta.url).resolve('light-my-request'));
    const cookie = require('cookie') as { stringifySetCookie?: (c: object) => string };
    expect(typeof cookie.stringifySetCookie).toBe('function');
    expect(cookie.stringifySetCookie?.({ name: 'session', value: 'abc' })).toBe('session=abc');
  });
});
