/**
 * The package runs where `fetch` and Web Crypto are (Node ≥ 20, Deno, Bun, browsers): no runtime
 * dependency, and nothing of Node imported by its sources.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const sdk = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

describe('@relevo/sdk', () => {
  it('has no runtime dependency and declares its entry points, types, files and engines', () => {
    const pkg = JSON.parse(readFileSync(join(sdk, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('@relevo/sdk');
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.type).toBe('module');
    expect(pkg.engines).toEqual({ node: '>=20' });
    expect(pkg.types).toBe('./dist/index.d.ts');
    expect(pkg.files).toEqual(['dist', 'README.md']);
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js' });
    expect(pkg.exports['./webhooks']).toEqual({
      types: './dist/webhooks.d.ts',
      import: './dist/webhooks.js',
    });
  });

  it('imports only its own modules', () => {
    const files = sources(join(sdk, 'src'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const specifiers = [...readFileSync(file, 'utf8').matchAll(/\bfrom '([^']+)'/g)].map((m) => m[1]);
      expect(
        specifiers.filter((s) => !s?.startsWith('./') && !s?.startsWith('../')),
        file,
      ).toEqual([]);
    }
  });
});
