// The console's bundle: web/console/ → dist/console/, served by relevo under /console
// (src/http/routes/console.routes.ts). Preact's JSX is compiled by Vite's own esbuild, so no
// plugin (and no Babel) is needed.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/console/',
  publicDir: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: join(here, '..', '..', 'dist', 'console'),
    emptyOutDir: true,
    // Every browser that runs the console speaks ES2020 modules; no legacy bundle.
    target: 'es2020',
    // The preload helper would be an extra script; one entry chunk needs none.
    modulePreload: { polyfill: false },
    // Nothing becomes a data: URI: every asset is a file with its own hash and long cache.
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
